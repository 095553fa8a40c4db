// passerelle audit keygen|export|verify|reconcile
//
// Keys of audit log writers, export of a log from its SQLite state (the hub's or a node's), and
// the checks anyone holding the public keys can run on exported logs.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "governance/api_json.h"
#include "governance/audit.h"

namespace passerelle::cli {
namespace {

namespace gov = passerelle::governance;

void Out(const std::string& line) { std::printf("%s\n", line.c_str()); }

template <typename Args, typename Fn>
void OnRun(CLI::App* c, CliContext& ctx, std::shared_ptr<Args> args, Fn fn) {
  c->callback([args, &ctx, fn] { ctx.status = fn(*args, ctx); });
}

struct AuditArgs {
  std::string out, state, audit_key, log, key, node_log, hub_log, node_key, hub_key;
  bool list = false;
  bool json = false;
};

Status RunExport(const AuditArgs& a, CliContext& cx) {
  SqliteOptions so;
  so.path = a.state;
  so.must_exist = true;
  auto db = SqliteDb::Open(so);
  if (!db.ok()) return db.status().WithContext("--state");
  ASSIGN_OR_RETURN(std::optional<std::string> writer, gov::AuditLog::StoredWriter(**db));
  if (!writer) {
    return Status::NotFound(fmt::format("{}: no audit log has been written there", a.state));
  }
  ASSIGN_OR_RETURN(gov::AuditKey key, gov::ReadAuditKeyFile(a.audit_key));
  ASSIGN_OR_RETURN(auto log, gov::AuditLog::Open(**db, *writer, key, SystemClock::Default()));
  ASSIGN_OR_RETURN(std::string text, log->Export());
  RETURN_IF_ERROR(WriteFileAtomic(a.out, text));
  ASSIGN_OR_RETURN(int64_t n, log->Count());
  Progress(cx, fmt::format("{} entries of {} exported to {}", n, *writer, a.out));
  return Status::Ok();
}

Status RunVerify(const AuditArgs& a, CliContext&) {
  ASSIGN_OR_RETURN(gov::AuditPublicKey key, gov::ReadAuditPublicKey(a.key));
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(a.log));
  auto v = gov::VerifyAuditLog(text, key);
  if (!v.ok()) return v.status().WithContext(a.log);
  if (a.list) {
    for (const gov::AuditEntry& e : v->entries) {
      std::string what = e.record.project.empty() ? "" : " project=" + e.record.project;
      if (!e.record.task_id.empty()) what += " task=" + e.record.task_id;
      for (const auto& [k, val] : e.record.details) what += " " + k + "=" + val;
      Out(fmt::format("{}\t{}\t{}\t{}{}", e.seq, e.time_micros, e.record.actor, e.record.action,
                      what));
    }
  }
  Out(fmt::format("ok: {} entries written by {}, chained and signed; head {}", v->entries.size(),
                  v->writer, v->head_hash));
  return Status::Ok();
}

Status RunReconcile(const AuditArgs& a, CliContext&) {
  ASSIGN_OR_RETURN(gov::AuditPublicKey node_key, gov::ReadAuditPublicKey(a.node_key));
  ASSIGN_OR_RETURN(gov::AuditPublicKey hub_key, gov::ReadAuditPublicKey(a.hub_key));
  ASSIGN_OR_RETURN(std::string node_text, ReadFileToString(a.node_log));
  ASSIGN_OR_RETURN(std::string hub_text, ReadFileToString(a.hub_log));
  ASSIGN_OR_RETURN(gov::ReconcileReport r,
                   gov::ReconcileAuditLogs(node_text, node_key, hub_text, hub_key));
  if (a.json) {
    Out(gov::ToJson(r));
  } else {
    for (const auto& p : r.problems) Out("problem: " + p);
    for (const auto& n : r.notes) Out("note: " + n);
    Out(fmt::format("{}: node {}: {} task(s) and {} result(s) checked, {} problem(s)",
                    r.ok() ? "ok" : "MISMATCH", r.node, r.tasks_checked, r.results_checked,
                    r.problems.size()));
  }
  if (!r.ok()) {
    return Status::FailedPrecondition(fmt::format(
        "the logs of node {} and of the hub disagree ({} problem(s))", r.node, r.problems.size()));
  }
  return Status::Ok();
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* audit = app.add_subcommand("audit", "Signed audit logs: keys, export, verification");
  audit->require_subcommand(1);

  auto keygen = std::make_shared<AuditArgs>();
  CLI::App* c = audit->add_subcommand(
      "keygen", "Create a writer's Ed25519 key: PATH (private, mode 0600) and PATH.pub");
  c->add_option("--out", keygen->out, "Private key file to create")->required();
  OnRun(c, ctx, keygen, [](const AuditArgs& a, CliContext& cx) -> Status {
    gov::AuditKey key = gov::AuditKey::Generate(SystemRandom::Default());
    RETURN_IF_ERROR(gov::WriteAuditKeyFiles(key, a.out));
    Progress(cx, "private key " + a.out + " (keep it secret), public key " + a.out + ".pub:");
    Out(gov::FormatPublicKey(key.public_key()));
    return Status::Ok();
  });

  auto exp = std::make_shared<AuditArgs>();
  c = audit->add_subcommand("export", "Export the audit log of a hub or node state file");
  c->add_option("--state", exp->state, "The state database (SQLite)")->required();
  c->add_option("--audit-key", exp->audit_key, "The writer's private key (signs the head)")
      ->required();
  c->add_option("--out", exp->out, "The log file to write (JSON lines)")->required();
  OnRun(c, ctx, exp, RunExport);

  auto verify = std::make_shared<AuditArgs>();
  c = audit->add_subcommand(
      "verify", "Check a log: any edited, removed, reordered or inserted entry is reported");
  c->add_option("log", verify->log, "The exported log")->required();
  c->add_option("--key", verify->key, "The writer's public key (ed25519:<hex>, or its file)")
      ->required();
  c->add_flag("--list", verify->list, "Print the entries");
  OnRun(c, ctx, verify, RunVerify);

  auto reconcile = std::make_shared<AuditArgs>();
  c = audit->add_subcommand("reconcile",
                            "Check a node's log against the hub's: every task the node ran was "
                            "asked by the hub, every result the hub used is the one the node sent");
  c->add_option("--node", reconcile->node_log, "The node's exported log")->required();
  c->add_option("--hub", reconcile->hub_log, "The hub's exported log")->required();
  c->add_option("--node-key", reconcile->node_key, "The node's public key")->required();
  c->add_option("--hub-key", reconcile->hub_key, "The hub's public key")->required();
  c->add_flag("--json", reconcile->json, "Machine-readable output");
  OnRun(c, ctx, reconcile, RunReconcile);
}

}  // namespace passerelle::cli
