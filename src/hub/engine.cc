#include "hub/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

#include "common/log.h"
#include "hub/linkage.h"
#include "hub/secure_rounds.h"
#include "protocol/codec.h"

namespace passerelle::hub {

using nlohmann::json;

namespace {

// The hub state schema. A released migration is never edited; add a new one.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE studies (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  dataset      TEXT NOT NULL,
  definition   TEXT NOT NULL,          -- the study file, analyses in canonical form
  submitted_by TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
  round        INTEGER NOT NULL,       -- current study round, 1-based
  error        TEXT,
  result       TEXT,                   -- JSON, when completed
  created_at   INTEGER NOT NULL,       -- microseconds since the epoch
  updated_at   INTEGER NOT NULL
);
CREATE TABLE study_nodes (
  study_id TEXT NOT NULL REFERENCES studies(id),
  node     TEXT NOT NULL,
  PRIMARY KEY (study_id, node)
);
CREATE TABLE analyses (
  study_id    TEXT NOT NULL REFERENCES studies(id),
  analysis_id TEXT NOT NULL,
  position    INTEGER NOT NULL,
  type        TEXT NOT NULL,
  spec        TEXT NOT NULL,           -- canonical spec JSON
  round       INTEGER NOT NULL,        -- the analysis's own round, 0-based
  input       TEXT NOT NULL,           -- {"params": ..., "values": base64}
  state       TEXT NOT NULL,           -- combine state JSON
  done        INTEGER NOT NULL DEFAULT 0,
  result      TEXT,
  PRIMARY KEY (study_id, analysis_id)
);
CREATE TABLE rounds (
  study_id     TEXT NOT NULL REFERENCES studies(id),
  round        INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  completed_at INTEGER,
  PRIMARY KEY (study_id, round)
);
CREATE TABLE tasks (
  task_id         TEXT PRIMARY KEY,
  study_id        TEXT NOT NULL REFERENCES studies(id),
  round           INTEGER NOT NULL,
  node            TEXT NOT NULL,
  payload         TEXT NOT NULL,       -- the Task JSON sent to the node
  state           TEXT NOT NULL CHECK (state IN
                    ('pending', 'dispatched', 'done', 'refused', 'failed', 'cancelled')),
  created_at      INTEGER NOT NULL,
  dispatched_at   INTEGER,
  completed_at    INTEGER,
  deadline        INTEGER NOT NULL,
  idempotency_key TEXT,
  result          TEXT,                -- the TaskResult JSON
  UNIQUE (study_id, round, node)
);
CREATE INDEX tasks_by_node ON tasks(node, state, created_at);
CREATE INDEX tasks_by_round ON tasks(study_id, round, state);
)sql";

// v2: fewer index pages written by each task state change (every result, every dispatch), which
// the hub's commits on its loop thread pay for:
//   - tasks_by_node served a node's next task before the partial index below; unused since.
//   - tasks_by_round had the state in its key, so every state change moved its entry; the round's
//     tasks by node (the order a round's results are summed in) need no state, and the few rows
//     of a round are filtered by state after the lookup.
//   - tasks_open_by_deadline: the deadline check (four times a second) scans the open tasks of
//     tasks_open_by_node instead (a few per node).
constexpr std::string_view kSchemaV2 = R"sql(
DROP INDEX IF EXISTS tasks_by_node;
DROP INDEX IF EXISTS tasks_by_round;
DROP INDEX IF EXISTS tasks_open_by_deadline;
CREATE INDEX tasks_in_round ON tasks(study_id, round, node);
)sql";

constexpr SqliteMigration kMigrations[] = {{1, kSchemaV1}, {2, kSchemaV2}};

// An index over the open tasks only (pending or dispatched: a few per node, while the tasks table
// keeps every task ever run), for the hot reads: a node's next task (every poll) and overdue tasks
// (every deadline check scans it; without it, a scan of every task ever created, four times a
// second).
// Created idempotently at open rather than as a numbered migration, so that it takes no schema
// version that other changes may need; it holds no data of its own.
constexpr std::string_view kOpenTaskIndexes = R"sql(
CREATE INDEX IF NOT EXISTS tasks_open_by_node ON tasks(node, created_at, task_id)
  WHERE state IN ('pending', 'dispatched');
)sql";

json InputToJson(const analysis::RoundInput& in) {
  json j = {{"params", in.params}};
  if (!in.values.empty()) j["values"] = protocol::EncodeVector(in.values);
  return j;
}

Result<analysis::RoundInput> InputFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::DataLoss("hub state: malformed analysis input");
  analysis::RoundInput in;
  in.params = j.value("params", json::object());
  if (j.contains("values")) {
    ASSIGN_OR_RETURN(in.values, protocol::DecodeVector(j["values"].get<std::string>()));
  }
  return in;
}

std::string DurationText(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
  return fmt::format("{} ms", d.count());
}

std::string NewStudyId(RandomSource& random) {
  std::array<uint8_t, 6> b{};
  random.Fill(b);
  std::string id = "st-";
  for (uint8_t x : b) id += fmt::format("{:02x}", x);
  return id;
}

}  // namespace

Result<std::unique_ptr<StudyEngine>> StudyEngine::Open(SqliteDb& db,
                                                       const analysis::Registry& registry,
                                                       Clock& clock, RandomSource& random,
                                                       EngineOptions options) {
  RETURN_IF_ERROR(db.Migrate(kMigrations));
  RETURN_IF_ERROR(db.Execute(kOpenTaskIndexes));
  std::sort(options.nodes.begin(), options.nodes.end());
  std::unique_ptr<StudyEngine> e(new StudyEngine(db, registry, clock, random, std::move(options)));
  RETURN_IF_ERROR(e->OpenSecureRounds());
  // Resume: unfinished tasks get a fresh deadline from now.
  ASSIGN_OR_RETURN(Statement st,
                   db.Prepare("UPDATE tasks SET deadline = ? WHERE state IN ('pending', "
                              "'dispatched')"));
  st.Bind(
      1,
      clock.NowMicros() +
          std::chrono::duration_cast<std::chrono::microseconds>(e->options_.task_timeout).count());
  ASSIGN_OR_RETURN(int64_t resumed, st.Run());
  if (resumed > 0)
    log::Info("hub: resuming {} unfinished task(s) from the state database", resumed);
  return e;
}

bool StudyEngine::IsMember(const std::string& node) const {
  return std::binary_search(options_.nodes.begin(), options_.nodes.end(), node);
}

// ---- Submit ----------------------------------------------------------------------------------

Result<std::string> StudyEngine::Submit(const json& study, const Principal& who) {
  ASSIGN_OR_RETURN(protocol::StudyDefinition def, protocol::StudyDefinition::FromJson(study));
  std::vector<AnalysisRow> rows;
  for (size_t i = 0; i < def.analyses.size(); ++i) {
    std::string path = fmt::format("study.analyses[{}]", i);
    ASSIGN_OR_RETURN(auto spec, registry_.ParseSpec(def.analyses[i].spec, path));
    const analysis::Analysis* a = registry_.Find(spec->type);
    AnalysisRow row;
    row.id = spec->id;
    row.type = spec->type;
    auto input = a->Begin(*spec, row.state);
    if (!input.ok()) return input.status().WithContext(path);
    row.input = std::move(input).value();
    def.analyses[i].spec = spec->ToJson();
    row.spec = std::move(spec);
    rows.push_back(std::move(row));
  }
  std::vector<std::string> nodes = def.nodes;
  if (nodes.empty()) {
    nodes = options_.nodes;
  } else {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!IsMember(nodes[i])) {
        return Status::InvalidArgument(
            fmt::format("study.nodes[{}]: \"{}\" is not a node of this federation (nodes: {})", i,
                        nodes[i], fmt::join(options_.nodes, ", ")));
      }
    }
    std::sort(nodes.begin(), nodes.end());
  }
  if (nodes.empty()) {
    return Status::FailedPrecondition(
        "the hub has no nodes to run the study on (list them under hub.nodes in hub.toml)");
  }
  RETURN_IF_ERROR(ApplyStudyPrivacy(def, nodes));
  const std::string id = NewStudyId(random_);
  const int64_t now = clock_.NowMicros();
  {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_));
    ASSIGN_OR_RETURN(Statement ins,
                     db_.Prepare("INSERT INTO studies(id, name, dataset, definition, submitted_by, "
                                 "state, round, created_at, updated_at) VALUES "
                                 "(?, ?, ?, ?, ?, 'running', 1, ?, ?)"));
    ins.Bind(1, id).Bind(2, def.name).Bind(3, def.dataset).Bind(4, def.ToJson().dump());
    ins.Bind(5, who.subject).Bind(6, now).Bind(7, now);
    RETURN_IF_ERROR(ins.Run().status());
    ASSIGN_OR_RETURN(Statement sn, db_.Prepare("INSERT INTO study_nodes VALUES (?, ?)"));
    for (const auto& n : nodes) {
      sn.Reset();
      sn.Bind(1, id).Bind(2, n);
      RETURN_IF_ERROR(sn.Run().status());
    }
    ASSIGN_OR_RETURN(Statement an,
                     db_.Prepare("INSERT INTO analyses(study_id, analysis_id, position, type, "
                                 "spec, round, input, state) VALUES (?, ?, ?, ?, ?, 0, ?, ?)"));
    for (size_t i = 0; i < rows.size(); ++i) {
      an.Reset();
      an.Bind(1, id).Bind(2, rows[i].id).Bind(3, static_cast<int64_t>(i)).Bind(4, rows[i].type);
      an.Bind(5, rows[i].spec->ToJson().dump()).Bind(6, InputToJson(rows[i].input).dump());
      an.Bind(7, rows[i].state.dump());
      RETURN_IF_ERROR(an.Run().status());
    }
    ASSIGN_OR_RETURN(Statement rd, db_.Prepare("INSERT INTO rounds VALUES (?, 1, ?, NULL)"));
    rd.Bind(1, id).Bind(2, now);
    RETURN_IF_ERROR(rd.Run().status());
    RETURN_IF_ERROR(CreateRoundTasks(id, 1, def.dataset, def.project.value_or(""), def.disclosure,
                                     nodes, rows));
    RETURN_IF_ERROR(tx.Commit());
  }
  log::Info("hub: study {} \"{}\" submitted by {}: {} analyses on {} node(s)", id, def.name,
            who.subject, rows.size(), nodes.size());
  if (on_tasks_) on_tasks_(nodes);
  if (on_study_changed_) on_study_changed_(id);
  return id;
}

Status StudyEngine::CreateRoundTasks(const std::string& study_id, int round,
                                     const std::string& dataset, const std::string& project,
                                     const protocol::DisclosureRequest& disclosure,
                                     const std::vector<std::string>& nodes,
                                     const std::vector<AnalysisRow>& analyses) {
  const int64_t now = clock_.NowMicros();
  const int64_t deadline =
      now + std::chrono::duration_cast<std::chrono::microseconds>(options_.task_timeout).count();
  // A study over a linkage carries its use to every task (hub/linkage.h).
  ASSIGN_OR_RETURN(std::optional<protocol::LinkageUse> linkage, StudyLinkageUse(db_, study_id));
  ASSIGN_OR_RETURN(Statement ins,
                   db_.Prepare("INSERT INTO tasks(task_id, study_id, round, node, payload, state, "
                               "created_at, deadline) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"));
  // An OMOP study: every task carries the cohort, the node builds its table from it.
  std::optional<protocol::CohortRequest> cohort;
  ASSIGN_OR_RETURN(Statement dq, db_.Prepare("SELECT definition FROM studies WHERE id = ?"));
  dq.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has_definition, dq.Step());
  if (has_definition) {
    auto def = protocol::StudyDefinition::FromJson(json::parse(dq.ColumnText(0), nullptr, false));
    if (def.ok()) cohort = def->cohort;
  }
  dq.Reset();
  for (const auto& node : nodes) {
    protocol::Task t;
    t.task_id = fmt::format("{}-r{}-{}", study_id, round, node);
    t.study_id = study_id;
    t.round = round;
    t.node = node;
    t.dataset = dataset;
    t.cohort = cohort;
    t.project = project;
    t.disclosure = disclosure;
    t.linkage = linkage;
    for (const auto& a : analyses) {
      if (a.done) continue;
      protocol::TaskStep step;
      step.analysis_id = a.id;
      step.type = a.type;
      step.spec = a.spec->ToJson();
      step.round = a.round;
      step.input.params = a.input.params;
      step.input.values = a.input.values;
      t.steps.push_back(std::move(step));
    }
    RETURN_IF_ERROR(DecorateTask(study_id, nodes, analyses, t));
    ins.Reset();
    ins.Bind(1, t.task_id).Bind(2, study_id).Bind(3, round).Bind(4, node);
    const std::string payload = t.ToJson().dump();
    ins.Bind(5, payload).Bind(6, now).Bind(7, deadline);
    RETURN_IF_ERROR(ins.Run().status());
    if (on_task_created_) on_task_created_(t, payload);
  }
  return Status::Ok();
}

Result<std::vector<StudyEngine::AnalysisRow>> StudyEngine::LoadAnalyses(
    const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT analysis_id, type, spec, round, input, state, "
                                            "done FROM analyses WHERE study_id = ? ORDER BY "
                                            "position"));
  q.Bind(1, study_id);
  std::vector<AnalysisRow> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    AnalysisRow r;
    r.id = q.ColumnText(0);
    r.type = q.ColumnText(1);
    json spec = json::parse(q.ColumnText(2), nullptr, false);
    auto parsed = registry_.ParseSpec(spec, r.id);
    if (!parsed.ok()) {
      return Status::DataLoss(fmt::format("hub state: analysis {} of study {}: {}", r.id, study_id,
                                          parsed.status().message()));
    }
    r.spec = std::move(parsed).value();
    r.round = static_cast<int>(q.ColumnInt(3));
    ASSIGN_OR_RETURN(r.input, InputFromJson(q.ColumnText(4)));
    r.state = json::parse(q.ColumnText(5), nullptr, false);
    r.done = q.ColumnInt(6) != 0;
    rows.push_back(std::move(r));
  }
  return rows;
}

Result<std::vector<std::string>> StudyEngine::StudyNodes(const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q,
                   db_.Prepare("SELECT node FROM study_nodes WHERE study_id = ? ORDER BY node"));
  q.Bind(1, study_id);
  std::vector<std::string> nodes;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    nodes.push_back(q.ColumnText(0));
  }
  return nodes;
}

// ---- Node side -------------------------------------------------------------------------------

Result<std::optional<std::string>> StudyEngine::NextTaskPayload(const std::string& node) {
  ASSIGN_OR_RETURN(auto secure_payload, NextSecurePayload(node));
  if (secure_payload) return secure_payload;
  return TakeNextPayload("tasks", node);
}

void StudyEngine::NoteDispatched(const std::string& task_id) {
  dispatched_.emplace(task_id, clock_.NowMicros());  // the first hand-out's time
}

std::optional<int64_t> StudyEngine::TakeDispatchedAt(const std::string& task_id) {
  auto it = dispatched_.find(task_id);
  if (it == dispatched_.end()) return std::nullopt;
  int64_t at = it->second;
  dispatched_.erase(it);
  return at;
}

Result<std::optional<std::string>> StudyEngine::TakeNextPayload(std::string_view table,
                                                                const std::string& node) {
  ASSIGN_OR_RETURN(Statement q,
                   db_.Prepare(fmt::format("SELECT task_id, payload, state FROM {} WHERE node = ? "
                                           "AND state IN ('pending', 'dispatched') ORDER BY "
                                           "created_at, task_id LIMIT 1",
                                           table)));
  q.Bind(1, node);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return std::optional<std::string>();
  std::string task_id = q.ColumnText(0);
  std::string payload = q.ColumnText(1);
  bool pending = q.ColumnText(2) == "pending";
  q.Reset();
  // Nothing written: a poll commits nothing. A secure-phase task stays "pending" in its table
  // (pending and dispatched tasks are handed out and timed out alike; nothing shows which).
  if (pending && table == "tasks") NoteDispatched(task_id);
  return std::optional<std::string>(std::move(payload));
}

Result<std::optional<protocol::Task>> StudyEngine::NextTask(const std::string& node) {
  ASSIGN_OR_RETURN(auto payload, NextTaskPayload(node));
  if (!payload) return std::optional<protocol::Task>();
  auto task = protocol::Task::FromJson(json::parse(*payload, nullptr, false));
  if (!task.ok()) {
    return Status::DataLoss(
        fmt::format("hub state: task for node {}: {}", node, task.status().message()));
  }
  return std::optional<protocol::Task>(std::move(task).value());
}

Result<std::vector<std::optional<std::string>>> StudyEngine::NextTaskPayloads(
    const std::vector<std::string>& nodes) {
  std::vector<std::optional<std::string>> out;
  // Reads only: a round's task handed out is noted in memory (NoteDispatched), so a poll commits
  // nothing.
  {
    ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT task_id, payload, state FROM tasks WHERE "
                                              "node = ? AND state IN ('pending', 'dispatched') "
                                              "ORDER BY created_at, task_id LIMIT 1"));
    for (const auto& n : nodes) {
      // A secure round's phase task comes first (hub/secure_rounds.cc; it marks itself).
      ASSIGN_OR_RETURN(auto secure_payload, NextSecurePayload(n));
      if (secure_payload) {
        out.push_back(std::move(secure_payload));
        continue;
      }
      q.Reset();
      q.Bind(1, n);
      ASSIGN_OR_RETURN(bool has, q.Step());
      if (!has) {
        out.emplace_back();
        continue;
      }
      if (q.ColumnText(2) == "pending") NoteDispatched(q.ColumnText(0));
      out.emplace_back(q.ColumnText(1));
    }
  }
  return out;
}

Result<AcceptOutcome> StudyEngine::AcceptResult(const std::string& node, const std::string& task_id,
                                                const std::string& idempotency_key,
                                                const protocol::TaskResult& result,
                                                std::string_view body) {
  if (idempotency_key.empty() || idempotency_key.size() > 200) {
    return Status::InvalidArgument("an Idempotency-Key header of 1 to 200 characters is required");
  }
  ASSIGN_OR_RETURN(auto secure_outcome,
                   AcceptSecureResult(node, task_id, idempotency_key, result, body));
  if (secure_outcome) return *secure_outcome;
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT study_id, round, node, state, "
                                            "idempotency_key, payload FROM tasks WHERE task_id = "
                                            "?"));
  q.Bind(1, task_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::NotFound(fmt::format("no task \"{}\" at this hub", task_id));
  const PostedTask posted{q.ColumnText(0), static_cast<int>(q.ColumnInt(1)), q.ColumnText(2),
                          q.ColumnText(3), q.ColumnOptionalText(4).value_or("")};
  const std::string payload = q.ColumnText(5);
  q.Reset();
  const std::string& study_id = posted.study_id;
  const int round = posted.round;
  ASSIGN_OR_RETURN(bool duplicate, CheckPost(task_id, posted, {"done", "refused", "failed"}, node,
                                             idempotency_key, result));
  if (duplicate) return AcceptOutcome{.duplicate = true};
  if (result.status == protocol::ResultStatus::kOk) {
    ASSIGN_OR_RETURN(protocol::Task task, protocol::Task::FromJson(json::parse(payload)));
    if (task.secagg && (!result.secagg || result.secagg->phase != "advertise")) {
      // A round's own task of a secure study: its result must carry the node's keys.
      return Status::InvalidArgument(
          "result.secagg: this round is securely aggregated; the result must carry the "
          "\"advertise\" phase message");
    }
    if (result.shares.size() != task.steps.size()) {
      return Status::InvalidArgument(fmt::format("result.shares: expected {} shares, got {}",
                                                 task.steps.size(), result.shares.size()));
    }
    for (const auto& step : task.steps) {
      auto share = std::find_if(result.shares.begin(), result.shares.end(),
                                [&](const auto& s) { return s.analysis_id == step.analysis_id; });
      if (share == result.shares.end()) {
        return Status::InvalidArgument(
            fmt::format("result.shares: no share for analysis \"{}\"", step.analysis_id));
      }
      if (share->round != step.round) {
        return Status::InvalidArgument(
            fmt::format("result.shares: analysis \"{}\" is in round {}, not {}", step.analysis_id,
                        step.round, share->round));
      }
      ASSIGN_OR_RETURN(auto spec, registry_.ParseSpec(step.spec, step.analysis_id));
      const analysis::Analysis* a = registry_.Find(step.type);
      analysis::RoundInput in{step.input.params, step.input.values};
      ASSIGN_OR_RETURN(size_t len, a->ShareLength(*spec, step.round, in));
      if (task.secagg && !share->values.empty()) {
        return Status::InvalidArgument(fmt::format(
            "result.shares: analysis \"{}\": a secure round sends its values masked, not in clear",
            step.analysis_id));
      }
      if (!task.secagg && share->values.size() != len) {
        return Status::InvalidArgument(
            fmt::format("result.shares: analysis \"{}\" round {} needs {} values, got {}",
                        step.analysis_id, step.round, len, share->values.size()));
      }
    }
  }

  std::vector<std::string> notify_nodes;
  bool study_changed = false;
  {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_));
    const char* new_state = result.status == protocol::ResultStatus::kOk        ? "done"
                            : result.status == protocol::ResultStatus::kRefused ? "refused"
                                                                                : "failed";
    ASSIGN_OR_RETURN(Statement up, db_.Prepare("UPDATE tasks SET state = ?, result = ?, "
                                               "idempotency_key = ?, completed_at = ?, "
                                               "dispatched_at = coalesce(dispatched_at, ?) WHERE "
                                               "task_id = ?"));
    // The bytes the node posted when given (parsed and checked above: the same result), else the
    // result serialized again.
    if (body.empty()) {
      up.Bind(2, result.ToJson().dump());
    } else {
      up.Bind(2, body);
    }
    up.Bind(1, new_state).Bind(3, idempotency_key);
    up.Bind(4, clock_.NowMicros()).Bind(5, TakeDispatchedAt(task_id)).Bind(6, task_id);
    RETURN_IF_ERROR(up.Run().status());
    ResultAccepted(result, body);
    ASSIGN_OR_RETURN(bool restarted,
                     MaybeRestartSecure(study_id, round, node, result, &notify_nodes));
    if (restarted) {
      study_changed = true;
    } else if (result.status != protocol::ResultStatus::kOk) {
      std::string error =
          result.status == protocol::ResultStatus::kRefused
              ? fmt::format("node {} refused the task{}: {}", node,
                            result.rule.empty() ? "" : fmt::format(" (rule {})", result.rule),
                            result.message)
              : fmt::format("node {} could not run the task: {}", node, result.message);
      RETURN_IF_ERROR(FailStudy(study_id, error));
      study_changed = true;
    } else {
      // The round's rows by tasks_in_round, filtered by state (no temporary table: the state is
      // not an index constraint here).
      ASSIGN_OR_RETURN(Statement left, db_.Prepare("SELECT count(*) FROM tasks WHERE study_id = ? "
                                                   "AND round = ? AND state IN ('pending', "
                                                   "'dispatched')"));
      left.Bind(1, study_id).Bind(2, round);
      ASSIGN_OR_RETURN(bool row, left.Step());
      if (row && left.ColumnInt(0) == 0) {
        left.Reset();
        RETURN_IF_ERROR(CompleteRound(study_id, round, &notify_nodes));
        study_changed = true;
      }
    }
    RETURN_IF_ERROR(tx.Commit());
  }
  if (!notify_nodes.empty() && on_tasks_) on_tasks_(notify_nodes);
  if (study_changed && on_study_changed_) on_study_changed_(study_id);
  return AcceptOutcome{};
}

Result<bool> StudyEngine::CheckPost(const std::string& task_id, const PostedTask& task,
                                    std::initializer_list<std::string_view> final_states,
                                    const std::string& node, const std::string& idempotency_key,
                                    const protocol::TaskResult& result) {
  if (task.node != node) {
    return Status::PermissionDenied(
        fmt::format("task {} belongs to node {}, not to node {}", task_id, task.node, node));
  }
  if (std::find(final_states.begin(), final_states.end(), task.state) != final_states.end()) {
    if (task.stored_key == idempotency_key) return true;
    return Status::AlreadyExists(
        fmt::format("task {} already has a result (posted with another Idempotency-Key)", task_id));
  }
  if (task.state == "cancelled") {
    return Status::FailedPrecondition(
        fmt::format("study {} is no longer running; the result of task {} is not needed",
                    task.study_id, task_id));
  }
  if (result.task_id != task_id || result.study_id != task.study_id || result.round != task.round ||
      result.node != node) {
    return Status::InvalidArgument(fmt::format(
        "result: task_id, study_id, round and node must be those of task {} ({}, round {}, node "
        "{})",
        task_id, task.study_id, task.round, node));
  }
  return false;
}

void StudyEngine::ResultAccepted(const protocol::TaskResult& result, std::string_view body) {
  if (!on_result_accepted_) return;
  if (!body.empty()) return on_result_accepted_(result, body);
  const std::string text = result.ToJson().dump();
  on_result_accepted_(result, text);
}

Status StudyEngine::CompleteRound(const std::string& study_id, int round,
                                  std::vector<std::string>* notify_nodes, const SecureSum* secure) {
  ASSIGN_OR_RETURN(std::vector<AnalysisRow> rows, LoadAnalyses(study_id));
  // Results in node-id order: the floating-point sum is then the same on every run.
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT node, result FROM tasks WHERE study_id = ? "
                                            "AND round = ? ORDER BY node"));
  q.Bind(1, study_id).Bind(2, round);
  std::vector<protocol::TaskResult> results;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    auto r = protocol::TaskResult::FromJson(json::parse(q.ColumnText(1), nullptr, false));
    if (!r.ok()) return Status::DataLoss("hub state: malformed stored result");
    results.push_back(std::move(r).value());
  }
  q.Reset();
  if (!secure) {
    ASSIGN_OR_RETURN(bool is_secure, IsSecureStudy(study_id));
    if (is_secure) return StartSecureSession(study_id, round, results, notify_nodes);
  }
  ASSIGN_OR_RETURN(Statement up_next, db_.Prepare("UPDATE analyses SET round = ?, input = ?, state "
                                                  "= ? WHERE study_id = ? AND analysis_id = ?"));
  ASSIGN_OR_RETURN(Statement up_done, db_.Prepare("UPDATE analyses SET done = 1, result = ?, "
                                                  "state = ? WHERE study_id = ? AND analysis_id "
                                                  "= ?"));
  bool all_done = true;
  for (auto& a : rows) {
    if (a.done) continue;
    const analysis::Analysis* analysis = registry_.Find(a.type);
    ASSIGN_OR_RETURN(size_t len, analysis->ShareLength(*a.spec, a.round, a.input));
    std::vector<double> sum(len, 0.0);
    std::vector<json> metas;
    for (const auto& r : results) {
      if (secure && !secure->included.count(r.node)) continue;
      for (const auto& s : r.shares) {
        if (s.analysis_id != a.id) continue;
        if (!secure) {
          for (size_t i = 0; i < len; ++i) sum[i] += s.values[i];
        }
        metas.push_back(s.meta);
      }
    }
    if (secure) {
      // Disclosure control applies to what is revealed in clear: the sum.
      sum = secure->sums.at(a.id);
      Status disclosed =
          DiscloseSecureSum(*analysis, *a.spec, a.round, a.input, secure->thresholds, sum);
      if (!disclosed.ok()) {
        return FailStudy(study_id, fmt::format("analysis {} ({}), round {}: {}", a.id, a.type,
                                               a.round, disclosed.message()));
      }
    }
    auto outcome = analysis->Combine(*a.spec, a.round, a.input, sum, metas, a.state);
    if (!outcome.ok()) {
      return FailStudy(study_id, fmt::format("analysis {} ({}), round {}: {}", a.id, a.type,
                                             a.round, outcome.status().message()));
    }
    if (outcome->next) {
      all_done = false;
      a.round += 1;
      a.input = std::move(*outcome->next);
      up_next.Reset();
      up_next.Bind(1, a.round).Bind(2, InputToJson(a.input).dump()).Bind(3, a.state.dump());
      up_next.Bind(4, study_id).Bind(5, a.id);
      RETURN_IF_ERROR(up_next.Run().status());
    } else {
      a.done = true;
      up_done.Reset();
      up_done.Bind(1, outcome->result.dump()).Bind(2, a.state.dump()).Bind(3, study_id);
      up_done.Bind(4, a.id);
      RETURN_IF_ERROR(up_done.Run().status());
    }
  }
  const int64_t now = clock_.NowMicros();
  ASSIGN_OR_RETURN(Statement rd, db_.Prepare("UPDATE rounds SET completed_at = ? WHERE study_id = "
                                             "? AND round = ?"));
  rd.Bind(1, now).Bind(2, study_id).Bind(3, round);
  RETURN_IF_ERROR(rd.Run().status());

  ASSIGN_OR_RETURN(Statement sq,
                   db_.Prepare("SELECT name, dataset, definition FROM studies WHERE id = ?"));
  sq.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool found, sq.Step());
  if (!found) return Status::Internal("study vanished");
  const std::string name = sq.ColumnText(0);
  const std::string dataset = sq.ColumnText(1);
  json definition = json::parse(sq.ColumnText(2), nullptr, false);
  sq.Reset();
  ASSIGN_OR_RETURN(std::vector<std::string> nodes, StudyNodes(study_id));

  if (all_done) {
    json result = {{"study", study_id},
                   {"name", name},
                   {"dataset", dataset},
                   {"nodes", nodes},
                   {"rounds", round}};
    json analyses = json::object();
    json types = json::object();
    ASSIGN_OR_RETURN(Statement rq, db_.Prepare("SELECT analysis_id, result, type FROM analyses "
                                               "WHERE study_id = ? ORDER BY position"));
    rq.Bind(1, study_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool has, rq.Step());
      if (!has) break;
      analyses[rq.ColumnText(0)] = json::parse(rq.ColumnText(1), nullptr, false);
      types[rq.ColumnText(0)] = rq.ColumnText(2);
    }
    result["analyses"] = std::move(analyses);
    result["types"] = std::move(types);
    json disclosure = json::object();
    for (const auto& r : results) {
      disclosure[r.node] = {{"min_cell", r.applied.min_cell}, {"min_rows", r.applied.min_rows}};
    }
    result["disclosure"] = std::move(disclosure);
    ASSIGN_OR_RETURN(json privacy, PrivacyReport(study_id, secure));
    if (!privacy.empty()) result["privacy"] = std::move(privacy);
    ASSIGN_OR_RETURN(Statement done, db_.Prepare("UPDATE studies SET state = 'completed', result = "
                                                 "?, updated_at = ? WHERE id = ?"));
    done.Bind(1, result.dump()).Bind(2, now).Bind(3, study_id);
    RETURN_IF_ERROR(done.Run().status());
    log::Info("hub: study {} completed after {} round(s)", study_id, round);
    return Status::Ok();
  }
  if (round_check_) {
    Status may = round_check_(study_id, definition.value("project", ""));
    if (!may.ok()) {
      return FailStudy(study_id, fmt::format("round {} not started: {}", round + 1, may.message()));
    }
  }
  const int next = round + 1;
  ASSIGN_OR_RETURN(Statement st,
                   db_.Prepare("UPDATE studies SET round = ?, updated_at = ? WHERE id = ?"));
  st.Bind(1, next).Bind(2, now).Bind(3, study_id);
  RETURN_IF_ERROR(st.Run().status());
  ASSIGN_OR_RETURN(Statement nr, db_.Prepare("INSERT INTO rounds VALUES (?, ?, ?, NULL)"));
  nr.Bind(1, study_id).Bind(2, next).Bind(3, now);
  RETURN_IF_ERROR(nr.Run().status());
  protocol::DisclosureRequest disclosure;
  if (definition.contains("disclosure")) {
    const json& d = definition["disclosure"];
    if (d.contains("min_cell")) disclosure.min_cell = d["min_cell"].get<int64_t>();
    if (d.contains("min_rows")) disclosure.min_rows = d["min_rows"].get<int64_t>();
  }
  RETURN_IF_ERROR(CreateRoundTasks(study_id, next, dataset, definition.value("project", ""),
                                   disclosure, nodes, rows));
  *notify_nodes = nodes;
  return Status::Ok();
}

Status StudyEngine::FailStudy(const std::string& study_id, const std::string& error) {
  ASSIGN_OR_RETURN(Statement st, db_.Prepare("UPDATE studies SET state = 'failed', error = ?, "
                                             "updated_at = ? WHERE id = ? AND state = 'running'"));
  st.Bind(1, error).Bind(2, clock_.NowMicros()).Bind(3, study_id);
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(CancelSecureTasks(study_id));
  ASSIGN_OR_RETURN(Statement tasks, db_.Prepare("UPDATE tasks SET state = 'cancelled' WHERE "
                                                "study_id = ? AND state IN ('pending', "
                                                "'dispatched')"));
  tasks.Bind(1, study_id);
  RETURN_IF_ERROR(tasks.Run().status());
  // Its cancelled tasks' hand-outs (task ids are "<study>-r<round>-<node>").
  const std::string prefix = study_id + "-r";
  for (auto it = dispatched_.lower_bound(prefix);
       it != dispatched_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = dispatched_.erase(it);
  }
  log::Warn("hub: study {} failed: {}", study_id, error);
  return Status::Ok();
}

Result<int> StudyEngine::CheckDeadlines() {
  ASSIGN_OR_RETURN(int secure_changed, CheckSecureDeadlines());
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT t.study_id, t.node, t.state FROM tasks t JOIN "
                                            "studies s ON s.id = t.study_id WHERE s.state = "
                                            "'running' AND t.state IN ('pending', 'dispatched') "
                                            "AND t.deadline < ? ORDER BY t.study_id, t.node"));
  q.Bind(1, clock_.NowMicros());
  std::map<std::string, std::vector<std::string>> overdue;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    overdue[q.ColumnText(0)].push_back(
        fmt::format("node {} did not answer within {} ({})", q.ColumnText(1),
                    DurationText(options_.task_timeout),
                    q.ColumnText(2) == "pending" ? "it never fetched its task"
                                                 : "it fetched its task but sent no result"));
  }
  q.Reset();
  if (overdue.empty()) return secure_changed;
  {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_));
    for (const auto& [study, reasons] : overdue) {
      RETURN_IF_ERROR(FailStudy(study, fmt::format("{}; partial participation is not supported "
                                                   "yet",
                                                   fmt::join(reasons, "; "))));
    }
    RETURN_IF_ERROR(tx.Commit());
  }
  if (on_study_changed_) {
    for (const auto& [study, reasons] : overdue) on_study_changed_(study);
  }
  return static_cast<int>(overdue.size()) + secure_changed;
}

// ---- Researcher side -------------------------------------------------------------------------

Result<bool> StudyEngine::IsFinished(const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT state FROM studies WHERE id = ?"));
  q.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::NotFound(fmt::format("no study \"{}\" at this hub", study_id));
  return q.ColumnText(0) != "running";
}

Result<json> StudyEngine::StudyStatus(const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT name, dataset, state, round, error, "
                                            "submitted_by, created_at, updated_at FROM studies "
                                            "WHERE id = ?"));
  q.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::NotFound(fmt::format("no study \"{}\" at this hub", study_id));
  json s = {{"id", study_id},
            {"name", q.ColumnText(0)},
            {"dataset", q.ColumnText(1)},
            {"state", q.ColumnText(2)},
            {"round", q.ColumnInt(3)},
            {"submitted_by", q.ColumnText(5)},
            {"created_at_us", q.ColumnInt(6)},
            {"updated_at_us", q.ColumnInt(7)}};
  if (!q.IsNull(4)) s["error"] = q.ColumnText(4);
  const int64_t round = q.ColumnInt(3);
  q.Reset();
  ASSIGN_OR_RETURN(Statement t, db_.Prepare("SELECT node, task_id, state FROM tasks WHERE "
                                            "study_id = ? AND round = ? ORDER BY node"));
  t.Bind(1, study_id).Bind(2, round);
  json nodes = json::array();
  for (;;) {
    ASSIGN_OR_RETURN(bool row, t.Step());
    if (!row) break;
    std::string state = t.ColumnText(2);
    if (state == "pending" && dispatched_.count(t.ColumnText(1))) state = "dispatched";
    nodes.push_back({{"node", t.ColumnText(0)}, {"task", t.ColumnText(1)}, {"state", state}});
  }
  s["nodes"] = std::move(nodes);
  ASSIGN_OR_RETURN(Statement r, db_.Prepare("SELECT round, started_at, completed_at FROM rounds "
                                            "WHERE study_id = ? ORDER BY round"));
  r.Bind(1, study_id);
  json rounds = json::array();
  for (;;) {
    ASSIGN_OR_RETURN(bool row, r.Step());
    if (!row) break;
    json e = {{"round", r.ColumnInt(0)}, {"started_at_us", r.ColumnInt(1)}};
    if (!r.IsNull(2)) {
      e["completed_at_us"] = r.ColumnInt(2);
      e["latency_ms"] = static_cast<double>(r.ColumnInt(2) - r.ColumnInt(1)) / 1000.0;
    }
    rounds.push_back(std::move(e));
  }
  s["rounds"] = std::move(rounds);
  return s;
}

Result<json> StudyEngine::StudyResult(const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q,
                   db_.Prepare("SELECT state, result, error, round FROM studies WHERE id = ?"));
  q.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::NotFound(fmt::format("no study \"{}\" at this hub", study_id));
  std::string state = q.ColumnText(0);
  if (state == "failed") {
    return Status::FailedPrecondition(
        fmt::format("study {} failed: {}", study_id, q.ColumnText(2)));
  }
  if (state != "completed") {
    return Status::FailedPrecondition(
        fmt::format("study {} is still running (round {})", study_id, q.ColumnInt(3)));
  }
  return json::parse(q.ColumnText(1));
}

Result<std::string> StudyEngine::StudyProject(const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT coalesce(json_extract(definition, "
                                            "'$.project'), '') FROM studies WHERE id = ?"));
  q.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::NotFound(fmt::format("no study \"{}\" at this hub", study_id));
  return q.ColumnText(0);
}

Result<json> StudyEngine::ListStudies() {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT id, name, state, round, created_at, "
                                            "coalesce(json_extract(definition, '$.project'), '') "
                                            "FROM studies ORDER BY created_at DESC, id LIMIT "
                                            "1000"));
  json out = json::array();
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    out.push_back({{"id", q.ColumnText(0)},
                   {"name", q.ColumnText(1)},
                   {"state", q.ColumnText(2)},
                   {"round", q.ColumnInt(3)},
                   {"created_at_us", q.ColumnInt(4)},
                   {"project", q.ColumnText(5)}});
  }
  return out;
}

}  // namespace passerelle::hub
