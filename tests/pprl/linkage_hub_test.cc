// The hub's linkage service without the network (hub/linkage.h): the protocol's order and
// guards, three-node clusters, erasure of the CLK sets, deadlines.
#include "hub/linkage.h"

#include <gtest/gtest.h>

#include "common/files.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/encoder.h"
#include "privacy/pprl/key.h"
#include "privacy/pprl/schema.h"
#include "protocol/codec.h"

namespace passerelle::hub {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kSchema = R"({"id": "id", "clk": {"bits": 512},
  "fields": [{"name": "name", "type": "name", "tokens": "bigrams", "k": 20},
             {"name": "dob", "type": "date", "formats": ["%Y-%m-%d"], "tokens": "date_parts",
              "k": 20}]})";

const std::vector<std::pair<std::string, std::string>> kPeople = {
    {"marie-claire tremblay", "1961-02-03"},
    {"jean-francois gagnon", "1975-11-30"},
    {"helene roy", "1990-07-14"},
    {"mathieu cote", "1982-01-09"},
    {"oceane bouchard", "2001-05-21"},
    {"gaetan lavoie", "1949-12-25"}};

class LinkageHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("pprl-linkage-hub");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(d).value());
    auto db = SqliteDb::Open({.path = (dir_->path() / "hub.sqlite").string()});
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    auto s =
        LinkageService::Open(*db_, clock_, random_, {.nodes = {"fr", "qc", "be"}, .timeout = 60s});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(s).value();
  }

  std::string Submit(std::vector<std::string> nodes, int64_t min_cell = 1) {
    json study = {
        {"name", "t"},
        {"linkage", {{"schema", json::parse(kSchema)}, {"nodes", nodes}, {"min_cell", min_cell}}}};
    auto id = service_->Submit(study, {.subject = "alice"});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.value_or("");
  }

  Result<LinkageService::Reply> Node(const std::string& node, const std::string& method,
                                     const std::string& id, const std::string& step,
                                     const json& body = json::object()) {
    return service_->HandleNode(node, method, id, step, body);
  }

  // The CLK upload of the people at `rows`, ids = positions unless `ids` is given.
  static json Upload(const std::vector<size_t>& rows, uint8_t key_seed = 1,
                     std::vector<std::string> ids = {}) {
    std::vector<uint8_t> secret(32);
    for (size_t i = 0; i < 32; ++i) secret[i] = static_cast<uint8_t>(i * 31 + key_seed);
    auto key = pprl::LinkageKey::FromSecret(secret).value();
    auto schema = pprl::ParseSchema(kSchema).value();
    auto enc = pprl::Encoder::Create(schema, key).value();
    pprl::ClkSet set(enc.Header());
    std::vector<uint64_t> clk(enc.output_words());
    std::vector<uint64_t> blocks;
    for (size_t i = 0; i < rows.size(); ++i) {
      std::vector<std::optional<std::string_view>> values = {kPeople[rows[i]].first,
                                                             kPeople[rows[i]].second};
      enc.Encode(values, clk, &blocks);
      set.Append(ids.empty() ? std::to_string(i) : ids[i], clk, blocks);
    }
    std::string bytes = pprl::SerializeClkSet(set);
    return {{"clks", protocol::Base64Encode(
                         {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()})},
            {"min_cell", 1}};
  }

  static json Key(uint8_t b) {
    // The hub relays keys without checking them (the nodes do): any certificate text will do.
    return {{"public_key", protocol::Base64Encode(std::vector<uint8_t>(32, b))},
            {"certificate", "-----BEGIN CERTIFICATE-----"},
            {"signature", protocol::Base64Encode(std::vector<uint8_t>(64, b))}};
  }

  std::optional<TempDir> dir_;
  FakeClock clock_{1'700'000'000'000'000};
  DeterministicRandom random_{7};
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<LinkageService> service_;
};

TEST_F(LinkageHubTest, KeyAgreementRelayGuards) {
  const std::string id = Submit({"qc", "fr"});  // qc leads
  auto task = service_->NextTaskPayload("fr");
  ASSERT_TRUE(task.ok() && *task);
  EXPECT_EQ(json::parse(**task)["kind"], "linkage");
  EXPECT_FALSE(*service_->NextTaskPayload("be"));  // not invited

  EXPECT_EQ(Node("be", "POST", id, "key", Key(1)).status().code(), StatusCode::kPermissionDenied);
  json short_key = Key(1);
  short_key["public_key"] = "AAAA";
  EXPECT_EQ(Node("fr", "POST", id, "key", short_key).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Node("fr", "POST", id, "key", Key(1)).ok());
  ASSERT_TRUE(Node("fr", "POST", id, "key", Key(1)).ok());  // idempotent
  EXPECT_EQ(Node("fr", "POST", id, "key", Key(2)).status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(*service_->NextTaskPayload("fr"));  // joined: not invited again
  auto keys = Node("fr", "GET", id, "keys");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->body["complete"], false);
  json sealed = {{"sealed", {{"fr", protocol::Base64Encode(std::vector<uint8_t>(72, 3))}}}};
  // The leader cannot seal before every key is in; only the leader seals.
  ASSERT_TRUE(Node("qc", "POST", id, "key", Key(9)).ok());
  EXPECT_EQ(Node("fr", "POST", id, "secrets", sealed).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Node("qc", "POST", id, "secrets", {{"sealed", {{"be", "AAAA"}}}}).status().code(),
            StatusCode::kInvalidArgument);
  auto before = Node("fr", "GET", id, "secret");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->http_status, 204);
  ASSERT_TRUE(Node("qc", "POST", id, "secrets", sealed).ok());
  auto after = Node("fr", "GET", id, "secret");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->body["from"], "qc");
  EXPECT_EQ(Node("fr", "GET", id, "nonsense").status().code(), StatusCode::kNotFound);
}

TEST_F(LinkageHubTest, UploadsCarryPositionsOnlyAndTheLinkageSchema) {
  const std::string id = Submit({"fr", "qc"});
  ASSERT_TRUE(Node("fr", "POST", id, "key", Key(1)).ok());
  auto local_ids = Node("fr", "POST", id, "clks", Upload({0, 1}, 1, {"p-1001", "p-1002"}));
  ASSERT_FALSE(local_ids.ok());
  EXPECT_NE(local_ids.status().message().find("never local identifiers"), std::string::npos);
  json other = Upload({0, 1});
  auto schema = json::parse(kSchema);
  schema["clk"]["bits"] = 1024;
  json study = {{"name", "t"}, {"linkage", {{"schema", schema}, {"nodes", {"fr", "qc"}}}}};
  const std::string id2 = service_->Submit(study, {.subject = "alice"}).value();
  auto wrong_schema = Node("fr", "POST", id2, "clks", other);
  ASSERT_FALSE(wrong_schema.ok());
  EXPECT_NE(wrong_schema.status().message().find("schema"), std::string::npos);
  EXPECT_EQ(Node("fr", "POST", id, "clks", {{"clks", "!!"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(LinkageHubTest, ThreeNodesClusterEachNodeSeesOnlyItsRowsClksErased) {
  const std::string id = Submit({"fr", "qc", "be"});
  for (const char* n : {"fr", "qc", "be"}) ASSERT_TRUE(Node(n, "POST", id, "key", Key(1)).ok());
  // fr holds people 0..3, qc 2..5, be 3 and 5: person 3 at all three, 2 at fr+qc, 5 at qc+be.
  ASSERT_TRUE(Node("fr", "POST", id, "clks", Upload({0, 1, 2, 3})).ok());
  ASSERT_TRUE(Node("qc", "POST", id, "clks", Upload({5, 4, 3, 2})).ok());
  auto early = Node("fr", "GET", id, "matches");
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->body["state"], "running");
  ASSERT_TRUE(Node("be", "POST", id, "clks", Upload({3, 5})).ok());
  auto result = service_->StudyResult(id);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)["linked_persons"], 3) << result->dump();
  EXPECT_EQ((*result)["union"], 4 + 4 + 2 - (2 + 1 + 1));  // six distinct people
  auto fr = Node("fr", "GET", id, "matches");
  auto qc = Node("qc", "GET", id, "matches");
  auto be = Node("be", "GET", id, "matches");
  ASSERT_TRUE(fr.ok() && qc.ok() && be.ok());
  // fr: rows 2, 3 (people 2, 3), all kept (highest rank).
  ASSERT_EQ(fr->body["matches"].size(), 2u);
  for (const auto& m : fr->body["matches"]) EXPECT_EQ(m[2], true);
  // qc: rows 0 (person 5, kept: fr lacks it), 2 (person 3, dropped), 3 (person 2, dropped).
  std::map<int, bool> qc_keep;
  for (const auto& m : qc->body["matches"]) qc_keep[m[0].get<int>()] = m[2].get<bool>();
  EXPECT_EQ(qc_keep, (std::map<int, bool>{{0, true}, {2, false}, {3, false}}));
  // be: both rows dropped (person 3 at fr, person 5 at qc); clusters shared with the others.
  std::map<int, std::string> be_cluster;
  for (const auto& m : be->body["matches"]) {
    EXPECT_EQ(m[2], false);
    be_cluster[m[0].get<int>()] = m[1].get<std::string>();
  }
  ASSERT_EQ(be_cluster.size(), 2u);
  for (const auto& m : qc->body["matches"]) {
    if (m[0] == 0) {
      EXPECT_EQ(m[1], be_cluster[1]);
    } else if (m[0] == 2) {
      EXPECT_EQ(m[1], be_cluster[0]);
    }
  }
  // The CLK sets are gone from the state.
  auto q = db_->Prepare("SELECT count(*) FROM linkage_members WHERE clks IS NOT NULL");
  ASSERT_TRUE(q.ok() && *q->Step());
  EXPECT_EQ(q->ColumnInt(0), 0);
  // Posting after completion is refused.
  EXPECT_EQ(Node("fr", "POST", id, "clks", Upload({0})).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(LinkageHubTest, DeadlineFailsNamingTheLateNodeAndUseChecks) {
  const std::string id = Submit({"fr", "qc"});
  ASSERT_TRUE(Node("fr", "POST", id, "key", Key(1)).ok());
  ASSERT_TRUE(Node("fr", "POST", id, "clks", Upload({0})).ok());
  json use = {{"name", "n"}, {"dataset", "d"}, {"linkage", {{"id", id}, {"deduplicate", true}}}};
  EXPECT_EQ(service_->CheckUse(use).code(), StatusCode::kFailedPrecondition);  // running
  EXPECT_EQ(*service_->CheckDeadlines(), 0);
  clock_.Advance(61s);
  EXPECT_EQ(*service_->CheckDeadlines(), 1);
  auto status = service_->StudyStatus(id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["state"], "failed");
  EXPECT_NE((*status)["error"].get<std::string>().find("qc"), std::string::npos);
  auto m = Node("fr", "GET", id, "matches");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body["state"], "failed");

  // A study over a completed linkage must stay within its nodes.
  const std::string done = Submit({"fr", "qc"});
  for (const char* n : {"fr", "qc"}) {
    ASSERT_TRUE(Node(n, "POST", done, "key", Key(1)).ok());
    ASSERT_TRUE(Node(n, "POST", done, "clks", Upload({0, 1})).ok());
  }
  use["linkage"]["id"] = done;
  EXPECT_EQ(service_->CheckUse(use).code(), StatusCode::kInvalidArgument);  // be is in the fed
  use["nodes"] = {"fr", "qc"};
  EXPECT_TRUE(service_->CheckUse(use).ok());
}

}  // namespace
}  // namespace passerelle::hub
