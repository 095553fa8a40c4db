// Every governance endpoint of the hub, and the study/task endpoints, over real HTTPS on loopback:
// for each, a caller the rules refuse and one they let through (table-driven, in order: some rows
// change the state later rows rely on). Plus revoked and expired tokens, and study visibility
// across projects.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "hub_fixture.h"
#include "world.h"

namespace passerelle::governance::testing {
namespace {

using nlohmann::json;

class HubApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.Populate();
    world_.ApproveProjectA(/*also_b=*/false);  // proj-a approved; proj-b selected, pending
    harness_ = std::make_unique<HubHarness>(world_.gov(), world_.clock(), random_,
                                            std::vector<std::string>{"fr-node", "qc-node"},
                                            std::vector<std::string>{"rogue-node"});
  }

  // Replaces {name} placeholders by captured values.
  std::string Fill(std::string text) const {
    for (const auto& [k, v] : vars_) {
      const std::string key = "{" + k + "}";
      for (size_t at = text.find(key); at != std::string::npos; at = text.find(key)) {
        text.replace(at, key.size(), v);
      }
    }
    return text;
  }

  // `who`: "" (nobody), a user name (their token), "node:<id>" (a node certificate), or
  // "token:<var>" (a token captured earlier).
  net::HttpResponse Call(const std::string& who, const std::string& method,
                         const std::string& target, const std::string& body) {
    if (who.rfind("node:", 0) == 0) {
      net::Headers h;
      if (method == "POST") h.push_back({"Idempotency-Key", "k-" + target});
      return harness_->Node(who.substr(5), method, Fill(target), Fill(body), h);
    }
    std::string token;
    if (who.rfind("token:", 0) == 0) {
      token = vars_.at(who.substr(6));
    } else if (!who.empty()) {
      token = world_.token(who);
    }
    return harness_->Person(token, method, Fill(target), Fill(body));
  }

  World world_;
  DeterministicRandom random_{11};
  std::unique_ptr<HubHarness> harness_;
  std::map<std::string, std::string> vars_;
};

struct Row {
  std::string who;
  std::string method;
  std::string target;
  std::string body;
  int status;
  // Captures: variable name -> JSON pointer in the answer ("/id").
  std::map<std::string, std::string> capture = {};
};

TEST_F(HubApiTest, EveryEndpointChecksTheCallersRole) {
  const std::string study =
      R"({"name": "n", "dataset": "diabetes", "project": "proj-a",
          "analyses": [{"id": "n", "type": "count"}]})";
  const std::vector<Row> rows = {
      // who am I
      {"", "GET", "/v1/whoami", "", 401},
      {"alice", "GET", "/v1/whoami", "", 200},
      {"node:fr-node", "GET", "/v1/whoami", "", 200},
      {"node:rogue-node", "GET", "/v1/whoami", "", 401},  // certified, but not registered
      // organisations and nodes
      {"alice", "POST", "/v1/organisations", R"({"id":"chu","name":"CHU","jurisdiction":"FR"})",
       403},
      {"admin", "POST", "/v1/organisations", R"({"id":"chu","name":"CHU","jurisdiction":"FR"})",
       201},
      {"", "GET", "/v1/organisations", "", 401},
      {"alice", "GET", "/v1/organisations", "", 200},
      {"fanny", "POST", "/v1/nodes", R"({"id":"chu-node","organisation":"chu"})", 403},
      {"admin", "POST", "/v1/nodes", R"({"id":"chu-node","organisation":"chu"})", 201},
      {"alice", "GET", "/v1/nodes", "", 200},
      // users and tokens
      {"alice", "POST", "/v1/users",
       R"({"name":"eve","organisation":"inserm","roles":["researcher"]})", 403},
      {"admin",
       "POST",
       "/v1/users",
       R"({"name":"eve","organisation":"inserm","roles":["researcher"]})",
       201,
       {{"eve_token", "/token"}}},
      {"token:eve_token", "GET", "/v1/whoami", "", 200},
      {"alice", "GET", "/v1/users", "", 403},
      {"admin", "GET", "/v1/users", "", 200},
      {"alice", "GET", "/v1/users/bruno", "", 403},
      {"bruno", "GET", "/v1/users/bruno", "", 200},
      {"alice", "POST", "/v1/users/bruno/tokens", R"({"label":"x"})", 403},
      {"alice",
       "POST",
       "/v1/users/alice/tokens",
       R"({"label":"spare"})",
       201,
       {{"spare", "/token"}, {"spare_id", "/id"}}},
      {"bruno", "GET", "/v1/users/alice/tokens", "", 403},
      {"alice", "GET", "/v1/users/alice/tokens", "", 200},
      {"bruno", "DELETE", "/v1/tokens/{spare_id}", "", 403},
      {"token:spare", "GET", "/v1/whoami", "", 200},
      {"alice", "DELETE", "/v1/tokens/{spare_id}", "", 204},
      {"token:spare", "GET", "/v1/whoami", "", 401},  // revoked
      {"alice", "POST", "/v1/users/eve/disable", "", 403},
      {"admin", "POST", "/v1/users/eve/disable", "", 204},
      {"token:eve_token", "GET", "/v1/whoami", "", 401},  // user disabled
      // calls, applications, reviews, selection
      {"alice", "POST", "/v1/calls",
       R"({"id":"call-2026","title":"T","opens_on":"2025-05-01","closes_on":"2025-06-30","projects_to_fund":1})",
       403},
      {"admin", "POST", "/v1/calls",
       R"({"id":"call-2026","title":"T","opens_on":"2025-05-01","closes_on":"2025-06-30","projects_to_fund":1})",
       201},
      {"", "GET", "/v1/calls", "", 401},
      {"alice", "GET", "/v1/calls", "", 200},
      {"alice", "GET", "/v1/calls/joint-2025", "", 200},
      {"alice", "GET", "/v1/calls/nope", "", 404},
      {"fanny", "POST", "/v1/calls/call-2026/applications",
       R"({"id":"proj-c","title":"C","axis":"patient-benefit","summary":"s","lead":"fanny",
           "team":["fanny","bruno"],"datasets":["fr-node/diabetes"],"legal_basis":"l",
           "pia_done":true})",
       403},
      {"alice", "POST", "/v1/calls/call-2026/applications",
       R"({"id":"proj-c","title":"C","axis":"patient-benefit","summary":"s","lead":"alice",
           "team":["alice","bruno"],"datasets":["fr-node/diabetes"],"legal_basis":"l",
           "pia_done":true})",
       201},
      {"alice", "GET", "/v1/calls/call-2026/applications", "", 200},
      {"chloe", "GET", "/v1/applications/proj-c", "", 403},
      {"alice", "GET", "/v1/applications/proj-c", "", 200},
      {"alice", "POST", "/v1/applications/proj-c/reviews", R"({"score":7})", 403},
      {"quentin", "POST", "/v1/applications/proj-c/reviews", R"({"score":7})", 201},
      {"alice", "GET", "/v1/applications/proj-c/reviews", "", 403},
      {"fanny", "GET", "/v1/applications/proj-c/reviews", "", 200},
      {"alice", "GET", "/v1/calls/joint-2025/ranking", "", 403},
      {"quentin", "GET", "/v1/calls/joint-2025/ranking", "", 200},
      {"fanny", "POST", "/v1/calls/call-2026/selection", R"({"applications":["proj-c"]})", 403},
      // the administrator may select, but not before the call's deadline (the rule, not the role)
      {"admin", "POST", "/v1/calls/call-2026/selection", R"({"applications":["proj-c"]})", 409},
      // projects
      {"alice", "GET", "/v1/projects", "", 200},
      {"chloe", "GET", "/v1/projects/proj-a", "", 403},
      {"alice", "GET", "/v1/projects/proj-a", "", 200},
      {"chloe", "GET", "/v1/projects/proj-a/status", "", 403},
      {"alice", "GET", "/v1/projects/proj-a/status", "", 200},
      {"denis", "POST", "/v1/projects/proj-b/dsa", R"({"reference":"DSA-B"})", 403},  // not lead
      {"chloe", "POST", "/v1/projects/proj-b/dsa", R"({"reference":"DSA-B"})", 204},
      {"chloe", "POST", "/v1/projects/proj-b/decisions/FR", R"({"decision":"approve"})", 403},
      // a French committee member cannot decide for Québec
      {"fanny", "POST", "/v1/projects/proj-b/decisions/QC", R"({"decision":"approve"})", 403},
      {"quentin", "POST", "/v1/projects/proj-b/decisions/FR", R"({"decision":"approve"})", 403},
      {"fanny", "POST", "/v1/projects/proj-b/decisions/FR", R"({"decision":"approve"})", 201},
      {"quentin", "POST", "/v1/projects/proj-b/decisions/QC", R"({"decision":"approve"})", 201},
      {"bruno", "POST", "/v1/projects/proj-a/amendments",
       R"({"kind":"add-member","value":"denis","reason":"r"})", 403},
      {"alice",
       "POST",
       "/v1/projects/proj-a/amendments",
       R"({"kind":"add-member","value":"denis","reason":"r"})",
       201,
       {{"amendment", "/id"}}},
      {"chloe", "GET", "/v1/projects/proj-a/amendments", "", 403},
      {"alice", "GET", "/v1/projects/proj-a/amendments", "", 200},
      {"fanny", "POST", "/v1/projects/proj-a/amendments/{amendment}/decisions/QC",
       R"({"decision":"approve"})", 403},
      {"quentin", "POST", "/v1/projects/proj-a/amendments/{amendment}/decisions/QC",
       R"({"decision":"approve"})", 201},
      // catalog
      {"alice", "PUT", "/v1/catalog/fr-node/lab",
       R"({"node":"fr-node","name":"lab","title":"Lab results"})", 403},
      {"node:qc-node", "PUT", "/v1/catalog/fr-node/lab",
       R"({"node":"fr-node","name":"lab","title":"Lab results"})", 403},
      {"node:fr-node", "PUT", "/v1/catalog/fr-node/lab",
       R"({"node":"fr-node","name":"lab","title":"Lab results"})", 200},
      {"custqc", "PUT", "/v1/catalog/fr-node/lab2",
       R"({"node":"fr-node","name":"lab2","title":"Lab results 2"})", 403},
      {"custfr", "PUT", "/v1/catalog/fr-node/lab2",
       R"({"node":"fr-node","name":"lab2","title":"Lab results 2"})", 200},
      {"", "GET", "/v1/catalog?q=diabetes", "", 401},
      {"alice", "GET", "/v1/catalog?q=diabetes", "", 200},
      {"alice", "GET", "/v1/catalog/fr-node/lab", "", 200},
      // audit
      {"alice", "GET", "/v1/audit/export", "", 403},
      {"fanny", "GET", "/v1/audit/export", "", 200},
      {"", "GET", "/v1/audit/public-key", "", 200},
      // studies: members of an active project only
      {"", "POST", "/v1/studies", study, 401},
      {"chloe", "POST", "/v1/studies", study, 403},  // member of B, not of A
      {"fanny", "POST", "/v1/studies", study, 403},  // committee members are not members
      {"alice", "POST", "/v1/studies",
       R"({"name":"n","dataset":"diabetes","analyses":[{"id":"n","type":"count"}]})", 400},
      {"alice", "POST", "/v1/studies", study, 201, {{"study", "/id"}}},
      {"chloe", "GET", "/v1/studies/{study}", "", 403},
      {"bruno", "GET", "/v1/studies/{study}", "", 200},
      {"chloe", "GET", "/v1/studies/{study}/result", "", 403},
      {"alice", "GET", "/v1/studies/{study}/result", "", 409},  // still running
      {"alice", "GET", "/v1/studies", "", 200},
      // tasks: the node itself
      {"alice", "GET", "/v1/tasks/next", "", 401},
      {"node:rogue-node", "GET", "/v1/tasks/next", "", 401},
      {"node:fr-node", "GET", "/v1/tasks/next", "", 200},
      {"node:qc-node", "POST", "/v1/tasks/{study}-r1-fr-node/result",
       R"({"protocol":1,"task_id":"{study}-r1-fr-node","study_id":"{study}","round":1,
           "node":"qc-node","status":"error","message":"x"})",
       403},
      // closure: a researcher of another project cannot close; the lead can; then no study
      {"bruno", "POST", "/v1/projects/proj-b/close", R"({"reason":"done"})", 403},
      {"chloe", "POST", "/v1/projects/proj-b/close", R"({"reason":"done"})", 200},
      {"chloe", "POST", "/v1/studies",
       R"({"name":"n","dataset":"diabetes","project":"proj-b","analyses":[{"id":"n","type":"count"}]})",
       409},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    net::HttpResponse r = Call(row.who, row.method, row.target, row.body);
    EXPECT_EQ(r.status, row.status)
        << "row " << i << ": " << (row.who.empty() ? "nobody" : row.who) << " " << row.method << " "
        << Fill(row.target) << " -> " << r.body;
    for (const auto& [var, pointer] : row.capture) {
      json j = json::parse(r.body, nullptr, false);
      ASSERT_TRUE(j.is_object() && j.contains(json::json_pointer(pointer))) << r.body;
      const json& v = j[json::json_pointer(pointer)];
      vars_[var] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
}

TEST_F(HubApiTest, StudiesOfOneProjectAreInvisibleToAnother) {
  world_.SetDate("2025-05-10");
  auto b = world_.gov().RecordDataSharingAgreement(world_.As("chloe"), "proj-b", "DSA");
  ASSERT_TRUE(b.ok()) << b.ToString();
  ASSERT_TRUE(
      world_.gov()
          .RecordDecision(world_.As("fanny"), "proj-b", Jurisdiction::kFR, Decision::kApprove, "")
          .ok());
  ASSERT_TRUE(
      world_.gov()
          .RecordDecision(world_.As("quentin"), "proj-b", Jurisdiction::kQC, Decision::kApprove, "")
          .ok());
  auto submit = [&](const std::string& who, const std::string& project) {
    auto r = harness_->Person(world_.token(who), "POST", "/v1/studies",
                              json{{"name", "s"},
                                   {"dataset", "diabetes"},
                                   {"project", project},
                                   {"analyses", {{{"id", "n"}, {"type", "count"}}}}}
                                  .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["id"].get<std::string>();
  };
  std::string a = submit("alice", "proj-a");
  std::string b_id = submit("chloe", "proj-b");
  auto ids = [&](const std::string& who) {
    auto r = harness_->Person(world_.token(who), "GET", "/v1/studies");
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const json answer = json::parse(r.body);
    for (const auto& s : answer["studies"]) out.push_back(s["id"]);
    return out;
  };
  EXPECT_EQ(ids("alice"), std::vector<std::string>{a});
  EXPECT_EQ(ids("denis"), std::vector<std::string>{b_id});
  EXPECT_TRUE(ids("admin").empty());  // administrators run the platform, not the studies
  EXPECT_EQ(harness_->Person(world_.token("alice"), "GET", "/v1/studies/" + b_id).status, 403);
  EXPECT_EQ(harness_->Person(world_.token("denis"), "GET", "/v1/studies/" + a + "/result").status,
            403);
}

// A record linkage is a study of its project too: only that project's members read it or its
// counts (hub.cc AuthorizeRead).
TEST_F(HubApiTest, LinkagesOfOneProjectAreInvisibleToAnother) {
  const json linkage = {
      {"name", "link"},
      {"project", "proj-a"},
      {"linkage",
       {{"schema", json::parse(R"({"id": "id", "clk": {"bits": 512}, "fields": [{"name": "name",
            "type": "name", "tokens": "bigrams", "k": 20}]})")},
        {"nodes", {"fr-node", "qc-node"}}}}};
  auto submitted = harness_->Person(world_.token("alice"), "POST", "/v1/studies", linkage.dump());
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const std::string id = json::parse(submitted.body)["id"].get<std::string>();
  auto status_of = [&](const std::string& who, const std::string& target) {
    return harness_->Person(world_.token(who), "GET", target).status;
  };
  EXPECT_EQ(status_of("bruno", "/v1/studies/" + id), 200);  // a member of proj-a
  EXPECT_EQ(status_of("chloe", "/v1/studies/" + id), 403);  // a member of proj-b only
  EXPECT_EQ(status_of("chloe", "/v1/studies/" + id + "/result"), 403);
  EXPECT_EQ(status_of("fanny", "/v1/studies/" + id), 403);  // committee members are not members
}

TEST_F(HubApiTest, ExpiredTokenIsRefused) {
  EXPECT_EQ(harness_->Person(world_.token("alice"), "GET", "/v1/whoami").status, 200);
  world_.SetDate("2025-12-01");  // tokens last 90 days; alice's was issued on 2025-03-01
  auto r = harness_->Person(world_.token("alice"), "GET", "/v1/whoami");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("token_expired"), std::string::npos) << r.body;
}

TEST_F(HubApiTest, HubStateChangesAreInTheSignedAuditLog) {
  auto r = harness_->Person(world_.token("alice"), "POST", "/v1/studies",
                            R"({"name":"n","dataset":"diabetes","project":"proj-a",
                                "analyses":[{"id":"n","type":"count"}]})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = json::parse(r.body)["id"];
  auto log = harness_->Person(world_.token("fanny"), "GET", "/v1/audit/export");
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(log.content_type, "application/x-ndjson");
  auto verified = VerifyAuditLog(log.body, world_.hub_key());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  int submits = 0, tasks = 0;
  for (const auto& e : verified->entries) {
    if (e.record.action == "study.submit" && e.record.study == id) {
      EXPECT_EQ(tasks, 0) << "study.submit must precede its task.create entries";
      ++submits;
      EXPECT_EQ(e.record.actor, "alice");
      EXPECT_EQ(e.record.project, "proj-a");
    }
    if (e.record.action == "task.create" && e.record.study == id) ++tasks;
  }
  EXPECT_EQ(submits, 1);
  EXPECT_EQ(tasks, 2);  // one per node
}

TEST_F(HubApiTest, ClosingAProjectStopsItsRunningStudyBeforeTheNextRound) {
  // A two-round table (levels, then counts); the project closes while round 1 is out.
  auto r = harness_->Person(world_.token("alice"), "POST", "/v1/studies",
                            R"({"name":"t","dataset":"diabetes","project":"proj-a",
                                "analyses":[{"id":"t","type":"table","rows":"sex"}]})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = json::parse(r.body)["id"];
  ASSERT_TRUE(world_.gov().CloseProject(world_.As("alice"), "proj-a", "stopped").ok());
  for (const std::string node : {"fr-node", "qc-node"}) {
    auto task = harness_->Node(node, "GET", "/v1/tasks/next");
    ASSERT_EQ(task.status, 200) << task.body;
    json t = json::parse(task.body);
    EXPECT_EQ(t["project"], "proj-a");
    json result = {{"protocol", 1},
                   {"task_id", t["task_id"]},
                   {"study_id", id},
                   {"round", 1},
                   {"node", node},
                   {"status", "ok"},
                   {"applied", {{"min_cell", 10}, {"min_rows", 10}}},
                   {"shares",
                    {{{"analysis_id", "t"},
                      {"round", 0},
                      {"values", ""},
                      {"meta", {{"rows", {"F", "M"}}, {"cols", {""}}}}}}}};
    auto posted =
        harness_->Node(node, "POST", "/v1/tasks/" + t["task_id"].get<std::string>() + "/result",
                       result.dump(), {{"Idempotency-Key", "k-" + node}});
    ASSERT_EQ(posted.status, 200) << posted.body;
  }
  auto status = harness_->Person(world_.token("alice"), "GET", "/v1/studies/" + id);
  json st = json::parse(status.body);
  EXPECT_EQ(st["state"], "failed") << st.dump();
  EXPECT_NE(st.value("error", "").find("[rule: closed]"), std::string::npos) << st.dump();
  // No round-2 task was handed out.
  EXPECT_EQ(harness_->Node("fr-node", "GET", "/v1/tasks/next").status, 204);
}

}  // namespace
}  // namespace passerelle::governance::testing
