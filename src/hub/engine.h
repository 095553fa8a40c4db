// Study orchestration at the hub, without the network: the StudyEngine keeps every study, round,
// task and result in the hub's SQLite state database and moves studies forward.
//
// Life of a study:
//   Submit      validates the study file against the registry, records the study, its analyses
//               (typed spec, round, round input, combine state) and round 1's tasks, one per node.
//   NextTask    gives a node its oldest unanswered task (again, if it asks again: delivery is
//               at-least-once; results are idempotent).
//   AcceptResult stores a node's result once (the Idempotency-Key makes a repeat a no-op); when
//               every node answered the round, sums the shares of each analysis (in node-id order,
//               so that a re-run gives the same bits), calls Combine, and either records the
//               study's result or creates the next round's tasks — all in one transaction, so a
//               crash at any point leaves a state the restarted hub resumes from.
//   CheckDeadlines fails a study whose task is overdue, naming the node(s) (partial participation
//               comes later); a refusal or an error from a node fails the study the same way.
//
// Invariants (checked by the SQL constraints where possible):
//   - a study is running, completed or failed; only a running study has pending tasks;
//   - a task is unique per (study, round, node) and has at most one result;
//   - an analysis's round input is the one its tasks of the current study round carry.
//
// Times are wall-clock microseconds from the injected Clock (they are persisted). On open, the
// deadlines of unfinished tasks are pushed to now + task_timeout, so that a hub that was down does
// not fail every study at restart.
//
// Thread-safety: not thread-safe; the hub calls it from its one loop thread.
#pragma once

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "hub/auth.h"
#include "protocol/messages.h"

namespace passerelle::hub {

struct SecureSum;  // hub/secure_rounds.h

struct EngineOptions {
  // The federation's nodes (their certificate CNs). A study runs on all of them unless it lists
  // a subset.
  std::vector<std::string> nodes;
  // A task without a result after this long fails its study, naming the node.
  std::chrono::milliseconds task_timeout{60'000};
};

struct AcceptOutcome {
  bool duplicate = false;  // the same result was posted before (same Idempotency-Key)
};

class StudyEngine {
 public:
  // Applies the schema migrations of the hub state to `db`.
  static Result<std::unique_ptr<StudyEngine>> Open(SqliteDb& db, const analysis::Registry& registry,
                                                   Clock& clock, RandomSource& random,
                                                   EngineOptions options);

  // Called (synchronously) when nodes have new tasks, and when a study changes state or round.
  void set_on_tasks(std::function<void(const std::vector<std::string>& nodes)> f) {
    on_tasks_ = std::move(f);
  }
  void set_on_study_changed(std::function<void(const std::string& study_id)> f) {
    on_study_changed_ = std::move(f);
  }
  // Called (synchronously, inside the creating transaction) for each task created, with the exact
  // JSON text the node will receive: the hub's audit log records it (task.create).
  void set_on_task_created(std::function<void(const protocol::Task&, const std::string&)> f) {
    on_task_created_ = std::move(f);
  }
  // Called (synchronously, inside the accepting transaction, before anything the result causes:
  // the next round's tasks, the study's end) for each result accepted (not a duplicate), with the
  // exact bytes the node posted: the hub's audit log records it (result.accept).
  void set_on_result_accepted(
      std::function<void(const protocol::TaskResult&, std::string_view body)> f) {
    on_result_accepted_ = std::move(f);
  }
  // Asked before each round after the first is created: a non-OK Status fails the study with its
  // message instead (the hub asks governance whether the study's project is still active).
  void set_round_check(
      std::function<Status(const std::string& study_id, const std::string& project)> f) {
    round_check_ = std::move(f);
  }
  // The governance project a study belongs to ("" when it names none).
  Result<std::string> StudyProject(const std::string& study_id);

  // Researcher side.
  Result<std::string> Submit(const nlohmann::json& study, const Principal& who);
  // {"id", "name", "state", "round", "error", "nodes": [{"node", "task", "state"}...], "rounds"}.
  Result<nlohmann::json> StudyStatus(const std::string& study_id);
  // The result of a completed study; kFailedPrecondition while running or after a failure.
  Result<nlohmann::json> StudyResult(const std::string& study_id);
  // Whether the study is finished (completed or failed). NotFound for an unknown id.
  Result<bool> IsFinished(const std::string& study_id);
  Result<nlohmann::json> ListStudies();

  // Node side. `node` is the authenticated node id.
  Result<std::optional<protocol::Task>> NextTask(const std::string& node);
  // The same as the JSON text sent on the wire, for several nodes in one transaction (the hub
  // wakes all parked polls of a new round at once).
  Result<std::vector<std::optional<std::string>>> NextTaskPayloads(
      const std::vector<std::string>& nodes);
  // `body`: the bytes the node posted (for the audit hook); empty: `result` serialized again.
  Result<AcceptOutcome> AcceptResult(const std::string& node, const std::string& task_id,
                                     const std::string& idempotency_key,
                                     const protocol::TaskResult& result,
                                     std::string_view body = {});

  // Fails running studies that have overdue tasks. Returns how many failed.
  Result<int> CheckDeadlines();

  bool IsMember(const std::string& node) const;
  const EngineOptions& options() const { return options_; }

 private:
  StudyEngine(SqliteDb& db, const analysis::Registry& registry, Clock& clock, RandomSource& random,
              EngineOptions options)
      : db_(db),
        registry_(registry),
        clock_(clock),
        random_(random),
        options_(std::move(options)) {}

  struct AnalysisRow {
    std::string id;
    std::string type;
    std::unique_ptr<analysis::AnalysisSpec> spec;
    int round = 0;
    analysis::RoundInput input;
    nlohmann::json state;
    bool done = false;
  };

  Result<std::vector<AnalysisRow>> LoadAnalyses(const std::string& study_id);
  Status CreateRoundTasks(const std::string& study_id, int round, const std::string& dataset,
                          const std::string& project, const protocol::DisclosureRequest& disclosure,
                          const std::vector<std::string>& nodes,
                          const std::vector<AnalysisRow>& analyses);
  // Combines a finished round (inside the caller's transaction).
  // `secure`: the round's sums revealed by secure aggregation (else the shares are summed, or a
  // secure session is started when the study is secure).
  Status CompleteRound(const std::string& study_id, int round,
                       std::vector<std::string>* notify_nodes, const SecureSum* secure = nullptr);
  Status FailStudy(const std::string& study_id, const std::string& error);
  Result<std::vector<std::string>> StudyNodes(const std::string& study_id);
  Result<std::optional<std::string>> NextTaskPayload(const std::string& node);
  // The oldest pending or dispatched task of `node` in `table` ("tasks", "secagg_tasks"); a round's
  // task is noted dispatched in memory (NoteDispatched); nothing is written.
  Result<std::optional<std::string>> TakeNextPayload(std::string_view table,
                                                     const std::string& node);
  // A round's task handed out: kept in memory, not written (a commit per poll saved). The state
  // "dispatched" is informational (a pending task is handed out the same way, and its deadline
  // was set at creation): StudyStatus shows it, and the time is written as dispatched_at with the
  // task's result. A hub restart forgets it; the task shows "pending" until handed out again.
  void NoteDispatched(const std::string& task_id);
  // The time `task_id` was handed out, if it was since this hub started (and forgets it).
  std::optional<int64_t> TakeDispatchedAt(const std::string& task_id);

  // Secure aggregation and study privacy, defined in hub/secure_rounds.cc.
  Status OpenSecureRounds();
  // Submit: validates study.privacy and makes the study secure when a node requires it.
  Status ApplyStudyPrivacy(protocol::StudyDefinition& def, const std::vector<std::string>& nodes);
  // CreateRoundTasks: the study's privacy block and, for a secure study, the advertise phase.
  Status DecorateTask(const std::string& study_id, const std::vector<std::string>& nodes,
                      const std::vector<AnalysisRow>& analyses, protocol::Task& task);
  Result<bool> IsSecureStudy(const std::string& study_id);
  Status StartSecureSession(const std::string& study_id, int round,
                            const std::vector<protocol::TaskResult>& results,
                            std::vector<std::string>* notify_nodes);
  Result<std::optional<std::string>> NextSecurePayload(const std::string& node);
  // Unset when `task_id` is not a secure-phase task.
  Result<std::optional<AcceptOutcome>> AcceptSecureResult(const std::string& node,
                                                          const std::string& task_id,
                                                          const std::string& idempotency_key,
                                                          const protocol::TaskResult& result,
                                                          std::string_view body);
  // What a posted result is checked against, for a round's task and a secure-phase task alike:
  // the task belongs to `node`; once in one of `final_states`, a post with the stored key is a
  // duplicate (returns true) and one with another key is refused; a cancelled task takes no
  // result; the result names the task's id, study, round and node. False: go on and accept.
  struct PostedTask {
    std::string study_id;
    int round = 0;
    std::string node;
    std::string state;
    std::string stored_key;
  };
  static Result<bool> CheckPost(const std::string& task_id, const PostedTask& task,
                                std::initializer_list<std::string_view> final_states,
                                const std::string& node, const std::string& idempotency_key,
                                const protocol::TaskResult& result);
  // Calls on_result_accepted_ (inside the accepting transaction).
  void ResultAccepted(const protocol::TaskResult& result, std::string_view body);
  // A refusal by rule "require_secure_aggregation" of a plain study: restarts it as a secure
  // study in the next study round (inside the caller's transaction). False: not such a refusal.
  Result<bool> MaybeRestartSecure(const std::string& study_id, int round, const std::string& node,
                                  const protocol::TaskResult& result,
                                  std::vector<std::string>* notify_nodes);
  // Closes `phase` of a session once no answer is outstanding (inside the caller's transaction).
  Status AdvanceSecureSession(const std::string& study_id, int round, const std::string& phase,
                              std::vector<std::string>* notify_nodes);
  Result<int> CheckSecureDeadlines();
  Status CancelSecureTasks(const std::string& study_id);
  // result["privacy"] of a completed study (empty when it used no privacy mechanism).
  Result<nlohmann::json> PrivacyReport(const std::string& study_id, const SecureSum* secure);

  SqliteDb& db_;
  const analysis::Registry& registry_;
  Clock& clock_;
  RandomSource& random_;
  EngineOptions options_;
  std::function<void(const std::vector<std::string>&)> on_tasks_;
  std::function<void(const std::string&)> on_study_changed_;
  std::function<void(const protocol::Task&, const std::string&)> on_task_created_;
  std::function<void(const protocol::TaskResult&, std::string_view)> on_result_accepted_;
  std::function<Status(const std::string&, const std::string&)> round_check_;
  // Round tasks handed out and not yet answered: task id -> when (NoteDispatched).
  std::map<std::string, int64_t> dispatched_;
};

}  // namespace passerelle::hub
