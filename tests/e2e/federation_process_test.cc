// End-to-end tests with REAL hub and node processes (build/passerelle) on loopback: protocol
// errors, hub restart in the middle of a study, node restarts around the result post, a node that
// stops answering. Ports are chosen by the OS (the hub writes its port to a file).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <map>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/files.h"
#include "common/random.h"
#include "crypto/pki.h"
#include "crypto/tls.h"
#include "governance/demo.h"
#include "governance/governance.h"
#include "governance/local.h"
#include "net/client.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"

extern char** environ;

namespace passerelle {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kBinary = PASSERELLE_BINARY;
const std::string kData = PASSERELLE_SHARED_DATA;

// A child process with its stdout and stderr in a log file; killed when destroyed.
class Process {
 public:
  Process(std::vector<std::string> args, const std::filesystem::path& log,
          const std::vector<std::string>& extra_env = {}) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    for (const auto& e : extra_env) env_store.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Kill(SIGKILL); }

  bool started() const { return pid_ > 0; }
  void Signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // The exit code once the process ended within `timeout`, else nullopt.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
};

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

// Runs the CLI to completion; returns (exit code, output).
std::pair<int, std::string> RunCli(std::vector<std::string> args,
                                   const std::filesystem::path& log) {
  std::filesystem::remove(log);
  args.insert(args.begin(), kBinary);
  Process p(args, log);
  auto rc = p.WaitExit(60s);
  return {rc.value_or(-1), Slurp(log)};
}

class FederationProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::Create("passerelle-e2e-data");
    ASSERT_TRUE(d.ok());
    data_ = new TempDir(std::move(d).value());
    for (int i = 1; i <= 2; ++i) {
      auto db = store::OpenDuckDb({.path = (data_->path() / DbName(i)).string()});
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE(store::IngestTable(
                      **db, {.name = "cnsim",
                             .from = kData + "/datashield/CNSIM" + std::to_string(i) + ".csv"})
                      .ok());
    }
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static std::string DbName(int i) { return "cnsim" + std::to_string(i) + ".duckdb"; }

  void SetUp() override {
    auto d = TempDir::Create("passerelle-e2e");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
    pki_ = dir_->path() / "pki";
    // The PKI through the CLI, as an operator would.
    ASSERT_EQ(Cli({"pki", "init", "--dir", pki_.string()}).first, 0);
    ASSERT_EQ(Cli({"pki", "issue", "--dir", pki_.string(), "--hub", "localhost"}).first, 0);
    for (const char* n : {"fr", "qc", "outsider"}) {
      ASSERT_EQ(Cli({"pki", "issue", "--dir", pki_.string(), "--node", n}).first, 0);
    }
    SetUpGovernance();
  }

  // The hub's governance (an approved, active project "demo-project" with alice's token) and
  // each node's approval of it, with their audit keys; "outsider" is registered but not a member
  // of the federation (hub.nodes).
  void SetUpGovernance() {
    namespace gov = passerelle::governance;
    const auto& dir = dir_->path();
    ASSERT_TRUE(gov::WriteAuditKeyFiles(gov::AuditKey::Generate(SystemRandom::Default()),
                                        dir / "hub-audit.key")
                    .ok());
    gov::GovernanceOptions go;
    go.path = dir / "hub-governance.sqlite";
    auto service =
        gov::GovernanceService::Open(go, gov::ReadAuditKeyFile(dir / "hub-audit.key").value(),
                                     SystemClock::Default(), SystemRandom::Default());
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    auto demo = gov::SetUpDemoGovernance(
        **service,
        {{"fr", gov::Jurisdiction::kFR, {"cnsim"}}, {"qc", gov::Jurisdiction::kQC, {"cnsim"}}},
        SystemClock::Default().TodayDays());
    ASSERT_TRUE(demo.ok()) << demo.status().ToString();
    ASSERT_TRUE((*service)->RegisterNode(gov::Principal::LocalOperator(), "outsider", "hdh").ok());
    token_ = demo->tokens.at("alice");
    for (const std::string n : {"fr", "qc"}) {
      std::filesystem::path key = dir / (n + "-audit.key");
      ASSERT_TRUE(
          gov::WriteAuditKeyFiles(gov::AuditKey::Generate(SystemRandom::Default()), key).ok());
      auto node =
          gov::OpenLocalNode({.state = dir / (n + "-state.sqlite"), .node_id = n, .audit_key = key},
                             SystemClock::Default());
      ASSERT_TRUE(node.ok()) << node.status().ToString();
      ASSERT_TRUE(node->approvals->Approve({.project = demo->project, .custodian = "e2e"}).ok());
    }
  }

  std::pair<int, std::string> Cli(std::vector<std::string> args) {
    return RunCli(std::move(args), dir_->path() / "cli.log");
  }

  // Writes hub.toml; port 0 the first time, then the port it got.
  void WriteHubConfig(double task_timeout_s = 30, size_t max_body = 1 << 20) {
    std::ofstream f(dir_->path() / "hub.toml");
    f << "[hub]\nlisten = \"127.0.0.1:" << port_ << "\"\nstate = \"hub-state.sqlite\"\n"
      << "port_file = \"hub.port\"\nnodes = [\"fr\", \"qc\"]\n"
      << "task_timeout_seconds = " << task_timeout_s << "\nmax_body_bytes = " << max_body << "\n"
      << "[tls]\nca = \"pki/ca.crt\"\ncert = \"pki/localhost.crt\"\nkey = \"pki/localhost.key\"\n"
      << "[governance]\nstate = \"hub-governance.sqlite\"\naudit_key = \"hub-audit.key\"\n";
  }

  void WriteNodeConfig(const std::string& id, int data_index) {
    std::ofstream f(dir_->path() / (id + ".toml"));
    f << "[node]\nid = \"" << id << "\"\nhub = \"https://127.0.0.1:" << port_ << "\"\n"
      << "journal = \"" << id << "-journal.sqlite\"\nlong_poll_seconds = 5\n"
      << "[data]\nduckdb = \"" << (data_->path() / DbName(data_index)).string() << "\"\n"
      << "[tls]\nca = \"pki/ca.crt\"\ncert = \"pki/" << id << ".crt\"\nkey = \"pki/" << id
      << ".key\"\n[policy]\nmin_cell = 5\n"
      << "[governance]\nstate = \"" << id << "-state.sqlite\"\naudit_key = \"" << id
      << "-audit.key\"\n";
  }

  std::unique_ptr<Process> StartHub() {
    std::filesystem::remove(dir_->path() / "hub.port");
    auto p = std::make_unique<Process>(
        std::vector<std::string>{kBinary, "hub", "--config", (dir_->path() / "hub.toml").string()},
        dir_->path() / "hub.log");
    EXPECT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_->path() / "hub.port"); }, 10s))
        << Slurp(dir_->path() / "hub.log");
    port_ = std::stoi(Slurp(dir_->path() / "hub.port"));
    return p;
  }

  std::unique_ptr<Process> StartNode(const std::string& id,
                                     const std::vector<std::string>& env = {}) {
    return std::make_unique<Process>(
        std::vector<std::string>{kBinary, "node", "--config",
                                 (dir_->path() / (id + ".toml")).string()},
        dir_->path() / (id + ".log"), env);
  }

  std::unique_ptr<net::HttpsClient> Client(const std::string& cert_name = "") {
    crypto::TlsMaterial m;
    m.ca_pem = *ReadFileToString(pki_ / "ca.crt");
    if (!cert_name.empty()) {
      m.cert_pem = *ReadFileToString(pki_ / (cert_name + ".crt"));
      m.key_pem = *ReadFileToString(pki_ / (cert_name + ".key"));
    }
    auto tls = crypto::TlsContext::Client(m);
    EXPECT_TRUE(tls.ok()) << tls.status().ToString();
    auto c = net::HttpsClient::Create(
        {.base_url = "https://127.0.0.1:" + std::to_string(port_), .request_timeout = 10s}, *tls);
    return std::move(c).value();
  }

  net::Headers Auth() const { return {{"Authorization", "Bearer " + token_}}; }
  std::string token_;  // alice's governance token (SetUpGovernance)

  std::string Submit(net::HttpsClient& c, json study) {
    if (!study.contains("project")) study["project"] = "demo-project";  // SetUpGovernance's
    auto r = c.Call("POST", "/v1/studies", study.dump(), Auth());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? json::parse(*r)["id"].get<std::string>() : "";
  }

  json Status(net::HttpsClient& c, const std::string& id) {
    auto r = c.Call("GET", "/v1/studies/" + id, {}, Auth());
    return r.ok() ? json::parse(*r) : json::object();
  }

  static json Study() {
    return json::parse(R"({
      "name": "e2e", "dataset": "cnsim", "project": "demo-project",
      "analyses": [
        {"id": "n", "type": "count"},
        {"id": "s1", "type": "summary", "variables": ["LAB_TSC"]},
        {"id": "t1", "type": "table", "rows": "GENDER", "cols": "DIS_DIAB"}]})");
  }

  static TempDir* data_;
  std::unique_ptr<TempDir> dir_;
  std::filesystem::path pki_;
  int port_ = 0;
};

TempDir* FederationProcessTest::data_ = nullptr;

TEST_F(FederationProcessTest, ProtocolErrorsAreClear4xx) {
  WriteHubConfig(30, 64 * 1024);
  auto hub = StartHub();
  auto c = Client();

  auto missing = c->Send("POST", "/v1/studies", Study().dump());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 401);
  EXPECT_NE(missing->body.find("missing bearer token"), std::string::npos) << missing->body;

  auto wrong = c->Send("GET", "/v1/studies", {}, {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong->status, 401);

  auto bad_json = c->Send("POST", "/v1/studies", "{\"name\": ", Auth());
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_NE(bad_json->body.find("malformed JSON"), std::string::npos) << bad_json->body;

  json unknown = Study();
  unknown["analyses"][0]["type"] = "regression";
  auto bad_type = c->Send("POST", "/v1/studies", unknown.dump(), Auth());
  EXPECT_EQ(bad_type->status, 400);
  EXPECT_NE(bad_type->body.find("unknown analysis \\\"regression\\\""), std::string::npos)
      << bad_type->body;

  std::string deep = std::string(100, '[') + std::string(100, ']');
  auto nested = c->Send("POST", "/v1/studies", deep, Auth());
  EXPECT_EQ(nested->status, 400);
  EXPECT_NE(nested->body.find("nesting"), std::string::npos);

  std::string big = "{\"name\": \"" + std::string(100 * 1024, 'x') + "\"}";
  auto oversize = c->Send("POST", "/v1/studies", big, Auth());
  ASSERT_TRUE(oversize.ok()) << oversize.status().ToString();
  EXPECT_EQ(oversize->status, 413);
  EXPECT_NE(oversize->body.find("exceeds the limit of 65536 bytes"), std::string::npos);

  // Node endpoints: a certificate is required, and it must be a member's.
  auto no_cert = c->Send("GET", "/v1/tasks/next");
  EXPECT_EQ(no_cert->status, 401);
  auto outsider = Client("outsider")->Send("GET", "/v1/tasks/next");
  ASSERT_TRUE(outsider.ok());
  EXPECT_EQ(outsider->status, 403);
  EXPECT_NE(outsider->body.find("not a member"), std::string::npos);
  auto fr = Client("fr");
  auto no_key = fr->Send("POST", "/v1/tasks/x/result", "{}");
  EXPECT_EQ(no_key->status, 400);
  EXPECT_NE(no_key->body.find("Idempotency-Key"), std::string::npos);
  auto no_task = fr->Send("POST", "/v1/tasks/x/result",
                          R"({"task_id":"x","study_id":"s","round":1,"node":"fr","status":"ok"})",
                          {{"Idempotency-Key", "k"}});
  EXPECT_EQ(no_task->status, 404);

  // A node certificate from another CA is refused during the handshake.
  auto rogue_ca = crypto::CreateCa({.name = "Rogue CA"});
  auto rogue = crypto::IssueCertificate(*rogue_ca, crypto::CertRole::kNode, "fr", {});
  auto tls = crypto::TlsContext::Client(
      {*ReadFileToString(pki_ / "ca.crt"), rogue->cert_pem, rogue->key_pem});
  auto rc =
      net::HttpsClient::Create({.base_url = "https://127.0.0.1:" + std::to_string(port_)}, *tls);
  auto refused = (*rc)->Send("GET", "/v1/tasks/next");
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(WaitFor(
      [&] { return Slurp(dir_->path() / "hub.log").find("handshake") != std::string::npos; }, 2s));

  auto health = c->Send("GET", "/v1/health");
  EXPECT_EQ(health->status, 200);
}

TEST_F(FederationProcessTest, HubRestartMidStudyResumesAndNodesRetry) {
  WriteHubConfig();
  auto hub = StartHub();
  WriteHubConfig();  // keep the port across the restart
  WriteNodeConfig("fr", 1);
  WriteNodeConfig("qc", 2);
  auto fr = StartNode("fr");
  auto c = Client();
  const std::string id = Submit(*c, Study());
  // fr answers round 1; qc is not there yet, so the study waits in round 1.
  ASSERT_TRUE(WaitFor(
      [&] {
        json s = Status(*c, id);
        for (const auto& n : s.value("nodes", json::array())) {
          if (n["node"] == "fr" && n["state"] == "done") return true;
        }
        return false;
      },
      20s))
      << Slurp(dir_->path() / "fr.log");
  hub->Kill(SIGKILL);                  // no goodbye: the state database must be enough
  std::this_thread::sleep_for(300ms);  // fr now fails to reach the hub and backs off
  hub = StartHub();
  auto qc = StartNode("qc");
  auto c2 = Client();
  ASSERT_TRUE(WaitFor([&] { return Status(*c2, id).value("state", "") != "running"; }, 30s))
      << Slurp(dir_->path() / "hub.log");
  auto result = c2->Call("GET", "/v1/studies/" + id + "/result", {}, Auth());
  ASSERT_TRUE(result.ok()) << result.status().ToString() << Slurp(dir_->path() / "hub.log");
  json r = json::parse(*result);
  EXPECT_EQ(r["analyses"]["n"]["n"], 2163 + 3088);
  EXPECT_EQ(r["analyses"]["t1"]["cells"][1][1], 9 + 16);
  EXPECT_EQ(r["rounds"], 2);
  EXPECT_NE(Slurp(dir_->path() / "hub.log").find("resuming"), std::string::npos);
  EXPECT_NE(Slurp(dir_->path() / "fr.log").find("hub unreachable"), std::string::npos);

  // The same study again, uninterrupted, gives the same result.
  const std::string id2 = Submit(*c2, Study());
  ASSERT_TRUE(WaitFor([&] { return Status(*c2, id2).value("state", "") == "completed"; }, 30s));
  json r2 = json::parse(*c2->Call("GET", "/v1/studies/" + id2 + "/result", {}, Auth()));
  EXPECT_EQ(r2["analyses"], r["analyses"]);

  // The hub's audit log across the crash: its entries go through an outbox in the state database
  // (hub/audit_outbox.h), so each task and each accepted result is in the log exactly once, the
  // ones committed before the SIGKILL included, and the log verifies.
  hub->Signal(SIGTERM);
  EXPECT_EQ(hub->WaitExit(10s), 0);
  const auto& d = dir_->path();
  ASSERT_EQ(
      Cli({"audit", "export", "--state", (d / "hub-governance.sqlite").string(), "--audit-key",
           (d / "hub-audit.key").string(), "--out", (d / "hub-audit.jsonl").string()})
          .first,
      0);
  auto [vrc, vout] = Cli({"audit", "verify", (d / "hub-audit.jsonl").string(), "--key",
                          (d / "hub-audit.key.pub").string()});
  EXPECT_EQ(vrc, 0) << vout;
  std::map<std::string, int> created, accepted;
  int submits = 0;
  std::istringstream lines(Slurp(d / "hub-audit.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    json e = json::parse(line);
    if (!e.contains("action") || e["study"] != id) continue;
    if (e["action"] == "study.submit") ++submits;
    if (e["action"] == "task.create") ++created[e["task_id"]];
    if (e["action"] == "result.accept") ++accepted[e["task_id"]];
  }
  EXPECT_EQ(submits, 1);
  EXPECT_EQ(created.size(), 4u);  // 2 rounds x 2 nodes
  EXPECT_EQ(accepted.size(), 4u);
  for (const auto& [task, n] : created) EXPECT_EQ(n, 1) << task;
  for (const auto& [task, n] : accepted) EXPECT_EQ(n, 1) << task;
}

TEST_F(FederationProcessTest, NodeRestartsAroundThePostAndResultCountsOnce) {
  WriteHubConfig();
  auto hub = StartHub();
  WriteNodeConfig("fr", 1);
  WriteNodeConfig("qc", 2);
  // fr dies right after the hub acknowledged its result (before its journal knew);
  // qc dies after journaling its result, before posting it.
  auto fr = StartNode("fr", {"PASSERELLE_FAILPOINT=exit_after_post"});
  auto qc = StartNode("qc", {"PASSERELLE_FAILPOINT=exit_before_post"});
  auto c = Client();
  json study = json::parse(R"({"name": "once", "dataset": "cnsim",
                                "analyses": [{"id": "n", "type": "count"}]})");
  const std::string id = Submit(*c, study);
  EXPECT_EQ(fr->WaitExit(20s), 3) << Slurp(dir_->path() / "fr.log");
  EXPECT_EQ(qc->WaitExit(20s), 3) << Slurp(dir_->path() / "qc.log");
  EXPECT_EQ(Status(*c, id)["state"], "running");
  fr = StartNode("fr");
  qc = StartNode("qc");
  ASSERT_TRUE(WaitFor([&] { return Status(*c, id).value("state", "") != "running"; }, 20s));
  auto result = c->Call("GET", "/v1/studies/" + id + "/result", {}, Auth());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // Counted once: fr's result was posted twice with the same key.
  EXPECT_EQ(json::parse(*result)["analyses"]["n"]["n"], 2163 + 3088);
  EXPECT_TRUE(WaitFor(
      [&] { return Slurp(dir_->path() / "fr.log").find("already had it") != std::string::npos; },
      5s))
      << Slurp(dir_->path() / "fr.log");
  EXPECT_NE(Slurp(dir_->path() / "qc.log").find("journaled result(s) the hub has not acknowledged"),
            std::string::npos);
}

TEST_F(FederationProcessTest, SilentNodeFailsStudyNamingItAndNothingHangs) {
  WriteHubConfig(/*task_timeout_s=*/1.5);
  auto hub = StartHub();
  WriteNodeConfig("fr", 1);
  WriteNodeConfig("qc", 2);
  auto fr = StartNode("fr");
  auto qc = StartNode("qc");
  ASSERT_TRUE(WaitFor(
      [&] {
        return Slurp(dir_->path() / "qc.log").find("connected to the hub") != std::string::npos;
      },
      10s));
  qc->Signal(SIGSTOP);  // qc stops answering, its poll still open
  std::ofstream(dir_->path() / "study.json") << Study().dump();
  const auto start = std::chrono::steady_clock::now();
  auto [rc, out] = Cli({"study", "submit", (dir_->path() / "study.json").string(), "--wait",
                        "--hub", "https://127.0.0.1:" + std::to_string(port_), "--token", token_,
                        "--ca", (pki_ / "ca.crt").string(), "--timeout", "30"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("node qc did not answer within 1500 ms"), std::string::npos) << out;
  EXPECT_EQ(out.find("node fr did not answer"), std::string::npos) << out;
  EXPECT_LT(elapsed, 10s);
  // The hub and fr still answer; and stop cleanly on SIGTERM.
  auto health = Client()->Send("GET", "/v1/health");
  EXPECT_EQ(health->status, 200);
  fr->Signal(SIGTERM);
  EXPECT_EQ(fr->WaitExit(10s), 0);
  hub->Signal(SIGTERM);
  EXPECT_EQ(hub->WaitExit(10s), 0);
}

TEST_F(FederationProcessTest, StudyCommandsAgainstRealProcesses) {
  WriteHubConfig();
  auto hub = StartHub();
  WriteNodeConfig("fr", 1);
  WriteNodeConfig("qc", 2);
  auto fr = StartNode("fr");
  auto qc = StartNode("qc");
  std::ofstream(dir_->path() / "study.json") << Study().dump();
  std::vector<std::string> conn = {"--hub",   "https://127.0.0.1:" + std::to_string(port_),
                                   "--token", token_,
                                   "--ca",    (pki_ / "ca.crt").string()};
  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), conn.begin(), conn.end());
    return Cli(a);
  };
  auto [rc, out] = with({"--quiet", "study", "submit", (dir_->path() / "study.json").string()});
  ASSERT_EQ(rc, 0) << out;
  std::string id = out.substr(0, out.find('\n'));
  auto [wrc, wout] = with({"--quiet", "study", "wait", id});
  ASSERT_EQ(wrc, 0) << wout;
  EXPECT_NE(wout.find("\"completed\""), std::string::npos);
  auto [crc, csv] = with({"study", "result", id, "--format", "csv"});
  ASSERT_EQ(crc, 0) << csv;
  EXPECT_NE(csv.find("n,count,,,,n,5251,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("t1,table,GENDER x DIS_DIAB,1,1,count,25,"), std::string::npos) << csv;
  auto [jrc, js] = with({"study", "result", id});
  ASSERT_EQ(jrc, 0);
  EXPECT_EQ(json::parse(js)["analyses"]["s1"]["LAB_TSC"]["n"], 1807 + 2539);
  auto [nrc, nout] =
      Cli({"study", "status", id, "--hub", "https://127.0.0.1:" + std::to_string(port_), "--ca",
           (pki_ / "ca.crt").string()});
  EXPECT_EQ(nrc, 1);
  EXPECT_NE(nout.find("PASSERELLE_TOKEN"), std::string::npos) << nout;
  // Governance over HTTP with the same token: the catalog.
  auto [grc, gout] = with({"catalog", "search", "cnsim"});
  ASSERT_EQ(grc, 0) << gout;
  EXPECT_NE(gout.find("fr/cnsim"), std::string::npos) << gout;
  EXPECT_NE(gout.find("qc/cnsim"), std::string::npos) << gout;
  // The audit logs of the hub and of each node process verify and reconcile (CLI, as an auditor).
  const auto& d = dir_->path();
  ASSERT_EQ(Cli({"audit", "export", "--state", (d / "hub-governance.sqlite").string(),
                 "--audit-key", (d / "hub-audit.key").string(), "--out", (d / "hub.log").string()})
                .first,
            0);
  auto [vrc, vout] = Cli(
      {"audit", "verify", (d / "hub.log").string(), "--key", (d / "hub-audit.key.pub").string()});
  EXPECT_EQ(vrc, 0) << vout;
  for (const std::string n : {"fr", "qc"}) {
    ASSERT_EQ(
        Cli({"audit", "export", "--state", (d / (n + "-state.sqlite")).string(), "--audit-key",
             (d / (n + "-audit.key")).string(), "--out", (d / (n + ".log")).string()})
            .first,
        0);
    auto [rrc, rout] =
        Cli({"audit", "reconcile", "--node", (d / (n + ".log")).string(), "--hub",
             (d / "hub.log").string(), "--node-key", (d / (n + "-audit.key.pub")).string(),
             "--hub-key", (d / "hub-audit.key.pub").string(), "--json"});
    EXPECT_EQ(rrc, 0) << rout;
    EXPECT_NE(rout.find("\"problems\":[]"), std::string::npos) << rout;
  }
}

TEST_F(FederationProcessTest, SandboxCommandPrintsResultJson) {
  std::ofstream(dir_->path() / "study.json") << Study().dump();
  std::ofstream(dir_->path() / "policy.toml") << "[policy]\nmin_cell = 5\n";
  auto log = dir_->path() / "sandbox.out";
  Process p({kBinary, "--quiet", "sandbox", "--study", (dir_->path() / "study.json").string(),
             "--node", "a=" + (data_->path() / DbName(1)).string(), "--node",
             "b=" + (data_->path() / DbName(2)).string(), "--policy",
             (dir_->path() / "policy.toml").string()},
            log);
  ASSERT_EQ(p.WaitExit(60s), 0) << Slurp(log);
  json r = json::parse(Slurp(log));
  EXPECT_EQ(r["analyses"]["n"]["n"], 2163 + 3088);
  EXPECT_EQ(r["analyses"]["t1"]["cells"][1][1], 9 + 16);
  // A failing study: non-zero exit and a clear message.
  json bad = Study();
  bad["analyses"][1]["variables"] = {"NOPE"};
  std::ofstream(dir_->path() / "bad.json") << bad.dump();
  auto [rc, out] = Cli({"sandbox", "--study", (dir_->path() / "bad.json").string(), "--node",
                        "a=" + (data_->path() / DbName(1)).string()});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("variable \"NOPE\" is not in the dataset"), std::string::npos) << out;
}

TEST_F(FederationProcessTest, DemoRunsEndToEndAndWritesResults) {
  auto out_dir = dir_->path() / "demo";
  auto [rc, out] = Cli({"demo", "--persons", "2000", "--out", out_dir.string()});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Table 1. Adults with type 2 diabetes"), std::string::npos) << out;
  json r = json::parse(Slurp(out_dir / "results" / "t2d_hhf.json"));
  EXPECT_EQ(r["nodes"], json({"fr", "qc"}));
  EXPECT_EQ(r["dataset"], "omop");
  const json& t1 = r["analyses"]["table1"];
  EXPECT_EQ(t1["groups"], json({"fr", "qc", "overall"}));
  EXPECT_GT(t1["n"]["fr"].get<int64_t>(), 10);
  EXPECT_GT(t1["n"]["qc"].get<int64_t>(), 10);
  EXPECT_EQ(t1["n"]["overall"], r["analyses"]["persons"]["n"]);
  json m = json::parse(Slurp(out_dir / "results" / "mace.json"));
  EXPECT_EQ(m["analyses"]["table1"]["n"]["overall"], m["analyses"]["persons"]["n"]);
  const std::string report = Slurp(out_dir / "results" / "report.txt");
  EXPECT_NE(report.find("Table 1b."), std::string::npos);
  // The Cox model of the planted effect (2) is fitted (about 160 events at this size); the
  // logistic one may be refused by a node's small-cell rule, which the report then says.
  json models = json::parse(Slurp(out_dir / "results" / "models.json"));
  EXPECT_EQ(models["mace_cox"].size(), 5u) << report;
  EXPECT_TRUE(models.contains("hhf_logistic") || report.find("not released") != std::string::npos)
      << report;
}

}  // namespace
}  // namespace passerelle
