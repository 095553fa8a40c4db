#include "governance/audit.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/files.h"
#include "common/json_escape.h"
#include "common/strings.h"
#include "governance/crypto_adapter.h"
#include "governance/schema.h"
#include "governance/types.h"

namespace passerelle::governance {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kEntryDomain = "passerelle-audit-entry-v1\n";
constexpr std::string_view kHeadDomain = "passerelle-audit-head-v1\n";
constexpr std::string_view kFormatName = "passerelle-audit-log";
// 2: only the last entry of each write is signed (version 1 signed every entry; still read).
constexpr int kFormatVersion = 2;
const std::string kZeroHash(64, '0');

constexpr SqliteMigration kAuditMigrations[] = {
    {1, R"sql(
CREATE TABLE audit_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  writer TEXT NOT NULL,
  public_key TEXT NOT NULL
);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  writer TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  project TEXT NOT NULL,
  study TEXT NOT NULL,
  task_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  node TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  signature TEXT NOT NULL
);
CREATE INDEX audit_log_task ON audit_log(task_id) WHERE task_id <> '';
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_meta_no_update BEFORE UPDATE ON audit_meta
BEGIN SELECT RAISE(ABORT, 'audit_meta is append-only'); END;
CREATE TRIGGER audit_meta_no_delete BEFORE DELETE ON audit_meta
BEGIN SELECT RAISE(ABORT, 'audit_meta is append-only'); END;
)sql"},
    // The outboxes already appended (AuditLog::AppendImported): the last id taken from each.
    {2, R"sql(
CREATE TABLE audit_imports (
  source TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
);
)sql"},
};

Status ValidateAction(std::string_view action) {
  bool ok = !action.empty() && action.size() <= 64;
  for (char c : action) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return Status::InvalidArgument(
        fmt::format("audit action \"{}\" must be 1 to 64 characters of [a-z0-9._-]", action));
  }
  return Status::Ok();
}

json BodyJson(const AuditEntry& e) {
  json details = json::object();
  for (const auto& [k, v] : e.record.details) details[k] = v;
  return json{{"seq", e.seq},
              {"time", e.time_micros},
              {"writer", e.writer},
              {"actor", e.record.actor},
              {"action", e.record.action},
              {"project", e.record.project},
              {"study", e.record.study},
              {"task_id", e.record.task_id},
              {"round", e.record.round},
              {"node", e.record.node},
              {"payload_hash", e.record.payload_hash},
              {"details", details},
              {"prev_hash", e.prev_hash}};
}

// ---- canonical JSON, written directly (hot: every append hashes it, every verification too) ----
// The bytes are those of nlohmann::json::dump() with strict UTF-8 (tested against it): keys in byte
// order, no whitespace, strings escaped as `"` `\` `\b` `\f` `\n` `\r` `\t` and other control
// characters as `\u00xx`, everything else as is; invalid UTF-8 (overlong forms, surrogates, above
// U+10FFFF, cut sequences) refused.

// Length of the valid UTF-8 sequence starting at s[i], or 0.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

Status AppendCanonicalString(std::string_view s, std::string& out) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return Status::InvalidArgument("audit entry: a field is not valid UTF-8");
    i += n;
  }
  out += '"';
  AppendJsonEscaped(s, out);
  out += '"';
  return Status::Ok();
}

// {"k":"v",...} with keys in byte order (std::map's order).
Status AppendCanonicalDetails(const std::map<std::string, std::string>& details, std::string& out) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : details) {
    if (!first) out += ',';
    first = false;
    RETURN_IF_ERROR(AppendCanonicalString(k, out));
    out += ':';
    RETURN_IF_ERROR(AppendCanonicalString(v, out));
  }
  out += '}';
  return Status::Ok();
}

Result<std::string> CanonicalBody(const AuditEntry& e) {
  std::string out;
  out.reserve(384);
  auto field = [&](std::string_view key, std::string_view value) -> Status {
    out += key;
    return AppendCanonicalString(value, out);
  };
  RETURN_IF_ERROR(field("{\"action\":", e.record.action));
  RETURN_IF_ERROR(field(",\"actor\":", e.record.actor));
  out += ",\"details\":";
  RETURN_IF_ERROR(AppendCanonicalDetails(e.record.details, out));
  RETURN_IF_ERROR(field(",\"node\":", e.record.node));
  RETURN_IF_ERROR(field(",\"payload_hash\":", e.record.payload_hash));
  RETURN_IF_ERROR(field(",\"prev_hash\":", e.prev_hash));
  RETURN_IF_ERROR(field(",\"project\":", e.record.project));
  out += ",\"round\":" + std::to_string(e.record.round);
  out += ",\"seq\":" + std::to_string(e.seq);
  RETURN_IF_ERROR(field(",\"study\":", e.record.study));
  RETURN_IF_ERROR(field(",\"task_id\":", e.record.task_id));
  out += ",\"time\":" + std::to_string(e.time_micros);
  RETURN_IF_ERROR(field(",\"writer\":", e.writer));
  out += '}';
  return out;
}

Result<std::string> Dump(const json& j) {
  try {
    return j.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception&) {
    return Status::InvalidArgument("audit entry: a field is not valid UTF-8");
  }
}

std::vector<uint8_t> DomainMessage(std::string_view domain, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> m(domain.begin(), domain.end());
  m.insert(m.end(), bytes.begin(), bytes.end());
  return m;
}

Result<internal::Bytes32> HexToBytes32(std::string_view hex, std::string_view what) {
  auto bytes = internal::FromHex(hex);
  if (!bytes.ok() || bytes->size() != 32) {
    return Status::DataLoss(fmt::format("{} is not 64 hex digits", what));
  }
  internal::Bytes32 out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

// hash_n = SHA-256(prev_hash bytes || canonical body).
Result<std::string> EntryHash(const AuditEntry& e) {
  ASSIGN_OR_RETURN(internal::Bytes32 prev, HexToBytes32(e.prev_hash, "prev_hash"));
  ASSIGN_OR_RETURN(std::string body, CanonicalEntryJson(e));
  return internal::ToHex(internal::Sha256Concat(prev, internal::AsBytes(body)));
}

bool SignatureValid(const AuditPublicKey& key, std::string_view hash_hex,
                    std::string_view signature_hex) {
  auto hash = internal::FromHex(hash_hex);
  auto sig = internal::FromHex(signature_hex);
  if (!hash.ok() || hash->size() != 32 || !sig.ok() || sig->size() != 64) return false;
  std::vector<uint8_t> msg = DomainMessage(kEntryDomain, *hash);
  return internal::Ed25519Verify(key, msg, std::span<const uint8_t, 64>(sig->data(), 64));
}

// The signature rule (format 2): an entry is signed when it ends a write (the last entry of a
// transaction); an entry in the middle of a write may carry none, since the signed entry that ends
// the write covers it through the chain. The last entry of a log is always signed. A signature
// that is present must be valid. `require`: the entry must be signed (the log's last entry, or
// every entry of a format-1 file).
bool EntrySignatureOk(const AuditPublicKey& key, const AuditEntry& e, bool require) {
  if (e.signature.empty()) return !require;
  return SignatureValid(key, e.hash, e.signature);
}

Result<AuditEntry> EntryFromRow(Statement& st) {
  AuditEntry e;
  e.seq = st.ColumnInt(0);
  e.time_micros = st.ColumnInt(1);
  e.writer = st.ColumnText(2);
  e.record.actor = st.ColumnText(3);
  e.record.action = st.ColumnText(4);
  e.record.project = st.ColumnText(5);
  e.record.study = st.ColumnText(6);
  e.record.task_id = st.ColumnText(7);
  e.record.round = st.ColumnInt(8);
  e.record.node = st.ColumnText(9);
  e.record.payload_hash = st.ColumnText(10);
  try {
    json d = json::parse(st.ColumnText(11));
    for (auto it = d.begin(); it != d.end(); ++it) {
      e.record.details[it.key()] = it.value().get<std::string>();
    }
  } catch (const json::exception&) {
    return Status::DataLoss(fmt::format("audit entry {}: details are not a JSON object", e.seq));
  }
  e.prev_hash = st.ColumnText(12);
  e.hash = st.ColumnText(13);
  e.signature = st.ColumnText(14);
  return e;
}

constexpr std::string_view kSelectColumns =
    "SELECT seq, time, writer, actor, action, project, study, task_id, round, node, "
    "payload_hash, details, prev_hash, hash, signature FROM audit_log";

// ---- parsing of an exported file ------------------------------------------------------------

const std::set<std::string> kEntryKeys = {
    "seq",   "time", "writer",       "actor",   "action",    "project", "study",    "task_id",
    "round", "node", "payload_hash", "details", "prev_hash", "hash",    "signature"};

Result<AuditEntry> EntryFromJson(const json& j, size_t line) {
  auto fail = [line](std::string_view what) {
    return Status::DataLoss(fmt::format("line {}: {}", line, what));
  };
  if (!j.is_object()) return fail("not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!kEntryKeys.count(it.key())) {
      return fail(fmt::format("unexpected field \"{}\" (the entry was altered)", it.key()));
    }
  }
  for (const std::string& k : kEntryKeys) {
    if (!j.contains(k)) return fail(fmt::format("missing field \"{}\"", k));
  }
  auto str = [&](const char* k, std::string& out) -> Status {
    if (!j[k].is_string()) return fail(fmt::format("\"{}\" must be a string", k));
    out = j[k].get<std::string>();
    return Status::Ok();
  };
  auto integer = [&](const char* k, int64_t& out) -> Status {
    if (!j[k].is_number_integer()) return fail(fmt::format("\"{}\" must be an integer", k));
    out = j[k].get<int64_t>();
    return Status::Ok();
  };
  AuditEntry e;
  RETURN_IF_ERROR(integer("seq", e.seq));
  RETURN_IF_ERROR(integer("time", e.time_micros));
  RETURN_IF_ERROR(str("writer", e.writer));
  RETURN_IF_ERROR(str("actor", e.record.actor));
  RETURN_IF_ERROR(str("action", e.record.action));
  RETURN_IF_ERROR(str("project", e.record.project));
  RETURN_IF_ERROR(str("study", e.record.study));
  RETURN_IF_ERROR(str("task_id", e.record.task_id));
  RETURN_IF_ERROR(integer("round", e.record.round));
  RETURN_IF_ERROR(str("node", e.record.node));
  RETURN_IF_ERROR(str("payload_hash", e.record.payload_hash));
  RETURN_IF_ERROR(str("prev_hash", e.prev_hash));
  RETURN_IF_ERROR(str("hash", e.hash));
  RETURN_IF_ERROR(str("signature", e.signature));
  if (!j["details"].is_object()) return fail("\"details\" must be an object");
  for (auto it = j["details"].begin(); it != j["details"].end(); ++it) {
    if (!it.value().is_string()) return fail("\"details\" values must be strings");
    e.record.details[it.key()] = it.value().get<std::string>();
  }
  return e;
}

json HeadJson(int64_t entries, std::string_view hash, int64_t exported_at,
              std::string_view writer) {
  return json{
      {"entries", entries}, {"hash", hash}, {"exported_at", exported_at}, {"writer", writer}};
}

}  // namespace

// ---- keys -------------------------------------------------------------------------------------

AuditKey AuditKey::Generate(RandomSource& random) {
  std::array<uint8_t, 32> seed;
  random.Fill(seed);
  AuditKey k = FromSeed(seed);
  internal::SecureZero(seed);
  return k;
}

AuditKey AuditKey::FromSeed(std::span<const uint8_t, 32> seed) {
  AuditKey k;
  std::copy(seed.begin(), seed.end(), k.seed_.begin());
  k.public_key_ = internal::Ed25519PublicKey(k.seed_);
  return k;
}

AuditKey::~AuditKey() { internal::SecureZero(seed_); }

std::array<uint8_t, 64> AuditKey::Sign(std::span<const uint8_t> message) const {
  return internal::Ed25519Sign(seed_, public_key_, message);
}

std::string FormatPublicKey(const AuditPublicKey& key) { return "ed25519:" + internal::ToHex(key); }

Result<AuditPublicKey> ParsePublicKey(std::string_view text) {
  text = Trim(text);
  if (!StartsWith(text, "ed25519:")) {
    return Status::InvalidArgument("a public key reads \"ed25519:<64 hex digits>\"");
  }
  auto bytes = internal::FromHex(text.substr(8));
  if (!bytes.ok() || bytes->size() != 32) {
    return Status::InvalidArgument("a public key reads \"ed25519:<64 hex digits>\"");
  }
  AuditPublicKey k;
  std::copy(bytes->begin(), bytes->end(), k.begin());
  return k;
}

Status WriteAuditKeyFiles(const AuditKey& key, const fs::path& private_path) {
  std::string text = "ed25519-private:" + internal::ToHex(key.seed()) + "\n";
  int fd = ::open(private_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    internal::SecureZero({reinterpret_cast<uint8_t*>(text.data()), text.size()});
    if (err == EEXIST) {
      return Status::AlreadyExists(fmt::format(
          "{}: a key file is already there; keys are never overwritten (choose another path)",
          private_path.string()));
    }
    return Status::IoError(fmt::format("{}: {}", private_path.string(), std::strerror(err)));
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  internal::SecureZero({reinterpret_cast<uint8_t*>(text.data()), text.size()});
  if (!ok)
    return Status::IoError(fmt::format("{}: could not write the key", private_path.string()));
  fs::path pub = private_path;
  pub += ".pub";
  return WriteFileAtomic(pub, FormatPublicKey(key.public_key()) + "\n");
}

Result<AuditKey> ReadAuditKeyFile(const fs::path& path) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) {
    return Status::NotFound(
        fmt::format("{}: no such key file (create one with `passerelle "
                    "audit keygen`)",
                    path.string()));
  }
  if ((sb.st_mode & 077) != 0) {
    return RuleViolation(StatusCode::kPermissionDenied, rule::kAuditKey,
                         fmt::format("{}: a private key must be readable by its owner only (mode "
                                     "{:04o}); run: chmod 600 {}",
                                     path.string(), sb.st_mode & 0777, path.string()));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::string_view t = Trim(text);
  Status bad = Status::InvalidArgument(fmt::format(
      "{}: not a private key file (expected \"ed25519-private:<64 hex digits>\")", path.string()));
  if (!StartsWith(t, "ed25519-private:")) return bad;
  auto bytes = internal::FromHex(t.substr(16));
  internal::SecureZero({reinterpret_cast<uint8_t*>(text.data()), text.size()});
  if (!bytes.ok() || bytes->size() != 32) return bad;
  AuditKey key = AuditKey::FromSeed(std::span<const uint8_t, 32>(bytes->data(), 32));
  internal::SecureZero(*bytes);
  return key;
}

Result<AuditPublicKey> ReadAuditPublicKey(std::string_view path_or_text) {
  if (StartsWith(Trim(path_or_text), "ed25519:")) return ParsePublicKey(path_or_text);
  auto text = ReadFileToString(fs::path(std::string(path_or_text)));
  if (!text.ok()) {
    return Status::NotFound(
        fmt::format("{}: not a public key (\"ed25519:<hex>\") nor a readable file", path_or_text));
  }
  auto key = ParsePublicKey(*text);
  if (!key.ok()) return key.status().WithContext(path_or_text);
  return key;
}

// ---- records ----------------------------------------------------------------------------------

std::string PayloadHash(std::string_view body) {
  return "sha256:" + internal::ToHex(internal::Sha256(body));
}

namespace {
AuditRecord TaskRecord(std::string_view action, std::string_view actor, std::string_view node,
                       std::string_view task_id, std::string_view study, int64_t round,
                       std::string_view project, std::string_view body) {
  AuditRecord r;
  r.actor = std::string(actor);
  r.action = std::string(action);
  r.node = std::string(node);
  r.task_id = std::string(task_id);
  r.study = std::string(study);
  r.round = round;
  r.project = std::string(project);
  r.payload_hash = PayloadHash(body);
  return r;
}
}  // namespace

AuditRecord AuditRecord::TaskCreate(std::string_view task_id, std::string_view study, int64_t round,
                                    std::string_view project, std::string_view node,
                                    std::string_view task_body) {
  return TaskRecord(audit_action::kTaskCreate, "hub", node, task_id, study, round, project,
                    task_body);
}
AuditRecord AuditRecord::TaskRun(std::string_view node, std::string_view task_id,
                                 std::string_view study, int64_t round, std::string_view project,
                                 std::string_view task_body) {
  return TaskRecord(audit_action::kTaskRun, node, node, task_id, study, round, project, task_body);
}
AuditRecord AuditRecord::TaskRefuse(std::string_view node, std::string_view task_id,
                                    std::string_view study, int64_t round, std::string_view project,
                                    std::string_view task_body, std::string_view rule_name) {
  AuditRecord r =
      TaskRecord(audit_action::kTaskRefuse, node, node, task_id, study, round, project, task_body);
  r.details["rule"] = std::string(rule_name);
  return r;
}
AuditRecord AuditRecord::ResultSend(std::string_view node, std::string_view task_id,
                                    std::string_view study, int64_t round, std::string_view project,
                                    std::string_view result_body) {
  return TaskRecord(audit_action::kResultSend, node, node, task_id, study, round, project,
                    result_body);
}
AuditRecord AuditRecord::ResultAccept(std::string_view node, std::string_view task_id,
                                      std::string_view study, int64_t round,
                                      std::string_view project, std::string_view result_body) {
  return TaskRecord(audit_action::kResultAccept, "hub", node, task_id, study, round, project,
                    result_body);
}

Result<std::string> CanonicalEntryJson(const AuditEntry& entry) { return CanonicalBody(entry); }

// ---- the log ----------------------------------------------------------------------------------

AuditLog::AuditLog(SqliteDb& db, std::string writer, std::optional<AuditKey> key, Clock& clock)
    : db_(db), writer_(std::move(writer)), key_(std::move(key)), clock_(clock) {}

std::optional<AuditPublicKey> AuditLog::public_key() const {
  if (!key_) return std::nullopt;
  return key_->public_key();
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(SqliteDb& db, std::string writer,
                                                 std::optional<AuditKey> key, Clock& clock) {
  RETURN_IF_ERROR(ValidateId(writer, "audit log writer"));
  RETURN_IF_ERROR(MigrateComponent(db, "audit", kAuditMigrations));
  ASSIGN_OR_RETURN(Statement meta, db.Prepare("SELECT writer, public_key FROM audit_meta"));
  ASSIGN_OR_RETURN(bool has_meta, meta.Step());
  if (has_meta) {
    std::string stored_writer = meta.ColumnText(0);
    std::string stored_key = meta.ColumnText(1);
    if (stored_writer != writer) {
      return Status::FailedPrecondition(fmt::format(
          "{}: this audit log is written by \"{}\", not \"{}\"", db.path(), stored_writer, writer));
    }
    if (key && FormatPublicKey(key->public_key()) != stored_key) {
      return RuleViolation(
          StatusCode::kFailedPrecondition, rule::kAuditKey,
          fmt::format("{}: the audit log was started with key {}; the key given is {} (use the "
                      "writer's own key)",
                      db.path(), stored_key, FormatPublicKey(key->public_key())));
    }
  } else if (key) {
    ASSIGN_OR_RETURN(
        Statement ins,
        db.Prepare("INSERT INTO audit_meta(id, writer, public_key) VALUES(1, ?1, ?2)"));
    ins.Bind(1, writer).Bind(2, FormatPublicKey(key->public_key()));
    ASSIGN_OR_RETURN(int64_t n, ins.Run());
    (void)n;
  }
  return std::unique_ptr<AuditLog>(new AuditLog(db, std::move(writer), std::move(key), clock));
}

Result<std::optional<std::string>> AuditLog::StoredWriter(SqliteDb& db) {
  RETURN_IF_ERROR(MigrateComponent(db, "audit", kAuditMigrations));
  ASSIGN_OR_RETURN(Statement meta, db.Prepare("SELECT writer FROM audit_meta"));
  ASSIGN_OR_RETURN(bool row, meta.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(meta.ColumnText(0));
}

namespace {

Status RequireKey(const std::optional<AuditKey>& key) {
  if (key) return Status::Ok();
  return RuleViolation(StatusCode::kFailedPrecondition, rule::kAuditKey,
                       "the audit log is open without its signing key: state changes are "
                       "signed; give the writer's key (--audit-key)");
}

const std::set<std::string> kRecordKeys = {"actor", "action", "project",      "study",  "task_id",
                                           "round", "node",   "payload_hash", "details"};

}  // namespace

Result<std::string> AuditRecordToJson(const AuditRecord& r) {
  // Written directly (the hub writes one per state change on its loop thread); any JSON reader
  // reads it back.
  std::string out;
  out.reserve(256);
  auto field = [&](std::string_view key, std::string_view value) -> Status {
    out += key;
    return AppendCanonicalString(value, out);
  };
  RETURN_IF_ERROR(field("{\"action\":", r.action));
  RETURN_IF_ERROR(field(",\"actor\":", r.actor));
  out += ",\"details\":";
  RETURN_IF_ERROR(AppendCanonicalDetails(r.details, out));
  RETURN_IF_ERROR(field(",\"node\":", r.node));
  RETURN_IF_ERROR(field(",\"payload_hash\":", r.payload_hash));
  RETURN_IF_ERROR(field(",\"project\":", r.project));
  out += ",\"round\":" + std::to_string(r.round);
  RETURN_IF_ERROR(field(",\"study\":", r.study));
  RETURN_IF_ERROR(field(",\"task_id\":", r.task_id));
  out += '}';
  return out;
}

Result<AuditRecord> AuditRecordFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  auto fail = [](std::string_view what) {
    return Status::DataLoss(fmt::format("pending audit record: {}", what));
  };
  if (!j.is_object()) return fail("not a JSON object");
  for (const std::string& k : kRecordKeys) {
    if (!j.contains(k)) return fail(fmt::format("missing field \"{}\"", k));
  }
  AuditRecord r;
  for (auto [k, out] : {std::pair{"actor", &r.actor},
                        {"action", &r.action},
                        {"project", &r.project},
                        {"study", &r.study},
                        {"task_id", &r.task_id},
                        {"node", &r.node},
                        {"payload_hash", &r.payload_hash}}) {
    if (!j[k].is_string()) return fail(fmt::format("\"{}\" must be a string", k));
    *out = j[k].get<std::string>();
  }
  if (!j["round"].is_number_integer()) return fail("\"round\" must be an integer");
  r.round = j["round"].get<int64_t>();
  if (!j["details"].is_object()) return fail("\"details\" must be an object");
  for (auto it = j["details"].begin(); it != j["details"].end(); ++it) {
    if (!it.value().is_string()) return fail("\"details\" values must be strings");
    r.details[it.key()] = it.value().get<std::string>();
  }
  return r;
}

Result<AuditEntry> AuditLog::Append(const AuditRecord& record) {
  RETURN_IF_ERROR(RequireKey(key_));
  ASSIGN_OR_RETURN(Savepoint sp, Savepoint::Begin(db_, "audit_append"));
  ASSIGN_OR_RETURN(AuditEntry e, AppendInSavepoint(record, clock_.NowMicros(), /*sign=*/true));
  RETURN_IF_ERROR(sp.Release());
  return e;
}

Status AuditLog::AppendAll(std::span<const AuditRecord> records) {
  RETURN_IF_ERROR(RequireKey(key_));
  if (records.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(Savepoint sp, Savepoint::Begin(db_, "audit_append_all"));
  const int64_t now = clock_.NowMicros();
  for (size_t i = 0; i < records.size(); ++i) {
    ASSIGN_OR_RETURN(AuditEntry e,
                     AppendInSavepoint(records[i], now, /*sign=*/i + 1 == records.size()));
    (void)e;
  }
  return sp.Release();
}

Result<int64_t> AuditLog::ImportMark(std::string_view source) {
  ASSIGN_OR_RETURN(Statement st, db_.Prepare("SELECT last_id FROM audit_imports WHERE source = ?"));
  st.Bind(1, source);
  ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt(0) : int64_t{0};
}

Result<int64_t> AuditLog::AppendImported(std::string_view source,
                                         std::span<const PendingAuditRecord> records) {
  RETURN_IF_ERROR(RequireKey(key_));
  if (source.empty()) return Status::InvalidArgument("an audit outbox needs a name");
  ASSIGN_OR_RETURN(Savepoint sp, Savepoint::Begin(db_, "audit_import"));
  ASSIGN_OR_RETURN(int64_t mark, ImportMark(source));
  const int64_t before = mark;
  for (size_t i = 0; i < records.size(); ++i) {
    const PendingAuditRecord& p = records[i];
    if (p.id <= mark) {
      if (p.id > before) {
        return Status::InvalidArgument(fmt::format(
            "pending audit records of {}: ids must increase ({} after {})", source, p.id, mark));
      }
      continue;  // appended before
    }
    // Only the write's last entry is signed (see EntrySignatureOk).
    ASSIGN_OR_RETURN(AuditEntry e, AppendInSavepoint(p.record, p.time_micros,
                                                     /*sign=*/i + 1 == records.size()));
    (void)e;
    mark = p.id;
  }
  if (mark != before) {
    ASSIGN_OR_RETURN(Statement up,
                     db_.Prepare("INSERT INTO audit_imports(source, last_id) VALUES(?1, ?2) "
                                 "ON CONFLICT(source) DO UPDATE SET last_id = excluded.last_id"));
    up.Bind(1, source).Bind(2, mark);
    RETURN_IF_ERROR(up.Run().status());
  }
  RETURN_IF_ERROR(sp.Release());
  return mark;
}

Result<AuditEntry> AuditLog::AppendInSavepoint(const AuditRecord& record, int64_t time_micros,
                                               bool sign) {
  RETURN_IF_ERROR(ValidateAction(record.action));
  AuditEntry e;
  e.writer = writer_;
  e.record = record;
  e.time_micros = time_micros;
  {
    ASSIGN_OR_RETURN(Statement last,
                     db_.Prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, last.Step());
    e.seq = row ? last.ColumnInt(0) + 1 : 1;
    e.prev_hash = row ? last.ColumnText(1) : kZeroHash;
  }
  ASSIGN_OR_RETURN(e.hash, EntryHash(e));
  if (sign) {
    ASSIGN_OR_RETURN(std::vector<uint8_t> hash_bytes, internal::FromHex(e.hash));
    e.signature = internal::ToHex(key_->Sign(DomainMessage(kEntryDomain, hash_bytes)));
  }
  std::string details;
  RETURN_IF_ERROR(AppendCanonicalDetails(record.details, details));
  ASSIGN_OR_RETURN(
      Statement ins,
      db_.Prepare("INSERT INTO audit_log(seq, time, writer, actor, action, project, study, "
                  "task_id, round, node, payload_hash, details, prev_hash, hash, signature) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
  ins.Bind(1, e.seq)
      .Bind(2, e.time_micros)
      .Bind(3, e.writer)
      .Bind(4, record.actor)
      .Bind(5, record.action)
      .Bind(6, record.project)
      .Bind(7, record.study)
      .Bind(8, record.task_id)
      .Bind(9, record.round)
      .Bind(10, record.node)
      .Bind(11, record.payload_hash)
      .Bind(12, details)
      .Bind(13, e.prev_hash)
      .Bind(14, e.hash)
      .Bind(15, e.signature);
  Status ran = ins.Run().status();
  if (!ran.ok()) return ran.WithContext("appending to the audit log");
  return e;
}

Result<int64_t> AuditLog::Count() {
  ASSIGN_OR_RETURN(Statement st, db_.Prepare("SELECT count(*) FROM audit_log"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  (void)row;
  return st.ColumnInt(0);
}

Result<std::vector<AuditEntry>> AuditLog::Read(int64_t from_seq, int64_t limit) {
  ASSIGN_OR_RETURN(Statement st, db_.Prepare(std::string(kSelectColumns) +
                                             " WHERE seq >= ?1 ORDER BY seq LIMIT ?2"));
  st.Bind(1, from_seq).Bind(2, limit);
  std::vector<AuditEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(AuditEntry e, EntryFromRow(st));
    out.push_back(std::move(e));
  }
  return out;
}

Status AuditLog::VerifyStored() {
  ASSIGN_OR_RETURN(Statement meta, db_.Prepare("SELECT public_key FROM audit_meta"));
  ASSIGN_OR_RETURN(bool has_meta, meta.Step());
  ASSIGN_OR_RETURN(std::vector<AuditEntry> entries, Read());
  if (!has_meta) {
    if (entries.empty()) return Status::Ok();
    return Status::DataLoss(fmt::format("{}: audit entries without a recorded key", db_.path()));
  }
  ASSIGN_OR_RETURN(AuditPublicKey key, ParsePublicKey(meta.ColumnText(0)));
  std::string prev = kZeroHash;
  for (size_t i = 0; i < entries.size(); ++i) {
    const AuditEntry& e = entries[i];
    auto where = [&](std::string_view what) {
      return Status::DataLoss(fmt::format("{}: audit entry {}: {}", db_.path(), e.seq, what));
    };
    if (e.seq != static_cast<int64_t>(i) + 1) return where("sequence has a gap (entry removed)");
    if (e.prev_hash != prev) return where("does not chain to the previous entry");
    ASSIGN_OR_RETURN(std::string h, EntryHash(e));
    if (h != e.hash) return where("content does not match its hash (edited)");
    if (!EntrySignatureOk(key, e, /*require=*/i + 1 == entries.size())) {
      return where(e.signature.empty() ? "the log's last entry is not signed (entries appended "
                                         "without the writer's key)"
                                       : "signature invalid");
    }
    prev = e.hash;
  }
  return Status::Ok();
}

Result<std::string> AuditLog::Export() {
  if (!key_) {
    return RuleViolation(StatusCode::kFailedPrecondition, rule::kAuditKey,
                         "exporting signs the log's head: give the writer's key (--audit-key)");
  }
  RETURN_IF_ERROR(VerifyStored());
  ASSIGN_OR_RETURN(std::vector<AuditEntry> entries, Read());
  std::string out;
  json header{{"format", kFormatName},
              {"version", kFormatVersion},
              {"writer", writer_},
              {"public_key", FormatPublicKey(key_->public_key())}};
  out += header.dump() + "\n";
  for (const AuditEntry& e : entries) {
    json line = BodyJson(e);
    line["hash"] = e.hash;
    line["signature"] = e.signature;
    ASSIGN_OR_RETURN(std::string text, Dump(line));
    out += text + "\n";
  }
  std::string head_hash = entries.empty() ? kZeroHash : entries.back().hash;
  json head =
      HeadJson(static_cast<int64_t>(entries.size()), head_hash, clock_.NowMicros(), writer_);
  ASSIGN_OR_RETURN(std::string head_text, Dump(head));
  auto sig = key_->Sign(DomainMessage(kHeadDomain, internal::AsBytes(head_text)));
  out += json{{"head", head}, {"signature", internal::ToHex(sig)}}.dump() + "\n";
  return out;
}

// ---- verification -------------------------------------------------------------------------------

Result<VerifiedAuditLog> VerifyAuditLog(std::string_view jsonl, const AuditPublicKey& key) {
  std::vector<std::string> lines = Split(jsonl, '\n');
  while (!lines.empty() && Trim(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) return Status::InvalidArgument("empty file: not an audit log");
  std::vector<json> parsed;
  for (size_t i = 0; i < lines.size(); ++i) {
    try {
      parsed.push_back(json::parse(lines[i]));
    } catch (const json::exception&) {
      return Status::DataLoss(
          fmt::format("line {}: not JSON (the file was altered or cut)", i + 1));
    }
  }
  const json& header = parsed[0];
  if (!header.is_object() || header.value("format", "") != kFormatName ||
      !header.contains("writer") || !header["writer"].is_string() ||
      !header.contains("public_key") || !header["public_key"].is_string()) {
    return Status::InvalidArgument("line 1: not a passerelle audit log header");
  }
  const int version = header.value("version", 0);
  if (version != 1 && version != kFormatVersion) {
    return Status::InvalidArgument(fmt::format(
        "line 1: audit log format version {} is not supported (this program reads 1 and {})",
        version, kFormatVersion));
  }
  VerifiedAuditLog out;
  out.writer = header["writer"].get<std::string>();
  auto named_key = ParsePublicKey(header["public_key"].get<std::string>());
  if (!named_key.ok()) return Status::DataLoss("line 1: malformed public key");
  if (*named_key != key) {
    return Status::DataLoss(fmt::format(
        "the log says it was signed by {}, but the key given is {}: wrong key, or the log is "
        "not from this writer",
        FormatPublicKey(*named_key), FormatPublicKey(key)));
  }
  // The head must be the last line.
  const json& tail = parsed.back();
  bool has_head = parsed.size() >= 2 && tail.is_object() && tail.contains("head");
  if (!has_head) {
    return Status::DataLoss(
        "no signed head at the end of the file: the log was truncated (entries removed from its "
        "end) or not exported by passerelle");
  }
  std::string prev = kZeroHash;
  int64_t expected = 1;
  for (size_t i = 1; i + 1 < parsed.size(); ++i) {
    size_t line = i + 1;
    ASSIGN_OR_RETURN(AuditEntry e, EntryFromJson(parsed[i], line));
    auto fail = [&](std::string_view what) {
      return Status::DataLoss(fmt::format("line {} (entry seq {}): {}", line, e.seq, what));
    };
    if (e.seq != expected) {
      if (e.seq > expected) {
        return fail(fmt::format("entry {} is missing before it: an entry was removed", expected));
      }
      return fail(
          fmt::format("expected entry {} here: entries were reordered, duplicated or "
                      "inserted",
                      expected));
    }
    if (e.writer != out.writer) {
      return fail(fmt::format("written by \"{}\" in a log of \"{}\": an entry was inserted",
                              e.writer, out.writer));
    }
    auto h = EntryHash(e);
    if (!h.ok()) return fail(h.status().message());
    if (*h != e.hash) return fail("its content does not match its hash: the entry was edited");
    // Format 1 signed every entry; format 2 at least the last of each write and of the log.
    const bool last = i + 2 == parsed.size();
    if (!EntrySignatureOk(key, e, /*require=*/version == 1 || last)) {
      if (!e.signature.empty()) {
        return fail("signature invalid: the entry was edited or inserted without the writer's key");
      }
      return fail(last ? "no signature on the log's last entry: entries were appended without "
                         "the writer's key"
                       : "no signature: a format-1 log signs every entry");
    }
    if (e.prev_hash != prev) {
      return fail(
          "does not chain to the entry before it: an entry was removed, inserted or "
          "reordered");
    }
    prev = e.hash;
    ++expected;
    out.entries.push_back(std::move(e));
  }
  // The signed head.
  const json& head = tail["head"];
  size_t head_line = parsed.size();
  if (!head.is_object() || !tail.contains("signature") || !tail["signature"].is_string() ||
      !head.contains("entries") || !head["entries"].is_number_integer() || !head.contains("hash") ||
      !head["hash"].is_string() || !head.contains("exported_at") ||
      !head["exported_at"].is_number_integer() || !head.contains("writer") ||
      !head["writer"].is_string() || head.size() != 4 || tail.size() != 2) {
    return Status::DataLoss(fmt::format("line {}: malformed head", head_line));
  }
  json canonical = HeadJson(head["entries"].get<int64_t>(), head["hash"].get<std::string>(),
                            head["exported_at"].get<int64_t>(), head["writer"].get<std::string>());
  ASSIGN_OR_RETURN(std::string head_text, Dump(canonical));
  auto sig = internal::FromHex(tail["signature"].get<std::string>());
  if (!sig.ok() || sig->size() != 64 ||
      !internal::Ed25519Verify(key, DomainMessage(kHeadDomain, internal::AsBytes(head_text)),
                               std::span<const uint8_t, 64>(sig->data(), 64))) {
    return Status::DataLoss(fmt::format("line {}: the head's signature is invalid", head_line));
  }
  int64_t n = static_cast<int64_t>(out.entries.size());
  if (head["entries"].get<int64_t>() != n || head["hash"].get<std::string>() != prev) {
    return Status::DataLoss(fmt::format(
        "line {}: the signed head says {} entries ending with hash {}, the file has {} ending "
        "with {}: entries were removed from the end (or added after the export)",
        head_line, head["entries"].get<int64_t>(), head["hash"].get<std::string>(), n, prev));
  }
  if (head["writer"].get<std::string>() != out.writer) {
    return Status::DataLoss(fmt::format("line {}: the head names another writer", head_line));
  }
  out.head_hash = prev;
  out.exported_at = head["exported_at"].get<int64_t>();
  return out;
}

// ---- reconciliation -----------------------------------------------------------------------------

Result<ReconcileReport> ReconcileAuditLogs(std::string_view node_jsonl,
                                           const AuditPublicKey& node_key,
                                           std::string_view hub_jsonl,
                                           const AuditPublicKey& hub_key) {
  auto node_log = VerifyAuditLog(node_jsonl, node_key);
  if (!node_log.ok()) return node_log.status().WithContext("node log");
  auto hub_log = VerifyAuditLog(hub_jsonl, hub_key);
  if (!hub_log.ok()) return hub_log.status().WithContext("hub log");
  if (node_log->writer == hub_log->writer) {
    return Status::InvalidArgument(fmt::format(
        "both logs are written by \"{}\": give a node's log and the hub's log", node_log->writer));
  }
  ReconcileReport report;
  report.node = node_log->writer;
  const std::string& node = report.node;

  std::map<std::string, const AuditEntry*> hub_tasks;  // task.create by task id
  for (const AuditEntry& e : hub_log->entries) {
    if (e.record.action != audit_action::kTaskCreate) continue;
    if (hub_tasks.count(e.record.task_id)) {
      report.problems.push_back(
          fmt::format("hub entry {}: task {} created twice", e.seq, e.record.task_id));
      continue;
    }
    hub_tasks[e.record.task_id] = &e;
  }
  std::map<std::string, const AuditEntry*> node_ran;  // task.run / task.refuse by task id
  std::map<std::string, std::vector<const AuditEntry*>> node_sent;  // result.send by task id
  for (const AuditEntry& e : node_log->entries) {
    const std::string& action = e.record.action;
    if (action == audit_action::kTaskRun || action == audit_action::kTaskRefuse) {
      ++report.tasks_checked;
      auto it = hub_tasks.find(e.record.task_id);
      if (it == hub_tasks.end()) {
        report.problems.push_back(fmt::format(
            "node entry {}: node {} ran task {} (study {}, round {}) that the hub never asked for",
            e.seq, node, e.record.task_id, e.record.study, e.record.round));
        continue;
      }
      const AuditEntry& h = *it->second;
      if (h.record.node != node) {
        report.problems.push_back(
            fmt::format("node entry {}: task {} was created by the hub for node {}, not {}", e.seq,
                        e.record.task_id, h.record.node, node));
      }
      if (h.record.study != e.record.study || h.record.round != e.record.round) {
        report.problems.push_back(fmt::format(
            "node entry {}: task {} is study {} round {} at the node but study {} round {} at "
            "the hub",
            e.seq, e.record.task_id, e.record.study, e.record.round, h.record.study,
            h.record.round));
      }
      if (h.record.payload_hash != e.record.payload_hash) {
        report.problems.push_back(fmt::format(
            "node entry {}: the task {} the node ran is not the one the hub created (hub entry "
            "{}): its body differs",
            e.seq, e.record.task_id, h.seq));
      }
      if (node_ran.count(e.record.task_id)) {
        report.notes.push_back(
            fmt::format("node entry {}: task {} handled again (a retry)", e.seq, e.record.task_id));
      } else {
        node_ran[e.record.task_id] = &e;
      }
    } else if (action == audit_action::kResultSend) {
      node_sent[e.record.task_id].push_back(&e);
    }
  }
  for (const auto& [task_id, sends] : node_sent) {
    if (!node_ran.count(task_id)) {
      report.problems.push_back(fmt::format(
          "node entry {}: a result was sent for task {}, which the node's log does not show it "
          "running",
          sends.front()->seq, task_id));
    }
  }
  for (const AuditEntry& e : hub_log->entries) {
    if (e.record.action != audit_action::kResultAccept || e.record.node != node) continue;
    ++report.results_checked;
    auto it = node_sent.find(e.record.task_id);
    if (it == node_sent.end()) {
      report.problems.push_back(fmt::format(
          "hub entry {}: the hub used a result of node {} for task {} that the node never sent",
          e.seq, node, e.record.task_id));
      continue;
    }
    bool same = false;
    for (const AuditEntry* s : it->second)
      same = same || s->record.payload_hash == e.record.payload_hash;
    if (!same) {
      report.problems.push_back(fmt::format(
          "hub entry {}: the result the hub used for task {} is not the one node {} sent (node "
          "entry {}): the result was substituted",
          e.seq, e.record.task_id, node, it->second.back()->seq));
    }
  }
  for (const auto& [task_id, h] : hub_tasks) {
    if (h->record.node == node && !node_ran.count(task_id)) {
      report.notes.push_back(fmt::format(
          "hub entry {}: task {} for node {} does not appear in the node's log (not fetched yet, "
          "or the node's log was exported before)",
          h->seq, task_id, node));
    }
  }
  return report;
}

}  // namespace passerelle::governance
