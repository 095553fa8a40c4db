#include "privacy/pseudonymize.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "common/files.h"
#include "common/strings.h"

namespace passerelle::privacy {
namespace {

constexpr OmopColumnRule kOmopRules[] = {
    {"person", "person_source_value", ColumnAction::kPseudonymize},
    {"provider", "provider_source_value", ColumnAction::kPseudonymize},
    {"provider", "npi", ColumnAction::kPseudonymize},
    {"provider", "dea", ColumnAction::kPseudonymize},
    {"care_site", "care_site_source_value", ColumnAction::kPseudonymize},
    {"location", "location_source_value", ColumnAction::kPseudonymize},
    {"visit_occurrence", "visit_source_value", ColumnAction::kPseudonymize},
    {"visit_detail", "visit_detail_source_value", ColumnAction::kPseudonymize},
    {"note", "note_source_value", ColumnAction::kPseudonymize},
    {"specimen", "specimen_source_id", ColumnAction::kPseudonymize},
    {"payer_plan_period", "family_source_value", ColumnAction::kPseudonymize},
    {"device_exposure", "unique_device_id", ColumnAction::kPseudonymize},
    {"device_exposure", "production_id", ColumnAction::kPseudonymize},
    {"note", "note_text", ColumnAction::kDrop},
    {"note", "note_title", ColumnAction::kDrop},
    {"note_nlp", "snippet", ColumnAction::kDrop},
    {"note_nlp", "lexical_variant", ColumnAction::kDrop},
    {"provider", "provider_name", ColumnAction::kDrop},
    {"location", "address_1", ColumnAction::kDrop},
    {"location", "address_2", ColumnAction::kDrop},
    {"location", "latitude", ColumnAction::kDrop},
    {"location", "longitude", ColumnAction::kDrop},
    {"drug_exposure", "sig", ColumnAction::kDrop},
    {"drug_exposure", "stop_reason", ColumnAction::kDrop},
    {"condition_occurrence", "stop_reason", ColumnAction::kDrop},
    {"observation", "value_as_string", ColumnAction::kDrop},
};

constexpr int32_t kMaxShiftDays = 3650;

// HMAC-SHA256 key blocks: the 32-byte key zero-padded to 64 bytes, xor 0x36 / 0x5c (RFC 2104).
std::string PadHex(const crypto::Bytes32& key, uint8_t pad) {
  std::array<uint8_t, 64> block{};
  for (size_t i = 0; i < block.size(); ++i) block[i] = (i < key.size() ? key[i] : 0) ^ pad;
  std::string hex = crypto::ToHex(block);
  crypto::SecureZero(block);
  return hex;
}

std::string HmacSql(const std::string& ipad, const std::string& opad, std::string_view expr) {
  return fmt::format(
      "sha256(unhex('{}') || unhex(sha256(unhex('{}') || encode(CAST(({}) AS VARCHAR)))))", opad,
      ipad, expr);
}

bool IsDateType(std::string_view t) {
  const std::string u = AsciiUpper(t);
  return u == "DATE";
}
bool IsTimestampType(std::string_view t) {
  const std::string u = AsciiUpper(t);
  return u == "TIMESTAMP" || u == "DATETIME" || StartsWith(u, "TIMESTAMP");
}

std::string TypedNull(std::string_view sql_type) {
  return fmt::format("CAST(NULL AS {})", sql_type.empty() ? "VARCHAR" : sql_type);
}

}  // namespace

std::span<const OmopColumnRule> OmopRules() { return kOmopRules; }

Status WriteNewSiteKeyFile(const std::filesystem::path& path, RandomSource& random) {
  crypto::Bytes32 key;
  random.Fill(key);
  std::string text = fmt::format("{}\n{}\n", kSiteKeyHeader, crypto::ToHex(key));
  crypto::SecureZero(key);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    crypto::SecureZero(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
    if (err == EEXIST) {
      return Status::AlreadyExists(fmt::format(
          "{}: already exists; a site keeps its key (a new key gives every person a new "
          "pseudonym). Remove the file first if you really mean to replace it",
          path.string()));
    }
    return Status::IoError(fmt::format("{}: cannot create: {}", path.string(), std::strerror(err)));
  }
  // The umask may have cleared bits we did not want anyway; make sure of 0600 exactly.
  ::fchmod(fd, 0600);
  size_t done = 0;
  Status st;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      st =
          Status::IoError(fmt::format("{}: write failed: {}", path.string(), std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (st.ok() && ::fsync(fd) != 0) {
    st = Status::IoError(fmt::format("{}: fsync failed: {}", path.string(), std::strerror(errno)));
  }
  ::close(fd);
  crypto::SecureZero(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

Result<SiteKey> ReadSiteKeyFile(const std::filesystem::path& path) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) {
    return Status::NotFound(
        fmt::format("{}: no such key file (create one with `passerelle pseudonymize keygen {}`)",
                    path.string(), path.string()));
  }
  if ((sb.st_mode & 077) != 0) {
    return Status::PermissionDenied(fmt::format(
        "{}: the site key is accessible to group or others (mode {:o}); run chmod 600 on it",
        path.string(), sb.st_mode & 0777));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  Result<SiteKey> key = ParseSiteKeyText(text, path.string());
  crypto::SecureZero(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  return key;
}

Result<SiteKey> ParseSiteKeyText(std::string_view text, std::string_view source) {
  std::vector<std::string> lines = Split(text, '\n');
  Status bad = Status::InvalidArgument(
      fmt::format("{}: not a passerelle site key file (expected \"{}\" and 64 hexadecimal digits)",
                  source, kSiteKeyHeader));
  if (lines.size() < 2 || Trim(lines[0]) != kSiteKeyHeader) return bad;
  Result<std::vector<uint8_t>> raw = crypto::FromHex(Trim(lines[1]));
  for (auto& line : lines) {
    crypto::SecureZero(std::span<uint8_t>(reinterpret_cast<uint8_t*>(line.data()), line.size()));
  }
  if (!raw.ok() || raw->size() != 32) return bad;
  SiteKey key;
  std::copy(raw->begin(), raw->end(), key.bytes.begin());
  crypto::SecureZero(*raw);
  return key;
}

PseudonymKeys DerivePseudonymKeys(const SiteKey& key) {
  PseudonymKeys k;
  k.id_key = crypto::HmacSha256(key.bytes, crypto::AsBytes("passerelle pseudonym v1"));
  k.date_key = crypto::HmacSha256(key.bytes, crypto::AsBytes("passerelle date shift v1"));
  return k;
}

std::string Pseudonym(const PseudonymKeys& keys, std::string_view value) {
  crypto::Bytes32 h = crypto::HmacSha256(keys.id_key, crypto::AsBytes(value));
  return crypto::ToHex(std::span<const uint8_t>(h.data(), 16));
}

int32_t DateShiftDays(const PseudonymKeys& keys, std::string_view person, int32_t max_days) {
  if (max_days <= 0) return 0;
  crypto::Bytes32 h = crypto::HmacSha256(keys.date_key, crypto::AsBytes(person));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
  const uint64_t span = 2 * static_cast<uint64_t>(max_days) + 1;
  return static_cast<int32_t>(v % span) - max_days;
}

Pseudonymizer::Pseudonymizer(bool omop, const SiteKey& key, PseudonymizeOptions options)
    : omop_(omop), options_(std::move(options)) {
  PseudonymKeys k = DerivePseudonymKeys(key);
  id_ipad_hex_ = PadHex(k.id_key, 0x36);
  id_opad_hex_ = PadHex(k.id_key, 0x5c);
  date_ipad_hex_ = PadHex(k.date_key, 0x36);
  date_opad_hex_ = PadHex(k.date_key, 0x5c);
}

namespace {
Status CheckShift(const PseudonymizeOptions& o) {
  if (o.shift_dates_max_days < 0 || o.shift_dates_max_days > kMaxShiftDays) {
    return Status::InvalidArgument(
        fmt::format("--shift-dates must be between 0 and {} days (got {})", kMaxShiftDays,
                    o.shift_dates_max_days));
  }
  return Status::Ok();
}
}  // namespace

Result<Pseudonymizer> Pseudonymizer::ForOmop(const SiteKey& key, const PseudonymizeOptions& o) {
  RETURN_IF_ERROR(CheckShift(o));
  if (!o.id_columns.empty() || !o.drop_columns.empty()) {
    return Status::InvalidArgument(
        "--id-columns and --drop-columns are for flat tables; OMOP identifier and free-text "
        "columns are fixed (see docs/privacy.md)");
  }
  return Pseudonymizer(true, key, o);
}

Result<Pseudonymizer> Pseudonymizer::ForTable(const SiteKey& key, const PseudonymizeOptions& o) {
  RETURN_IF_ERROR(CheckShift(o));
  if (o.id_columns.empty() && o.drop_columns.empty() && o.shift_dates_max_days == 0) {
    return Status::InvalidArgument(
        "--pseudonymize on a flat table needs --id-columns (the identifier columns), "
        "--drop-columns or --shift-dates");
  }
  if (o.shift_dates_max_days > 0 && o.id_columns.empty()) {
    return Status::InvalidArgument(
        "--shift-dates on a flat table needs --id-columns: the first one names the person");
  }
  std::set<std::string> seen;
  for (const auto* list : {&o.id_columns, &o.drop_columns}) {
    for (const auto& c : *list) {
      if (c.empty()) return Status::InvalidArgument("an empty column name in --id-columns");
      if (!seen.insert(c).second) {
        return Status::InvalidArgument(fmt::format("column \"{}\" is named twice", c));
      }
    }
  }
  return Pseudonymizer(false, key, o);
}

std::string Pseudonymizer::PseudonymSql(std::string_view value_expr) const {
  return fmt::format("left({}, 32)", HmacSql(id_ipad_hex_, id_opad_hex_, value_expr));
}

std::string Pseudonymizer::DateShiftSql(std::string_view person_expr) const {
  const int64_t d = options_.shift_dates_max_days;
  return fmt::format("(CAST(CAST(('0x' || left({}, 16)) AS UBIGINT) % {} AS INTEGER) - {})",
                     HmacSql(date_ipad_hex_, date_opad_hex_, person_expr), 2 * d + 1, d);
}

Result<std::vector<std::string>> Pseudonymizer::RewriteColumns(
    std::string_view table, const std::vector<RewriteColumn>& columns) const {
  std::map<std::string, const RewriteColumn*> by_name;
  for (const auto& c : columns) by_name[c.name] = &c;
  const bool shift = options_.shift_dates_max_days > 0;

  std::map<std::string, ColumnAction> action;
  std::string person_expr;
  if (omop_) {
    for (const auto& r : kOmopRules) {
      if (r.table == table) action[std::string(r.column)] = r.action;
    }
    if (by_name.count("person_id")) person_expr = by_name["person_id"]->expr;
  } else {
    for (const auto& c : options_.id_columns) action[c] = ColumnAction::kPseudonymize;
    for (const auto& c : options_.drop_columns) action[c] = ColumnAction::kDrop;
    for (const auto& [name, a] : action) {
      if (!by_name.count(name)) {
        return Status::InvalidArgument(
            fmt::format("table {}: column \"{}\" named in --{} is not in the file", table, name,
                        a == ColumnAction::kDrop ? "drop-columns" : "id-columns"));
      }
    }
    if (!options_.id_columns.empty()) person_expr = by_name[options_.id_columns.front()]->expr;
  }
  // A shift needs the row's person; tables without one keep their dates (e.g. note_nlp's
  // processing date, vocabulary validity dates).
  const std::string shift_sql = shift && !person_expr.empty() ? DateShiftSql(person_expr) : "";

  auto expr_of = [&](std::string_view name) -> std::string {
    auto it = by_name.find(std::string(name));
    return it == by_name.end() ? std::string("NULL") : it->second->expr;
  };
  std::vector<std::string> out;
  out.reserve(columns.size());
  for (const auto& c : columns) {
    auto it = action.find(c.name);
    if (it != action.end() && it->second == ColumnAction::kPseudonymize) {
      out.push_back(PseudonymSql(c.expr));
      continue;
    }
    if (it != action.end() && it->second == ColumnAction::kDrop) {
      out.push_back(TypedNull(c.sql_type));
      continue;
    }
    if (!shift_sql.empty()) {
      if (omop_ && table == "person" &&
          (c.name == "year_of_birth" || c.name == "month_of_birth" || c.name == "day_of_birth")) {
        // The birth date (mid-year when month or day is unknown), shifted, split again.
        const std::string y = expr_of("year_of_birth"), m = expr_of("month_of_birth"),
                          d = expr_of("day_of_birth");
        const std::string birth = fmt::format(
            "(TRY(make_date(CAST({} AS BIGINT), CAST(COALESCE({}, 7) AS BIGINT), "
            "CAST(COALESCE({}, 1) AS BIGINT))) + {})",
            y, m, d, shift_sql);
        if (c.name == "year_of_birth") {
          out.push_back(fmt::format("COALESCE(CAST(year({}) AS BIGINT), {})", birth, c.expr));
        } else {
          const char* part = c.name == "month_of_birth" ? "month" : "day";
          out.push_back(
              fmt::format("CASE WHEN {} IS NULL THEN NULL ELSE COALESCE(CAST({}({}) AS "
                          "BIGINT), {}) END",
                          c.expr, part, birth, c.expr));
        }
        continue;
      }
      if (IsDateType(c.sql_type)) {
        out.push_back(fmt::format("(({}) + {})", c.expr, shift_sql));
        continue;
      }
      if (IsTimestampType(c.sql_type)) {
        out.push_back(fmt::format("(({}) + to_days({}))", c.expr, shift_sql));
        continue;
      }
    }
    out.push_back(c.expr);
  }
  return out;
}

}  // namespace passerelle::privacy
