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
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "governance/governance.h"
#include "hub/engine.h"
#include "net/http.h"
#include "net/router.h"
#include "protocol/messages.h"

namespace passerelle::hub {

class GovernanceApi {
 public:
  // `gov` and `engine` outlive the API.
  GovernanceApi(governance::GovernanceService& gov, StudyEngine& engine)
      : gov_(gov), engine_(engine) {}

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

  // The hub's audit entries for its own state changes (failures are logged: the change is made).
  // BeginSubmit (before StudyEngine::Submit) holds the study.submit entry so that FlushTaskAudit
  // writes it first, in the same commit as the first round's task.create entries; OnStudySubmitted
  // (after a successful Submit) writes it alone if no task was flushed; AbortSubmit drops it.
  void BeginSubmit(const governance::Principal& p, const std::string& project);
  void AbortSubmit() { pending_submit_.reset(); }
  void OnStudySubmitted(const governance::Principal& p, const std::string& study_id,
                        const std::string& project);
  // Buffers the task.create entry; FlushTaskAudit appends the buffered entries in one commit (the
  // hub calls it once the engine committed the round, before handing the tasks out).
  void OnTaskCreated(const protocol::Task& task, const std::string& payload);
  void FlushTaskAudit();
  void OnResultAccepted(const std::string& node, const std::string& task_id,
                        const std::string& body);
  void OnStudyChanged(const std::string& study_id);

 private:
  void Audit(const governance::AuditRecord& record);

  governance::GovernanceService& gov_;
  StudyEngine& engine_;
  std::optional<governance::AuditRecord> pending_submit_;  // BeginSubmit .. OnStudySubmitted
  std::string submit_flushed_for_;          // study whose study.submit FlushTaskAudit already wrote
  std::set<std::string> finished_audited_;  // studies whose end is in the log (this run)
  std::vector<governance::AuditRecord> pending_tasks_;  // task.create entries not yet appended
};

}  // namespace passerelle::hub
