// The whole lifecycle over HTTP with a real hub and real node agents on loopback: the call, an
// application, reviews, selection, both jurisdictions' approvals, each node's custodian approving
// the project, a study that runs, closure, a study refused after closure by the hub — and by a node
// whose custodian revoked the project when a (forged) hub hands it a task anyway. Then the audit
// logs of the hub and of each node verify, reconcile, and betray tampering.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "governance/api_json.h"
#include "governance/local.h"
#include "hub_fixture.h"
#include "net/router.h"
#include "net/server.h"
#include "node/agent.h"
#include "world.h"

namespace passerelle::governance::testing {
namespace {

using nlohmann::json;

// A node agent on its own thread, with its own governance state and audit key in `dir`.
struct RunningNode {
  std::unique_ptr<node::NodeAgent> agent;
  std::thread thread;
  void Stop() {
    if (agent) agent->Stop();
    if (thread.joinable()) thread.join();
  }
  ~RunningNode() { Stop(); }
};

std::unique_ptr<node::DataProvider> Cohort(int rows) {
  analysis::MemoryTable t;
  analysis::MemoryTable::NumericColumn age;
  for (int i = 0; i < rows; ++i) age.push_back(40.0 + i % 30);
  t.AddNumeric("age", age);
  auto p = std::make_unique<node::MemoryDataProvider>();
  p->Add("cohort", std::move(t));
  return p;
}

class HttpLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.Populate();
    harness_ = std::make_unique<HubHarness>(world_.gov(), world_.clock(), random_,
                                            std::vector<std::string>{"fr-node", "qc-node"});
    for (const std::string n : {"fr-node", "qc-node"}) {
      state_[n] = harness_->dir() / (n + "-state.sqlite");
      key_[n] = harness_->dir() / (n + "-audit.key");
      std::array<uint8_t, 32> seed{};
      seed[0] = n == "fr-node" ? 21 : 22;
      ASSERT_TRUE(WriteAuditKeyFiles(AuditKey::FromSeed(seed), key_[n]).ok());
    }
  }

  net::HttpResponse As(const std::string& who, const std::string& method, const std::string& target,
                       const std::string& body = "") {
    return harness_->Person(world_.token(who), method, target, body);
  }

  Result<LocalNode> OpenNode(const std::string& n) {
    return OpenLocalNode({.state = state_[n], .node_id = n, .audit_key = key_[n]}, world_.clock());
  }

  std::unique_ptr<RunningNode> StartNode(const std::string& n, const std::string& hub_url,
                                         int rows) {
    node::NodeOptions no;
    no.node_id = n;
    no.hub_url = hub_url;
    const auto& cert = harness_->node_cert(n);
    no.tls = {harness_->ca().cert_pem, cert.cert_pem, cert.key_pem};
    no.journal_path = harness_->dir() / (n + "-journal-" + std::to_string(++starts_) + ".sqlite");
    no.governance = {state_[n], key_[n]};
    no.long_poll = std::chrono::milliseconds(500);
    no.backoff_initial = std::chrono::milliseconds(20);
    no.backoff_max = std::chrono::milliseconds(200);
    auto agent = node::NodeAgent::Create(no, Cohort(rows), analysis::BuiltinRegistry(),
                                         world_.clock(), random_);
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    auto r = std::make_unique<RunningNode>();
    r->agent = std::move(agent).value();
    node::NodeAgent* a = r->agent.get();
    r->thread = std::thread([a] { EXPECT_TRUE(a->Run().ok()); });
    return r;
  }

  json WaitStudy(const std::string& id) {
    for (int i = 0; i < 40; ++i) {
      auto r = As("alice", "GET", "/v1/studies/" + id + "?wait=1");
      json s = json::parse(r.body, nullptr, false);
      if (s.value("state", "") != "running") return s;
    }
    ADD_FAILURE() << "study " << id << " did not finish";
    return {};
  }

  std::string NodeLog(const std::string& n) {
    auto node = OpenNode(n);
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    auto log = node->audit->Export();
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return *log;
  }
  AuditPublicKey NodeKey(const std::string& n) {
    return ReadAuditPublicKey(key_[n].string() + ".pub").value();
  }

  World world_;
  DeterministicRandom random_{5};
  std::unique_ptr<HubHarness> harness_;
  std::map<std::string, std::filesystem::path> state_, key_;
  int starts_ = 0;
};

TEST_F(HttpLifecycleTest, CallToClosureOverHttpWithRealNodes) {
  // 1. The call, and the nodes publishing their datasets to the catalog.
  ASSERT_EQ(As("admin", "POST", "/v1/calls",
               R"({"id":"call-e2e","title":"Joint call","opens_on":"2025-03-01",
                   "closes_on":"2025-03-15","projects_to_fund":1})")
                .status,
            201);
  for (const std::string n : {"fr-node", "qc-node"}) {
    auto r =
        harness_->Node(n, "PUT", "/v1/catalog/" + n + "/cohort",
                       json{{"node", n}, {"name", "cohort"}, {"title", "Cohort at " + n}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // 2. The application, two reviews, the selection after the deadline.
  auto app = As("alice", "POST", "/v1/calls/call-e2e/applications",
                R"({"id":"proj-e2e","title":"E2E","axis":"population-models","summary":"s",
                    "lead":"alice","team":["alice","bruno"],
                    "datasets":["fr-node/cohort","qc-node/cohort"],"legal_basis":"public interest",
                    "pia_done":true,"pia_reference":"PIA-1"})");
  ASSERT_EQ(app.status, 201) << app.body;
  ASSERT_EQ(As("fanny", "POST", "/v1/applications/proj-e2e/reviews", R"({"score":9})").status, 201);
  ASSERT_EQ(As("quentin", "POST", "/v1/applications/proj-e2e/reviews", R"({"score":8})").status,
            201);
  world_.SetDate("2025-03-20");
  auto sel =
      As("admin", "POST", "/v1/calls/call-e2e/selection", R"({"applications":["proj-e2e"]})");
  ASSERT_EQ(sel.status, 201) << sel.body;
  // Not active yet: a study is refused.
  const std::string study = json{{"name", "count"},
                                 {"dataset", "cohort"},
                                 {"project", "proj-e2e"},
                                 {"analyses", {{{"id", "n"}, {"type", "count"}}}}}
                                .dump();
  auto early = As("alice", "POST", "/v1/studies", study);
  EXPECT_EQ(early.status, 409) << early.body;
  // 3. The data-sharing agreement and both jurisdictions' approvals.
  ASSERT_EQ(As("alice", "POST", "/v1/projects/proj-e2e/dsa", R"({"reference":"DSA-1"})").status,
            204);
  ASSERT_EQ(
      As("fanny", "POST", "/v1/projects/proj-e2e/decisions/FR", R"({"decision":"approve"})").status,
      201);
  ASSERT_EQ(As("quentin", "POST", "/v1/projects/proj-e2e/decisions/QC", R"({"decision":"approve"})")
                .status,
            201);
  auto status = As("bruno", "GET", "/v1/projects/proj-e2e/status");
  ASSERT_EQ(json::parse(status.body)["active"], true) << status.body;

  // 4. Each node's custodian approves the project at the node.
  for (const std::string n : {"fr-node", "qc-node"}) {
    auto node = OpenNode(n);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    ASSERT_TRUE(node->approvals->Approve({.project = "proj-e2e", .custodian = "cust-" + n}).ok());
  }

  // 5. A study runs on both nodes.
  {
    auto fr = StartNode("fr-node", harness_->url(), 40);
    auto qc = StartNode("qc-node", harness_->url(), 25);
    auto submitted = As("bruno", "POST", "/v1/studies", study);
    ASSERT_EQ(submitted.status, 201) << submitted.body;
    std::string id = json::parse(submitted.body)["id"];
    json done = WaitStudy(id);
    ASSERT_EQ(done.value("state", ""), "completed") << done.dump();
    auto result = As("alice", "GET", "/v1/studies/" + id + "/result");
    ASSERT_EQ(result.status, 200) << result.body;
    EXPECT_EQ(json::parse(result.body)["analyses"]["n"]["n"], 65) << result.body;
    // Not for another project's members.
    EXPECT_EQ(As("chloe", "GET", "/v1/studies/" + id + "/result").status, 403);
    fr->Stop();
    qc->Stop();
  }

  // 6. Closure; the hub refuses the next study.
  auto closed = As("alice", "POST", "/v1/projects/proj-e2e/close", R"({"reason":"finished"})");
  ASSERT_EQ(closed.status, 200) << closed.body;
  auto after = As("alice", "POST", "/v1/studies", study);
  EXPECT_EQ(after.status, 409) << after.body;
  EXPECT_NE(after.body.find("[rule: closed]"), std::string::npos) << after.body;

  // 7. The audit logs verify and reconcile: every task a node ran was asked by the hub, every
  // result the hub used is the one the node sent.
  auto hub_log = As("fanny", "GET", "/v1/audit/export");
  ASSERT_EQ(hub_log.status, 200);
  auto key_answer = harness_->Person("", "GET", "/v1/audit/public-key");
  auto hub_key = ParsePublicKey(json::parse(key_answer.body)["public_key"].get<std::string>());
  ASSERT_TRUE(hub_key.ok());
  ASSERT_TRUE(VerifyAuditLog(hub_log.body, *hub_key).ok());
  for (const std::string n : {"fr-node", "qc-node"}) {
    std::string log = NodeLog(n);
    auto verified = VerifyAuditLog(log, NodeKey(n));
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    int ran = 0, sent = 0;
    for (const auto& e : verified->entries) {
      ran += e.record.action == "task.run" && e.record.project == "proj-e2e";
      sent += e.record.action == "result.send";
    }
    EXPECT_EQ(ran, 1) << n;
    EXPECT_EQ(sent, 1) << n;
    auto report = ReconcileAuditLogs(log, NodeKey(n), hub_log.body, *hub_key);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok()) << ToJson(*report);
    EXPECT_EQ(report->tasks_checked, 1);
    EXPECT_EQ(report->results_checked, 1);
  }
  // Tampering: one edited byte in the hub's log, one removed entry in a node's log.
  {
    std::string edited = hub_log.body;
    size_t at = edited.find("\"study.submit\"");
    ASSERT_NE(at, std::string::npos);
    edited.replace(at, 14, "\"study.submiT\"");
    EXPECT_FALSE(VerifyAuditLog(edited, *hub_key).ok());
    std::string node_log = NodeLog("qc-node");
    size_t first = node_log.find('\n');
    size_t second = node_log.find('\n', first + 1);
    std::string removed = node_log.substr(0, first + 1) + node_log.substr(second + 1);
    EXPECT_FALSE(VerifyAuditLog(removed, NodeKey("qc-node")).ok());
  }

  // 8. After closure the QC custodian revokes the project at the node. A forged hub (the same CA:
  // a compromised hub) hands the node a task of the closed project anyway: the node refuses it,
  // and its log shows a task the real hub never asked for.
  {
    auto node = OpenNode("qc-node");
    ASSERT_TRUE(node.ok());
    ASSERT_TRUE(node->approvals->Revoke("proj-e2e", "cust-qc-node", "project closed").ok());
  }
  protocol::Task forged;
  forged.task_id = "st-forged-r1-qc-node";
  forged.study_id = "st-forged";
  forged.round = 1;
  forged.node = "qc-node";
  forged.dataset = "cohort";
  forged.project = "proj-e2e";
  forged.steps.push_back({"n", "count", json{{"id", "n"}, {"type", "count"}}, 0, {}});
  std::atomic<bool> served{false};
  std::string posted;
  std::mutex mu;
  net::Router router;
  router.Add("GET", "/v1/health", [](net::HttpRequest&&, const net::PathParams&, net::Responder r) {
    r.Send(net::HttpResponse::Json(200, R"({"status":"ok"})"));
  });
  router.Add("GET", "/v1/tasks/next",
             [&](net::HttpRequest&&, const net::PathParams&, net::Responder r) {
               if (served.exchange(true)) return r.Send(net::HttpResponse::Json(204, ""));
               r.Send(net::HttpResponse::Json(200, forged.ToJson().dump()));
             });
  router.Add("POST", "/v1/tasks/{id}/result",
             [&](net::HttpRequest&& req, const net::PathParams&, net::Responder r) {
               {
                 std::lock_guard lock(mu);
                 posted = req.body;
               }
               r.Send(net::HttpResponse::Json(200, R"({"accepted":true,"duplicate":false})"));
             });
  auto rogue_cert = crypto::IssueCertificate(harness_->ca(), crypto::CertRole::kHub, "localhost",
                                             {.valid_days = 2});
  ASSERT_TRUE(rogue_cert.ok());
  auto rogue_tls = crypto::TlsContext::Server(
      {harness_->ca().cert_pem, rogue_cert->cert_pem, rogue_cert->key_pem},
      crypto::ClientCertMode::kOptional);
  ASSERT_TRUE(rogue_tls.ok());
  auto rogue = net::HttpsServer::Create({.host = "127.0.0.1", .port = 0}, *rogue_tls,
                                        [&](net::HttpRequest&& req, net::Responder r) {
                                          router.Dispatch(std::move(req), std::move(r));
                                        });
  ASSERT_TRUE(rogue.ok()) << rogue.status().ToString();
  (*rogue)->Start();
  {
    auto qc = StartNode("qc-node", "https://127.0.0.1:" + std::to_string((*rogue)->port()), 25);
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mu);
        if (!posted.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    qc->Stop();
  }
  (*rogue)->Stop();
  json refusal = json::parse(posted, nullptr, false);
  ASSERT_TRUE(refusal.is_object()) << posted;
  EXPECT_EQ(refusal["status"], "refused");
  EXPECT_EQ(refusal["rule"], "node_approval");
  EXPECT_FALSE(refusal.contains("shares") && !refusal["shares"].empty());
  std::string qc_log = NodeLog("qc-node");
  auto verified = VerifyAuditLog(qc_log, NodeKey("qc-node"));
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->entries.back().record.action, "result.send");
  bool refused_logged = false;
  for (const auto& e : verified->entries) {
    refused_logged |= e.record.action == "task.refuse" && e.record.task_id == forged.task_id;
  }
  EXPECT_TRUE(refused_logged);
  auto report = ReconcileAuditLogs(qc_log, NodeKey("qc-node"), hub_log.body, *hub_key);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok());  // the forged task is not in the hub's log
}

TEST_F(HttpLifecycleTest, NodeRefusesAProjectItsCustodianDidNotApproveWhateverTheHubSays) {
  world_.ApproveProjectA();  // active at the hub (both committees), clock on 2025-05-10
  // Only the French custodian approves proj-a at their node.
  {
    auto fr = OpenNode("fr-node");
    ASSERT_TRUE(fr.ok());
    ASSERT_TRUE(fr->approvals->Approve({.project = "proj-a", .custodian = "custfr"}).ok());
  }
  auto fr = StartNode("fr-node", harness_->url(), 40);
  auto qc = StartNode("qc-node", harness_->url(), 40);
  auto submitted = As("alice", "POST", "/v1/studies",
                      json{{"name", "count"},
                           {"dataset", "cohort"},
                           {"project", "proj-a"},
                           {"analyses", {{{"id", "n"}, {"type", "count"}}}}}
                          .dump());
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  json done = WaitStudy(json::parse(submitted.body)["id"]);
  EXPECT_EQ(done.value("state", ""), "failed");
  EXPECT_NE(done.value("error", "").find("qc-node refused"), std::string::npos) << done.dump();
  EXPECT_NE(done.value("error", "").find("node_approval"), std::string::npos) << done.dump();
}

}  // namespace
}  // namespace passerelle::governance::testing
