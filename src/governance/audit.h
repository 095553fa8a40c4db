// The audit trail: an append-only, hash-chained log whose entries are signed (Ed25519) by their
// writer (the hub or one node), exportable as a JSON-lines file that anyone holding the writer's
// public key can verify, and a reconciliation of a node's log against the hub's.
//
// Invariants of a log (docs/governance.md, "Audit log format", gives them byte by byte):
//   - entries have seq 1, 2, 3, ... without gaps, all written by one writer with one key;
//   - entry n's `prev_hash` is entry n-1's `hash` (64 zeros for entry 1);
//   - hash_n = SHA-256(raw bytes of prev_hash_n || CanonicalEntryJson(entry n)), where the
//     canonical JSON holds every field except `hash` and `signature`;
//   - signature_n = Ed25519(writer key, "passerelle-audit-entry-v1\n" || raw bytes of hash_n), on
//     the last entry of each write (a transaction that appends several entries signs its last
//     one, which covers the others through the chain) and so always on the log's last entry; an
//     entry inside a write has an empty signature (format 2; format 1 signed every entry);
//   - in SQLite, UPDATE and DELETE on the log table are refused by triggers; the chain makes any
//     edit made around them visible anyway (AuditLog::VerifyStored, VerifyAuditLog).
//   - an export ends with a signed head (entry count and last hash): an entry removed from the
//     end of an exported file is detected. (A writer holding its key can always rewrite its own
//     log before exporting it; the reconciliation of a node's log against the hub's, each signed by
//     a different party, is what catches that.)
//
// Fields of an entry, chosen so that reconciliation is possible: the task id, study and round of
// a task, the node it concerns, and `payload_hash` = PayloadHash(exact HTTP body bytes) of the
// task the hub sent / the node received, or of the result the node sent / the hub received.
//
// Thread-safety: AuditKey and the free functions are values / pure; an AuditLog belongs to one
// thread at a time (as its SqliteDb).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/status.h"

namespace passerelle::governance {

using AuditPublicKey = std::array<uint8_t, 32>;

// An Ed25519 signing key (its 32-byte RFC 8032 seed). The seed is zeroed on destruction.
class AuditKey {
 public:
  // A fresh key from 32 bytes of `random` (the kernel's CSPRNG in production).
  static AuditKey Generate(RandomSource& random);
  static AuditKey FromSeed(std::span<const uint8_t, 32> seed);
  AuditKey(const AuditKey& other) = default;
  AuditKey& operator=(const AuditKey& other) = default;
  ~AuditKey();

  const AuditPublicKey& public_key() const { return public_key_; }
  // Ed25519 signature of `message`.
  std::array<uint8_t, 64> Sign(std::span<const uint8_t> message) const;
  const std::array<uint8_t, 32>& seed() const { return seed_; }

 private:
  AuditKey() = default;
  std::array<uint8_t, 32> seed_{};
  AuditPublicKey public_key_{};
};

// "ed25519:<64 hex digits>".
std::string FormatPublicKey(const AuditPublicKey& key);
Result<AuditPublicKey> ParsePublicKey(std::string_view text);

// Writes `private_path` (mode 0600: "ed25519-private:<hex seed>\n") and `private_path` + ".pub"
// ("ed25519:<hex>\n"). Refuses to overwrite an existing private key file.
Status WriteAuditKeyFiles(const AuditKey& key, const std::filesystem::path& private_path);
// Reads a private key file; refuses one that others than its owner can read.
Result<AuditKey> ReadAuditKeyFile(const std::filesystem::path& path);
// A public key from "ed25519:<hex>" text, or from a file holding that text.
Result<AuditPublicKey> ReadAuditPublicKey(std::string_view path_or_text);

// Action names of the entries the reconciliation reads. Part of the log format.
namespace audit_action {
inline constexpr std::string_view kTaskCreate = "task.create";      // hub: a task for a node
inline constexpr std::string_view kTaskRun = "task.run";            // node: ran a task
inline constexpr std::string_view kTaskRefuse = "task.refuse";      // node: refused a task
inline constexpr std::string_view kResultSend = "result.send";      // node: posted a result
inline constexpr std::string_view kResultAccept = "result.accept";  // hub: used a node's result
}  // namespace audit_action

// What a writer records. Strings may be empty when they do not apply; all must be valid UTF-8.
struct AuditRecord {
  std::string actor;   // who caused it: a user name, a node id, "local-operator", "system"
  std::string action;  // "project.decide", "task.run", ... ([a-z0-9._-]+)
  std::string project;
  std::string study;
  std::string task_id;
  int64_t round = 0;         // the study round of a task (1-based), 0 when not a task
  std::string node;          // the node a task or result concerns
  std::string payload_hash;  // PayloadHash of the body sent or received
  std::map<std::string, std::string> details;  // anything else; never row-level data

  // Builders for the entries reconciliation reads.
  static AuditRecord TaskCreate(std::string_view task_id, std::string_view study, int64_t round,
                                std::string_view project, std::string_view node,
                                std::string_view task_body);
  static AuditRecord TaskRun(std::string_view node, std::string_view task_id,
                             std::string_view study, int64_t round, std::string_view project,
                             std::string_view task_body);
  static AuditRecord TaskRefuse(std::string_view node, std::string_view task_id,
                                std::string_view study, int64_t round, std::string_view project,
                                std::string_view task_body, std::string_view rule);
  static AuditRecord ResultSend(std::string_view node, std::string_view task_id,
                                std::string_view study, int64_t round, std::string_view project,
                                std::string_view result_body);
  static AuditRecord ResultAccept(std::string_view node, std::string_view task_id,
                                  std::string_view study, int64_t round, std::string_view project,
                                  std::string_view result_body);
};

// An audit record as one JSON object of its fields, and back: how a writer keeps records in a
// durable outbox before appending them (hub/audit_outbox.h). Fails on text that is not valid UTF-8
// or not such an object.
Result<std::string> AuditRecordToJson(const AuditRecord& record);
Result<AuditRecord> AuditRecordFromJson(std::string_view text);

// A record waiting in a writer's durable outbox: its id there (ids only increase) and the time of
// the state change it records (microseconds since the epoch).
struct PendingAuditRecord {
  int64_t id = 0;
  int64_t time_micros = 0;
  AuditRecord record;
};

struct AuditEntry {
  int64_t seq = 0;          // 1-based, consecutive
  int64_t time_micros = 0;  // writer's clock, microseconds since the epoch
  std::string writer;       // "hub" or the node id
  AuditRecord record;
  std::string prev_hash;  // 64 hex digits
  std::string hash;       // 64 hex digits
  std::string signature;  // 128 hex digits
};

// "sha256:<hex>" of the exact bytes of a task or result body.
std::string PayloadHash(std::string_view body);
// The canonical JSON of an entry without `hash` and `signature`: keys in byte order, no spaces,
// integers only. Fails on a string that is not valid UTF-8.
Result<std::string> CanonicalEntryJson(const AuditEntry& entry);

class AuditLog {
 public:
  // Opens the log in `db` (creating its tables; component "audit"), written by `writer`.
  // With a key, Append and Export are possible, and the key must be the one the log was started
  // with. Without one, the log is read-only. `db` and `clock` must outlive the log.
  static Result<std::unique_ptr<AuditLog>> Open(SqliteDb& db, std::string writer,
                                                std::optional<AuditKey> key, Clock& clock);

  // Appends a signed entry. Uses a SAVEPOINT, so that inside the caller's transaction the entry
  // commits or rolls back with the state change it records.
  Result<AuditEntry> Append(const AuditRecord& record);
  // Appends several entries as one write (one SAVEPOINT): only the last is signed.
  Status AppendAll(std::span<const AuditRecord> records);

  // Appending from a durable outbox, exactly once. `source` names the outbox. ImportMark is the
  // last outbox id appended from it (0: none). AppendImported appends, in order, the records whose
  // id is above the mark, each entry timed at its state change, and moves the mark to the last id,
  // under one savepoint (inside the caller's transaction the entries and the mark commit together,
  // so that a forwarder interrupted before it could delete the outbox rows skips them the next
  // time). REQUIRES: ids increase. Returns the new mark.
  Result<int64_t> ImportMark(std::string_view source);
  Result<int64_t> AppendImported(std::string_view source,
                                 std::span<const PendingAuditRecord> records);

  // The writer recorded in `db` by an earlier Open with a key (nullopt: none yet).
  static Result<std::optional<std::string>> StoredWriter(SqliteDb& db);

  Result<int64_t> Count();
  // Entries with seq >= from_seq, at most `limit`, in order.
  Result<std::vector<AuditEntry>> Read(int64_t from_seq = 1, int64_t limit = INT64_MAX);
  // Recomputes the chain and signatures of the stored entries: catches edits made to the
  // SQLite file behind the triggers' back.
  Status VerifyStored();

  // The log as a JSON-lines file: a header, one line per entry, a signed head.
  Result<std::string> Export();

  const std::string& writer() const { return writer_; }
  std::optional<AuditPublicKey> public_key() const;

 private:
  AuditLog(SqliteDb& db, std::string writer, std::optional<AuditKey> key, Clock& clock);
  // Append without the savepoint. REQUIRES: the caller holds one and checked the key.
  Result<AuditEntry> AppendInSavepoint(const AuditRecord& record, int64_t time_micros, bool sign);
  SqliteDb& db_;
  std::string writer_;
  std::optional<AuditKey> key_;
  Clock& clock_;
};

// What a verified export holds.
struct VerifiedAuditLog {
  std::string writer;
  std::vector<AuditEntry> entries;
  std::string head_hash;    // hex; 64 zeros for an empty log
  int64_t exported_at = 0;  // micros
};

// Verifies an exported log against the writer's public key. The error names the line and the
// entry and says what is wrong: edited (hash mismatch), signature invalid, removed / inserted /
// reordered (seq or chain break), truncated (head mismatch), signed by another key.
Result<VerifiedAuditLog> VerifyAuditLog(std::string_view jsonl, const AuditPublicKey& key);

struct ReconcileReport {
  std::string node;
  int64_t tasks_checked = 0;          // node task.run / task.refuse entries
  int64_t results_checked = 0;        // hub result.accept entries for this node
  std::vector<std::string> problems;  // each breaks the agreement between the two logs
  std::vector<std::string> notes;     // worth knowing, not a breach (a task not yet run)
  bool ok() const { return problems.empty(); }
};

// Verifies both logs, then checks that every task the node ran or refused was created by the hub
// for that node with the same study, round and body, and that every result the hub used from this
// node is byte for byte (by hash) the one the node sent.
Result<ReconcileReport> ReconcileAuditLogs(std::string_view node_jsonl,
                                           const AuditPublicKey& node_key,
                                           std::string_view hub_jsonl,
                                           const AuditPublicKey& hub_key);

}  // namespace passerelle::governance
