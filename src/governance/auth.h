// Authentication and authorisation of API calls: who is calling (Authenticate), and may they do
// this to that (Authorize), with the table of actions and the endpoints that use them.
//
// Bearer tokens read "psl_<token id>_<secret>": the token id (12 hex digits) finds the row, the
// secret (64 hex digits, 256 bits from the injected RandomSource) is checked against the row's
// Argon2id hash. Tokens are shown once, when created; the hub keeps only the hash. A token is
// refused when unknown, wrong, revoked, expired, or its user disabled — each with its own rule name
// in the message (the HTTP answer is 401 either way).
//
// The hub calls Authenticate on each request with a bearer token, NodePrincipal for a node's TLS
// client certificate, then Authorize(principal, action, resource) before any handler that does not
// belong to the governance service itself (studies, results, tasks). The governance service's own
// operations authorise internally with the same rules, so a handler cannot forget.
//
// Thread-safety: implementations are safe to call from several threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "governance/types.h"

namespace passerelle::governance {

enum class Action {
  kOrganisationManage,  // add organisations and register nodes
  kUserManage,          // add users, issue and revoke their tokens, disable them
  kUserRead,            // read a user and their tokens (resource.user)
  kTokenSelf,           // issue or revoke one's own token
  kCallManage,          // create a call for projects
  kCallRead,            // list and read calls
  kApplicationSubmit,   // apply to a call
  kApplicationRead,     // read an application (resource.application)
  kReviewSubmit,        // review an application (resource.application)
  kRankingRead,         // read the reviews and ranking of a call
  kSelect,              // record the selection of a call
  kProjectRead,         // read a project (resource.project)
  kProjectList,         // list projects (the answer is filtered by kProjectRead)
  kDataSharingRecord,   // record the data-sharing agreement of a project (resource.project)
  kDecide,              // a jurisdiction's decision on a project (resource.project, .jurisdiction)
  kAmendPropose,        // propose an amendment (resource.project)
  kAmendDecide,     // a jurisdiction's decision on an amendment (resource.project, .jurisdiction)
  kProjectClose,    // close a project (resource.project)
  kStudySubmit,     // submit a study of a project (resource.project)
  kStudyRead,       // read a study of a project (resource.project)
  kResultRead,      // read the results of a study of a project (resource.project)
  kCatalogPublish,  // publish a dataset description (resource.node)
  kCatalogSearch,   // search and read the catalog
  kAuditExport,     // export the hub's audit log
  kTaskFetch,       // a node fetches its tasks (resource.node)
  kTaskResult,      // a node posts a result (resource.node)
};

// What an action applies to; the fields an action needs are listed beside it above.
struct Resource {
  std::string project;
  std::string application;
  std::string jurisdiction;  // "FR" / "QC"
  std::string node;
  std::string user;

  static Resource Project(std::string id) { return Resource{.project = std::move(id)}; }
  static Resource Application(std::string id) { return Resource{.application = std::move(id)}; }
  static Resource Node(std::string id) { return Resource{.node = std::move(id)}; }
  static Resource User(std::string name) { return Resource{.user = std::move(name)}; }
  static Resource Decision(std::string project, Jurisdiction j) {
    return Resource{.project = std::move(project),
                    .jurisdiction = std::string(JurisdictionName(j))};
  }
};

// One row of the action table: the action, its stable name (audit entries, errors), the
// endpoint(s) of the hub API that need it, and who may do it (docs/api/governance-endpoints.md).
struct ActionInfo {
  Action action;
  std::string_view name;
  std::string_view endpoints;
  std::string_view who;
};
std::span<const ActionInfo> ActionTable();
std::string_view ActionName(Action action);

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // `bearer`: the value after "Bearer ". kUnauthenticated with the reason when refused.
  virtual Result<Principal> Authenticate(std::string_view bearer) = 0;
  // A node authenticated by its TLS client certificate (CN = node id). kUnauthenticated when the
  // node is not registered.
  virtual Result<Principal> NodePrincipal(std::string_view node_id) = 0;
  // OK, or kPermissionDenied naming the rule; kNotFound when the resource does not exist.
  virtual Status Authorize(const Principal& principal, Action action, const Resource& resource) = 0;
};

}  // namespace passerelle::governance
