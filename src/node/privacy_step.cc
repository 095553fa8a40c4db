#include "node/privacy_step.h"

#include <fmt/format.h>

#include <algorithm>

#include <cmath>
#include <fstream>

#include "common/files.h"
#include "common/log.h"
#include "crypto/cert_sign.h"
#include "privacy/accountant.h"
#include "privacy/differencing.h"
#include "privacy/fixed_point.h"
#include "privacy/secagg.h"
#include "privacy/secure_round.h"
#include "privacy/sqlite_state.h"
#include "privacy/study_dp.h"
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
  std::map<uint32_t, std::string> nodes;  // Shamir index -> node id
};

PrivacyStep::PrivacyStep(PrivacyStepOptions options, RandomSource& random, Clock& clock)
    : options_(std::move(options)), random_(random), clock_(clock) {}

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
  // Each node's share is released on its own: each carries the whole noise.
  return Compute(task, data, policy, registry, 1);
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
    // The sum holds at least t nodes' noise shares.
    protocol::TaskResult computed = Compute(task, data, policy, registry, params->config.threshold);
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
    const std::vector<uint8_t> advert_bytes = secagg::Encode((*client)->session_id(), *advert);
    privacy::AdvertAttestation attestation;
    if (!options_.tls.key_pem.empty()) {
      // Signed with this node's certificate key, so that peers can tell the hub did not
      // substitute the keys (docs/secure-aggregation.md, "Signed advertisements").
      auto signature = crypto::SignWithCertificateKey(
          options_.tls.key_pem,
          crypto::AsBytes(privacy::AdvertisementMessage(options_.node_id, advert_bytes)));
      if (!signature.ok()) return fail(signature.status().message());
      attestation = {options_.tls.cert_pem, std::move(signature).value()};
    }
    auto session = std::make_unique<Session>();
    session->session_id = (*client)->session_id();
    for (const auto& [node, index] : params->indices) session->nodes[index] = node;
    session->client = std::move(client).value();
    session->input = std::move(encoded).value();
    // One session per study at a time: a newer round replaces an abandoned older one.
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      it = it->first.rfind(task.study_id + "/", 0) == 0 ? sessions_.erase(it) : std::next(it);
    }
    r = std::move(computed);
    for (auto& s : r.shares) s.values.clear();
    r.secagg = protocol::SecaggWire{
        phase, nlohmann::json::object(),
        protocol::Base64Encode(privacy::EncodeSignedAdvert(advert_bytes, attestation))};
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
    auto signed_dir = privacy::DecodeSignedDirectory(*bytes);
    if (!signed_dir.ok()) return fail(signed_dir.status().message());
    auto u1 = secagg::Decode<secagg::KeyDirectory>(signed_dir->directory, s.session_id);
    if (!u1.ok()) return fail(u1.status().message());
    if (!options_.tls.ca_pem.empty()) {
      // Before any pairwise mask is derived: every key must be the one its node signed.
      for (const auto& k : u1->keys) {
        auto node = s.nodes.find(k.sender);
        auto a = signed_dir->attestations.find(k.sender);
        if (node == s.nodes.end()) return fail("the key directory names a non-participant");
        if (a == signed_dir->attestations.end()) {
          return fail(
              fmt::format("the keys of node {} come without its signature; refusing "
                          "keys the hub could have substituted",
                          node->second));
        }
        secagg::AdvertiseKeys as_signed = k;
        as_signed.signature.reset();
        const std::vector<uint8_t> advert = secagg::Encode(s.session_id, as_signed);
        Status ok = crypto::VerifyCertificateSignature(
            options_.tls.ca_pem, a->second.certificate, node->second,
            crypto::AsBytes(privacy::AdvertisementMessage(node->second, advert)),
            a->second.signature);
        if (!ok.ok()) {
          return fail(
              fmt::format("the keys relayed for node {} are not the ones it signed ({}); "
                          "the hub may have substituted them",
                          node->second, ok.message()));
        }
      }
    }
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

// ---- Differential privacy and the differencing defence ----------------------------------------

namespace {

constexpr std::string_view kNoProject = "(no project)";

// Clips the study's bounded variables as the analyses read them (pushdown is given up for those
// variables: their moments are computed here from clipped values).
class ClippingTable final : public analysis::AnalysisTable {
 public:
  ClippingTable(std::unique_ptr<analysis::AnalysisTable> inner,
                std::map<std::string, std::pair<double, double>> clip)
      : inner_(std::move(inner)), clip_(std::move(clip)) {}
  Result<int64_t> RowCount() override { return inner_->RowCount(); }
  Result<std::vector<analysis::VariableInfo>> Variables() override { return inner_->Variables(); }
  Result<std::vector<analysis::Moments>> NumericMoments(
      const std::vector<std::string>& variables) override {
    ASSIGN_OR_RETURN(auto columns, ReadNumeric(variables));
    std::vector<analysis::Moments> out(variables.size());
    for (size_t v = 0; v < variables.size(); ++v) {
      for (double x : columns[v]) {
        if (std::isnan(x)) {
          ++out[v].n_missing;
        } else {
          ++out[v].n;
          out[v].sum += x;
          out[v].sum_sq += x * x;
        }
      }
    }
    return out;
  }
  Result<std::vector<analysis::LevelCount>> Levels(const std::string& variable,
                                                   size_t limit) override {
    return inner_->Levels(variable, limit);
  }
  Result<std::vector<analysis::CellCount>> CrossCounts(const std::string& row,
                                                       const std::string& col) override {
    return inner_->CrossCounts(row, col);
  }
  Result<std::vector<std::vector<double>>> ReadNumeric(
      const std::vector<std::string>& variables) override {
    ASSIGN_OR_RETURN(auto columns, inner_->ReadNumeric(variables));
    for (size_t v = 0; v < variables.size(); ++v) {
      auto it = clip_.find(variables[v]);
      if (it == clip_.end()) continue;
      for (double& x : columns[v]) {
        if (!std::isnan(x)) x = std::clamp(x, it->second.first, it->second.second);
      }
    }
    return columns;
  }

 private:
  std::unique_ptr<analysis::AnalysisTable> inner_;
  std::map<std::string, std::pair<double, double>> clip_;
};

class ClippingProvider final : public DataProvider {
 public:
  ClippingProvider(DataProvider& inner, std::map<std::string, std::pair<double, double>> clip)
      : inner_(inner), clip_(std::move(clip)) {}
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenTable(const std::string& dataset) override {
    ASSIGN_OR_RETURN(auto t, inner_.OpenTable(dataset));
    return std::unique_ptr<analysis::AnalysisTable>(
        std::make_unique<ClippingTable>(std::move(t), clip_));
  }
  // OMOP studies: the study's analysis table (node/cohort_provider.h), clipped the same way.
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenForTask(
      const protocol::Task& task) override {
    ASSIGN_OR_RETURN(auto t, inner_.OpenForTask(task));
    return std::unique_ptr<analysis::AnalysisTable>(
        std::make_unique<ClippingTable>(std::move(t), clip_));
  }

 private:
  DataProvider& inner_;
  std::map<std::string, std::pair<double, double>> clip_;
};

// Which components of an analysis's share get noise, and the share's L2 sensitivity in units of
// one person's change (see study_dp.h). Refuses analyses without a DP mechanism here.
Status DpLayout(const protocol::TaskStep& step, size_t length, const privacy::DpRequest& dp,
                std::vector<privacy::DpComponent>* components, double* l2_units) {
  components->clear();
  *l2_units = 1;
  if (length == 0) return Status::Ok();  // nothing summed this round (e.g. a table's levels)
  if (step.type == "count") {
    components->push_back({0, 1.0, true});  // n; the suppression flag is not data
    return Status::Ok();
  }
  if (step.type == "table") {
    // One person is in one cell: L2 sensitivity 1 over the cells.
    const size_t cells = (length - 1) / 3;
    for (size_t i = 0; i < cells; ++i) components->push_back({i, 1.0, true});
    return Status::Ok();
  }
  if (step.type == "summary") {
    const auto& vars = step.spec.value("variables", nlohmann::json::array());
    for (size_t v = 0; v < vars.size(); ++v) {
      const std::string name = vars[v].get<std::string>();
      auto it = dp.clip.find(name);
      if (it == dp.clip.end()) {
        return analysis::RefuseByRule(
            "dp", fmt::format("variable \"{}\" has no clipping bounds (privacy.dp.clip); a "
                              "differentially private summary needs them",
                              name));
      }
      const double b = std::max({std::abs(it->second.first), std::abs(it->second.second), 1e-9});
      const size_t base = v * 5;  // n, sum, sum of squares, n missing, flag
      components->push_back({base, 1.0, true});
      components->push_back({base + 1, b, false});
      components->push_back({base + 2, b * b, false});
      components->push_back({base + 3, 1.0, true});
    }
    // A person changes n or n_missing (not both), the sum and the sum of squares of each variable.
    *l2_units = std::sqrt(3.0 * static_cast<double>(vars.size()));
    return Status::Ok();
  }
  return analysis::RefuseByRule(
      "dp",
      fmt::format("analysis \"{}\" has no differentially private release at this node", step.type));
}

}  // namespace

Status PrivacyStep::OpenState() {
  if (ledger_) return Status::Ok();
  if (options_.state_path.empty()) {
    ledger_ = std::make_unique<privacy::InMemoryLedger>();
    fingerprints_ = std::make_unique<privacy::InMemoryFingerprintStore>();
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(state_, privacy::SqlitePrivacyState::Open(options_.state_path));
  return Status::Ok();
}

Result<std::string> PrivacyStep::CheckPopulation(const protocol::Task& task, DataProvider& data,
                                                 const NodePolicy& policy) {
  ASSIGN_OR_RETURN(auto table, data.OpenForTask(task));
  auto vars = table->Variables();
  if (!vars.ok()) return vars.status();
  bool has_ids = false;
  for (const auto& v : *vars) {
    has_ids |= v.name == "person_id" && v.kind == analysis::VariableKind::kNumeric;
  }
  if (!has_ids) return std::string();  // a flat table without person ids: nothing to compare
  ASSIGN_OR_RETURN(auto columns, table->ReadNumeric({"person_id"}));
  std::vector<int64_t> ids;
  ids.reserve(columns[0].size());
  for (double x : columns[0]) {
    if (!std::isnan(x)) ids.push_back(static_cast<int64_t>(x));
  }
  RETURN_IF_ERROR(OpenState());
  // The fingerprint key is a secret of the node, kept beside its privacy state.
  if (!fingerprint_key_) {
    crypto::Bytes32 key{};
    const auto key_path = options_.state_path.empty()
                              ? std::filesystem::path()
                              : std::filesystem::path(options_.state_path.string() + ".key");
    std::ifstream in(key_path, std::ios::binary);
    if (!key_path.empty() && in && in.read(reinterpret_cast<char*>(key.data()), key.size())) {
      fingerprint_key_ = key;
    } else {
      random_.Fill(key);
      if (!key_path.empty()) {
        RETURN_IF_ERROR(WriteFileAtomic(key_path, std::string(key.begin(), key.end())));
        std::filesystem::permissions(
            key_path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
      }
      fingerprint_key_ = key;
    }
  }
  const int64_t min_diff =
      policy.min_population_difference > 0 ? policy.min_population_difference : policy.min_rows;
  ASSIGN_OR_RETURN(
      auto fp, privacy::PopulationFingerprint::Build(
                   *fingerprint_key_, ids, privacy::PopulationFingerprint::DefaultCells(min_diff)));
  privacy::FingerprintStore& store =
      state_ ? static_cast<privacy::FingerprintStore&>(*state_) : *fingerprints_;
  privacy::DifferencingGuard guard(store, {.min_rows = min_diff});
  std::string project = task.privacy.value("project", std::string(kNoProject));
  Status st =
      guard.CheckAndRecord(options_.node_id, project, task.study_id, fp, clock_.NowMicros());
  if (st.code() == StatusCode::kPermissionDenied) return st.message();
  RETURN_IF_ERROR(st);
  return std::string();
}

protocol::TaskResult PrivacyStep::Compute(const protocol::Task& task, DataProvider& data,
                                          const NodePolicy& policy,
                                          const analysis::Registry& registry, uint32_t shares) {
  auto refuse = [&](protocol::TaskResult r, std::string rule, std::string message) {
    r.status = protocol::ResultStatus::kRefused;
    r.rule = std::move(rule);
    r.message = std::move(message);
    r.shares.clear();
    r.secagg.reset();
    log::Warn("node {}: task {} refused (rule {}): {}", options_.node_id, task.task_id, r.rule,
              r.message);
    return r;
  };
  auto fail = [&](protocol::TaskResult r, std::string message) {
    r.status = protocol::ResultStatus::kError;
    r.message = std::move(message);
    r.shares.clear();
    r.secagg.reset();
    return r;
  };
  protocol::TaskResult base;
  base.task_id = task.task_id;
  base.study_id = task.study_id;
  base.round = task.round;
  base.node = options_.node_id;

  // Differencing defence first (a refused population releases nothing), once per study: on the
  // task that starts an analysis (the population of a study does not change between rounds).
  const bool starts_analysis = std::any_of(task.steps.begin(), task.steps.end(),
                                           [](const auto& step) { return step.round == 0; });
  if (starts_analysis) {
    auto population = CheckPopulation(task, data, policy);
    if (!population.ok()) return fail(base, population.status().message());
    if (!population->empty()) return refuse(base, "differencing", *population);
  }

  std::optional<privacy::DpRequest> dp;
  if (task.privacy.contains("dp")) {
    auto parsed = privacy::ParseDpRequest(task.privacy["dp"], "task.privacy.dp");
    if (!parsed.ok()) return fail(base, parsed.status().message());
    dp = std::move(parsed).value();
  }
  if (!dp) return ExecuteTask(task, data, policy, options_.node_id, registry);
  for (const auto& step : task.steps) {
    // Checked before any data is read (the clipping table serves only what these analyses read).
    if (step.type != "count" && step.type != "table" && step.type != "summary") {
      return refuse(base, "dp",
                    fmt::format("analysis \"{}\" has no differentially private release at this "
                                "node (count, table and summary have)",
                                step.type));
    }
  }

  ClippingProvider clipped(data, dp->clip);
  protocol::TaskResult r = ExecuteTask(task, clipped, policy, options_.node_id, registry);
  if (r.status != protocol::ResultStatus::kOk) return r;
  // Noise on copies first; the ledger is charged before anything is released.
  std::vector<std::vector<double>> noisy;
  double rho = 0;
  for (const auto& step : task.steps) {
    auto share = std::find_if(r.shares.begin(), r.shares.end(),
                              [&](const auto& s) { return s.analysis_id == step.analysis_id; });
    if (share == r.shares.end()) return fail(base, "a step has no share");
    std::vector<privacy::DpComponent> components;
    double l2_units = 1;
    Status layout = DpLayout(step, share->values.size(), *dp, &components, &l2_units);
    if (!layout.ok()) {
      std::string rule = analysis::RefusalRule(layout);
      if (!rule.empty()) return refuse(base, rule, layout.message());
      return fail(base, layout.message());
    }
    noisy.push_back(share->values);
    auto outcome =
        privacy::AddDpNoise(noisy.back(), components, l2_units, shares, dp->rho, random_);
    if (!outcome.ok()) {
      return fail(base,
                  fmt::format("analysis {}: {}", step.analysis_id, outcome.status().message()));
    }
    rho += outcome->rho;
  }
  Status opened = OpenState();
  if (!opened.ok()) return fail(base, opened.message());
  privacy::PrivacyLedger& ledger =
      state_ ? static_cast<privacy::PrivacyLedger&>(*state_) : *ledger_;
  const std::string project = task.privacy.value("project", std::string(kNoProject));
  privacy::ChargeRequest charge;
  charge.node_id = options_.node_id;
  charge.project_id = project;
  charge.release_id = task.task_id;
  charge.rho = rho;
  charge.budget_rho = policy.dp_rho_budget;
  charge.description = fmt::format("study {} round {}: distributed discrete Gaussian, {} share(s)",
                                   task.study_id, task.round, shares);
  charge.time_micros = clock_.NowMicros();
  auto balance = ledger.Charge(charge);
  if (!balance.ok()) {
    if (balance.status().code() == StatusCode::kResourceExhausted) {
      return refuse(base, "dp_budget", balance.status().message());
    }
    return fail(base, balance.status().message());
  }
  size_t i = 0;
  for (const auto& step : task.steps) {
    for (auto& s : r.shares) {
      if (s.analysis_id == step.analysis_id) s.values = noisy[i];
    }
    ++i;
  }
  r.privacy["dp"] = {{"rho", rho}, {"rho_left", balance->remaining_rho}, {"project", project}};
  log::Info("node {}: task {}: DP release charged rho {:.6g} to project {} ({:.6g} left)",
            options_.node_id, task.task_id, rho, project, balance->remaining_rho);
  return r;
}

}  // namespace passerelle::node
