#include "node/agent.h"

#include <fmt/format.h>

#include <array>
#include <cstdlib>

#include "common/log.h"
#include "common/strings.h"
#include "crypto/pki.h"
#include "net/client.h"
#include "node/privacy_step.h"
#include "protocol/codec.h"
#include "protocol/messages.h"

namespace passerelle::node {

using nlohmann::json;

Result<NodeOptions> LoadNodeConfig(const Config& config, const std::filesystem::path& base_dir) {
  NodeOptions o;
  auto resolve = [&](const std::string& p) -> std::filesystem::path {
    if (p.empty()) return {};
    std::filesystem::path path(p);
    return path.is_absolute() ? path : base_dir / path;
  };
  ASSIGN_OR_RETURN(o.node_id, config.GetString("node.id", ""));
  ASSIGN_OR_RETURN(o.hub_url, config.GetString("node.hub", ""));
  if (o.node_id.empty() || o.hub_url.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: node.id and node.hub are required", config.source()));
  }
  ASSIGN_OR_RETURN(std::string journal, config.GetString("node.journal", "node-journal.sqlite"));
  o.journal_path = resolve(journal);
  ASSIGN_OR_RETURN(double long_poll, config.GetDouble("node.long_poll_seconds", 20));
  if (long_poll <= 0 || long_poll > 300) {
    return Status::InvalidArgument(
        fmt::format("{}: node.long_poll_seconds must be in (0, 300]", config.source()));
  }
  o.long_poll = std::chrono::milliseconds(static_cast<int64_t>(long_poll * 1000));
  ASSIGN_OR_RETURN(std::string data, config.GetString("data.duckdb", ""));
  if (data.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: data.duckdb (the node's database) is required", config.source()));
  }
  o.data_path = resolve(data);
  ASSIGN_OR_RETURN(std::string ca, config.GetString("tls.ca", ""));
  ASSIGN_OR_RETURN(std::string cert, config.GetString("tls.cert", ""));
  ASSIGN_OR_RETURN(std::string key, config.GetString("tls.key", ""));
  if (ca.empty() || cert.empty() || key.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: tls.ca, tls.cert and tls.key are required (see `passerelle pki`)", config.source()));
  }
  auto tls = crypto::LoadTlsMaterial(resolve(ca), resolve(cert), resolve(key));
  if (!tls.ok()) return tls.status().WithContext(config.source());
  o.tls = std::move(tls).value();
  ASSIGN_OR_RETURN(o.policy, LoadPolicy(config));
  ASSIGN_OR_RETURN(o.pprl, LoadLinkageConfig(config, resolve));
  ASSIGN_OR_RETURN(std::string gov_state,
                   config.GetString("governance.state", "node-state.sqlite"));
  ASSIGN_OR_RETURN(std::string gov_key, config.GetString("governance.audit_key", ""));
  if (gov_key.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: governance.audit_key (the node's private audit key) is required: the node checks its "
        "own approvals and signs its audit log (see docs/governance.md)",
        config.source()));
  }
  o.governance = {resolve(gov_state), resolve(gov_key)};
  std::vector<std::string> known = {"node.id",
                                    "node.hub",
                                    "node.journal",
                                    "node.long_poll_seconds",
                                    "data.duckdb",
                                    "tls.ca",
                                    "tls.cert",
                                    "tls.key",
                                    "policy.min_cell",
                                    "policy.min_rows",
                                    "policy.max_levels",
                                    "policy.analyses",
                                    "policy.datasets",
                                    "governance.state",
                                    "governance.audit_key",
                                    "policy.glm_max_params_ratio",
                                    "policy.rounding_base",
                                    "policy.require_secure_aggregation",
                                    "policy.dp_rho_budget",
                                    "policy.min_population_difference"};
  for (auto& k : LinkageConfigKeys()) known.push_back(std::move(k));
  auto unknown = config.UnknownKeys(known);
  if (!unknown.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: unknown key \"{}\"", config.source(), unknown.front()));
  }
  return o;
}

NodeAgent::NodeAgent(NodeOptions options, std::unique_ptr<DataProvider> data,
                     const analysis::Registry& registry, Clock& clock, RandomSource& random)
    : options_(std::move(options)),
      data_(std::move(data)),
      registry_(registry),
      clock_(clock),
      random_(random),
      backoff_(options_.backoff_initial) {}

NodeAgent::~NodeAgent() = default;

Result<std::unique_ptr<NodeAgent>> NodeAgent::Create(const NodeOptions& options,
                                                     std::unique_ptr<DataProvider> data,
                                                     const analysis::Registry& registry,
                                                     Clock& clock, RandomSource& random) {
  RETURN_IF_ERROR(crypto::ValidateNodeId(options.node_id));
  if (!data) return Status::InvalidArgument("the node agent needs a data provider");
  ASSIGN_OR_RETURN(crypto::CertificateInfo info, crypto::ReadCertificateInfo(options.tls.cert_pem));
  if (info.subject_cn != options.node_id) {
    return Status::InvalidArgument(
        fmt::format("node id \"{}\" does not match the certificate, which was issued to \"{}\"",
                    options.node_id, info.subject_cn));
  }
  if (options.failpoint != "" && options.failpoint != "exit_before_post" &&
      options.failpoint != "exit_after_post" && !IsPrivacyFailpoint(options.failpoint)) {
    return Status::InvalidArgument(fmt::format("unknown failpoint \"{}\"", options.failpoint));
  }
  ASSIGN_OR_RETURN(auto tls, crypto::TlsContext::Client(options.tls));
  std::unique_ptr<NodeAgent> agent(
      new NodeAgent(options, std::move(data), registry, clock, random));
  ASSIGN_OR_RETURN(agent->journal_, Journal::Open(options.journal_path, clock));
  if (!options.governance.state.empty()) {
    ASSIGN_OR_RETURN(agent->gate_,
                     GovernanceGate::Open(options.governance, options.node_id, clock));
  }
  agent->privacy_ = std::make_unique<PrivacyStep>(
      PrivacyStepOptions{options.node_id, options.failpoint,
                         options.journal_path.parent_path() /
                             (options.journal_path.stem().string() + "-privacy.sqlite"),
                         options.tls},
      random, clock);
  std::filesystem::path linkage_state = options.pprl.state_path;
  if (linkage_state.empty()) linkage_state = options.journal_path.string() + ".linkage.sqlite";
  ASSIGN_OR_RETURN(agent->linkage_state_, LinkageState::Open(linkage_state));
  net::ClientOptions co;
  co.base_url = options.hub_url;
  co.request_timeout = std::chrono::milliseconds(30'000);
  ASSIGN_OR_RETURN(agent->client_, net::HttpsClient::Create(co, tls));
  return agent;
}

void NodeAgent::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (client_) client_->Cancel();
}

void NodeAgent::Backoff() {
  // Jitter in [0.5, 1.0) of the current delay, so that many nodes do not retry in step.
  double jitter = 0.5 + 0.5 * static_cast<double>(random_.Uniform(1'000'000)) / 1e6;
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(backoff_.count() * jitter));
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, delay, [this] { return stop_.load(); });
  }
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
}

Status NodeAgent::PostUntilDone(const Journal::Entry& entry) {
  const std::string target = fmt::format("/v1/tasks/{}/result", net::UrlEncode(entry.task_id));
  while (!stopping()) {
    auto r = client_->Send("POST", target, entry.result_json,
                           {{"Idempotency-Key", entry.idempotency_key}});
    if (!r.ok()) {
      if (stopping()) break;
      log::Warn("node {}: posting the result of {} failed ({}); retrying", options_.node_id,
                entry.task_id, r.status().message());
      Backoff();
      continue;
    }
    if (r->ok()) {
      ResetBackoff();
      if (options_.failpoint == "exit_after_post") {
        log::Warn("node {}: failpoint exit_after_post", options_.node_id);
        std::_Exit(3);
      }
      log::Info("node {}: result of {} accepted by the hub{}", options_.node_id, entry.task_id,
                r->body.find("\"duplicate\":true") != std::string::npos ? " (already had it)" : "");
      return journal_->MarkFinal(entry.task_id, "posted");
    }
    if (r->status >= 400 && r->status < 500 && r->status != 429 && r->status != 408) {
      // The hub will never take this result (the study ended, or the result is invalid).
      Status why = protocol::StatusFromErrorBody(r->status, r->body);
      log::Warn("node {}: the hub declined the result of {}: {}", options_.node_id, entry.task_id,
                why.message());
      if (r->status != 409) DeclareFailure(entry, why);
      return journal_->MarkFinal(entry.task_id, "rejected");
    }
    log::Warn("node {}: the hub answered HTTP {} to the result of {}; retrying", options_.node_id,
              r->status, entry.task_id);
    Backoff();
  }
  return Status::Ok();
}

void NodeAgent::DeclareFailure(const Journal::Entry& entry, const Status& why) {
  // The hub refused the result itself (it is invalid for the task): tell it, once and without
  // shares, so that the study fails now with this node's reason instead of at its deadline.
  auto parsed =
      protocol::TaskResult::FromJson(nlohmann::json::parse(entry.result_json, nullptr, false));
  if (!parsed.ok()) return;
  protocol::TaskResult failure = std::move(parsed).value();
  failure.status = protocol::ResultStatus::kError;
  failure.shares.clear();
  failure.rule.clear();
  failure.message = "the hub declined this node's result: " + why.message();
  if (failure.message.size() > 3000) failure.message.resize(3000);
  auto r = client_->Send("POST", fmt::format("/v1/tasks/{}/result", net::UrlEncode(entry.task_id)),
                         failure.ToJson().dump(),
                         {{"Idempotency-Key", entry.idempotency_key + "-failure"}});
  if (!r.ok() || !r->ok()) {
    log::Warn("node {}: could not report the failure of {} to the hub", options_.node_id,
              entry.task_id);
  }
}

Status NodeAgent::HandleTask(const std::string& body) {
  auto parsed = protocol::ParseJson(body);
  if (!parsed.ok()) {
    log::Error("node {}: the hub sent a malformed task: {}", options_.node_id,
               parsed.status().message());
    return Status::Ok();
  }
  if (protocol::IsLinkageTask(*parsed)) {
    ++tasks_handled_;
    LinkageContext ctx{
        options_.node_id, *client_,      random_,      options_.policy.min_cell,
        *linkage_state_,  options_.pprl, options_.tls, [this] { return stopping(); }};
    return RunLinkageTask(*parsed, ctx);
  }
  auto task = protocol::Task::FromJson(*parsed);
  if (!task.ok()) {
    log::Error("node {}: the hub sent an invalid task: {}", options_.node_id,
               task.status().message());
    return Status::Ok();
  }
  if (task->node != options_.node_id) {
    log::Error("node {}: the hub sent a task for node {}; ignored", options_.node_id, task->node);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(auto existing, journal_->Find(task->task_id));
  Journal::Entry entry;
  if (existing && existing->state == "rejected") {
    // The hub declined this result before and still hands the task out: do not loop on it.
    log::Warn("node {}: task {} was declined by the hub before; waiting", options_.node_id,
              task->task_id);
    Backoff();
    return Status::Ok();
  }
  if (existing) {
    // Computed before (we restarted, or the hub handed the task out again): same result, same
    // key, never a second computation.
    log::Info("node {}: task {} is in the journal; posting its result again", options_.node_id,
              task->task_id);
    entry = *existing;
  } else {
    log::Info("node {}: running task {} ({} analysis step(s))", options_.node_id, task->task_id,
              task->steps.size());
    std::unique_ptr<DataProvider> linked;  // a study over a linkage (node/linkage.h)
    if (task->linkage) {
      linked =
          std::make_unique<DeduplicatingProvider>(*data_, linkage_state_.get(), *task->linkage);
    }
    protocol::TaskResult result = RunGoverned(gate_.get(), *task, body, options_.node_id, [&] {
      return privacy_->Execute(*task, linked ? *linked : *data_, options_.policy, registry_);
    });
    std::array<uint8_t, 16> key{};
    random_.Fill(key);
    entry.task_id = task->task_id;
    entry.state = "computed";
    entry.idempotency_key = protocol::Base64Encode(key);
    entry.result_json = result.ToJson().dump();
    if (gate_) {
      // In the audit log before the journal: a result is never posted unrecorded.
      Status audited = gate_->RecordResult(*task, entry.result_json);
      if (!audited.ok()) {
        log::Error("node {}: audit log: {}", options_.node_id, audited.message());
        protocol::TaskResult error;
        error.task_id = task->task_id;
        error.study_id = task->study_id;
        error.round = task->round;
        error.node = options_.node_id;
        error.status = protocol::ResultStatus::kError;
        error.message = fmt::format(
            "node {}: cannot record the task in its audit log; nothing released", options_.node_id);
        entry.result_json = error.ToJson().dump();
      }
    }
    RETURN_IF_ERROR(journal_->RecordComputed(task->task_id, task->study_id, task->round,
                                             entry.idempotency_key, entry.result_json));
    if (options_.failpoint == "exit_before_post") {
      log::Warn("node {}: failpoint exit_before_post", options_.node_id);
      std::_Exit(3);
    }
  }
  ++tasks_handled_;
  return PostUntilDone(entry);
}

Status NodeAgent::Run() {
  log::Info("node {}: serving hub {} (outbound connections only)", options_.node_id,
            options_.hub_url);
  const auto wait_s = static_cast<double>(options_.long_poll.count()) / 1000.0;
  const std::string poll = fmt::format("/v1/tasks/next?wait={}", wait_s);
  const auto poll_timeout = options_.long_poll + std::chrono::milliseconds(15'000);
  // Results a previous run journaled but could not post. Only at start: afterwards every result
  // is posted until the hub acknowledges or declines it (PostUntilDone) before the next poll.
  ASSIGN_OR_RETURN(auto unposted, journal_->Unposted());
  if (!unposted.empty()) {
    log::Info("node {}: posting {} journaled result(s) the hub has not acknowledged",
              options_.node_id, unposted.size());
  }
  for (const auto& e : unposted) {
    RETURN_IF_ERROR(PostUntilDone(e));
    if (stopping()) return Status::Ok();
  }
  while (!stopping()) {
    if (!hub_reachable_logged_) {
      // A quick first contact, so that a TLS or address mistake shows at once, not after a poll.
      auto health = client_->Send("GET", "/v1/health", {}, {}, std::chrono::milliseconds(10'000));
      if (stopping()) break;
      if (!health.ok()) {
        log::Warn("node {}: hub unreachable ({}); retrying with backoff", options_.node_id,
                  health.status().message());
        Backoff();
        continue;
      }
      log::Info("node {}: connected to the hub", options_.node_id);
      hub_reachable_logged_ = true;
    }
    auto r = client_->Send("GET", poll, {}, {}, poll_timeout);
    if (stopping()) break;
    if (!r.ok()) {
      log::Warn("node {}: hub unreachable ({}); retrying with backoff", options_.node_id,
                r.status().message());
      hub_reachable_logged_ = false;
      Backoff();
      continue;
    }
    if (r->status == 204) {
      ResetBackoff();
      // Idle: the acknowledgements held in memory are written now (node/journal.h).
      RETURN_IF_ERROR(journal_->FlushMarks());
      continue;
    }
    if (r->status == 200) {
      ResetBackoff();
      RETURN_IF_ERROR(HandleTask(r->body));
      continue;
    }
    Status why = protocol::StatusFromErrorBody(r->status, r->body);
    log::Error("node {}: the hub refused the poll (HTTP {}): {}", options_.node_id, r->status,
               why.message());
    Backoff();
  }
  log::Info("node {}: stopped", options_.node_id);
  return Status::Ok();
}

}  // namespace passerelle::node
