#include "hub/hub.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <map>

#include "common/files.h"
#include "common/log.h"
#include "common/sqlite.h"
#include "common/strings.h"
#include "common/wal_checkpointer.h"
#include "hub/engine.h"
#include "hub/governance_api.h"
#include "hub/linkage.h"
#include "net/router.h"
#include "net/server.h"
#include "protocol/codec.h"
#include "protocol/linkage_messages.h"
#include "protocol/messages.h"

namespace passerelle::hub {

using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;
using net::Responder;
using nlohmann::json;

namespace {

Result<std::chrono::milliseconds> ParseWait(const HttpRequest& req, std::chrono::milliseconds max) {
  auto it = req.query.find("wait");
  if (it == req.query.end()) return std::chrono::milliseconds(0);
  double seconds = 0;
  const std::string& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(seconds) || seconds < 0) {
    return Status::InvalidArgument("wait: expected a number of seconds >= 0");
  }
  auto ms = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  return std::min(ms, max);
}

}  // namespace

struct Hub::Impl {
  HubOptions options;
  governance::GovernanceService& gov;
  std::unique_ptr<GovernanceApi> api;
  const analysis::Registry& registry;
  Clock& clock;
  RandomSource& random;
  std::unique_ptr<SqliteDb> db;
  std::unique_ptr<WalCheckpointer> checkpointer;  // WAL fsyncs off the loop thread
  std::unique_ptr<AuditOutbox> outbox;            // the hub's audit entries, in `db`
  std::unique_ptr<AuditForwarder> forwarder;      // ... appended to the audit log from a thread
  std::unique_ptr<StudyEngine> engine;
  std::unique_ptr<LinkageService> linkage;  // record linkage (hub/linkage.h)
  net::Router router;
  std::unique_ptr<net::HttpsServer> server;

  // Parked long polls; touched only on the loop thread.
  struct Waiter {
    uint64_t id = 0;
    uint64_t timer = 0;
    std::shared_ptr<Responder> responder;
  };
  std::map<std::string, Waiter> task_waiters;                // node -> its parked poll
  std::map<std::string, std::vector<Waiter>> study_waiters;  // study -> parked waits
  uint64_t next_waiter = 1;

  Impl(const HubOptions& o, governance::GovernanceService& g, const analysis::Registry& r, Clock& c,
       RandomSource& rnd)
      : options(o), gov(g), registry(r), clock(c), random(rnd) {}

  protocol::JsonLimits Limits() const {
    return {.max_bytes = options.max_body_bytes, .max_depth = options.max_json_depth};
  }

  Result<governance::Principal> Person(const HttpRequest& req) const { return api->Person(req); }

  Result<std::string> Node(const HttpRequest& req) const {
    ASSIGN_OR_RETURN(governance::Principal node, api->Node(req));
    return node.name;
  }

  static void SendJson(Responder& r, int status, const json& body) {
    r.Send(HttpResponse::Json(status, body.dump()));
  }

  void Routes() {
    router.Add("GET", "/v1/health", [this](HttpRequest&&, const PathParams&, Responder r) {
      SendJson(r, 200,
               {{"status", "ok"}, {"protocol", protocol::kProtocolVersion}, {"version", "0.1.0"}});
    });
    router.Add("GET", "/v1/analyses", [this](HttpRequest&& req, const PathParams&, Responder r) {
      auto who = Person(req);
      if (!who.ok()) return r.Send(HttpResponse::Error(who.status()));
      json list = json::array();
      for (const auto& t : registry.Types()) {
        list.push_back({{"type", t}, {"description", registry.Find(t)->description()}});
      }
      SendJson(r, 200, {{"analyses", list}});
    });
    router.Add("POST", "/v1/studies", [this](HttpRequest&& req, const PathParams&, Responder r) {
      auto who = Person(req);
      if (!who.ok()) return r.Send(HttpResponse::Error(who.status()));
      auto body = protocol::ParseJson(req.body, Limits());
      if (!body.ok()) return r.Send(HttpResponse::Error(400, body.status()));
      auto project = api->AuthorizeSubmit(*who, *body);
      if (!project.ok()) return r.Send(HttpResponse::Error(project.status()));
      if (protocol::IsLinkageStudy(*body)) return SubmitLinkage(*body, *who, *project, r);
      if (Status use = linkage->CheckUse(*body); !use.ok()) {
        return r.Send(HttpResponse::Error(use));
      }
      api->BeginSubmit(*who, *project);
      auto id = engine->Submit(*body, EnginePrincipal(*who));
      if (!id.ok()) {
        api->AbortSubmit();
        return r.Send(HttpResponse::Error(id.status()));
      }
      api->OnStudySubmitted(*who, *id, *project);
      SendJson(r, 201, {{"id", *id}, {"state", "running"}});
    });
    router.Add("GET", "/v1/studies", [this](HttpRequest&& req, const PathParams&, Responder r) {
      auto who = Person(req);
      if (!who.ok()) return r.Send(HttpResponse::Error(who.status()));
      auto list = engine->ListStudies();
      if (!list.ok()) return r.Send(HttpResponse::Error(list.status()));
      SendJson(r, 200, {{"studies", api->FilterStudies(*who, *list)}});
    });
    router.Add("GET", "/v1/studies/{id}",
               [this](HttpRequest&& req, const PathParams& p, Responder r) {
                 auto who = Person(req);
                 if (!who.ok()) return r.Send(HttpResponse::Error(who.status()));
                 auto wait = ParseWait(req, options.max_long_poll);
                 if (!wait.ok()) return r.Send(HttpResponse::Error(wait.status()));
                 const std::string& id = p.at("id");
                 Status may = AuthorizeRead(*who, id, governance::Action::kStudyRead);
                 if (!may.ok()) return r.Send(HttpResponse::Error(may));
                 if (LinkageService::IsLinkageId(id)) return LinkageStatus(id, std::move(r), *wait);
                 auto finished = engine->IsFinished(id);
                 if (!finished.ok()) return r.Send(HttpResponse::Error(finished.status()));
                 if (*finished || wait->count() == 0) return SendStatus(id, r);
                 ParkStudyWait(id, std::move(r), *wait);
               });
    router.Add("GET", "/v1/studies/{id}/result",
               [this](HttpRequest&& req, const PathParams& p, Responder r) {
                 auto who = Person(req);
                 if (!who.ok()) return r.Send(HttpResponse::Error(who.status()));
                 const bool is_linkage = LinkageService::IsLinkageId(p.at("id"));
                 Status may = AuthorizeRead(*who, p.at("id"), governance::Action::kResultRead);
                 if (!may.ok()) return r.Send(HttpResponse::Error(may));
                 auto result = is_linkage ? linkage->StudyResult(p.at("id"))
                                          : engine->StudyResult(p.at("id"));
                 if (!result.ok()) return r.Send(HttpResponse::Error(result.status()));
                 SendJson(r, 200, *result);
               });
    router.Add("GET", "/v1/tasks/next", [this](HttpRequest&& req, const PathParams&, Responder r) {
      auto node = Node(req);
      if (!node.ok()) return r.Send(HttpResponse::Error(node.status()));
      auto wait = ParseWait(req, options.max_long_poll);
      if (!wait.ok()) return r.Send(HttpResponse::Error(wait.status()));
      auto invitation = linkage->NextTaskPayload(*node);
      if (!invitation.ok()) return r.Send(HttpResponse::Error(invitation.status()));
      if (*invitation) return r.Send(HttpResponse::Json(200, std::move(**invitation)));
      auto task = engine->NextTaskPayloads({*node});
      if (!task.ok()) return r.Send(HttpResponse::Error(task.status()));
      if ((*task)[0]) return r.Send(HttpResponse::Json(200, std::move(*(*task)[0])));
      if (wait->count() == 0) return r.Send(HttpResponse::Json(204, ""));
      ParkTaskPoll(*node, std::move(r), *wait);
    });
    router.Add("POST", "/v1/tasks/{task_id}/result",
               [this](HttpRequest&& req, const PathParams& p, Responder r) {
                 auto node = Node(req);
                 if (!node.ok()) return r.Send(HttpResponse::Error(node.status()));
                 std::string key = req.Header("idempotency-key");
                 if (key.empty()) {
                   return r.Send(HttpResponse::Error(Status::InvalidArgument(
                       "missing Idempotency-Key header: results are posted with one so that a "
                       "retry never counts twice")));
                 }
                 auto body = protocol::ParseJson(req.body, Limits());
                 if (!body.ok()) return r.Send(HttpResponse::Error(400, body.status()));
                 auto result = protocol::TaskResult::FromJson(*body);
                 if (!result.ok()) return r.Send(HttpResponse::Error(400, result.status()));
                 auto accepted =
                     engine->AcceptResult(*node, p.at("task_id"), key, *result, req.body);
                 if (!accepted.ok()) return r.Send(HttpResponse::Error(accepted.status()));
                 SendJson(r, 200, {{"accepted", true}, {"duplicate", accepted->duplicate}});
               });
    api->AddRoutes(router);
    router.Add("GET", "/v1/linkages/{id}/{step}",
               [this](HttpRequest&& req, const PathParams& p, Responder r) {
                 LinkageStep(std::move(req), p, std::move(r));
               });
    router.Add("POST", "/v1/linkages/{id}/{step}",
               [this](HttpRequest&& req, const PathParams& p, Responder r) {
                 LinkageStep(std::move(req), p, std::move(r));
               });
  }

  // ---- Record linkage (hub/linkage.h) ----
  void SubmitLinkage(const json& body, const governance::Principal& who, const std::string& project,
                     Responder& r) {
    auto id = linkage->Submit(body, EnginePrincipal(who));
    if (!id.ok()) return r.Send(HttpResponse::Error(id.status()));
    api->OnStudySubmitted(who, *id, project);
    SendJson(r, 201, {{"id", *id}, {"state", "running"}});
  }
  // Reading a study or a linkage (or their results): members of its project only.
  Status AuthorizeRead(const governance::Principal& who, const std::string& id,
                       governance::Action action) {
    if (!LinkageService::IsLinkageId(id)) return api->AuthorizeStudy(who, id, action);
    ASSIGN_OR_RETURN(std::string project, linkage->StudyProject(id));
    return api->AuthorizeProject(who, project, action);
  }
  void LinkageStatus(const std::string& id, Responder r, std::chrono::milliseconds wait) {
    auto finished = linkage->IsFinished(id);
    if (!finished.ok()) return r.Send(HttpResponse::Error(finished.status()));
    auto send = [this, id](Responder& rr) {
      auto status = linkage->StudyStatus(id);
      if (!status.ok()) return rr.Send(HttpResponse::Error(status.status()));
      SendJson(rr, 200, *status);
    };
    if (*finished || wait.count() == 0) return send(r);
    // A short hold instead of a parked wait: callers poll again.
    auto held = std::make_shared<Responder>(std::move(r));
    server->RunAfter(std::min(wait, std::chrono::milliseconds(200)), [held, send] { send(*held); });
  }
  void LinkageStep(HttpRequest&& req, const PathParams& p, Responder r) {
    auto node = Node(req);
    if (!node.ok()) return r.Send(HttpResponse::Error(node.status()));
    json body = json::object();
    if (req.method == "POST") {
      auto parsed = protocol::ParseJson(req.body, Limits());
      if (!parsed.ok()) return r.Send(HttpResponse::Error(400, parsed.status()));
      body = std::move(parsed).value();
    }
    auto reply = linkage->HandleNode(*node, req.method, p.at("id"), p.at("step"), body);
    if (!reply.ok()) return r.Send(HttpResponse::Error(reply.status()));
    if (reply->http_status == 204) return r.Send(HttpResponse::Json(204, ""));
    SendJson(r, reply->http_status, reply->body);
  }
  void OnLinkageTasks(const std::vector<std::string>& nodes) {
    for (const auto& node : nodes) {
      auto it = task_waiters.find(node);
      if (it == task_waiters.end()) continue;
      auto invitation = linkage->NextTaskPayload(node);
      if (!invitation.ok() || !*invitation) continue;
      server->CancelTimer(it->second.timer);
      it->second.responder->Send(HttpResponse::Json(200, std::move(**invitation)));
      task_waiters.erase(it);
    }
  }

  void SendStatus(const std::string& id, Responder& r) {
    auto status = engine->StudyStatus(id);
    if (!status.ok()) return r.Send(HttpResponse::Error(status.status()));
    SendJson(r, 200, *status);
  }

  void ParkTaskPoll(const std::string& node, Responder r, std::chrono::milliseconds wait) {
    // One parked poll per node: a newer one replaces an older (its connection is probably gone).
    auto old = task_waiters.find(node);
    if (old != task_waiters.end()) {
      server->CancelTimer(old->second.timer);
      old->second.responder->Send(HttpResponse::Json(204, ""));
      task_waiters.erase(old);
    }
    Waiter w;
    w.id = next_waiter++;
    w.responder = std::make_shared<Responder>(std::move(r));
    const uint64_t id = w.id;
    w.timer = server->RunAfter(wait, [this, node, id] {
      auto it = task_waiters.find(node);
      if (it == task_waiters.end() || it->second.id != id) return;
      it->second.responder->Send(HttpResponse::Json(204, ""));
      task_waiters.erase(it);
    });
    task_waiters.emplace(node, std::move(w));
  }

  void OnTasks(const std::vector<std::string>& nodes) {
    std::vector<std::string> parked;
    std::vector<Waiter> waiters;
    for (const auto& node : nodes) {
      auto it = task_waiters.find(node);
      if (it == task_waiters.end()) continue;
      parked.push_back(node);
      waiters.push_back(std::move(it->second));
      task_waiters.erase(it);
    }
    if (parked.empty()) return;
    // One transaction for the whole wake-up: a round of 200 nodes costs one commit, not 200.
    auto tasks = engine->NextTaskPayloads(parked);
    for (size_t i = 0; i < waiters.size(); ++i) {
      Waiter& w = waiters[i];
      server->CancelTimer(w.timer);
      if (!tasks.ok()) {
        w.responder->Send(HttpResponse::Error(tasks.status()));
      } else if ((*tasks)[i]) {
        w.responder->Send(HttpResponse::Json(200, std::move(*(*tasks)[i])));
      } else {
        w.responder->Send(HttpResponse::Json(204, ""));
      }
    }
  }

  void ParkStudyWait(const std::string& id, Responder r, std::chrono::milliseconds wait) {
    Waiter w;
    w.id = next_waiter++;
    w.responder = std::make_shared<Responder>(std::move(r));
    const uint64_t wid = w.id;
    w.timer = server->RunAfter(wait, [this, id, wid] {
      auto it = study_waiters.find(id);
      if (it == study_waiters.end()) return;
      auto& list = it->second;
      for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].id != wid) continue;
        SendStatus(id, *list[i].responder);
        list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
      if (list.empty()) study_waiters.erase(it);
    });
    study_waiters[id].push_back(std::move(w));
  }

  void OnStudyChanged(const std::string& id) {
    auto it = study_waiters.find(id);
    if (it == study_waiters.end()) return;
    auto finished = engine->IsFinished(id);
    if (finished.ok() && !*finished) return;
    std::vector<Waiter> list = std::move(it->second);
    study_waiters.erase(it);
    for (auto& w : list) {
      server->CancelTimer(w.timer);
      SendStatus(id, *w.responder);
    }
  }

  void ScheduleDeadlineCheck() {
    server->RunAfter(options.deadline_check_interval, [this] {
      auto failed = engine->CheckDeadlines();
      if (!failed.ok()) log::Error("hub: checking deadlines: {}", failed.status().message());
      auto late = linkage->CheckDeadlines();
      if (!late.ok()) log::Error("hub: checking linkage deadlines: {}", late.status().message());
      ScheduleDeadlineCheck();
    });
  }
};

Result<HubConfig> LoadHubConfig(const Config& config, const std::filesystem::path& base_dir) {
  HubConfig hc;
  HubOptions& o = hc.options;
  auto resolve = [&](const std::string& p) -> std::filesystem::path {
    if (p.empty()) return {};
    std::filesystem::path path(p);
    return path.is_absolute() ? path : base_dir / path;
  };
  ASSIGN_OR_RETURN(std::string listen, config.GetString("hub.listen", "127.0.0.1:8443"));
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument(fmt::format(
        "{}: hub.listen must be \"address:port\" (got \"{}\")", config.source(), listen));
  }
  o.host = listen.substr(0, colon);
  if (!o.host.empty() && o.host.front() == '[' && o.host.back() == ']') {
    o.host = o.host.substr(1, o.host.size() - 2);
  }
  int port = 0;
  std::string port_text = listen.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return Status::InvalidArgument(
        fmt::format("{}: hub.listen: bad port \"{}\"", config.source(), port_text));
  }
  o.port = static_cast<uint16_t>(port);
  ASSIGN_OR_RETURN(std::string state, config.GetString("hub.state", "hub-state.sqlite"));
  o.state_path = resolve(state);
  ASSIGN_OR_RETURN(std::string port_file, config.GetString("hub.port_file", ""));
  o.port_file = resolve(port_file);
  ASSIGN_OR_RETURN(o.nodes, config.GetStringList("hub.nodes", {}));
  ASSIGN_OR_RETURN(double timeout, config.GetDouble("hub.task_timeout_seconds", 300));
  ASSIGN_OR_RETURN(double long_poll, config.GetDouble("hub.long_poll_max_seconds", 25));
  if (timeout <= 0 || long_poll <= 0) {
    return Status::InvalidArgument(fmt::format(
        "{}: hub.task_timeout_seconds and hub.long_poll_max_seconds must be > 0", config.source()));
  }
  o.task_timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
  o.max_long_poll = std::chrono::milliseconds(static_cast<int64_t>(long_poll * 1000));
  ASSIGN_OR_RETURN(int64_t max_body, config.GetInt("hub.max_body_bytes", 4 << 20));
  if (max_body < 1024 || max_body > (1 << 30)) {
    return Status::InvalidArgument(
        fmt::format("{}: hub.max_body_bytes must be between 1024 and 2^30", config.source()));
  }
  o.max_body_bytes = static_cast<size_t>(max_body);
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
  ASSIGN_OR_RETURN(std::string gov_state,
                   config.GetString("governance.state", "hub-governance.sqlite"));
  hc.governance_state = resolve(gov_state);
  ASSIGN_OR_RETURN(std::string audit_key, config.GetString("governance.audit_key", ""));
  if (audit_key.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: governance.audit_key (the hub's private audit key) is required: the hub signs its "
        "audit log (see `passerelle audit keygen`)",
        config.source()));
  }
  hc.audit_key = resolve(audit_key);
  if (!config.TableKeys("auth.tokens").empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: [auth.tokens] is gone: people authenticate with governance tokens (`passerelle user "
        "add` / `user token`); see docs/governance.md",
        config.source()));
  }
  auto unknown = config.UnknownKeys({"hub.listen", "hub.state", "hub.port_file", "hub.nodes",
                                     "hub.task_timeout_seconds", "hub.long_poll_max_seconds",
                                     "hub.max_body_bytes", "tls.ca", "tls.cert", "tls.key",
                                     "governance.state", "governance.audit_key"});
  for (const auto& k : unknown) {
    return Status::InvalidArgument(fmt::format("{}: unknown key \"{}\"", config.source(), k));
  }
  return hc;
}

Hub::Hub(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Hub::~Hub() {
  if (impl_ && impl_->server) impl_->server->Stop();
}

Result<std::unique_ptr<Hub>> Hub::Create(const HubOptions& options,
                                         governance::GovernanceService& governance,
                                         const analysis::Registry& registry, Clock& clock,
                                         RandomSource& random) {
  if (!governance.audit_public_key()) {
    return Status::InvalidArgument(
        "the hub's governance state must be opened with its audit key: the hub signs its log");
  }
  auto impl = std::make_unique<Impl>(options, governance, registry, clock, random);
  ASSIGN_OR_RETURN(impl->db, SqliteDb::Open({.path = options.state_path.string()}));
  EngineOptions eo;
  eo.nodes = options.nodes;
  eo.task_timeout = options.task_timeout;
  ASSIGN_OR_RETURN(impl->engine, StudyEngine::Open(*impl->db, registry, clock, random, eo));
  // The hub's audit entries go through an outbox in the state database (hub/audit_outbox.h), and
  // the governance database checkpoints on a thread of its own.
  ASSIGN_OR_RETURN(impl->outbox, AuditOutbox::Open(*impl->db, clock, random));
  RETURN_IF_ERROR(governance.CheckpointInBackground());
  ASSIGN_OR_RETURN(impl->forwarder, AuditForwarder::Start(options.state_path.string(),
                                                          impl->outbox->source(), governance));
  impl->api =
      std::make_unique<GovernanceApi>(governance, *impl->engine, *impl->outbox, *impl->forwarder);
  ASSIGN_OR_RETURN(impl->linkage, LinkageService::Open(*impl->db, clock, random,
                                                       {.nodes = options.nodes,
                                                        .max_clk_bytes = options.max_body_bytes}));
  ASSIGN_OR_RETURN(
      impl->checkpointer,
      WalCheckpointer::Start(*impl->db, options.state_path.string(), {.name = "hub state"}));
  ASSIGN_OR_RETURN(auto tls,
                   crypto::TlsContext::Server(options.tls, crypto::ClientCertMode::kOptional));
  net::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.max_body_bytes = options.max_body_bytes;
  Impl* p = impl.get();
  impl->Routes();
  ASSIGN_OR_RETURN(impl->server,
                   net::HttpsServer::Create(so, tls, [p](HttpRequest&& req, Responder r) {
                     log::Debug("hub: {} {} from {}{}", req.method, req.path, req.peer.remote,
                                req.peer.cert_cn.empty() ? "" : " (node " + req.peer.cert_cn + ")");
                     p->router.Dispatch(std::move(req), std::move(r));
                   }));
  impl->engine->set_on_tasks([p](const std::vector<std::string>& nodes) { p->OnTasks(nodes); });
  impl->engine->set_on_study_changed([p](const std::string& id) {
    p->api->OnStudyChanged(id);
    p->OnStudyChanged(id);
  });
  impl->engine->set_on_task_created([p](const protocol::Task& t, const std::string& payload) {
    p->api->OnTaskCreated(t, payload);
  });
  impl->engine->set_on_result_accepted([p](const protocol::TaskResult& r, std::string_view body) {
    p->api->OnResultAccepted(r, body);
  });
  impl->engine->set_round_check([p](const std::string& study, const std::string& project) {
    return p->api->CheckRound(study, project);
  });
  impl->linkage->set_on_tasks(
      [p](const std::vector<std::string>& nodes) { p->OnLinkageTasks(nodes); });
  impl->ScheduleDeadlineCheck();
  if (!options.port_file.empty()) {
    RETURN_IF_ERROR(WriteFileAtomic(options.port_file, std::to_string(impl->server->port())));
  }
  log::Info("hub: listening on https://{}:{} for {} node(s); state in {}", options.host,
            impl->server->port(), options.nodes.size(), options.state_path.string());
  return std::unique_ptr<Hub>(new Hub(std::move(impl)));
}

uint16_t Hub::port() const { return impl_->server->port(); }
void Hub::Run() { impl_->server->Run(); }
void Hub::Start() { impl_->server->Start(); }
void Hub::Stop() { impl_->server->Stop(); }
Status Hub::FlushAudit() { return impl_->forwarder->Flush(); }

}  // namespace passerelle::hub
