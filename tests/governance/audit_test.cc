// The audit log: signed hash chain, export, every tampering case, keys, reconciliation.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/clock.h"
#include "common/files.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/strings.h"
#include "governance/audit.h"
#include "governance/crypto_adapter.h"

namespace passerelle::governance {
namespace {

using nlohmann::json;

std::unique_ptr<SqliteDb> MemoryDb() {
  SqliteOptions o;
  o.path = ":memory:";
  return SqliteDb::Open(o).value();
}

AuditKey Key(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return AuditKey::FromSeed(seed);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out = Split(text, '\n');
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::string Unlines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void ExpectRejected(const std::string& log, const AuditPublicKey& key, std::string_view words) {
  auto v = VerifyAuditLog(log, key);
  ASSERT_FALSE(v.ok()) << "tampering not detected (" << words << ")";
  EXPECT_EQ(v.status().code(), StatusCode::kDataLoss) << v.status().ToString();
  EXPECT_NE(v.status().message().find(words), std::string::npos) << v.status().ToString();
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = MemoryDb();
    log_ = AuditLog::Open(*db_, "hub", Key(1), clock_).value();
    for (int i = 0; i < 5; ++i) {
      AuditRecord r;
      r.actor = "alice";
      r.action = "project.decide";
      r.project = "proj-a";
      r.details = {{"n", std::to_string(i)}, {"note", "é ü 中"}};
      clock_.Advance(std::chrono::seconds(1));
      ASSERT_TRUE(log_->Append(r).ok());
    }
    export_ = log_->Export().value();
    lines_ = Lines(export_);
    ASSERT_EQ(lines_.size(), 7u);  // header, 5 entries, head
  }

  FakeClock clock_{1'700'000'000'000'000};
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<AuditLog> log_;
  std::string export_;
  std::vector<std::string> lines_;
};

TEST_F(AuditTest, ExportVerifiesAndRoundTrips) {
  auto v = VerifyAuditLog(export_, Key(1).public_key());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->writer, "hub");
  ASSERT_EQ(v->entries.size(), 5u);
  EXPECT_EQ(v->entries[2].seq, 3);
  EXPECT_EQ(v->entries[2].record.details.at("n"), "2");
  EXPECT_EQ(v->entries[4].record.details.at("note"), "é ü 中");
  EXPECT_EQ(v->entries[0].prev_hash, std::string(64, '0'));
  EXPECT_EQ(v->entries[1].prev_hash, v->entries[0].hash);
  EXPECT_EQ(v->head_hash, v->entries[4].hash);
  EXPECT_TRUE(log_->VerifyStored().ok());
  EXPECT_EQ(log_->Count().value(), 5);
}

TEST_F(AuditTest, HashIsSha256OfPreviousHashAndCanonicalJson) {
  auto entries = log_->Read().value();
  const AuditEntry& e = entries[1];
  std::string canonical = CanonicalEntryJson(e).value();
  // Keys in byte order, no spaces: the documented canonical form.
  EXPECT_EQ(canonical.rfind("{\"action\":\"project.decide\",\"actor\":\"alice\",\"details\":{", 0),
            0u)
      << canonical;
  EXPECT_EQ(canonical.find("\": "), std::string::npos);  // no whitespace between tokens
  EXPECT_EQ(canonical.find(", "), std::string::npos);
  auto prev = internal::FromHex(e.prev_hash).value();
  EXPECT_EQ(internal::ToHex(internal::Sha256Concat(prev, internal::AsBytes(canonical))), e.hash);
}

TEST_F(AuditTest, EditedEntryDetected) {
  json j = json::parse(lines_[3]);
  j["actor"] = "mallory";
  lines_[3] = j.dump();
  ExpectRejected(Unlines(lines_), Key(1).public_key(), "edited");
}

TEST_F(AuditTest, EditedEntryWithRecomputedHashDetectedBySignature) {
  json j = json::parse(lines_[3]);
  j["details"]["n"] = "99";
  AuditEntry e;
  e.seq = j["seq"];
  e.time_micros = j["time"];
  e.writer = j["writer"];
  e.record.actor = j["actor"];
  e.record.action = j["action"];
  e.record.project = j["project"];
  e.record.round = j["round"];
  for (auto it = j["details"].begin(); it != j["details"].end(); ++it) {
    e.record.details[it.key()] = it.value();
  }
  e.prev_hash = j["prev_hash"];
  auto prev = internal::FromHex(e.prev_hash).value();
  j["hash"] = internal::ToHex(
      internal::Sha256Concat(prev, internal::AsBytes(CanonicalEntryJson(e).value())));
  lines_[3] = j.dump();
  ExpectRejected(Unlines(lines_), Key(1).public_key(), "signature invalid");
}

TEST_F(AuditTest, RemovedEntryDetected) {
  lines_.erase(lines_.begin() + 3);  // entry 3
  ExpectRejected(Unlines(lines_), Key(1).public_key(), "entry 3 is missing");
}

TEST_F(AuditTest, RemovedLastEntryDetectedByHead) {
  lines_.erase(lines_.begin() + 5);  // entry 5, the head stays
  ExpectRejected(Unlines(lines_), Key(1).public_key(), "removed from the end");
}

TEST_F(AuditTest, TruncatedFileDetected) {
  lines_.pop_back();  // the head
  ExpectRejected(Unlines(lines_), Key(1).public_key(), "truncated");
  std::string cut = export_.substr(0, export_.size() / 2);
  EXPECT_FALSE(VerifyAuditLog(cut, Key(1).public_key()).ok());
}

TEST_F(AuditTest, ReorderedEntriesDetected) {
  std::swap(lines_[2], lines_[3]);
  ExpectRejected(Unlines(lines_), Key(1).public_key(), "missing");  // seq 3 where 2 was due
  std::vector<std::string> again = Lines(export_);
  // Renumbering the swapped entries does not help: the hashes and signatures break.
  json a = json::parse(again[2]);
  json b = json::parse(again[3]);
  std::swap(a["seq"], b["seq"]);
  again[2] = b.dump();
  again[3] = a.dump();
  ExpectRejected(Unlines(again), Key(1).public_key(), "edited");
}

TEST_F(AuditTest, InsertedEntryDetected) {
  // A copy of entry 2 inserted after it.
  lines_.insert(lines_.begin() + 3, lines_[2]);
  ExpectRejected(Unlines(lines_), Key(1).public_key(), "reordered, duplicated or inserted");
}

TEST_F(AuditTest, EntryForgedWithAnotherKeyDetected) {
  // Mallory appends an entry to a copy of the database with her own key: the chain is right, the
  // signature is hers.
  auto db2 = MemoryDb();
  auto forged_log = AuditLog::Open(*db2, "hub", Key(9), clock_).value();
  std::vector<AuditEntry> originals = log_->Read().value();
  for (const AuditEntry& e : originals) ASSERT_TRUE(forged_log->Append(e.record).ok());
  AuditRecord r;
  r.actor = "mallory";
  r.action = "project.decide";
  ASSERT_TRUE(forged_log->Append(r).ok());
  std::string forged = forged_log->Export().value();
  // Verified with the hub's key: the log names another key.
  ExpectRejected(forged, Key(1).public_key(), "signed by");
  // With the header claiming the hub's key, the signatures fail.
  std::vector<std::string> lines = Lines(forged);
  json header = json::parse(lines[0]);
  header["public_key"] = FormatPublicKey(Key(1).public_key());
  lines[0] = header.dump();
  ExpectRejected(Unlines(lines), Key(1).public_key(), "signature invalid");
}

TEST_F(AuditTest, WrongKeyRefused) { ExpectRejected(export_, Key(2).public_key(), "signed by"); }

TEST_F(AuditTest, SqliteRefusesUpdateAndDelete) {
  EXPECT_FALSE(db_->Execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").ok());
  EXPECT_FALSE(db_->Execute("DELETE FROM audit_log WHERE seq = 5").ok());
  EXPECT_TRUE(log_->VerifyStored().ok());
}

TEST_F(AuditTest, EditBehindTheTriggersDetected) {
  ASSERT_TRUE(db_->Execute("DROP TRIGGER audit_log_no_update").ok());
  ASSERT_TRUE(db_->Execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").ok());
  Status st = log_->VerifyStored();
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("entry 2"), std::string::npos) << st.ToString();
  EXPECT_FALSE(log_->Export().ok());  // never exports a broken chain
}

TEST_F(AuditTest, AppendRollsBackWithTheCallersTransaction) {
  {
    auto tx = SqliteTransaction::Begin(*db_).value();
    AuditRecord r;
    r.actor = "alice";
    r.action = "call.create";
    ASSERT_TRUE(log_->Append(r).ok());
    ASSERT_TRUE(tx.Rollback().ok());
  }
  EXPECT_EQ(log_->Count().value(), 5);
  EXPECT_TRUE(log_->VerifyStored().ok());
}

TEST_F(AuditTest, KeyAndWriterAreFixedForALog) {
  auto other_key = AuditLog::Open(*db_, "hub", Key(2), clock_);
  EXPECT_EQ(other_key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other_key.status().message().find("[rule: audit_key]"), std::string::npos);
  EXPECT_FALSE(AuditLog::Open(*db_, "fr-node", Key(1), clock_).ok());
  auto read_only = AuditLog::Open(*db_, "hub", std::nullopt, clock_).value();
  AuditRecord r;
  r.action = "x";
  EXPECT_EQ(read_only->Append(r).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read_only->Read().value().size(), 5u);
  EXPECT_EQ(AuditLog::StoredWriter(*db_).value().value(), "hub");
}

TEST_F(AuditTest, RefusesBadActionAndInvalidUtf8) {
  AuditRecord r;
  r.action = "Bad Action";
  EXPECT_EQ(log_->Append(r).status().code(), StatusCode::kInvalidArgument);
  r.action = "ok";
  r.actor = std::string("\xff\xfe", 2);
  EXPECT_EQ(log_->Append(r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Count().value(), 5);
}

AuditRecord Decision(int n) {
  AuditRecord r;
  r.actor = "alice";
  r.action = "project.decide";
  r.details = {{"n", std::to_string(n)}};
  return r;
}

// Format 2: a write of several entries signs only its last; the chain makes that signature cover
// the others.
TEST_F(AuditTest, AWriteOfSeveralEntriesSignsItsLast) {
  std::vector<AuditRecord> write = {Decision(10), Decision(11), Decision(12)};
  ASSERT_TRUE(log_->AppendAll(write).ok());
  auto entries = log_->Read().value();
  ASSERT_EQ(entries.size(), 8u);
  EXPECT_TRUE(entries[5].signature.empty());
  EXPECT_TRUE(entries[6].signature.empty());
  EXPECT_EQ(entries[7].signature.size(), 128u);
  EXPECT_TRUE(log_->VerifyStored().ok());
  std::string exported = log_->Export().value();
  ASSERT_TRUE(VerifyAuditLog(exported, Key(1).public_key()).ok());

  // Editing an unsigned entry, even with its hash recomputed, breaks the chain to the signed one.
  std::vector<std::string> lines = Lines(exported);
  json j = json::parse(lines[6]);  // entry 6: unsigned
  ASSERT_EQ(j["signature"], "");
  j["actor"] = "mallory";
  lines[6] = j.dump();
  ExpectRejected(Unlines(lines), Key(1).public_key(), "edited");

  // A format-1 file must sign every entry.
  lines = Lines(exported);
  json header = json::parse(lines[0]);
  ASSERT_EQ(header["version"], 2);
  header["version"] = 1;
  lines[0] = header.dump();
  ExpectRejected(Unlines(lines), Key(1).public_key(), "signature");
}

// The attack the last-entry rule stops: appending to the stored log without the writer's key
// (a correct chain hash, no signature) is caught before any export.
TEST_F(AuditTest, UnsignedEntryAppendedAtTheEndDetected) {
  auto entries = log_->Read().value();
  AuditEntry forged;
  forged.seq = 6;
  forged.time_micros = entries.back().time_micros + 1;
  forged.writer = "hub";
  forged.record = Decision(99);
  forged.prev_hash = entries.back().hash;
  auto prev = internal::FromHex(forged.prev_hash).value();
  std::string hash = internal::ToHex(
      internal::Sha256Concat(prev, internal::AsBytes(CanonicalEntryJson(forged).value())));
  auto ins = db_->Prepare(
                    "INSERT INTO audit_log(seq, time, writer, actor, action, project, study, "
                    "task_id, round, node, payload_hash, details, prev_hash, hash, signature) "
                    "VALUES(6, ?, 'hub', 'alice', 'project.decide', '', '', '', 0, '', '', "
                    "'{\"n\":\"99\"}', ?, ?, '')")
                 .value();
  ins.Bind(1, forged.time_micros).Bind(2, forged.prev_hash).Bind(3, hash);
  ASSERT_TRUE(ins.Run().ok());
  Status st = log_->VerifyStored();
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("not signed"), std::string::npos) << st.ToString();
  EXPECT_FALSE(log_->Export().ok());
}

PendingAuditRecord Pending(int64_t id, int n) {
  return PendingAuditRecord{id, 1'700'000'000'000'000 + id, Decision(n)};
}

// Records forwarded from an outbox are appended exactly once: a forwarder that appended them and
// stopped before deleting them from its outbox offers them again, and they are skipped.
TEST_F(AuditTest, ImportedRecordsAreAppendedOnce) {
  EXPECT_EQ(log_->ImportMark("hub-state-a").value(), 0);
  std::vector<PendingAuditRecord> first = {Pending(1, 1), Pending(2, 2), Pending(3, 3)};
  EXPECT_EQ(log_->AppendImported("hub-state-a", first).value(), 3);
  EXPECT_EQ(log_->Count().value(), 8);
  // Offered again with one more: only the new one is appended.
  std::vector<PendingAuditRecord> again = {Pending(2, 2), Pending(3, 3), Pending(4, 4)};
  EXPECT_EQ(log_->AppendImported("hub-state-a", again).value(), 4);
  EXPECT_EQ(log_->Count().value(), 9);
  // Another outbox has its own mark.
  EXPECT_EQ(log_->ImportMark("hub-state-b").value(), 0);
  std::vector<PendingAuditRecord> other = {Pending(1, 7)};
  EXPECT_EQ(log_->AppendImported("hub-state-b", other).value(), 1);
  // Ids that go backwards are refused, whole.
  std::vector<PendingAuditRecord> backwards = {Pending(6, 6), Pending(5, 5)};
  EXPECT_EQ(log_->AppendImported("hub-state-a", backwards).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->ImportMark("hub-state-a").value(), 4);
  auto entries = log_->Read().value();
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(entries[5].time_micros, 1'700'000'000'000'001);  // the state change's time
  EXPECT_TRUE(entries[5].signature.empty());                 // one signature per write
  EXPECT_FALSE(entries[7].signature.empty());
  EXPECT_TRUE(log_->VerifyStored().ok());
  EXPECT_TRUE(VerifyAuditLog(log_->Export().value(), Key(1).public_key()).ok());
}

// The canonical JSON is written by hand for speed; its bytes must be those of nlohmann's strict
// dump (the documented form, and what logs written before were hashed with), and it must refuse
// exactly the strings nlohmann refuses.
TEST(CanonicalJson, MatchesNlohmannStrictDumpOnRandomStrings) {
  DeterministicRandom random(11);
  const std::vector<std::string> pieces = {
      "a",    "Z",    "\"",   "\\", "/",  "\b", "\f", "\n", "\r", "\t", std::string(1, '\0'),
      "\x01", "\x1f", "\x7f", "é",  "中", "😀"};
  const std::vector<std::string> invalid_pieces = {
      "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80", "\xff", "\xc3", "\xf0\x9f\x98"};
  bool poison = false;  // this trial: one invalid sequence somewhere
  auto text = [&] {
    std::string out;
    const int n = static_cast<int>(random.Uniform(6));
    for (int i = 0; i < n; ++i) out += pieces[random.Uniform(pieces.size())];
    if (poison && random.Uniform(8) == 0) {
      out += invalid_pieces[random.Uniform(invalid_pieces.size())];
      poison = false;
    }
    return out;
  };
  int valid = 0, invalid = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    poison = random.Uniform(2) == 0;
    AuditEntry e;
    e.seq = static_cast<int64_t>(random.Uniform(1000000));
    e.time_micros = 1'700'000'000'000'000 + static_cast<int64_t>(random.Uniform(1000000));
    e.writer = text();
    e.record.actor = text();
    e.record.action = text();
    e.record.project = text();
    e.record.study = text();
    e.record.task_id = text();
    e.record.round = static_cast<int64_t>(random.Uniform(50)) - 5;
    e.record.node = text();
    e.record.payload_hash = text();
    e.prev_hash = text();
    for (int d = static_cast<int>(random.Uniform(3)); d > 0; --d) e.record.details[text()] = text();
    json details = json::object();
    for (const auto& [k, v] : e.record.details) details[k] = v;
    json j{{"seq", e.seq},
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
    std::optional<std::string> expected;
    try {
      expected = j.dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception&) {
    }
    auto got = CanonicalEntryJson(e);
    ASSERT_EQ(got.ok(), expected.has_value()) << "trial " << trial;
    if (expected) {
      ASSERT_EQ(*got, *expected) << "trial " << trial;
      ++valid;
    } else {
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
      ++invalid;
    }
  }
  EXPECT_GT(valid, 100);
  EXPECT_GT(invalid, 100);
}

TEST(AuditRecordJson, RoundTripsAndRefusesMalformedText) {
  AuditRecord r = AuditRecord::TaskCreate("t-1", "s-1", 2, "proj-a", "fr-node", "{\"x\":1}");
  r.details["status"] = "ok";
  std::string text = AuditRecordToJson(r).value();
  AuditRecord back = AuditRecordFromJson(text).value();
  EXPECT_EQ(AuditRecordToJson(back).value(), text);
  EXPECT_EQ(back.round, 2);
  EXPECT_EQ(back.payload_hash, r.payload_hash);
  EXPECT_EQ(back.details.at("status"), "ok");
  EXPECT_EQ(AuditRecordFromJson("[]").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(AuditRecordFromJson("{\"actor\":1}").status().code(), StatusCode::kDataLoss);
}

TEST(AuditKeys, FilesArePrivateAndRoundTrip) {
  auto dir = TempDir::Create().value();
  DeterministicRandom random(3);
  AuditKey key = AuditKey::Generate(random);
  auto path = dir.path() / "hub.key";
  ASSERT_TRUE(WriteAuditKeyFiles(key, path).ok());
  struct stat sb;
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  auto back = ReadAuditKeyFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->public_key(), key.public_key());
  auto pub = ReadAuditPublicKey((dir.path() / "hub.key.pub").string());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, key.public_key());
  EXPECT_EQ(ReadAuditPublicKey(FormatPublicKey(key.public_key())).value(), key.public_key());
  // Never overwritten; refused when others can read it.
  EXPECT_EQ(WriteAuditKeyFiles(key, path).code(), StatusCode::kAlreadyExists);
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(ReadAuditKeyFile(path).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(ParsePublicKey("ed25519:abcd").ok());
  // Two generated keys differ; the same seed gives the same key.
  EXPECT_NE(AuditKey::Generate(random).public_key(), key.public_key());
  EXPECT_EQ(Key(4).public_key(), Key(4).public_key());
}

// ---- reconciliation
// ------------------------------------------------------------------------------

class ReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_db_ = MemoryDb();
    node_db_ = MemoryDb();
    hub_ = AuditLog::Open(*hub_db_, "hub", Key(1), clock_).value();
    node_ = AuditLog::Open(*node_db_, "fr-node", Key(2), clock_).value();
  }
  void HubCreates(const std::string& task, const std::string& node, const std::string& body) {
    ASSERT_TRUE(hub_->Append(AuditRecord::TaskCreate(task, "s1", 1, "proj-a", node, body)).ok());
  }
  void NodeRuns(const std::string& task, const std::string& body, const std::string& result) {
    ASSERT_TRUE(node_->Append(AuditRecord::TaskRun("fr-node", task, "s1", 1, "proj-a", body)).ok());
    ASSERT_TRUE(
        node_->Append(AuditRecord::ResultSend("fr-node", task, "s1", 1, "proj-a", result)).ok());
  }
  void HubAccepts(const std::string& task, const std::string& result) {
    ASSERT_TRUE(
        hub_->Append(AuditRecord::ResultAccept("fr-node", task, "s1", 1, "proj-a", result)).ok());
  }
  ReconcileReport Run() {
    auto r = ReconcileAuditLogs(node_->Export().value(), Key(2).public_key(),
                                hub_->Export().value(), Key(1).public_key());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ReconcileReport{};
  }
  bool AnyProblem(const ReconcileReport& r, std::string_view words) {
    for (const auto& p : r.problems) {
      if (p.find(words) != std::string::npos) return true;
    }
    return false;
  }

  FakeClock clock_{1'700'000'000'000'000};
  std::unique_ptr<SqliteDb> hub_db_, node_db_;
  std::unique_ptr<AuditLog> hub_, node_;
};

TEST_F(ReconcileTest, AgreeingLogsReconcile) {
  HubCreates("t1", "fr-node", "{task 1}");
  HubCreates("t2", "qc-node", "{task 2}");
  HubCreates("t3", "fr-node", "{task 3}");
  NodeRuns("t1", "{task 1}", "{result 1}");
  HubAccepts("t1", "{result 1}");
  ReconcileReport r = Run();
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(r.problems);
  EXPECT_EQ(r.node, "fr-node");
  EXPECT_EQ(r.tasks_checked, 1);
  EXPECT_EQ(r.results_checked, 1);
  ASSERT_EQ(r.notes.size(), 1u);  // t3 not run yet; t2 is another node's
  EXPECT_NE(r.notes[0].find("t3"), std::string::npos);
}

TEST_F(ReconcileTest, ExtraTaskDetected) {
  HubCreates("t1", "fr-node", "{task 1}");
  NodeRuns("t1", "{task 1}", "{result 1}");
  NodeRuns("t9", "{forged task}", "{result 9}");  // never asked by the hub
  HubAccepts("t1", "{result 1}");
  ReconcileReport r = Run();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(AnyProblem(r, "ran task t9")) << ::testing::PrintToString(r.problems);
}

TEST_F(ReconcileTest, SubstitutedResultDetected) {
  HubCreates("t1", "fr-node", "{task 1}");
  NodeRuns("t1", "{task 1}", "{result 1}");
  HubAccepts("t1", "{another result}");
  ReconcileReport r = Run();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(AnyProblem(r, "substituted")) << ::testing::PrintToString(r.problems);
}

TEST_F(ReconcileTest, AlteredTaskWrongNodeAndUnsentResultDetected) {
  HubCreates("t1", "fr-node", "{task 1}");
  HubCreates("t2", "qc-node", "{task 2}");
  NodeRuns("t1", "{task 1, altered}", "{result 1}");
  NodeRuns("t2", "{task 2}", "{result 2}");
  HubAccepts("t1", "{result 1}");
  ASSERT_TRUE(
      hub_->Append(AuditRecord::TaskCreate("t5", "s1", 1, "proj-a", "fr-node", "{t5}")).ok());
  HubAccepts("t5", "{result 5}");  // the node never sent it
  ReconcileReport r = Run();
  EXPECT_TRUE(AnyProblem(r, "not the one the hub created")) << ::testing::PrintToString(r.problems);
  EXPECT_TRUE(AnyProblem(r, "for node qc-node, not fr-node"));
  EXPECT_TRUE(AnyProblem(r, "never sent"));
}

TEST_F(ReconcileTest, TamperedOrMisassignedLogsRefused) {
  HubCreates("t1", "fr-node", "{task 1}");
  NodeRuns("t1", "{task 1}", "{result 1}");
  std::vector<std::string> lines = Lines(node_->Export().value());
  lines.erase(lines.begin() + 1);
  auto r = ReconcileAuditLogs(Unlines(lines), Key(2).public_key(), hub_->Export().value(),
                              Key(1).public_key());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("node log"), std::string::npos);
  auto same = ReconcileAuditLogs(hub_->Export().value(), Key(1).public_key(),
                                 hub_->Export().value(), Key(1).public_key());
  EXPECT_EQ(same.status().code(), StatusCode::kInvalidArgument);
}

TEST(PayloadHash, IsSha256OfTheBytes) {
  EXPECT_EQ(PayloadHash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace passerelle::governance
