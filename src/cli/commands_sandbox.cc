// passerelle sandbox --study FILE --node NAME=DB.duckdb ... [--policy policy.toml]: a hub and
// nodes in one process on loopback, through the real protocol; prints the result JSON.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cohort/study_file.h"
#include "common/config.h"
#include "common/files.h"
#include "common/log.h"
#include "node/policy.h"
#include "protocol/codec.h"
#include "sandbox/sandbox.h"

namespace passerelle::cli {
namespace {

struct SandboxArgs {
  std::string study;
  std::vector<std::string> nodes;
  std::string policy;
  std::vector<std::string> identities;  // NAME=IDENTITIES.csv (record linkage)
  double timeout_s = 600;
  double task_timeout_s = 300;
};

Status RunSandboxCommand(const SandboxArgs& a) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(a.study));
  auto study = protocol::ParseJson(text);
  if (!study.ok()) return study.status().WithContext(a.study);
  ASSIGN_OR_RETURN(
      *study, cohort::ResolveStudyCohort(std::move(*study),
                                         std::filesystem::path(a.study).parent_path(), a.study));
  std::vector<sandbox::SandboxNode> nodes;
  for (const auto& spec : a.nodes) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return Status::InvalidArgument(
          fmt::format("--node \"{}\": expected NAME=DATABASE.duckdb", spec));
    }
    nodes.push_back({spec.substr(0, eq), spec.substr(eq + 1), nullptr});
  }
  for (const auto& spec : a.identities) {
    size_t eq = spec.find('=');
    auto node = std::find_if(nodes.begin(), nodes.end(), [&](const sandbox::SandboxNode& n) {
      return eq != std::string::npos && n.name == spec.substr(0, eq);
    });
    if (node == nodes.end() || eq + 1 == spec.size()) {
      return Status::InvalidArgument(fmt::format(
          "--identities \"{}\": expected NAME=IDENTITIES.csv for a node given with --node", spec));
    }
    node->pprl_identities = spec.substr(eq + 1);
  }
  sandbox::FederationOptions opts;
  if (!a.policy.empty()) {
    ASSIGN_OR_RETURN(Config config, Config::LoadFile(a.policy));
    ASSIGN_OR_RETURN(opts.policy, node::LoadPolicy(config));
    auto unknown = config.UnknownKeys({"policy.min_cell", "policy.min_rows", "policy.max_levels",
                                       "policy.analyses", "policy.datasets"});
    if (!unknown.empty()) {
      return Status::InvalidArgument(
          fmt::format("{}: unknown key \"{}\"", a.policy, unknown.front()));
    }
  }
  opts.task_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.task_timeout_s * 1000));
  // The hub's and nodes' progress lines are for operators; a rehearsal shows only warnings.
  if (!log::Enabled(log::Level::kDebug)) log::Init({.level = log::Level::kWarn});
  ASSIGN_OR_RETURN(
      nlohmann::json result,
      sandbox::RunSandbox(*study, std::move(nodes), opts,
                          std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000))));
  std::printf("%s\n", result.dump(2).c_str());
  return Status::Ok();
}

}  // namespace

void RegisterSandboxCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<SandboxArgs>();
  CLI::App* sb = app.add_subcommand(
      "sandbox", "Rehearse a study: a hub and nodes in one process on loopback, real protocol");
  sb->add_option("--study", args->study, "Study file (JSON)")->required();
  sb->add_option("--node", args->nodes, "NAME=DATABASE.duckdb, once per node (repeatable)")
      ->required();
  sb->add_option("--policy", args->policy, "policy.toml applied by every node ([policy] keys)");
  sb->add_option("--identities", args->identities,
                 "NAME=IDENTITIES.csv: a node's identity file for record linkage (docs/pprl.md)");
  sb->add_option("--timeout", args->timeout_s, "Seconds before giving up")->capture_default_str();
  sb->add_option("--task-timeout", args->task_timeout_s,
                 "Seconds a node may take for one task before the study fails")
      ->capture_default_str();
  sb->callback([args, &ctx] { ctx.status = RunSandboxCommand(*args); });
}

}  // namespace passerelle::cli
