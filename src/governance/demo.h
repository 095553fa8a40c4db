// The governance part of `passerelle demo`: a joint call, a Franco-Québec team, its application,
// two reviews, the selection, the data-sharing agreement and both committees' approvals — on the
// service's own clock, all on one day (the call opens and closes today), so that the demo's study
// runs for an active project. Each node then approves the project with NodeApprovals::Approve.
//
// Thread-safety: as GovernanceService.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "governance/governance.h"

namespace passerelle::governance {

struct DemoNode {
  std::string id;                     // node id (its TLS certificate CN)
  Jurisdiction jurisdiction;          // FR or QC
  std::vector<std::string> datasets;  // flat datasets it serves, published to the catalog
};

struct DemoGovernance {
  std::string project;                        // the approved project's id
  std::map<std::string, std::string> tokens;  // user -> bearer token (shown once)
  Project approved;
  std::vector<std::string> steps;  // what happened, one line per step (for the demo's output)
};

// `today`: the service clock's day (Clock::TodayDays of the clock the service was opened with).
// REQUIRES: a fresh state (the demo's users and organisations do not exist yet); the service has
// its audit key; `nodes` is not empty, each with at least one dataset. (The team has a member on
// each side, so both jurisdictions are involved and both committees decide.)
Result<DemoGovernance> SetUpDemoGovernance(GovernanceService& service,
                                           const std::vector<DemoNode>& nodes, int32_t today);

}  // namespace passerelle::governance
