#include "node/privacy_step.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/log.h"
#include "privacy/fixed_point.h"
#include "privacy/secagg.h"
#include "privacy/secure_round.h"
#include "protocol/codec.h"

namespace passerelle::node {

namespace secagg = privacy::secagg;

bool IsPrivacyFailpoint(std::string_view name) {
  return name == "secagg_drop_at_masked_input" || name == "secagg_tamper_unmask";
}

Result<analysis::NodeShare> ComputeNodeShare(const analysis::Analysis& analysis,
                                             analysis::AnalysisTable& data,
                                             const analysis::AnalysisSpec& spec, int round,
                                             const analysis::RoundInput& input,
                                             const analysis::Thresholds& thresholds, bool secure) {
  if (!secure) return analysis::ComputeShare(analysis, data, spec, round, input, thresholds);
  ASSIGN_OR_RETURN(analysis::NodeShare share,
                   analysis.LocalStep(data, spec, round, input, thresholds));
  // The rule's refusals (too many levels, a saturated model...) hold for the node's own data;
  // what it would suppress is decided on the sum.
  analysis::NodeShare probe = share;
  RETURN_IF_ERROR(analysis.Disclose(spec, round, input, thresholds, probe));
  ASSIGN_OR_RETURN(size_t expected, analysis.ShareLength(spec, round, input));
  if (share.values.size() != expected) {
    return Status::Internal(
        fmt::format("analysis {} ({}) round {}: share of {} values, expected {}", spec.id,
                    spec.type, round, share.values.size(), expected));
  }
  return share;
}

struct PrivacyStep::Session {
  std::unique_ptr<secagg::Client> client;
  std::vector<uint64_t> input;  // the node's encoded shares; wiped once masked
  crypto::Bytes32 session_id{};
};

PrivacyStep::PrivacyStep(PrivacyStepOptions options, RandomSource& random)
    : options_(std::move(options)), random_(random) {}

PrivacyStep::~PrivacyStep() = default;

protocol::TaskResult PrivacyStep::Execute(const protocol::Task& task, DataProvider& data,
                                          const NodePolicy& policy,
                                          const analysis::Registry& registry) {
  if (task.secagg) return SecurePhase(task, data, policy, registry);
  if (policy.require_secure_aggregation) {
    protocol::TaskResult r;
    r.task_id = task.task_id;
    r.study_id = task.study_id;
    r.round = task.round;
    r.node = options_.node_id;
    r.status = protocol::ResultStatus::kRefused;
    r.rule = "require_secure_aggregation";
    r.message =
        "this node releases only securely aggregated sums "
        "(policy.require_secure_aggregation)";
    log::Info("node {}: task {} refused: plain aggregation (the hub restarts it securely)",
              options_.node_id, task.task_id);
    return r;
  }
  return ExecuteTask(task, data, policy, options_.node_id, registry);
}

protocol::TaskResult PrivacyStep::SecurePhase(const protocol::Task& task, DataProvider& data,
                                              const NodePolicy& policy,
                                              const analysis::Registry& registry) {
  const std::string& phase = task.secagg->phase;
  const std::string key = fmt::format("{}/{}", task.study_id, task.round);
  protocol::TaskResult r;
  r.task_id = task.task_id;
  r.study_id = task.study_id;
  r.round = task.round;
  r.node = options_.node_id;
  auto fail = [&](std::string message) {
    r.status = protocol::ResultStatus::kError;
    r.message = fmt::format("secure aggregation, phase {}: {}", phase, message);
    r.shares.clear();
    r.secagg.reset();
    log::Warn("node {}: task {}: {}", options_.node_id, task.task_id, r.message);
    sessions_.erase(key);
    return r;
  };
  auto answer = [&](std::vector<uint8_t> bytes) {
    r.status = protocol::ResultStatus::kOk;
    r.secagg = protocol::SecaggWire{phase, nlohmann::json::object(), protocol::Base64Encode(bytes)};
    return r;
  };

  if (phase == "advertise") {
    auto params = privacy::SecureRoundFromJson(task.study_id, static_cast<uint32_t>(task.round),
                                               task.secagg->session);
    if (!params.ok()) return fail(params.status().message());
    auto self = params->indices.find(options_.node_id);
    if (self == params->indices.end()) return fail("this node is not a participant of the session");
    protocol::TaskResult computed = ExecuteTask(task, data, policy, options_.node_id, registry);
    if (computed.status != protocol::ResultStatus::kOk) return computed;
    std::vector<double> values;
    for (const auto& step : task.steps) {
      auto share = std::find_if(computed.shares.begin(), computed.shares.end(),
                                [&](const auto& s) { return s.analysis_id == step.analysis_id; });
      if (share == computed.shares.end()) return fail("a step has no share");
      values.insert(values.end(), share->values.begin(), share->values.end());
    }
    if (values.empty()) values.push_back(0.0);  // a round of empty shares: one zero value
    if (values.size() != params->config.vector_length) {
      return fail(fmt::format("the shares have {} values; the session expects {}", values.size(),
                              params->config.vector_length));
    }
    auto codec = privacy::FixedPointCodec::Create(params->fixed);
    if (!codec.ok()) return fail(codec.status().message());
    auto encoded = codec->Encode(values);
    if (!encoded.ok()) {
      return fail(
          fmt::format("a statistic is outside the fixed-point range of the round (|x| <= "
                      "{}): {}",
                      params->fixed.max_abs, encoded.status().message()));
    }
    auto client = secagg::Client::Create(params->config, self->second, random_);
    if (!client.ok()) return fail(client.status().message());
    auto advert = (*client)->AdvertiseRound();
    if (!advert.ok()) return fail(advert.status().message());
    auto session = std::make_unique<Session>();
    session->session_id = (*client)->session_id();
    session->client = std::move(client).value();
    session->input = std::move(encoded).value();
    // One session per study at a time: a newer round replaces an abandoned older one.
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      it = it->first.rfind(task.study_id + "/", 0) == 0 ? sessions_.erase(it) : std::next(it);
    }
    r = std::move(computed);
    for (auto& s : r.shares) s.values.clear();
    r.secagg =
        protocol::SecaggWire{phase, nlohmann::json::object(),
                             protocol::Base64Encode(secagg::Encode(session->session_id, *advert))};
    sessions_[key] = std::move(session);
    return r;
  }

  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    return fail("this node holds no secrets for this session (it restarted, or dropped out)");
  }
  Session& s = *it->second;
  auto bytes = protocol::Base64Decode(task.secagg->payload);
  if (!bytes.ok()) return fail(bytes.status().message());
  if (phase == "share_keys") {
    auto u1 = secagg::Decode<secagg::KeyDirectory>(*bytes, s.session_id);
    if (!u1.ok()) return fail(u1.status().message());
    auto m = s.client->ShareKeysRound(*u1);
    if (!m.ok()) return fail(m.status().message());
    return answer(secagg::Encode(s.session_id, *m));
  }
  if (phase == "masked_input") {
    if (options_.failpoint == "secagg_drop_at_masked_input") {
      return fail("failpoint secagg_drop_at_masked_input: this node drops out");
    }
    auto u2 = secagg::Decode<secagg::SharesForClient>(*bytes, s.session_id);
    if (!u2.ok()) return fail(u2.status().message());
    auto m = s.client->MaskedInputRound(*u2, s.input);
    if (!m.ok()) return fail(m.status().message());
    std::fill(s.input.begin(), s.input.end(), 0);
    return answer(secagg::Encode(s.session_id, *m));
  }
  if (phase == "unmask") {
    auto u3 = secagg::Decode<secagg::SurvivorList>(*bytes, s.session_id);
    if (!u3.ok()) return fail(u3.status().message());
    auto m = s.client->UnmaskRound(*u3);
    if (!m.ok()) return fail(m.status().message());
    if (options_.failpoint == "secagg_tamper_unmask" && !m->shares.empty()) {
      m->shares.front().share.y[0] ^= 1;
    }
    auto out = answer(secagg::Encode(s.session_id, *m));
    sessions_.erase(it);
    return out;
  }
  return fail("unknown phase");
}

}  // namespace passerelle::node
