// The node agent (front door of src/node): connects only outward to the hub, long-polls for
// tasks, runs them on the node's own data under its own policy, and posts the results with an
// Idempotency-Key, retrying with exponential backoff (with jitter) while the hub is away.
//
//   loop:  re-post journaled results the hub has not acknowledged
//          GET /v1/tasks/next?wait=S        (204: nothing yet; ask again)
//          journal has the task? -> re-post its result; else ExecuteTask, journal it, post it
//
// Thread-safety: Run() on one thread; Stop() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "analysis/analysis.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/random.h"
#include "common/status.h"
#include "crypto/tls.h"
#include "node/executor.h"
#include "node/journal.h"
#include "node/policy.h"

namespace passerelle::net {
class HttpsClient;
}

namespace passerelle::node {

class PrivacyStep;  // node/privacy_step.h

struct NodeOptions {
  // This node's id; must be the CN of its certificate.
  std::string node_id;
  // "https://host:port" of the hub.
  std::string hub_url;
  // The federation CA (to verify the hub), the node's certificate and key.
  crypto::TlsMaterial tls;
  // The task journal (SQLite, created when absent).
  std::filesystem::path journal_path = "node-journal.sqlite";
  // The node's DuckDB database (for LoadNodeConfig; the agent itself takes a DataProvider).
  std::filesystem::path data_path;
  NodePolicy policy;
  // How long the hub may hold a poll before answering "nothing yet".
  std::chrono::milliseconds long_poll{20'000};
  // Backoff between failed attempts: doubles from initial to max, with ±50% jitter.
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{10'000};
  // Testing hook (failure injection for the end-to-end tests): "exit_before_post" ends the
  // process after journaling a result and before posting it; "exit_after_post" right after the
  // hub acknowledged it and before the journal records that. Empty in production.
  std::string failpoint;
};

// Reads node.toml (paths relative to the file's folder):
//   [node]   id = "fr", hub = "https://hub.example:8443", journal = "node-journal.sqlite",
//            long_poll_seconds = 20
//   [data]   duckdb = "fr.duckdb"
//   [tls]    ca = "pki/ca.crt", cert = "pki/fr.crt", key = "pki/fr.key"
//   [policy] min_cell = 10, min_rows = 10, max_levels = 100,
//            analyses = ["count", "summary", "table"], datasets = []
Result<NodeOptions> LoadNodeConfig(const Config& config, const std::filesystem::path& base_dir);

class NodeAgent {
 public:
  // Checks that the certificate's CN is the node id and opens the journal. `registry` must
  // outlive the agent.
  static Result<std::unique_ptr<NodeAgent>> Create(
      const NodeOptions& options, std::unique_ptr<DataProvider> data,
      const analysis::Registry& registry = analysis::BuiltinRegistry(),
      Clock& clock = SystemClock::Default(), RandomSource& random = SystemRandom::Default());
  ~NodeAgent();

  // Serves until Stop(). Returns OK after Stop; an error only when the node cannot work at all
  // (its journal fails).
  Status Run();
  void Stop();

  // Tasks handled since start (for tests and logs).
  int64_t tasks_handled() const { return tasks_handled_; }

 private:
  NodeAgent(NodeOptions options, std::unique_ptr<DataProvider> data,
            const analysis::Registry& registry, Clock& clock, RandomSource& random);
  // Posts one journaled result until the hub acknowledges or refuses it, or Stop().
  Status PostUntilDone(const Journal::Entry& entry);
  Status HandleTask(const std::string& body);
  // Reports to the hub, as an "error" result, that it declined this node's result.
  void DeclareFailure(const Journal::Entry& entry, const Status& why);
  // Sleeps for the current backoff (interrupted by Stop) and doubles it.
  void Backoff();
  void ResetBackoff() { backoff_ = options_.backoff_initial; }
  bool stopping() const { return stop_; }

  NodeOptions options_;
  std::unique_ptr<DataProvider> data_;
  const analysis::Registry& registry_;
  Clock& clock_;
  RandomSource& random_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<PrivacyStep> privacy_;
  std::unique_ptr<net::HttpsClient> client_;
  std::chrono::milliseconds backoff_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> tasks_handled_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool hub_reachable_logged_ = false;
};

}  // namespace passerelle::node
