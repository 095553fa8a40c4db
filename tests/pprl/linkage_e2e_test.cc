// Record linkage in the federation, end to end through the real protocol (TLS 1.3, mTLS, long
// polls): two sandbox nodes hold FEBRL dataset4a ("fr") and dataset4b ("qc") both as a dataset
// and as their identity file. The nodes agree a key through the hub, the hub matches, each node
// keeps its matched ids, the researcher gets counts; then a count over the linkage deduplicates.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/sqlite.h"
#include "crypto/hash.h"
#include "crypto/pki.h"
#include "node/linkage.h"
#include "privacy/pprl/encode_source.h"
#include "privacy/pprl/encoder.h"
#include "privacy/pprl/key.h"
#include "privacy/pprl/match.h"
#include "privacy/pprl/schema.h"
#include "protocol/codec.h"
#include "sandbox/sandbox.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"

namespace passerelle {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kData = PASSERELLE_SHARED_DATA;
const std::string kSchemaFile =
    std::string(PASSERELLE_SOURCE_DIR) + "/examples/pprl/febrl-schema.json";
const std::string kA = kData + "/febrl/dataset4a.csv";
const std::string kB = kData + "/febrl/dataset4b.csv";

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PersonOf(const std::string& id) {
  const size_t a = id.find('-');
  const size_t b = id.find('-', a + 1);
  return id.substr(a + 1, b - a - 1);
}

// Column `index` of each data line of a FEBRL CSV, trimmed.
std::vector<std::string> CsvColumn(const std::string& path, size_t index) {
  std::vector<std::string> out;
  std::istringstream in(ReadText(path));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    if (index >= cells.size()) continue;
    std::string v = cells[index];
    v.erase(0, v.find_first_not_of(' '));
    if (!v.empty()) out.push_back(v);
  }
  return out;
}

struct Secrets {
  std::mutex mu;
  std::map<std::string, std::vector<uint8_t>> by_node;
  std::string corrupt_node;  // when set, this node's secret is changed (a node with a wrong key)
};

class LinkageE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::Create("pprl-linkage-e2e");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(d).value());
    for (const auto& [name, csv] : {std::pair{"fr", kA}, std::pair{"qc", kB}}) {
      auto db =
          store::OpenDuckDb({.path = (dir_->path() / (std::string(name) + ".duckdb")).string()});
      ASSERT_TRUE(db.ok());
      auto r = store::IngestTable(**db, {.name = "persons", .from = csv});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    auto schema_text = ReadText(kSchemaFile);
    schema_ = new json(json::parse(schema_text));
    // The schema's comment quotes an example address ("stanley street"); the scan below looks for
    // names of the data, so the submitted schema goes without it.
    schema_->erase("comment");
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete schema_;
  }

  // A federation fr + qc in `work`; `secrets` records (or corrupts) the agreed secrets.
  static std::unique_ptr<sandbox::LocalFederation> Start(
      const std::string& work, Secrets* secrets,
      std::vector<std::filesystem::path> approved_schemas = {}) {
    sandbox::FederationOptions opts;
    opts.work_dir = dir_->path() / work;
    opts.policy.min_cell = 5;
    opts.policy.min_rows = 5;
    opts.pprl.poll_interval = 20ms;
    opts.pprl.timeout = 60s;
    opts.pprl.approved_schemas = std::move(approved_schemas);
    opts.pprl.on_secret_for_testing = [secrets](const std::string& node,
                                                std::span<uint8_t> secret) {
      std::lock_guard<std::mutex> lock(secrets->mu);
      if (node == secrets->corrupt_node) secret[0] ^= 0x5a;
      secrets->by_node[node].assign(secret.begin(), secret.end());
    };
    std::vector<sandbox::SandboxNode> nodes = {
        {"fr", dir_->path() / "fr.duckdb", nullptr, kA},
        {"qc", dir_->path() / "qc.duckdb", nullptr, kB},
    };
    auto fed = sandbox::LocalFederation::Start(opts, nodes);
    EXPECT_TRUE(fed.ok()) << fed.status().ToString();
    return fed.ok() ? std::move(fed).value() : nullptr;
  }

  static json LinkageStudy(std::optional<int64_t> min_cell = std::nullopt) {
    json s = {{"name", "febrl-linkage"},
              {"linkage", {{"schema", *schema_}, {"threshold", 0.8}, {"nodes", {"fr", "qc"}}}}};
    if (min_cell) s["linkage"]["min_cell"] = *min_cell;
    return s;
  }

  static TempDir* dir_;
  static json* schema_;
};

TempDir* LinkageE2eTest::dir_ = nullptr;
json* LinkageE2eTest::schema_ = nullptr;

std::map<std::string, std::pair<std::string, bool>> NodeMatches(const std::filesystem::path& db,
                                                                const std::string& linkage) {
  auto s = SqliteDb::Open({.path = db.string()});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  std::map<std::string, std::pair<std::string, bool>> out;  // cluster -> (local id, keep)
  auto q = (*s)->Prepare(
      "SELECT local_id, cluster, keep FROM linkage_matches WHERE linkage_id = ? AND local_id <> "
      "''");
  EXPECT_TRUE(q.ok());
  q->Bind(1, linkage);
  while (*q->Step()) out[q->ColumnText(1)] = {q->ColumnText(0), q->ColumnInt(2) != 0};
  return out;
}

// Whether `word` occurs in `hay` as a whole word (not inside another, as "archer" in
// "researcher").
bool HasWord(const std::string& hay, const std::string& word) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  for (size_t at = hay.find(word); at != std::string::npos; at = hay.find(word, at + 1)) {
    const bool before = at > 0 && alpha(hay[at - 1]);
    const bool after = at + word.size() < hay.size() && alpha(hay[at + word.size()]);
    if (!before && !after) return true;
  }
  return false;
}

bool Contains(const std::string& hay, std::span<const uint8_t> needle) {
  return hay.find(std::string(needle.begin(), needle.end())) != std::string::npos;
}

TEST_F(LinkageE2eTest, NodesGetTheirMatchesResearcherCountsHubNeverSeesKeyOrNames) {
  Secrets secrets;
  auto fed = Start("main", &secrets);
  ASSERT_NE(fed, nullptr);
  auto id = fed->Submit(LinkageStudy());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto result = fed->Wait(*id, 120s);
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  // Both nodes agreed the same secret.
  ASSERT_EQ(secrets.by_node.size(), 2u);
  const std::vector<uint8_t> secret = secrets.by_node["fr"];
  ASSERT_EQ(secret, secrets.by_node["qc"]);

  // The offline matcher with the same key gives the same counts.
  auto key = pprl::LinkageKey::FromSecret(secret);
  ASSERT_TRUE(key.ok());
  auto schema = pprl::ReadSchemaFile(kSchemaFile);
  ASSERT_TRUE(schema.ok());
  auto enc = pprl::Encoder::Create(*schema, *key);
  ASSERT_TRUE(enc.ok());
  auto a = pprl::EncodeCsvFile(*enc, kA);
  auto b = pprl::EncodeCsvFile(*enc, kB);
  ASSERT_TRUE(a.ok() && b.ok());
  auto offline = pprl::Match(*a, *b, {.threshold = 0.8});
  ASSERT_TRUE(offline.ok());
  const int64_t overlap = static_cast<int64_t>(offline->pairs.size());
  std::printf("federated linkage: %s\n", result->dump().c_str());
  EXPECT_EQ((*result)["pairs"][0]["overlap"], overlap);
  EXPECT_EQ((*result)["linked_persons"], overlap);
  EXPECT_EQ((*result)["nodes"][0]["records"], 5000);
  EXPECT_EQ((*result)["nodes"][1]["records"], 5000);
  EXPECT_EQ((*result)["nodes"][0]["matched"], overlap);
  EXPECT_EQ((*result)["union"], 10000 - overlap);
  EXPECT_TRUE((*result)["suppressed"].empty());

  // Each node holds its own matched ids; joined by cluster they are the offline pairs.
  const auto fr = NodeMatches(dir_->path() / "main" / "node-fr-journal.sqlite.linkage.sqlite", *id);
  const auto qc = NodeMatches(dir_->path() / "main" / "node-qc-journal.sqlite.linkage.sqlite", *id);
  ASSERT_EQ(static_cast<int64_t>(fr.size()), overlap);
  ASSERT_EQ(static_cast<int64_t>(qc.size()), overlap);
  std::set<std::pair<std::string, std::string>> fed_pairs, offline_pairs;
  size_t true_pairs = 0;
  for (const auto& [cluster, m] : fr) {
    ASSERT_TRUE(qc.count(cluster));
    EXPECT_TRUE(m.second);                // fr ranks first: keeps its records
    EXPECT_FALSE(qc.at(cluster).second);  // qc drops them in deduplicated analyses
    fed_pairs.insert({m.first, qc.at(cluster).first});
    true_pairs += PersonOf(m.first) == PersonOf(qc.at(cluster).first);
  }
  for (const auto& p : offline->pairs) offline_pairs.insert({a->id(p.a), b->id(p.b)});
  EXPECT_EQ(fed_pairs, offline_pairs);
  EXPECT_EQ(true_pairs, fed_pairs.size());  // precision 1.000
  EXPECT_GE(true_pairs / 5000.0, 0.992);    // recall

  // Count over the linkage: deduplicated union; without deduplication, both populations.
  json count = {{"name", "count"},
                {"dataset", "persons"},
                {"linkage", {{"id", *id}, {"deduplicate", true}, {"id_column", "rec_id"}}},
                {"analyses", {{{"id", "n"}, {"type", "count"}}}}};
  auto cid = fed->Submit(count);
  ASSERT_TRUE(cid.ok()) << cid.status().ToString();
  auto counted = fed->Wait(*cid, 60s);
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  std::printf("deduplicated count: %s\n", counted->dump().c_str());
  EXPECT_EQ((*counted)["analyses"]["n"]["n"], 10000 - overlap) << counted->dump();
  count["linkage"]["deduplicate"] = false;
  auto cid2 = fed->Submit(count);
  ASSERT_TRUE(cid2.ok());
  auto counted2 = fed->Wait(*cid2, 60s);
  ASSERT_TRUE(counted2.ok()) << counted2.status().ToString();
  EXPECT_EQ((*counted2)["analyses"]["n"]["n"], 10000) << counted2->dump();
  fed->Stop();

  // The hub's state: no identity, no key, no CLK left.
  std::string hub = ReadText(dir_->path() / "main" / "hub-state.sqlite");
  if (std::filesystem::exists(dir_->path() / "main" / "hub-state.sqlite-wal")) {
    hub += ReadText(dir_->path() / "main" / "hub-state.sqlite-wal");
  }
  ASSERT_GT(hub.size(), 4096u);
  size_t names_checked = 0;
  for (size_t col : {1u, 2u}) {
    for (const auto& name : CsvColumn(kA, col)) {
      if (name.size() < 6) continue;
      ++names_checked;
      ASSERT_FALSE(HasWord(hub, name)) << "a name is in the hub state: " << name;
    }
  }
  EXPECT_GT(names_checked, 1000u);
  for (const auto& rec : CsvColumn(kB, 0)) {
    ASSERT_EQ(hub.find(rec), std::string::npos) << "a local id is in the hub state";
  }
  EXPECT_FALSE(Contains(hub, secret));
  EXPECT_EQ(hub.find(crypto::ToHex(secret)), std::string::npos);
  EXPECT_EQ(hub.find(protocol::Base64Encode(secret)), std::string::npos);
  for (const char* label : {"passerelle/pprl/v1/field/names", "passerelle/pprl/v1/blocking"}) {
    auto sub = key->Derive(label);
    EXPECT_FALSE(Contains(hub, sub));
  }
  // CLKs were erased after matching: no CLK of either node is left in the file.
  for (size_t i = 0; i < 50; ++i) {
    auto clk = a->clk(i * 97);
    EXPECT_FALSE(Contains(hub, {reinterpret_cast<const uint8_t*>(clk.data()), clk.size() * 8}));
  }
}

TEST_F(LinkageE2eTest, SmallCountsAreSuppressedAndWrongKeyIsRefused) {
  Secrets secrets;
  auto fed = Start("suppress", &secrets);
  ASSERT_NE(fed, nullptr);
  // min_cell above the overlap: the overlap and the union are not released, the records are.
  auto id = fed->Submit(LinkageStudy(4999));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto result = fed->Wait(*id, 120s);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE((*result)["pairs"][0]["overlap"].is_null()) << result->dump();
  EXPECT_TRUE((*result)["linked_persons"].is_null());
  EXPECT_TRUE((*result)["union"].is_null());
  EXPECT_EQ((*result)["nodes"][0]["records"], 5000);
  EXPECT_EQ((*result)["min_cell"], 4999);
  EXPECT_GE((*result)["suppressed"].size(), 3u);

  // A node whose key differs (here: its secret changed after the agreement): the hub refuses to
  // compare the sets, and the linkage fails without a count.
  {
    std::lock_guard<std::mutex> lock(secrets.mu);
    secrets.corrupt_node = "qc";
  }
  auto bad = fed->Submit(LinkageStudy());
  ASSERT_TRUE(bad.ok());
  auto failed = fed->Wait(*bad, 120s);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("cannot be compared"), std::string::npos)
      << failed.status().ToString();

  // Validation at submission.
  json s = LinkageStudy();
  s["linkage"]["threshold"] = 1.5;
  EXPECT_EQ(fed->Submit(s).status().code(), StatusCode::kInvalidArgument);
  s = LinkageStudy();
  s["linkage"]["nodes"] = {"fr"};
  EXPECT_EQ(fed->Submit(s).status().code(), StatusCode::kInvalidArgument);
  s = LinkageStudy();
  s["linkage"]["nodes"] = {"fr", "mars"};
  EXPECT_EQ(fed->Submit(s).status().code(), StatusCode::kInvalidArgument);
  s = LinkageStudy();
  s["linkage"]["schema"]["clk"]["bits"] = 1000;
  EXPECT_EQ(fed->Submit(s).status().code(), StatusCode::kInvalidArgument);
  s = LinkageStudy();
  s["linkage"]["blocking"] = "sometimes";
  EXPECT_EQ(fed->Submit(s).status().code(), StatusCode::kInvalidArgument);
  json count = {{"name", "count"},
                {"dataset", "persons"},
                {"linkage", {{"id", "lk-000000000000"}, {"deduplicate", true}}},
                {"analyses", {{{"id", "n"}, {"type", "count"}}}}};
  EXPECT_EQ(fed->Submit(count).status().code(), StatusCode::kNotFound);
  count["linkage"]["id"] = *bad;  // failed, not completed
  EXPECT_EQ(fed->Submit(count).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LinkageE2eTest, NodeRefusesASchemaItsCustodianDidNotApprove) {
  Secrets secrets;
  // The custodians approved the FEBRL schema file; the study sends it with other weights.
  auto fed = Start("approval", &secrets, {kSchemaFile});
  ASSERT_NE(fed, nullptr);
  json study = LinkageStudy();
  study["linkage"]["schema"]["fields"][0]["k"] = 25;
  auto id = fed->Submit(study);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto failed = fed->Wait(*id, 60s);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("not one this node's custodian approved"),
            std::string::npos)
      << failed.status().ToString();
  EXPECT_TRUE(secrets.by_node.empty());  // refused before any key was agreed
  // The approved schema (the file's comment does not change the fingerprint) runs.
  auto ok = fed->Submit(LinkageStudy());
  ASSERT_TRUE(ok.ok());
  auto result = fed->Wait(*ok, 120s);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT((*result)["linked_persons"].get<int64_t>(), 4900);
}

TEST(LinkageKeySignature, OnlyTheNamedNodeOfTheFederationCaCanSignItsKey) {
  auto ca = crypto::CreateCa({.name = "test CA", .valid_days = 2});
  auto other_ca = crypto::CreateCa({.name = "another CA", .valid_days = 2});
  ASSERT_TRUE(ca.ok() && other_ca.ok());
  auto fr = crypto::IssueCertificate(*ca, crypto::CertRole::kNode, "fr", {.valid_days = 2});
  auto hub = crypto::IssueCertificate(*ca, crypto::CertRole::kHub, "qc", {.valid_days = 2});
  auto rogue =
      crypto::IssueCertificate(*other_ca, crypto::CertRole::kNode, "fr", {.valid_days = 2});
  ASSERT_TRUE(fr.ok() && hub.ok() && rogue.ok());
  const std::string lk = "lk-0123456789ab";
  std::vector<uint8_t> pk(32, 42);
  auto post = node::SignEphemeralKey({ca->cert_pem, fr->cert_pem, fr->key_pem}, lk, "fr", pk);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_TRUE(node::VerifyEphemeralKey(ca->cert_pem, lk, "fr", *post).ok());
  // Another node's name, another linkage, another key: refused.
  EXPECT_FALSE(node::VerifyEphemeralKey(ca->cert_pem, lk, "qc", *post).ok());
  EXPECT_FALSE(node::VerifyEphemeralKey(ca->cert_pem, "lk-0123456789ac", "fr", *post).ok());
  protocol::KeyPost swapped = *post;
  swapped.public_key[0] ^= 1;  // a hub substituting its own key keeps the node's signature
  EXPECT_FALSE(node::VerifyEphemeralKey(ca->cert_pem, lk, "fr", swapped).ok());
  // A certificate of another CA, or the hub's own (server) certificate named like a node.
  auto from_rogue =
      node::SignEphemeralKey({other_ca->cert_pem, rogue->cert_pem, rogue->key_pem}, lk, "fr", pk);
  ASSERT_TRUE(from_rogue.ok());
  EXPECT_FALSE(node::VerifyEphemeralKey(ca->cert_pem, lk, "fr", *from_rogue).ok());
  auto from_hub = node::SignEphemeralKey({ca->cert_pem, hub->cert_pem, hub->key_pem}, lk, "qc", pk);
  ASSERT_TRUE(from_hub.ok());
  EXPECT_FALSE(node::VerifyEphemeralKey(ca->cert_pem, lk, "qc", *from_hub).ok());
  protocol::KeyPost garbage = *post;
  garbage.certificate = "not a certificate";
  EXPECT_FALSE(node::VerifyEphemeralKey(ca->cert_pem, lk, "fr", garbage).ok());
}

TEST(PprlWrongKeySanity, ClksUnderAnotherKeyAlmostNeverMatch) {
  auto schema = pprl::ReadSchemaFile(kSchemaFile);
  ASSERT_TRUE(schema.ok());
  std::vector<uint8_t> s1(32), s2(32);
  for (size_t i = 0; i < 32; ++i) {
    s1[i] = static_cast<uint8_t>(i * 7 + 1);
    s2[i] = static_cast<uint8_t>(i * 13 + 5);
  }
  auto k1 = pprl::LinkageKey::FromSecret(s1);
  auto k2 = pprl::LinkageKey::FromSecret(s2);
  ASSERT_TRUE(k1.ok() && k2.ok());
  auto e1 = pprl::Encoder::Create(*schema, *k1);
  auto e2 = pprl::Encoder::Create(*schema, *k2);
  ASSERT_TRUE(e1.ok() && e2.ok());
  auto a = pprl::EncodeCsvFile(*e1, kA);
  auto b = pprl::EncodeCsvFile(*e2, kB);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(pprl::CheckComparable(*a, *b).ok());  // the key checks differ
  auto same = pprl::EncodeCsvFile(*e1, kB);
  ASSERT_TRUE(same.ok());
  auto right = pprl::FindCandidates(*a, *same, {.threshold = 0.8});
  auto wrong = pprl::FindCandidates(*a, *b, {.threshold = 0.8});  // same length: comparable bits
  ASSERT_TRUE(right.ok() && wrong.ok());
  EXPECT_GT(right->size(), 4900u);
  EXPECT_LT(wrong->size(), 5u);
}

}  // namespace
}  // namespace passerelle
