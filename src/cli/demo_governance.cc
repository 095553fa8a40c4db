#include "cli/demo_governance.h"

#include <fmt/format.h>

namespace passerelle::cli {

void PrintDemoGovernance(sandbox::LocalFederation& fed, const CliContext& ctx) {
  Progress(ctx, "governance: the joint France-Québec call, before any data is touched");
  for (const auto& step : fed.governance_steps()) Progress(ctx, "  " + step);
  Progress(ctx, fmt::format("  each node's custodian approved {} at the node; the study runs "
                            "under it, and every step is in a signed audit log",
                            fed.project()));
}

Status CheckDemoAudit(sandbox::LocalFederation& fed, const CliContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<std::string> lines, fed.VerifyAuditLogs());
  for (const auto& line : lines) Progress(ctx, "audit: " + line);
  return Status::Ok();
}

}  // namespace passerelle::cli
