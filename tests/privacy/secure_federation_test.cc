// Secure aggregation through the real protocol (sandbox federation: TLS, long polls, the hub's
// SQLite state): results equal the plain ones, the hub's state and logs never hold a node's
// unmasked vector, a node that drops out after the masks are agreed leaves the exact sum of the
// others, a tampered share is detected, a node's policy can require secure aggregation.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

#include "analysis/analysis.h"
#include "common/files.h"
#include "privacy/fixed_point.h"
#include "privacy/secure_round.h"
#include "protocol/codec.h"
#include "sandbox/sandbox.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"

namespace passerelle {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kData = PASSERELLE_SHARED_DATA;

// A node's table: `rows` persons with an age, a biomarker and a sex, from a fixed recipe per
// node so that each node's sums are distinctive.
analysis::MemoryTable NodeTable(int node, int rows) {
  analysis::MemoryTable t;
  analysis::MemoryTable::NumericColumn age, marker, y;
  analysis::MemoryTable::TextColumn sex;
  for (int i = 0; i < rows; ++i) {
    age.push_back(20.0 + ((i * 7 + node * 13) % 60) + 0.25 * node);
    marker.push_back(1.0 + 0.001 * ((i * 31 + node * 17) % 997) + 0.0001 * node);
    y.push_back(((i * 3 + node) % 5) < 2 ? 1.0 : 0.0);
    sex.push_back((i + node) % 3 == 0 ? "F" : "M");
  }
  t.AddNumeric("age", age);
  t.AddNumeric("marker", marker);
  t.AddNumeric("y", y);
  t.AddCategorical("sex", sex);
  return t;
}

struct MemoryFederation {
  std::vector<sandbox::SandboxNode> nodes;
  std::vector<analysis::MemoryTable> tables;
};

MemoryFederation Memory(std::vector<int> rows) {
  MemoryFederation f;
  for (size_t k = 0; k < rows.size(); ++k) {
    auto p = std::make_shared<node::MemoryDataProvider>();
    f.tables.push_back(NodeTable(static_cast<int>(k + 1), rows[k]));
    p->Add("cohort", f.tables.back());
    f.nodes.push_back({"site" + std::to_string(k + 1), {}, p});
  }
  return f;
}

json Study(bool secure, json analyses) {
  json s = {{"name", "secure-test"}, {"dataset", "cohort"}, {"analyses", std::move(analyses)}};
  if (secure) s["privacy"] = {{"secure_aggregation", true}};
  return s;
}

const json kDescriptives = json::parse(R"([
  {"id": "n", "type": "count"},
  {"id": "s", "type": "summary", "variables": ["age", "marker"]},
  {"id": "t", "type": "table", "rows": "sex", "cols": "y"}
])");

// The plain share a node computes for one analysis (round 0), as the tests' ground truth.
std::vector<double> PlainShare(analysis::MemoryTable table, const json& spec_json) {
  const auto& reg = analysis::BuiltinRegistry();
  auto spec = reg.ParseSpec(spec_json, "test");
  EXPECT_TRUE(spec.ok());
  analysis::Thresholds t;
  auto share =
      analysis::ComputeShare(*reg.Find((*spec)->type), table, **spec, 0, analysis::RoundInput{}, t);
  EXPECT_TRUE(share.ok()) << share.status().ToString();
  return share->values;
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Bytes(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

// Every form in which a node's share could sit in a file or a log in clear: the wire form
// (base64 of float64s), and each distinctive value as raw float64 bytes, as its fixed-point
// encoding (the secure round's ring element) and as decimal text.
std::vector<std::string> Needles(const std::vector<double>& share) {
  std::vector<std::string> out = {protocol::EncodeVector(share)};
  auto codec = privacy::FixedPointCodec::Create(
      privacy::MakeSecureRound("x", 1, {"site1", "site2", "site3"}, 1)->fixed);
  for (double v : share) {
    // Small integers (counts, flags) have encodings made mostly of zero bytes that any file
    // holds by chance: the distinctive values are the sums of real values.
    if (v == static_cast<double>(static_cast<int64_t>(v))) continue;
    out.push_back(Bytes(&v, sizeof v));
    uint64_t e = *codec->EncodeOne(v);
    out.push_back(Bytes(&e, sizeof e));
    out.push_back(fmt::format("{}", v));
  }
  return out;
}

TEST(SecureFederationTest, SecureResultEqualsPlainResult) {
  auto fed = Memory({120, 150, 90});
  auto plain = sandbox::RunSandbox(Study(false, kDescriptives), fed.nodes, {}, 60s);
  auto secure = sandbox::RunSandbox(Study(true, kDescriptives), fed.nodes, {}, 60s);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  EXPECT_FALSE(plain->contains("privacy"));
  EXPECT_EQ((*secure)["privacy"]["secure_aggregation"], true);
  EXPECT_EQ((*secure)["privacy"]["included"], json({"site1", "site2", "site3"}));
  EXPECT_EQ((*secure)["analyses"]["n"], (*plain)["analyses"]["n"]);
  EXPECT_EQ((*secure)["analyses"]["n"]["n"], 360);
  EXPECT_EQ((*secure)["analyses"]["t"], (*plain)["analyses"]["t"]);
  for (const char* v : {"age", "marker"}) {
    const json& a = (*secure)["analyses"]["s"][v];
    const json& b = (*plain)["analyses"]["s"][v];
    EXPECT_EQ(a["n"], b["n"]);
    // Fixed point with 20 fractional bits: each sum within 3 * 2^-21 of the exact one.
    EXPECT_NEAR(a["mean"].get<double>(), b["mean"].get<double>(), 1e-8) << v;
    EXPECT_NEAR(a["var"].get<double>(), b["var"].get<double>(), 1e-6) << v;
  }
}

TEST(SecureFederationTest, RoundWithEmptySharesStillRunsSecurely) {
  // A table's first round (levels) sums nothing: the session carries one zero value.
  auto fed = Memory({120, 150, 90});
  json analyses = json::parse(R"([{"id": "t", "type": "table", "rows": "sex", "cols": "y"}])");
  auto plain = sandbox::RunSandbox(Study(false, analyses), fed.nodes, {}, 60s);
  auto secure = sandbox::RunSandbox(Study(true, analyses), fed.nodes, {}, 60s);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  EXPECT_EQ((*secure)["analyses"]["t"], (*plain)["analyses"]["t"]);
}

TEST(SecureFederationTest, CnsimSecureEqualsPlainAndThresholdsApplyToTheSum) {
  auto dir = TempDir::Create("secure-cnsim");
  ASSERT_TRUE(dir.ok());
  std::vector<sandbox::SandboxNode> nodes;
  for (int i = 1; i <= 3; ++i) {
    auto path = dir->path() / ("site" + std::to_string(i) + ".duckdb");
    auto db = store::OpenDuckDb({.path = path.string()});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        store::IngestTable(**db, {.name = "cnsim",
                                  .from = kData + "/datashield/CNSIM" + std::to_string(i) + ".csv"})
            .ok());
    nodes.push_back({"site" + std::to_string(i), path, nullptr});
  }
  json analyses = json::parse(R"([
    {"id": "n",  "type": "count"},
    {"id": "s1", "type": "summary", "variables": ["LAB_TSC", "LAB_HDL"]},
    {"id": "t1", "type": "table", "rows": "GENDER", "cols": "DIS_DIAB"}
  ])");
  json study = {{"name", "cnsim"}, {"dataset", "cnsim"}, {"analyses", analyses}};
  json secure_study = study;
  secure_study["privacy"] = {{"secure_aggregation", true}};
  // Default policy (min_cell 10): site1's cell of 9 is withheld in the plain study (with a
  // secondary cell), but the secure study releases only the sum, 9 + 16 + 24 = 49 >= 10.
  auto plain = sandbox::RunSandbox(study, nodes, {}, 60s);
  auto secure = sandbox::RunSandbox(secure_study, nodes, {}, 60s);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  EXPECT_TRUE((*plain)["analyses"]["t1"]["cells"][1][1].is_null());
  EXPECT_EQ((*secure)["analyses"]["t1"]["cells"][1][1], 49);
  EXPECT_TRUE((*secure)["analyses"]["t1"]["suppressed"].empty());
  EXPECT_EQ((*secure)["analyses"]["n"]["n"], 2163 + 3088 + 4128);
  EXPECT_NEAR((*secure)["analyses"]["s1"]["LAB_TSC"]["mean"].get<double>(), 5.85192485623003, 1e-8);
  EXPECT_EQ((*secure)["analyses"]["s1"]["LAB_TSC"]["n"], 7825);
  // With min_cell 50 the same cell is withheld on the sum; in a 2 x 2 table whose totals may be
  // known, every cell goes with it (secondary suppression).
  sandbox::FederationOptions strict;
  strict.policy.min_cell = 50;
  auto strict_r = sandbox::RunSandbox(secure_study, nodes, strict, 60s);
  ASSERT_TRUE(strict_r.ok()) << strict_r.status().ToString();
  EXPECT_TRUE((*strict_r)["analyses"]["t1"]["cells"][1][1].is_null());
  EXPECT_EQ((*strict_r)["analyses"]["t1"]["suppressed"].size(), 4u);
}

// Runs a study on a federation whose hub state stays in `dir`; returns the result and what the
// process logged meanwhile.
std::pair<Result<json>, std::string> RunKeepingState(const json& study, const MemoryFederation& fed,
                                                     const std::filesystem::path& dir) {
  sandbox::FederationOptions opts;
  opts.work_dir = dir;
  testing::internal::CaptureStderr();
  Result<json> r = Status::Internal("not run");
  {
    auto f = sandbox::LocalFederation::Start(opts, fed.nodes);
    if (f.ok()) {
      auto id = (*f)->Submit(study);
      r = id.ok() ? (*f)->Wait(*id, 60s) : Result<json>(id.status());
      (*f)->Stop();
    } else {
      r = f.status();
    }
  }
  return {std::move(r), testing::internal::GetCapturedStderr()};
}

TEST(SecureFederationTest, HubStateAndLogsNeverHoldANodesUnmaskedVector) {
  auto fed = Memory({140, 160, 110});
  json analyses =
      json::parse(R"([{"id": "s", "type": "summary", "variables": ["age", "marker"]}])");
  for (bool secure : {true, false}) {
    auto dir = TempDir::Create("secure-scan");
    ASSERT_TRUE(dir.ok());
    auto [r, logs] = RunKeepingState(Study(secure, analyses), fed, dir->path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::string state = ReadAll(dir->path() / "hub-state.sqlite");
    if (std::filesystem::exists(dir->path() / "hub-state.sqlite-wal")) {
      state += ReadAll(dir->path() / "hub-state.sqlite-wal");
    }
    ASSERT_GT(state.size(), 4096u);
    int found = 0;
    for (size_t k = 0; k < fed.tables.size(); ++k) {
      std::vector<double> share = PlainShare(fed.tables[k], analyses[0]);
      for (const std::string& needle : Needles(share)) {
        if (state.find(needle) != std::string::npos) {
          ++found;
          if (secure) ADD_FAILURE() << "node " << k + 1 << ": a form of its share is in the state";
        }
        EXPECT_EQ(logs.find(needle), std::string::npos) << "node " << k + 1 << " in the logs";
      }
    }
    if (secure) {
      EXPECT_EQ(found, 0) << "a node's unmasked share is in the hub's state";
    } else {
      // Control: without secure aggregation the hub does hold each node's share, so the scan
      // finds what it looks for.
      EXPECT_GE(found, 3);
    }
  }
}

TEST(SecureFederationTest, NodeDroppingOutAfterMaskingLeavesExactSumOfOthers) {
  auto fed = Memory({120, 150, 90});
  sandbox::FederationOptions opts;
  opts.failpoints["site3"] = "secagg_drop_at_masked_input";
  json analyses = json::parse(R"([
    {"id": "n", "type": "count"},
    {"id": "s", "type": "summary", "variables": ["age"]}
  ])");
  auto r = sandbox::RunSandbox(Study(true, analyses), fed.nodes, opts, 60s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["privacy"]["included"], json({"site1", "site2"}));
  EXPECT_EQ((*r)["privacy"]["dropped"], json({"site3"}));
  EXPECT_EQ((*r)["analyses"]["n"]["n"], 120 + 150);
  std::vector<double> a = PlainShare(fed.tables[0], analyses[1]);
  std::vector<double> b = PlainShare(fed.tables[1], analyses[1]);
  EXPECT_EQ((*r)["analyses"]["s"]["age"]["n"], 270);
  EXPECT_NEAR((*r)["analyses"]["s"]["age"]["mean"].get<double>(), (a[1] + b[1]) / 270.0, 1e-8);
}

TEST(SecureFederationTest, TamperedShareIsDetectedAndTheSumStillExact) {
  auto fed = Memory({120, 150, 90});
  sandbox::FederationOptions opts;
  opts.failpoints["site2"] = "secagg_tamper_unmask";
  auto r = sandbox::RunSandbox(Study(true, json::parse(R"([{"id": "n", "type": "count"}])")),
                               fed.nodes, opts, 60s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["privacy"]["tampered_share_holders"], json({"site2"}));
  EXPECT_EQ((*r)["analyses"]["n"]["n"], 360);
}

TEST(SecureFederationTest, NodePolicyRequiringSecureAggregationMakesTheStudySecure) {
  auto fed = Memory({120, 150, 90});
  sandbox::FederationOptions opts;
  node::NodePolicy strict;
  strict.require_secure_aggregation = true;
  opts.node_policies["site2"] = strict;
  auto dir = TempDir::Create("secure-require");
  ASSERT_TRUE(dir.ok());
  opts.work_dir = dir->path();
  auto f = sandbox::LocalFederation::Start(opts, fed.nodes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  for (int i = 0; i < 2; ++i) {
    // First study: site2 refuses the plain task and the hub restarts it securely; second study:
    // the hub remembers site2's requirement and starts securely.
    auto id = (*f)->Submit(Study(false, kDescriptives));
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    auto r = (*f)->Wait(*id, 60s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["privacy"]["secure_aggregation"], true);
    EXPECT_EQ((*r)["analyses"]["n"]["n"], 360);
    auto st = (*f)->StudyStatus(*id);
    ASSERT_TRUE(st.ok());
    // The table takes two analysis rounds; the restarted study one more study round.
    EXPECT_EQ((*st)["rounds"].size(), i == 0 ? 3u : 2u) << st->dump();
  }
}

TEST(SecureFederationTest, GlmSecureEqualsPlainWhenRegistered) {
  const auto& reg = analysis::BuiltinRegistry();
  if (!reg.Find("glm")) GTEST_SKIP() << "the glm analysis is not registered in this build";
  auto fed = Memory({200, 180, 160});
  json analyses = json::parse(R"([{"id": "m", "type": "glm", "family": "binomial",
                                   "formula": "y ~ age + marker + sex"}])");
  sandbox::FederationOptions opts;
  opts.policy.analyses = reg.Types();
  auto plain = sandbox::RunSandbox(Study(false, analyses), fed.nodes, opts, 60s);
  auto secure = sandbox::RunSandbox(Study(true, analyses), fed.nodes, opts, 60s);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  const json& a = (*secure)["analyses"]["m"]["coefficients"];
  const json& b = (*plain)["analyses"]["m"]["coefficients"];
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["term"], b[i]["term"]);
    EXPECT_NEAR(a[i]["estimate"].get<double>(), b[i]["estimate"].get<double>(), 1e-5);
    EXPECT_NEAR(a[i]["std_error"].get<double>(), b[i]["std_error"].get<double>(), 1e-5);
  }
}

}  // namespace
}  // namespace passerelle
