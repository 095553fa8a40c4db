// The governance part of `passerelle demo`'s output: the lifecycle the demonstration's project went
// through before its study (the sandbox's rehearsal governance), and after the study, the audit
// logs of the hub and of each node verified and reconciled. Kept apart from commands_demo.cc so
// that the demo's study can change without touching governance.
#pragma once

#include "cli/commands.h"
#include "common/status.h"
#include "sandbox/sandbox.h"

namespace passerelle::cli {

// Prints the governance steps of `fed` (after LocalFederation::Start).
void PrintDemoGovernance(sandbox::LocalFederation& fed, const CliContext& ctx);
// Verifies and reconciles the audit logs of `fed` (after the study, before Stop) and prints one
// line per log.
Status CheckDemoAudit(sandbox::LocalFederation& fed, const CliContext& ctx);

}  // namespace passerelle::cli
