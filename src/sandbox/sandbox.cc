#include "sandbox/sandbox.h"

#include <fmt/format.h>

#include <pthread.h>

#include <optional>
#include <thread>

#include "common/files.h"
#include "common/log.h"
#include "crypto/pki.h"
#include "crypto/tls.h"
#include "governance/demo.h"
#include "governance/governance.h"
#include "governance/local.h"
#include "hub/hub.h"
#include "net/client.h"
#include "node/agent.h"
#include "protocol/codec.h"
#include "store/duckdb_source.h"

namespace passerelle::sandbox {

using nlohmann::json;

namespace {

// Shares one provider between the sandbox's caller and the agent.
class SharedProvider final : public node::DataProvider {
 public:
  explicit SharedProvider(std::shared_ptr<node::DataProvider> p) : p_(std::move(p)) {}
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenTable(const std::string& d) override {
    return p_->OpenTable(d);
  }
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenForTask(const protocol::Task& t) override {
    return p_->OpenForTask(t);
  }
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenTableExcluding(
      const std::string& d, const std::string& column,
      const std::vector<std::string>& exclude) override {
    return p_->OpenTableExcluding(d, column, exclude);
  }

 private:
  std::shared_ptr<node::DataProvider> p_;
};

}  // namespace

struct LocalFederation::Impl {
  std::optional<TempDir> temp;
  std::filesystem::path dir;
  std::string token;
  // The rehearsal's governance (sandbox.h): the hub's state, its project, the steps it went
  // through.
  std::unique_ptr<governance::GovernanceService> gov;
  governance::DemoGovernance governance;
  std::unique_ptr<hub::Hub> hub;
  struct RunningNode {
    std::string name;
    std::filesystem::path governance_state, audit_key;
    std::unique_ptr<node::NodeAgent> agent;
    std::thread thread;
  };
  std::vector<RunningNode> nodes;
  std::unique_ptr<net::HttpsClient> client;
  bool stopped = false;

  net::Headers Auth() const { return {{"Authorization", "Bearer " + token}}; }
};

LocalFederation::LocalFederation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LocalFederation::~LocalFederation() { Stop(); }

void LocalFederation::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  for (auto& n : impl_->nodes) n.agent->Stop();
  for (auto& n : impl_->nodes) {
    if (n.thread.joinable()) n.thread.join();
  }
  if (impl_->hub) impl_->hub->Stop();
  impl_->client.reset();
  impl_->nodes.clear();
  impl_->hub.reset();
}

uint16_t LocalFederation::hub_port() const { return impl_->hub->port(); }

Result<std::unique_ptr<LocalFederation>> LocalFederation::Start(
    const FederationOptions& options, std::vector<SandboxNode> nodes,
    const analysis::Registry& registry) {
  if (nodes.empty()) return Status::InvalidArgument("a federation needs at least one node");
  auto impl = std::make_unique<Impl>();
  if (options.work_dir.empty()) {
    ASSIGN_OR_RETURN(TempDir t, TempDir::Create("passerelle-sandbox"));
    impl->temp.emplace(std::move(t));
    impl->dir = impl->temp->path();
  } else {
    impl->dir = options.work_dir;
    std::error_code ec;
    std::filesystem::create_directories(impl->dir, ec);
    if (ec) {
      return Status::IoError(
          fmt::format("{}: cannot create folder: {}", impl->dir.string(), ec.message()));
    }
  }

  // Ephemeral PKI, in memory.
  ASSIGN_OR_RETURN(crypto::KeyAndCert ca,
                   crypto::CreateCa({.name = "Passerelle sandbox CA", .valid_days = 2}));
  ASSIGN_OR_RETURN(
      crypto::KeyAndCert hub_cert,
      crypto::IssueCertificate(ca, crypto::CertRole::kHub, "localhost", {.valid_days = 2}));

  // Ephemeral governance: fresh audit keys, the joint call's lifecycle for one project, each node's
  // custodian approving it; the researcher's token is a governance token like any other.
  for (const char* f :
       {"hub-governance.sqlite", "hub-governance.sqlite-wal", "hub-governance.sqlite-shm"}) {
    std::filesystem::remove(impl->dir / f);
  }
  governance::GovernanceOptions go;
  go.path = impl->dir / "hub-governance.sqlite";
  // The tokens never leave this process and are 256-bit random: the cheapest hash is enough.
  go.tokens.hash_ops_limit = 1;
  go.tokens.hash_mem_limit = 8192;
  ASSIGN_OR_RETURN(impl->gov, governance::GovernanceService::Open(
                                  go, governance::AuditKey::Generate(SystemRandom::Default()),
                                  SystemClock::Default(), SystemRandom::Default()));
  std::vector<governance::DemoNode> demo_nodes;
  for (const auto& n : nodes) {
    demo_nodes.push_back(
        {n.name,
         n.name.rfind("qc", 0) == 0 ? governance::Jurisdiction::kQC : governance::Jurisdiction::kFR,
         {"sandbox"}});
  }
  ASSIGN_OR_RETURN(
      impl->governance,
      governance::SetUpDemoGovernance(*impl->gov, demo_nodes, SystemClock::Default().TodayDays()));
  impl->token = impl->governance.tokens.at("alice");

  hub::HubOptions ho;
  ho.host = "127.0.0.1";
  ho.port = 0;
  ho.state_path = impl->dir / "hub-state.sqlite";
  ho.task_timeout = options.task_timeout;
  ho.tls = {ca.cert_pem, hub_cert.cert_pem, hub_cert.key_pem};
  for (const auto& n : nodes) {
    RETURN_IF_ERROR(crypto::ValidateNodeId(n.name));
    ho.nodes.push_back(n.name);
  }
  ASSIGN_OR_RETURN(impl->hub, hub::Hub::Create(ho, *impl->gov, registry));
  impl->hub->Start();
  const std::string url = fmt::format("https://127.0.0.1:{}", impl->hub->port());

  std::unique_ptr<LocalFederation> fed(new LocalFederation(std::move(impl)));
  Impl& d = *fed->impl_;
  for (auto& n : nodes) {
    ASSIGN_OR_RETURN(crypto::KeyAndCert cert, crypto::IssueCertificate(ca, crypto::CertRole::kNode,
                                                                       n.name, {.valid_days = 2}));
    std::unique_ptr<node::DataProvider> provider;
    if (n.provider) {
      provider = std::make_unique<SharedProvider>(n.provider);
    } else {
      if (!std::filesystem::exists(n.duckdb)) {
        return Status::NotFound(
            fmt::format("node {}: {}: no such database file", n.name, n.duckdb.string()));
      }
      auto db = store::OpenDuckDb(
          {.path = n.duckdb.string(), .read_only = true, .threads = 1, .must_exist = true});
      if (!db.ok()) return db.status().WithContext(fmt::format("node {}", n.name));
      provider = std::make_unique<node::StoreDataProvider>(std::move(db).value());
    }
    node::NodeOptions no;
    no.node_id = n.name;
    no.hub_url = url;
    no.tls = {ca.cert_pem, cert.cert_pem, cert.key_pem};
    no.journal_path = d.dir / fmt::format("node-{}-journal.sqlite", n.name);
    no.policy =
        options.node_policies.count(n.name) ? options.node_policies.at(n.name) : options.policy;
    if (options.failpoints.count(n.name)) no.failpoint = options.failpoints.at(n.name);
    // The node's own governance: a fresh key, and its custodian's approval of the project.
    no.governance.state = d.dir / fmt::format("node-{}-governance.sqlite", n.name);
    no.governance.audit_key = d.dir / fmt::format("node-{}-audit.key", n.name);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(no.governance.state.string() + suffix);
    }
    std::filesystem::remove(no.governance.audit_key);
    std::filesystem::remove(no.governance.audit_key.string() + ".pub");
    RETURN_IF_ERROR(governance::WriteAuditKeyFiles(
        governance::AuditKey::Generate(SystemRandom::Default()), no.governance.audit_key));
    {
      ASSIGN_OR_RETURN(governance::LocalNode local,
                       governance::OpenLocalNode({.state = no.governance.state,
                                                  .node_id = n.name,
                                                  .audit_key = no.governance.audit_key},
                                                 SystemClock::Default()));
      governance::NodeApprovalInput approval;
      approval.project = d.governance.project;
      approval.custodian = "sandbox-custodian";
      approval.note = "sandbox rehearsal";
      RETURN_IF_ERROR(local.approvals->Approve(approval).status());
    }
    no.pprl = options.pprl;
    no.pprl.identities = n.pprl_identities;
    no.long_poll = options.long_poll;
    no.backoff_initial = std::chrono::milliseconds(50);
    no.backoff_max = std::chrono::milliseconds(1000);
    ASSIGN_OR_RETURN(auto agent, node::NodeAgent::Create(no, std::move(provider), registry));
    Impl::RunningNode rn;
    rn.name = n.name;
    rn.governance_state = no.governance.state;
    rn.audit_key = no.governance.audit_key;
    rn.agent = std::move(agent);
    node::NodeAgent* a = rn.agent.get();
    rn.thread = std::thread([a, name = n.name] {
      pthread_setname_np(pthread_self(), ("node-" + name).substr(0, 15).c_str());
      Status st = a->Run();
      if (!st.ok()) log::Error("node {}: {}", name, st.message());
    });
    d.nodes.push_back(std::move(rn));
  }
  ASSIGN_OR_RETURN(auto client_tls, crypto::TlsContext::Client({ca.cert_pem, "", ""}));
  net::ClientOptions co;
  co.base_url = url;
  ASSIGN_OR_RETURN(d.client, net::HttpsClient::Create(co, client_tls));
  return fed;
}

const std::string& LocalFederation::project() const { return impl_->governance.project; }

const std::vector<std::string>& LocalFederation::governance_steps() const {
  return impl_->governance.steps;
}

Result<std::vector<std::string>> LocalFederation::VerifyAuditLogs() {
  namespace gov = passerelle::governance;
  std::vector<std::string> lines;
  RETURN_IF_ERROR(impl_->hub->FlushAudit());  // the hub's entries still in its outbox
  ASSIGN_OR_RETURN(std::string hub_log,
                   impl_->gov->ExportAuditLog(gov::Principal::LocalOperator()));
  const gov::AuditPublicKey hub_key = *impl_->gov->audit_public_key();
  ASSIGN_OR_RETURN(gov::VerifiedAuditLog hub, gov::VerifyAuditLog(hub_log, hub_key));
  lines.push_back(fmt::format(
      "hub audit log: {} entries, hash chain and Ed25519 signatures verified", hub.entries.size()));
  for (const auto& n : impl_->nodes) {
    ASSIGN_OR_RETURN(gov::LocalNode local,
                     gov::OpenLocalNode(
                         {.state = n.governance_state, .node_id = n.name, .audit_key = n.audit_key},
                         SystemClock::Default()));
    ASSIGN_OR_RETURN(std::string node_log, local.audit->Export());
    ASSIGN_OR_RETURN(
        gov::ReconcileReport report,
        gov::ReconcileAuditLogs(node_log, *local.audit->public_key(), hub_log, hub_key));
    if (!report.ok()) {
      return Status::DataLoss(
          fmt::format("audit: node {} and the hub disagree: {}", n.name, report.problems.front()));
    }
    lines.push_back(fmt::format(
        "node {} audit log verified and reconciled with the hub's: {} task(s), {} result(s)",
        n.name, report.tasks_checked, report.results_checked));
  }
  return lines;
}

Result<std::string> LocalFederation::Submit(const json& study) {
  json with_project = study;
  if (with_project.is_object() && !with_project.contains("project")) {
    with_project["project"] = impl_->governance.project;
  }
  ASSIGN_OR_RETURN(std::string body,
                   impl_->client->Call("POST", "/v1/studies", with_project.dump(), impl_->Auth()));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("id")) return Status::Internal("hub: malformed submit answer");
  return j["id"].get<std::string>();
}

Result<json> LocalFederation::StudyStatus(const std::string& id) {
  ASSIGN_OR_RETURN(std::string body,
                   impl_->client->Call("GET", "/v1/studies/" + id, {}, impl_->Auth()));
  return json::parse(body);
}

Result<json> LocalFederation::Wait(const std::string& id, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status::DeadlineExceeded(
          fmt::format("study {} did not finish within {} s", id, timeout.count() / 1000));
    }
    double wait_s = std::min<double>(static_cast<double>(left.count()) / 1000.0, 10.0);
    ASSIGN_OR_RETURN(
        std::string body,
        impl_->client->Call("GET", fmt::format("/v1/studies/{}?wait={}", id, wait_s), {},
                            impl_->Auth(), std::chrono::milliseconds(left.count() + 5000)));
    json status = json::parse(body, nullptr, false);
    std::string state = status.value("state", "");
    if (state == "failed") {
      return Status::FailedPrecondition(
          fmt::format("study {} failed: {}", id, status.value("error", "unknown error")));
    }
    if (state == "completed") {
      ASSIGN_OR_RETURN(
          std::string result,
          impl_->client->Call("GET", "/v1/studies/" + id + "/result", {}, impl_->Auth()));
      return json::parse(result);
    }
  }
}

Result<json> RunSandbox(const json& study, std::vector<SandboxNode> nodes,
                        const FederationOptions& options, std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(auto fed, LocalFederation::Start(options, std::move(nodes)));
  ASSIGN_OR_RETURN(std::string id, fed->Submit(study));
  auto result = fed->Wait(id, timeout);
  fed->Stop();
  return result;
}

}  // namespace passerelle::sandbox
