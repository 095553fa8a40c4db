// The governance side of the hub's HTTP API: the endpoints of the joint call's workflow (users,
// calls, applications, reviews, selection, decisions, projects, amendments, closure), the catalog
// and the audit log, each a thin handler over GovernanceService (which authorises every operation
// itself); and what the study endpoints of hub.cc ask governance: who is calling, may they submit
// or read this study (a member of its active project), and the hub's audit entries for studies,
// tasks and results. docs/api/openapi.yaml describes the endpoints; docs/governance.md the rules.
//
// Thread-safety: called on the hub's one loop thread (as the StudyEngine); the GovernanceService
// is itself thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "governance/governance.h"
#include "hub/audit_outbox.h"
#include "hub/engine.h"
#include "net/http.h"
#include "net/router.h"
#include "protocol/messages.h"

namespace passerelle::hub {

class GovernanceApi {
 public:
  // `gov`, `engine`, `outbox` (in the engine's state database) and `forwarder` (which appends the
  // outbox to the audit log) outlive the API.
  GovernanceApi(governance::GovernanceService& gov, StudyEngine& engine, AuditOutbox& outbox,
                AuditForwarder& forwarder)
      : gov_(gov), engine_(engine), outbox_(outbox), forwarder_(forwarder) {}

  // Registers the governance endpoints (/v1/whoami, /v1/organisations, /v1/users, /v1/calls,
  // /v1/applications, /v1/projects, /v1/catalog, /v1/audit, ...).
  void AddRoutes(net::Router& router);

  // A person, from the request's bearer token.
  Result<governance::Principal> Person(const net::HttpRequest& req);
  // A node, from the request's client certificate, allowed to fetch and post its own tasks.
  Result<governance::Principal> Node(const net::HttpRequest& req);

  // POST /v1/studies: the study names a project ("project"), the caller is one of its members and
  // the project is active (both jurisdictions approved, inside its window, not closed). Returns
  // the project id.
  Result<std::string> AuthorizeSubmit(const governance::Principal& p, const nlohmann::json& study);
  // Reading a study (kStudyRead) or its result (kResultRead): members of its project only.
  Status AuthorizeStudy(const governance::Principal& p, const std::string& study_id,
                        governance::Action action);
  // The same check for a resource of `project` kept outside the engine (a record linkage).
  Status AuthorizeProject(const governance::Principal& p, const std::string& project,
                          governance::Action action);
  // The studies of `list` (ListStudies) the caller may read.
  nlohmann::json FilterStudies(const governance::Principal& p, const nlohmann::json& list);

  // Before each round after the first: the study's project is still active (else the study fails
  // naming the rule: closed, window, ...).
  Status CheckRound(const std::string& study_id, const std::string& project);

  // The hub's audit entries for its own state changes, written to the outbox (hub/audit_outbox.h):
  // inside the engine's transaction for task.create and result.accept (the engine's hooks call
  // them there), so that an entry commits with its change or not at all. Failures are logged: the
  // change is made.
  // BeginSubmit (before StudyEngine::Submit) holds the study.submit entry so that the first
  // OnTaskCreated writes it first, in the submitting transaction; OnStudySubmitted (after a
  // successful Submit) writes it alone if no task was created; AbortSubmit drops it.
  void BeginSubmit(const governance::Principal& p, const std::string& project);
  void AbortSubmit() { pending_submit_.reset(); }
  void OnStudySubmitted(const governance::Principal& p, const std::string& study_id,
                        const std::string& project);
  void OnTaskCreated(const protocol::Task& task, const std::string& payload);
  // `body`: the exact bytes the node posted.
  void OnResultAccepted(const protocol::TaskResult& result, std::string_view body);
  void OnStudyChanged(const std::string& study_id);

 private:
  void Audit(const governance::AuditRecord& record);

  governance::GovernanceService& gov_;
  StudyEngine& engine_;
  AuditOutbox& outbox_;
  AuditForwarder& forwarder_;
  std::optional<governance::AuditRecord> pending_submit_;  // BeginSubmit .. OnStudySubmitted
  std::string submit_recorded_for_;         // study whose study.submit OnTaskCreated already wrote
  std::set<std::string> finished_audited_;  // studies whose end is in the log (this run)
};

}  // namespace passerelle::hub
