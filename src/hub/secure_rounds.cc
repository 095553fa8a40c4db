// Secure rounds at the hub: the StudyEngine members declared under "Secure aggregation and study
// privacy" in engine.h, and DiscloseSecureSum. See secure_rounds.h for the protocol.
#include "hub/secure_rounds.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "common/log.h"
#include "hub/engine.h"
#include "privacy/fixed_point.h"
#include "privacy/secagg.h"
#include "privacy/secure_round.h"
#include "privacy/study_dp.h"
#include "protocol/codec.h"

namespace passerelle::hub {

using nlohmann::json;
namespace secagg = privacy::secagg;

namespace {

// Tables of the secure rounds, created beside the engine's schema (IF NOT EXISTS: they do not
// take a migration number from the engine's list).
constexpr std::string_view kSecureSchema = R"sql(
CREATE TABLE IF NOT EXISTS secagg_sessions (
  study_id TEXT NOT NULL REFERENCES studies(id),
  round    INTEGER NOT NULL,
  phase    TEXT NOT NULL,    -- the phase whose answers the hub waits for, or 'done'
  params   TEXT NOT NULL,    -- the "secagg.session" JSON of the round's tasks
  layout   TEXT NOT NULL,    -- [[analysis_id, share length], ...] in analysis order
  server   BLOB NOT NULL,    -- secagg::Server::SerializeState (keys, sealed shares, masked inputs)
  PRIMARY KEY (study_id, round)
);
CREATE TABLE IF NOT EXISTS secagg_tasks (
  task_id         TEXT PRIMARY KEY,
  study_id        TEXT NOT NULL REFERENCES studies(id),
  round           INTEGER NOT NULL,
  node            TEXT NOT NULL,
  phase           TEXT NOT NULL,
  payload         TEXT NOT NULL,  -- the Task JSON sent to the node
  state           TEXT NOT NULL CHECK (state IN
                    ('pending', 'dispatched', 'done', 'dropped', 'cancelled')),
  created_at      INTEGER NOT NULL,
  deadline        INTEGER NOT NULL,
  idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS secagg_tasks_by_node ON secagg_tasks(node, state, created_at);
-- A node's next phase task, read on every poll: the open tasks in hand-out order, so that the read
-- needs no sort (a sorter costs more than the read itself when there is nothing to hand out).
CREATE INDEX IF NOT EXISTS secagg_tasks_open_by_node ON secagg_tasks(node, created_at, task_id)
  WHERE state IN ('pending', 'dispatched');
CREATE INDEX IF NOT EXISTS secagg_tasks_by_phase ON secagg_tasks(study_id, round, phase, state);
CREATE TABLE IF NOT EXISTS node_privacy (
  node                       TEXT PRIMARY KEY,
  require_secure_aggregation INTEGER NOT NULL,
  updated_at                 INTEGER NOT NULL
);
)sql";

constexpr std::string_view kRequireSecureRule = "require_secure_aggregation";

std::string PhaseAfter(const std::string& phase) {
  if (phase == "advertise") return "share_keys";
  if (phase == "share_keys") return "masked_input";
  if (phase == "masked_input") return "unmask";
  return "done";
}

Result<std::vector<uint8_t>> DecodePayload(const protocol::SecaggWire& w, std::string_view who) {
  auto bytes = protocol::Base64Decode(w.payload);
  if (!bytes.ok()) {
    return Status::InvalidArgument(
        fmt::format("result.secagg.payload ({}): {}", who, bytes.status().message()));
  }
  return std::move(bytes).value();
}

std::string NodeOfIndex(const std::map<std::string, uint32_t>& indices, uint32_t index) {
  for (const auto& [node, i] : indices) {
    if (i == index) return node;
  }
  return fmt::format("#{}", index);
}

std::vector<std::string> NodesOf(const std::map<std::string, uint32_t>& indices,
                                 const std::vector<uint32_t>& list) {
  std::vector<std::string> out;
  for (uint32_t i : list) out.push_back(NodeOfIndex(indices, i));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Status DiscloseSecureSum(const analysis::Analysis& analysis, const analysis::AnalysisSpec& spec,
                         int round, const analysis::RoundInput& input,
                         const analysis::Thresholds& thresholds, std::vector<double>& sum) {
  analysis::NodeShare share;
  share.values = sum;
  RETURN_IF_ERROR(analysis.Disclose(spec, round, input, thresholds, share));
  if (share.values.size() != sum.size()) {
    return Status::Internal(
        fmt::format("analysis {}: the disclosure rule changed the sum's length", spec.id));
  }
  sum = std::move(share.values);
  return Status::Ok();
}

// ---- Setup -----------------------------------------------------------------------------------

Status StudyEngine::OpenSecureRounds() {
  RETURN_IF_ERROR(db_.Execute(kSecureSchema));
  ASSIGN_OR_RETURN(Statement st, db_.Prepare("UPDATE secagg_tasks SET deadline = ? WHERE state IN "
                                             "('pending', 'dispatched')"));
  st.Bind(1,
          clock_.NowMicros() +
              std::chrono::duration_cast<std::chrono::microseconds>(options_.task_timeout).count());
  return st.Run().status();
}

Status StudyEngine::ApplyStudyPrivacy(protocol::StudyDefinition& def,
                                      const std::vector<std::string>& nodes) {
  json& p = def.privacy;
  if (p.contains("secure_aggregation") && !p["secure_aggregation"].is_boolean()) {
    return Status::InvalidArgument("study.privacy.secure_aggregation: expected true or false");
  }
  if (p.contains("dp"))
    RETURN_IF_ERROR(privacy::ParseDpRequest(p["dp"], "study.privacy.dp").status());
  if (p.value("secure_aggregation", false)) return Status::Ok();
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT 1 FROM node_privacy WHERE node = ? AND "
                                            "require_secure_aggregation = 1"));
  for (const auto& n : nodes) {
    q.Reset();
    q.Bind(1, n);
    ASSIGN_OR_RETURN(bool required, q.Step());
    if (required) {
      log::Info("hub: node {} requires secure aggregation; the study runs securely", n);
      p["secure_aggregation"] = true;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Result<bool> StudyEngine::IsSecureStudy(const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT definition FROM studies WHERE id = ?"));
  q.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::NotFound(fmt::format("no study \"{}\"", study_id));
  json def = json::parse(q.ColumnText(0), nullptr, false);
  if (!def.is_object() || !def.contains("privacy")) return false;
  const json& p = def["privacy"];
  return p.is_object() && p.value("secure_aggregation", false);
}

Status StudyEngine::DecorateTask(const std::string& study_id, const std::vector<std::string>& nodes,
                                 const std::vector<AnalysisRow>& analyses, protocol::Task& task) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT definition FROM studies WHERE id = ?"));
  q.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::Internal("study vanished");
  json def = json::parse(q.ColumnText(0), nullptr, false);
  json privacy = def.is_object() && def.contains("privacy") ? def["privacy"] : json::object();
  if (privacy.empty()) return Status::Ok();
  task.privacy = privacy;
  if (def.contains("project")) task.privacy["project"] = def["project"];
  if (!privacy.value("secure_aggregation", false)) return Status::Ok();
  uint64_t length = 0;
  for (const auto& a : analyses) {
    if (a.done) continue;
    ASSIGN_OR_RETURN(size_t len, registry_.Find(a.type)->ShareLength(*a.spec, a.round, a.input));
    length += len;
  }
  // A round whose shares are all empty (e.g. a table's levels round) still runs a session of
  // one zero value, so that every round of a secure study has the same shape.
  ASSIGN_OR_RETURN(privacy::SecureRoundParams params,
                   privacy::MakeSecureRound(study_id, static_cast<uint32_t>(task.round), nodes,
                                            std::max<uint64_t>(length, 1)));
  task.secagg = protocol::SecaggWire{"advertise", privacy::SecureRoundToJson(params), ""};
  return Status::Ok();
}

// ---- Sessions --------------------------------------------------------------------------------

namespace {

struct Session {
  std::string phase;
  privacy::SecureRoundParams params;
  std::vector<std::pair<std::string, size_t>> layout;
  std::unique_ptr<secagg::Server> server;
};

Result<Session> LoadSession(SqliteDb& db, const std::string& study_id, int round) {
  ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT phase, params, layout, server FROM "
                                           "secagg_sessions WHERE study_id = ? AND round = ?"));
  q.Bind(1, study_id).Bind(2, round);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) {
    return Status::DataLoss(
        fmt::format("hub state: no secure session for study {} round {}", study_id, round));
  }
  Session s;
  s.phase = q.ColumnText(0);
  json params = json::parse(q.ColumnText(1), nullptr, false);
  ASSIGN_OR_RETURN(s.params,
                   privacy::SecureRoundFromJson(study_id, static_cast<uint32_t>(round), params));
  json layout = json::parse(q.ColumnText(2), nullptr, false);
  for (const auto& e : layout) s.layout.emplace_back(e[0].get<std::string>(), e[1].get<size_t>());
  std::vector<uint8_t> blob = q.ColumnBlob(3);
  ASSIGN_OR_RETURN(s.server, secagg::Server::RestoreState(blob));
  return s;
}

Status SaveSession(SqliteDb& db, const std::string& study_id, int round, const Session& s) {
  ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE secagg_sessions SET phase = ?, server = ? "
                                            "WHERE study_id = ? AND round = ?"));
  std::vector<uint8_t> blob = s.server->SerializeState();
  up.Bind(1, s.phase).BindBlob(2, blob).Bind(3, study_id).Bind(4, round);
  return up.Run().status();
}

}  // namespace

// Creates one task per node of `payloads` for `phase`, from the node's task of the round.
static Status CreatePhaseTasks(SqliteDb& db, Clock& clock, std::chrono::milliseconds timeout,
                               const std::string& study_id, int round, const std::string& phase,
                               const std::map<std::string, std::string>& payloads) {
  const int64_t now = clock.NowMicros();
  const int64_t deadline =
      now + std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  ASSIGN_OR_RETURN(Statement base, db.Prepare("SELECT payload FROM tasks WHERE study_id = ? AND "
                                              "round = ? AND node = ?"));
  ASSIGN_OR_RETURN(Statement ins,
                   db.Prepare("INSERT INTO secagg_tasks(task_id, study_id, round, node, phase, "
                              "payload, state, created_at, deadline) VALUES (?, ?, ?, ?, ?, ?, "
                              "'pending', ?, ?)"));
  for (const auto& [node, payload] : payloads) {
    base.Reset();
    base.Bind(1, study_id).Bind(2, round).Bind(3, node);
    ASSIGN_OR_RETURN(bool has, base.Step());
    if (!has) return Status::Internal("secure round: the node's task vanished");
    json task = json::parse(base.ColumnText(0), nullptr, false);
    const std::string task_id = fmt::format("{}-r{}-{}-{}", study_id, round, node, phase);
    task["task_id"] = task_id;
    task["secagg"]["phase"] = phase;
    task["secagg"]["payload"] = payload;
    ins.Reset();
    ins.Bind(1, task_id).Bind(2, study_id).Bind(3, round).Bind(4, node).Bind(5, phase);
    ins.Bind(6, task.dump()).Bind(7, now).Bind(8, deadline);
    RETURN_IF_ERROR(ins.Run().status());
  }
  return Status::Ok();
}

Status StudyEngine::StartSecureSession(const std::string& study_id, int round,
                                       const std::vector<protocol::TaskResult>& results,
                                       std::vector<std::string>* notify_nodes) {
  ASSIGN_OR_RETURN(std::vector<AnalysisRow> rows, LoadAnalyses(study_id));
  ASSIGN_OR_RETURN(std::vector<std::string> nodes, StudyNodes(study_id));
  json layout = json::array();
  uint64_t length = 0;
  for (const auto& a : rows) {
    if (a.done) continue;
    ASSIGN_OR_RETURN(size_t len, registry_.Find(a.type)->ShareLength(*a.spec, a.round, a.input));
    layout.push_back({a.id, len});
    length += len;
  }
  ASSIGN_OR_RETURN(privacy::SecureRoundParams params,
                   privacy::MakeSecureRound(study_id, static_cast<uint32_t>(round), nodes,
                                            std::max<uint64_t>(length, 1)));
  ASSIGN_OR_RETURN(auto server, secagg::Server::Create(params.config));
  // Each node's certificate and signature over its advertisement, relayed to the peers (which
  // check them; the hub cannot forge them).
  std::map<uint32_t, privacy::AdvertAttestation> attestations;
  for (const auto& r : results) {
    if (r.status != protocol::ResultStatus::kOk || !r.secagg) continue;
    auto bytes = protocol::Base64Decode(r.secagg->payload);
    if (!bytes.ok()) return FailStudy(study_id, fmt::format("node {}: malformed keys", r.node));
    auto signed_advert = privacy::DecodeSignedAdvert(*bytes);
    auto m = signed_advert.ok() ? secagg::Decode<secagg::AdvertiseKeys>(signed_advert->advert,
                                                                        server->session_id())
                                : Result<secagg::AdvertiseKeys>(signed_advert.status());
    Status added = m.ok() ? (m->sender == params.indices.at(r.node)
                                 ? server->AddAdvertisement(*m)
                                 : Status::InvalidArgument("keys advertised for another node"))
                          : m.status();
    if (added.ok() && !signed_advert->attestation.certificate.empty()) {
      attestations[m->sender] = signed_advert->attestation;
    }
    if (!added.ok()) {
      return FailStudy(study_id, fmt::format("secure aggregation, round {}: node {}: {}", round,
                                             r.node, added.message()));
    }
  }
  auto directory = server->CloseAdvertiseRound();
  if (!directory.ok()) {
    return FailStudy(study_id, fmt::format("secure aggregation, round {}: {}", round,
                                           directory.status().message()));
  }
  const std::string payload = protocol::Base64Encode(privacy::EncodeSignedDirectory(
      secagg::Encode(server->session_id(), *directory), attestations));
  std::map<std::string, std::string> payloads;
  for (const auto& k : directory->keys) payloads[NodeOfIndex(params.indices, k.sender)] = payload;
  ASSIGN_OR_RETURN(Statement ins, db_.Prepare("INSERT INTO secagg_sessions(study_id, round, "
                                              "phase, params, layout, server) VALUES (?, ?, "
                                              "'share_keys', ?, ?, ?)"));
  std::vector<uint8_t> blob = server->SerializeState();
  ins.Bind(1, study_id).Bind(2, round).Bind(3, privacy::SecureRoundToJson(params).dump());
  ins.Bind(4, layout.dump()).BindBlob(5, blob);
  RETURN_IF_ERROR(ins.Run().status());
  RETURN_IF_ERROR(CreatePhaseTasks(db_, clock_, options_.task_timeout, study_id, round,
                                   "share_keys", payloads));
  log::Info("hub: study {} round {}: secure aggregation of {} value(s) over {} node(s)", study_id,
            round, length, payloads.size());
  for (const auto& [node, p] : payloads) notify_nodes->push_back(node);
  return Status::Ok();
}

Result<std::optional<std::string>> StudyEngine::NextSecurePayload(const std::string& node) {
  return TakeNextPayload("secagg_tasks", node);
}

namespace {

// Adds a node's phase message to the session. Errors are the node's (the hub answers 400).
Status AddPhaseMessage(Session& s, const std::string& node, const std::vector<uint8_t>& bytes) {
  const uint32_t index = s.params.indices.at(node);
  const auto& session = s.server->session_id();
  auto check_sender = [&](uint32_t sender) {
    return sender == index ? Status::Ok()
                           : Status::InvalidArgument("the message names another sender");
  };
  if (s.phase == "share_keys") {
    ASSIGN_OR_RETURN(auto m, secagg::Decode<secagg::ShareKeys>(bytes, session));
    RETURN_IF_ERROR(check_sender(m.sender));
    return s.server->AddShareKeys(m);
  }
  if (s.phase == "masked_input") {
    ASSIGN_OR_RETURN(auto m, secagg::Decode<secagg::MaskedInput>(bytes, session));
    RETURN_IF_ERROR(check_sender(m.sender));
    return s.server->AddMaskedInput(m);
  }
  if (s.phase == "unmask") {
    ASSIGN_OR_RETURN(auto m, secagg::Decode<secagg::UnmaskResponse>(bytes, session));
    RETURN_IF_ERROR(check_sender(m.sender));
    return s.server->AddUnmaskResponse(m);
  }
  return Status::FailedPrecondition("the secure session is not waiting for this phase");
}

}  // namespace

Result<std::optional<AcceptOutcome>> StudyEngine::AcceptSecureResult(
    const std::string& node, const std::string& task_id, const std::string& idempotency_key,
    const protocol::TaskResult& result, std::string_view body) {
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT study_id, round, node, phase, state, "
                                            "idempotency_key FROM secagg_tasks WHERE task_id = "
                                            "?"));
  q.Bind(1, task_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  // Not a phase task: AcceptResult goes on (and checks a secure round's own task's result).
  if (!has) return std::optional<AcceptOutcome>();
  const PostedTask posted{q.ColumnText(0), static_cast<int>(q.ColumnInt(1)), q.ColumnText(2),
                          q.ColumnText(4), q.ColumnOptionalText(5).value_or("")};
  const std::string phase = q.ColumnText(3);
  q.Reset();
  const std::string& study_id = posted.study_id;
  const int round = posted.round;
  ASSIGN_OR_RETURN(bool duplicate,
                   CheckPost(task_id, posted, {"done", "dropped"}, node, idempotency_key, result));
  if (duplicate) return std::optional<AcceptOutcome>(AcceptOutcome{true});
  const bool ok = result.status == protocol::ResultStatus::kOk;
  std::vector<uint8_t> bytes;
  if (ok) {
    if (!result.secagg || result.secagg->phase != phase || !result.shares.empty()) {
      return Status::InvalidArgument(fmt::format(
          "result: a \"{}\" phase result carries secagg.phase \"{}\" and its message, no shares",
          phase, phase));
    }
    ASSIGN_OR_RETURN(bytes, DecodePayload(*result.secagg, node));
  }
  std::vector<std::string> notify_nodes;
  {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_));
    ASSIGN_OR_RETURN(Session s, LoadSession(db_, study_id, round));
    if (s.phase != phase) {
      return Status::FailedPrecondition(
          fmt::format("task {}: the secure session has moved past phase {}", task_id, phase));
    }
    if (ok) {
      Status added = AddPhaseMessage(s, node, bytes);
      if (!added.ok()) {
        return Status::InvalidArgument(
            fmt::format("result.secagg ({} phase): {}", phase, added.message()));
      }
      RETURN_IF_ERROR(SaveSession(db_, study_id, round, s));
    } else {
      log::Warn("hub: study {} round {}: node {} dropped out of secure aggregation at phase {}: {}",
                study_id, round, node, phase, result.message);
    }
    ASSIGN_OR_RETURN(Statement up, db_.Prepare("UPDATE secagg_tasks SET state = ?, "
                                               "idempotency_key = ? WHERE task_id = ?"));
    up.Bind(1, ok ? "done" : "dropped").Bind(2, idempotency_key).Bind(3, task_id);
    RETURN_IF_ERROR(up.Run().status());
    ResultAccepted(result, body);
    RETURN_IF_ERROR(AdvanceSecureSession(study_id, round, phase, &notify_nodes));
    RETURN_IF_ERROR(tx.Commit());
  }
  if (!notify_nodes.empty() && on_tasks_) on_tasks_(notify_nodes);
  if (on_study_changed_) on_study_changed_(study_id);
  return std::optional<AcceptOutcome>(AcceptOutcome{});
}

Status StudyEngine::AdvanceSecureSession(const std::string& study_id, int round,
                                         const std::string& phase,
                                         std::vector<std::string>* notify_nodes) {
  ASSIGN_OR_RETURN(Statement left, db_.Prepare("SELECT count(*) FROM secagg_tasks WHERE study_id "
                                               "= ? AND round = ? AND phase = ? AND state IN "
                                               "('pending', 'dispatched')"));
  left.Bind(1, study_id).Bind(2, round).Bind(3, phase);
  ASSIGN_OR_RETURN(bool row, left.Step());
  if (!row || left.ColumnInt(0) != 0) return Status::Ok();
  left.Reset();
  ASSIGN_OR_RETURN(Session s, LoadSession(db_, study_id, round));
  if (s.phase != phase) return Status::Ok();
  auto fail = [&](const Status& why) {
    return FailStudy(study_id, fmt::format("secure aggregation of round {} failed at phase {}: {}",
                                           round, phase, why.message()));
  };
  std::map<std::string, std::string> payloads;
  if (phase == "share_keys") {
    auto shares = s.server->CloseShareKeysRound();
    if (!shares.ok()) return fail(shares.status());
    for (const auto& [index, m] : *shares) {
      payloads[NodeOfIndex(s.params.indices, index)] =
          protocol::Base64Encode(secagg::Encode(s.server->session_id(), m));
    }
  } else if (phase == "masked_input") {
    auto survivors = s.server->CloseMaskedInputRound();
    if (!survivors.ok()) return fail(survivors.status());
    const std::string payload =
        protocol::Base64Encode(secagg::Encode(s.server->session_id(), *survivors));
    for (uint32_t index : survivors->survivors) {
      payloads[NodeOfIndex(s.params.indices, index)] = payload;
    }
  } else if (phase == "unmask") {
    auto aggregate = s.server->Finish();
    if (!aggregate.ok()) return fail(aggregate.status());
    s.phase = "done";
    RETURN_IF_ERROR(SaveSession(db_, study_id, round, s));
    ASSIGN_OR_RETURN(auto codec, privacy::FixedPointCodec::Create(s.params.fixed));
    std::vector<double> sum = codec.Decode(aggregate->sum);
    SecureSum secure;
    size_t offset = 0;
    for (const auto& [id, len] : s.layout) {
      secure.sums[id] =
          std::vector<double>(sum.begin() + static_cast<std::ptrdiff_t>(offset),
                              sum.begin() + static_cast<std::ptrdiff_t>(offset + len));
      offset += len;
    }
    std::vector<std::string> included = NodesOf(s.params.indices, aggregate->included);
    secure.included.insert(included.begin(), included.end());
    std::vector<std::string> dropped;
    for (const auto& [node, index] : s.params.indices) {
      if (!secure.included.count(node)) dropped.push_back(node);
    }
    std::vector<std::string> tampered =
        NodesOf(s.params.indices, aggregate->tampered_share_holders);
    if (!tampered.empty()) {
      log::Warn(
          "hub: study {} round {}: node(s) {} revealed a wrong share (detected and "
          "excluded)",
          study_id, round, fmt::join(tampered, ", "));
    }
    // The strictest thresholds of the included nodes apply to the sum.
    secure.thresholds = {0, 0, std::numeric_limits<int64_t>::max()};
    ASSIGN_OR_RETURN(Statement rq, db_.Prepare("SELECT node, result FROM tasks WHERE study_id = ? "
                                               "AND round = ?"));
    rq.Bind(1, study_id).Bind(2, round);
    for (;;) {
      ASSIGN_OR_RETURN(bool has, rq.Step());
      if (!has) break;
      if (!secure.included.count(rq.ColumnText(0))) continue;
      json r = json::parse(rq.ColumnText(1), nullptr, false);
      if (!r.is_object() || !r.contains("applied")) continue;
      secure.thresholds.min_cell =
          std::max(secure.thresholds.min_cell, r["applied"].value("min_cell", int64_t{0}));
      secure.thresholds.min_rows =
          std::max(secure.thresholds.min_rows, r["applied"].value("min_rows", int64_t{0}));
      secure.thresholds.rounding_base = std::max(secure.thresholds.rounding_base,
                                                 r["applied"].value("rounding_base", int64_t{1}));
    }
    rq.Reset();
    secure.report = {{"secure_aggregation", true},
                     {"included", included},
                     {"dropped", dropped},
                     {"tampered_share_holders", tampered},
                     {"threshold", s.params.config.threshold}};
    log::Info("hub: study {} round {}: sum unmasked ({} node(s) included, {} dropped)", study_id,
              round, included.size(), dropped.size());
    return CompleteRound(study_id, round, notify_nodes, &secure);
  } else {
    return Status::Ok();
  }
  s.phase = PhaseAfter(phase);
  RETURN_IF_ERROR(SaveSession(db_, study_id, round, s));
  RETURN_IF_ERROR(
      CreatePhaseTasks(db_, clock_, options_.task_timeout, study_id, round, s.phase, payloads));
  for (const auto& [node, p] : payloads) notify_nodes->push_back(node);
  return Status::Ok();
}

Result<int> StudyEngine::CheckSecureDeadlines() {
  ASSIGN_OR_RETURN(Statement q,
                   db_.Prepare("SELECT t.task_id, t.study_id, t.round, t.phase, t.node FROM "
                               "secagg_tasks t JOIN studies s ON s.id = t.study_id WHERE s.state "
                               "= 'running' AND t.state IN ('pending', 'dispatched') AND "
                               "t.deadline < ? ORDER BY t.study_id, t.round, t.node"));
  q.Bind(1, clock_.NowMicros());
  struct Overdue {
    std::string task_id, study_id, phase, node;
    int round;
  };
  std::vector<Overdue> overdue;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    overdue.push_back({q.ColumnText(0), q.ColumnText(1), q.ColumnText(3), q.ColumnText(4),
                       static_cast<int>(q.ColumnInt(2))});
  }
  q.Reset();
  if (overdue.empty()) return 0;
  std::vector<std::string> notify_nodes;
  std::set<std::string> studies;
  {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db_));
    ASSIGN_OR_RETURN(Statement up, db_.Prepare("UPDATE secagg_tasks SET state = 'dropped' WHERE "
                                               "task_id = ?"));
    for (const auto& o : overdue) {
      log::Warn(
          "hub: study {} round {}: node {} did not answer phase {} of secure aggregation "
          "in time; it drops out",
          o.study_id, o.round, o.node, o.phase);
      up.Reset();
      up.Bind(1, o.task_id);
      RETURN_IF_ERROR(up.Run().status());
    }
    for (const auto& o : overdue) {
      if (!studies.insert(o.study_id).second) continue;
      RETURN_IF_ERROR(AdvanceSecureSession(o.study_id, o.round, o.phase, &notify_nodes));
    }
    RETURN_IF_ERROR(tx.Commit());
  }
  if (!notify_nodes.empty() && on_tasks_) on_tasks_(notify_nodes);
  if (on_study_changed_) {
    for (const auto& s : studies) on_study_changed_(s);
  }
  return static_cast<int>(studies.size());
}

Status StudyEngine::CancelSecureTasks(const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement st, db_.Prepare("UPDATE secagg_tasks SET state = 'cancelled' WHERE "
                                             "study_id = ? AND state IN ('pending', "
                                             "'dispatched')"));
  st.Bind(1, study_id);
  return st.Run().status();
}

Result<bool> StudyEngine::MaybeRestartSecure(const std::string& study_id, int round,
                                             const std::string& node,
                                             const protocol::TaskResult& result,
                                             std::vector<std::string>* notify_nodes) {
  if (result.status != protocol::ResultStatus::kRefused || result.rule != kRequireSecureRule) {
    return false;
  }
  ASSIGN_OR_RETURN(Statement rec, db_.Prepare("INSERT INTO node_privacy(node, "
                                              "require_secure_aggregation, updated_at) VALUES "
                                              "(?, 1, ?) ON CONFLICT(node) DO UPDATE SET "
                                              "require_secure_aggregation = 1, updated_at = "
                                              "excluded.updated_at"));
  rec.Bind(1, node).Bind(2, clock_.NowMicros());
  RETURN_IF_ERROR(rec.Run().status());
  ASSIGN_OR_RETURN(bool secure, IsSecureStudy(study_id));
  if (secure) return false;
  ASSIGN_OR_RETURN(Statement sq, db_.Prepare("SELECT definition, state FROM studies WHERE id = ?"));
  sq.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool found, sq.Step());
  if (!found || sq.ColumnText(1) != "running") return false;
  json definition = json::parse(sq.ColumnText(0), nullptr, false);
  sq.Reset();
  definition["privacy"]["secure_aggregation"] = true;
  const int64_t now = clock_.NowMicros();
  const int next = round + 1;
  ASSIGN_OR_RETURN(Statement up, db_.Prepare("UPDATE studies SET definition = ?, round = ?, "
                                             "updated_at = ? WHERE id = ?"));
  up.Bind(1, definition.dump()).Bind(2, next).Bind(3, now).Bind(4, study_id);
  RETURN_IF_ERROR(up.Run().status());
  ASSIGN_OR_RETURN(Statement cancel, db_.Prepare("UPDATE tasks SET state = 'cancelled' WHERE "
                                                 "study_id = ? AND round = ? AND state IN "
                                                 "('pending', 'dispatched')"));
  cancel.Bind(1, study_id).Bind(2, round);
  RETURN_IF_ERROR(cancel.Run().status());
  ASSIGN_OR_RETURN(Statement rd, db_.Prepare("UPDATE rounds SET completed_at = ? WHERE study_id = "
                                             "? AND round = ?"));
  rd.Bind(1, now).Bind(2, study_id).Bind(3, round);
  RETURN_IF_ERROR(rd.Run().status());
  ASSIGN_OR_RETURN(Statement nr, db_.Prepare("INSERT INTO rounds VALUES (?, ?, ?, NULL)"));
  nr.Bind(1, study_id).Bind(2, next).Bind(3, now);
  RETURN_IF_ERROR(nr.Run().status());
  // The next round's tasks are the refused round's, renumbered and secure (no analysis moved:
  // nothing was combined), so that everything else a task carries is kept as it was.
  ASSIGN_OR_RETURN(std::vector<AnalysisRow> rows, LoadAnalyses(study_id));
  ASSIGN_OR_RETURN(std::vector<std::string> nodes, StudyNodes(study_id));
  ASSIGN_OR_RETURN(Statement prev, db_.Prepare("SELECT node, payload FROM tasks WHERE study_id = "
                                               "? AND round = ? ORDER BY node"));
  prev.Bind(1, study_id).Bind(2, round);
  std::vector<protocol::Task> tasks;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, prev.Step());
    if (!has) break;
    auto t = protocol::Task::FromJson(json::parse(prev.ColumnText(1), nullptr, false));
    if (!t.ok()) return Status::DataLoss("hub state: malformed stored task");
    t->round = next;
    t->task_id = fmt::format("{}-r{}-{}", study_id, next, prev.ColumnText(0));
    t->secagg.reset();
    t->privacy = json::object();
    RETURN_IF_ERROR(DecorateTask(study_id, nodes, rows, *t));
    tasks.push_back(std::move(t).value());
  }
  prev.Reset();
  const int64_t deadline =
      now + std::chrono::duration_cast<std::chrono::microseconds>(options_.task_timeout).count();
  ASSIGN_OR_RETURN(Statement ins,
                   db_.Prepare("INSERT INTO tasks(task_id, study_id, round, node, payload, state, "
                               "created_at, deadline) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"));
  for (const auto& t : tasks) {
    ins.Reset();
    ins.Bind(1, t.task_id).Bind(2, study_id).Bind(3, next).Bind(4, t.node);
    ins.Bind(5, t.ToJson().dump()).Bind(6, now).Bind(7, deadline);
    RETURN_IF_ERROR(ins.Run().status());
  }
  log::Info("hub: node {} requires secure aggregation; study {} restarts securely in round {}",
            node, study_id, next);
  *notify_nodes = nodes;
  return true;
}

Result<json> StudyEngine::PrivacyReport(const std::string& study_id, const SecureSum* secure) {
  json out = json::object();
  if (secure) out = secure->report;
  ASSIGN_OR_RETURN(Statement q, db_.Prepare("SELECT node, result FROM tasks WHERE study_id = ? "
                                            "AND state = 'done' ORDER BY round, node"));
  q.Bind(1, study_id);
  json dp = json::object();
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    json r = json::parse(q.ColumnText(1), nullptr, false);
    if (!r.is_object() || !r.contains("privacy") || !r["privacy"].contains("dp")) continue;
    const json& d = r["privacy"]["dp"];
    json& e = dp[q.ColumnText(0)];
    if (!e.is_object()) e = json::object();
    e["rho"] = e.value("rho", 0.0) + d.value("rho", 0.0);
    if (d.contains("rho_left")) e["rho_left"] = d["rho_left"];
    if (d.contains("project")) e["project"] = d["project"];
  }
  if (!dp.empty()) out["dp"] = std::move(dp);
  return out;
}

}  // namespace passerelle::hub
