// Secure aggregation THROUGH THE PROTOCOL (issue 8, "Performance"): a GLM-like round with 20
// covariates on 3 nodes, run as a study on a sandbox federation (TLS 1.3, mTLS, long polls, the
// hub's SQLite state), plain (baseline) versus secure (the four secure-aggregation phases, fixed
// point, masking and unmasking, disclosure on the sum). Target: at most 10% more wall time.
//
// The round is one IRLS step of a logistic model at beta = 0: each node sends X'WX (21 x 21),
// X'Wz (21), the deviance and n — 464 values — computed from its rows in memory (the analysis is
// registered by the bench; the `glm` analysis of the registry, when present, does the same work).
//
// Usage: secure_round_bench [--quick] [--rows R] [--repeat K]
//   default R = 100000 rows per node, K = 7; --quick: R = 10000, K = 3.
// Prints the median wall time of a study of each kind and the ratio secure / plain.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "bench/bench_util.h"
#include "common/log.h"
#include "common/random.h"
#include "sandbox/sandbox.h"

namespace {

using nlohmann::json;
using passerelle::Result;
using passerelle::Status;
namespace analysis = passerelle::analysis;

constexpr int kCovariates = 20;
constexpr size_t kP = kCovariates + 1;  // with the intercept

class GlmRoundSpec final : public analysis::AnalysisSpec {
 public:
  json ToJson() const override { return {{"id", id}, {"type", type}}; }
};

// One IRLS step of a logistic regression at beta = 0, as a federated GLM round computes it.
class GlmRound final : public analysis::Analysis {
 public:
  std::string_view type() const override { return "glm_round"; }
  std::string_view description() const override { return "bench: one logistic IRLS round"; }
  Result<std::unique_ptr<analysis::AnalysisSpec>> ParseSpec(const json& j,
                                                            std::string_view path) const override {
    auto s = std::make_unique<GlmRoundSpec>();
    RETURN_IF_ERROR(analysis::ParseCommonFields(j, path, {"id", "type"}, *s));
    return std::unique_ptr<analysis::AnalysisSpec>(std::move(s));
  }
  Result<size_t> ShareLength(const analysis::AnalysisSpec&, int,
                             const analysis::RoundInput&) const override {
    return kP * kP + kP + 2;
  }
  Result<analysis::NodeShare> LocalStep(analysis::AnalysisTable& data,
                                        const analysis::AnalysisSpec&, int,
                                        const analysis::RoundInput&,
                                        const analysis::Thresholds&) const override {
    std::vector<std::string> names = {"y"};
    for (int j = 0; j < kCovariates; ++j) names.push_back(fmt::format("x{}", j));
    ASSIGN_OR_RETURN(auto cols, data.ReadNumeric(names));
    const size_t n = cols[0].size();
    std::vector<double> xtwx(kP * kP, 0.0), xtwz(kP, 0.0);
    double deviance = 0;
    std::vector<double> x(kP);
    for (size_t i = 0; i < n; ++i) {
      x[0] = 1;
      for (size_t j = 1; j < kP; ++j) x[j] = cols[j][i];
      const double mu = 0.5, w = mu * (1 - mu), y = cols[0][i];
      const double z = (y - mu) / w;  // eta = 0
      for (size_t a = 0; a < kP; ++a) {
        const double wa = w * x[a];
        xtwz[a] += wa * z;
        for (size_t b = a; b < kP; ++b) xtwx[a * kP + b] += wa * x[b];
      }
      deviance += -2 * (y * std::log(mu) + (1 - y) * std::log(1 - mu));
    }
    for (size_t a = 0; a < kP; ++a) {
      for (size_t b = 0; b < a; ++b) xtwx[a * kP + b] = xtwx[b * kP + a];
    }
    analysis::NodeShare share;
    share.values = xtwx;
    share.values.insert(share.values.end(), xtwz.begin(), xtwz.end());
    share.values.push_back(deviance);
    share.values.push_back(static_cast<double>(n));
    return share;
  }
  Status Disclose(const analysis::AnalysisSpec&, int, const analysis::RoundInput&,
                  const analysis::Thresholds&, analysis::NodeShare&) const override {
    return Status::Ok();
  }
  Result<analysis::CombineOutcome> Combine(const analysis::AnalysisSpec&, int,
                                           const analysis::RoundInput&,
                                           const std::vector<double>& sum, const std::vector<json>&,
                                           json&) const override {
    analysis::CombineOutcome out;
    out.result = {{"n", sum.back()}, {"deviance", sum[sum.size() - 2]}, {"xtwx00", sum[0]}};
    return out;
  }
};

analysis::MemoryTable Rows(int node, int rows) {
  analysis::MemoryTable t;
  std::vector<analysis::MemoryTable::NumericColumn> cols(kP);
  passerelle::Xoshiro256 g(static_cast<uint64_t>(node) * 7919);
  for (int i = 0; i < rows; ++i) {
    cols[0].push_back(static_cast<double>(g() % 2));
    for (size_t j = 1; j < kP; ++j) {
      cols[j].push_back(static_cast<double>(g() % 10000) / 1000.0 - 5.0);
    }
  }
  t.AddNumeric("y", cols[0]);
  for (int j = 0; j < kCovariates; ++j) t.AddNumeric(fmt::format("x{}", j), cols[j + 1]);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  int rows = 100000, repeat = 7;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      rows = 10000;
      repeat = 3;
    } else if (!std::strcmp(argv[i], "--rows") && i + 1 < argc) {
      rows = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: secure_round_bench [--quick] [--rows R] [--repeat K]\n");
      return 2;
    }
  }
  passerelle::log::Init({.level = std::getenv("BENCH_LOG") ? passerelle::log::Level::kInfo
                                                           : passerelle::log::Level::kWarn});
  auto registry = analysis::MakeBuiltinRegistry();
  if (!registry->Register(std::make_unique<GlmRound>()).ok()) return 1;
  std::vector<passerelle::sandbox::SandboxNode> nodes;
  for (int k = 1; k <= 3; ++k) {
    auto p = std::make_shared<passerelle::node::MemoryDataProvider>();
    p->Add("cohort", Rows(k, rows));
    nodes.push_back({"site" + std::to_string(k), {}, p});
  }
  passerelle::sandbox::FederationOptions opts;
  opts.policy.analyses = {"glm_round"};
  opts.long_poll = std::chrono::milliseconds(20'000);
  auto fed = passerelle::sandbox::LocalFederation::Start(opts, nodes, *registry);
  if (!fed.ok()) {
    std::fprintf(stderr, "federation: %s\n", fed.status().ToString().c_str());
    return 1;
  }
  json plain = {{"name", "glm-round"},
                {"dataset", "cohort"},
                {"analyses", {{{"id", "m"}, {"type", "glm_round"}}}}};
  json secure = plain;
  secure["privacy"] = {{"secure_aggregation", true}};
  std::vector<double> t_plain, t_secure;
  json last_plain, last_secure;
  auto run = [&](const json& study, json* result) {
    const double t0 = passerelle::bench::NowSeconds();
    auto id = (*fed)->Submit(study);
    if (!id.ok()) std::exit(1);
    auto r = (*fed)->Wait(*id, std::chrono::minutes(5));
    if (!r.ok()) {
      std::fprintf(stderr, "study: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    *result = *r;
    return passerelle::bench::NowSeconds() - t0;
  };
  run(plain, &last_plain);  // warm-up (connections, caches)
  run(secure, &last_secure);
  for (int k = 0; k < repeat; ++k) {
    t_plain.push_back(run(plain, &last_plain));
    t_secure.push_back(run(secure, &last_secure));
  }
  const double p = passerelle::bench::Median(t_plain) * 1e3;
  const double s = passerelle::bench::Median(t_secure) * 1e3;
  const double diff = std::abs(last_plain["analyses"]["m"]["xtwx00"].get<double>() -
                               last_secure["analyses"]["m"]["xtwx00"].get<double>());
  std::printf(
      "secure_round_bench: GLM-like round, %zu covariates + intercept, 3 nodes x %d rows, "
      "%zu values per node, through the protocol (median of %d)\n",
      kP - 1, rows, kP * kP + kP + 2, repeat);
  std::printf("  baseline plain study:   %8.1f ms\n", p);
  std::printf("  secure study:           %8.1f ms  (+%.1f ms: 3 more hub round trips, masking)\n",
              s, s - p);
  std::printf("  ratio secure / plain:   %8.3f   (target <= 1.10)\n", s / p);
  std::printf("  |sum difference| (fixed point): %.3g\n", diff);
  return 0;
}
