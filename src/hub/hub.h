// The hub service (front door of src/hub): the HTTPS API of protocol v1 over the StudyEngine, with
// governance (src/governance) deciding who may do what: bearer tokens are governance tokens,
// studies belong to an active project and are readable by its members only, and every state
// change is an entry of the hub's signed audit log.
//
//   GET  /v1/health                    no auth      liveness and protocol version
//   GET  /v1/analyses                  bearer       the registry: what nodes run
//   POST /v1/studies                   bearer       submit a study file (a member of its active
//                                                   "project") -> 201 {"id", "state"}
//   GET  /v1/studies                   bearer       list (the studies of the caller's projects)
//   GET  /v1/studies/{id}[?wait=S]     bearer       status; with wait, holds until it finishes
//   GET  /v1/studies/{id}/result       bearer       result of a completed study (409 otherwise)
//   /v1/whoami, /v1/calls, /v1/projects, /v1/catalog, /v1/audit, ...: governance_api.h
//   GET  /v1/tasks/next[?wait=S]       node cert    long-poll: 200 task or 204 after S seconds
//   POST /v1/tasks/{task_id}/result    node cert    a node's result, with an Idempotency-Key
//
// The hub never includes store/ or cohort/: it cannot touch patient data even by mistake. It holds
// the studies in SQLite (WAL, migrations) and resumes them after a restart. Long polls are parked
// on the one loop thread and woken when the engine creates tasks or finishes a study.
//
// Thread-safety: Create on one thread; Run blocks; Stop may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/random.h"
#include "common/status.h"
#include "crypto/tls.h"
#include "governance/governance.h"
#include "hub/auth.h"

namespace passerelle::hub {

struct HubOptions {
  // Listening address and port (0: chosen by the OS; see port_file).
  std::string host = "127.0.0.1";
  uint16_t port = 8443;
  // When set, the bound port is written there (atomically) once listening: for scripts and tests
  // that let the OS choose the port.
  std::filesystem::path port_file;
  // SQLite state database (created when absent).
  std::filesystem::path state_path = "hub-state.sqlite";
  // The federation's nodes: the certificate CNs allowed to fetch tasks.
  std::vector<std::string> nodes;
  // A task without a result after this long fails its study, naming the node.
  std::chrono::milliseconds task_timeout{300'000};
  // How often deadlines are checked.
  std::chrono::milliseconds deadline_check_interval{250};
  // Upper bound on the wait= of long polls (tasks and studies).
  std::chrono::milliseconds max_long_poll{25'000};
  // Request limits: body size in bytes and JSON nesting depth.
  size_t max_body_bytes = 4u << 20;
  int max_json_depth = 32;
  // TLS: the federation CA (to verify nodes), the hub's certificate and key.
  crypto::TlsMaterial tls;
};

// Reads hub.toml (paths relative to the file's folder):
//   [hub]  listen = "127.0.0.1:8443", state = "hub-state.sqlite", nodes = ["fr", "qc"],
//          task_timeout_seconds = 300, long_poll_max_seconds = 25, max_body_bytes = 4194304,
//          port_file = ""
//   [tls]  ca = "pki/ca.crt", cert = "pki/hub.crt", key = "pki/hub.key"
//   [governance]  state = "hub-governance.sqlite", audit_key = "hub-audit.key"
//                 (users, tokens, projects, catalog, audit log; see docs/governance.md)
struct HubConfig {
  HubOptions options;
  // The governance state and the hub's private audit key (required: the hub signs its log).
  std::filesystem::path governance_state;
  std::filesystem::path audit_key;
};
Result<HubConfig> LoadHubConfig(const Config& config, const std::filesystem::path& base_dir);

class Hub {
 public:
  // Opens the state, binds the port and prepares the API. `governance` (who may do what, and the
  // audit log: it must hold its audit key) and `registry` (the whitelist of analyses) must
  // outlive the hub.
  static Result<std::unique_ptr<Hub>> Create(
      const HubOptions& options, governance::GovernanceService& governance,
      const analysis::Registry& registry = analysis::BuiltinRegistry(),
      Clock& clock = SystemClock::Default(), RandomSource& random = SystemRandom::Default());
  ~Hub();

  uint16_t port() const;
  // Serves until Stop() on the calling thread.
  void Run();
  // Serves on a background thread.
  void Start();
  void Stop();
  // Appends the hub's audit entries still in its outbox to the audit log (hub/audit_outbox.h).
  // Thread-safe.
  Status FlushAudit();

  struct Impl;

 private:
  explicit Hub(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace passerelle::hub
