#include "privacy/study_dp.h"

#include <fmt/format.h>

#include <cmath>

#include "privacy/dp.h"

namespace passerelle::privacy {

Result<DpRequest> ParseDpRequest(const nlohmann::json& j, std::string_view path) {
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: expected an object", path));
  for (const auto& [key, value] : j.items()) {
    if (key != "rho" && key != "epsilon" && key != "delta" && key != "clip") {
      return Status::InvalidArgument(fmt::format(
          "{}: unknown key \"{}\" (known: rho, epsilon, delta, clip)", path, key.substr(0, 64)));
    }
  }
  auto number = [&](const char* key) -> Result<std::optional<double>> {
    auto it = j.find(key);
    if (it == j.end()) return std::optional<double>();
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
      return Status::InvalidArgument(fmt::format("{}.{}: expected a number", path, key));
    }
    return std::optional<double>(it->get<double>());
  };
  ASSIGN_OR_RETURN(auto rho, number("rho"));
  ASSIGN_OR_RETURN(auto epsilon, number("epsilon"));
  ASSIGN_OR_RETURN(auto delta, number("delta"));
  DpRequest r;
  if (rho.has_value() == epsilon.has_value()) {
    return Status::InvalidArgument(fmt::format("{}: give exactly one of rho or epsilon", path));
  }
  if (rho) {
    if (!(*rho > 0 && *rho <= 10) || delta) {
      return Status::InvalidArgument(
          fmt::format("{}.rho: must be in (0, 10] (and no delta with rho)", path));
    }
    r.rho = *rho;
  } else {
    const double d = delta.value_or(1e-6);
    if (!(*epsilon > 0 && *epsilon <= 20) || !(d > 0 && d <= 0.01)) {
      return Status::InvalidArgument(
          fmt::format("{}: epsilon must be in (0, 20] and delta in (0, 0.01]", path));
    }
    // rho + 2 sqrt(rho L) = eps with L = ln(1/delta): sqrt(rho) = sqrt(L + eps) - sqrt(L).
    const double l = std::log(1.0 / d);
    const double s = std::sqrt(l + *epsilon) - std::sqrt(l);
    r.rho = s * s;
  }
  if (auto c = j.find("clip"); c != j.end()) {
    if (!c->is_object()) {
      return Status::InvalidArgument(fmt::format("{}.clip: expected an object", path));
    }
    for (const auto& [var, bounds] : c->items()) {
      if (!bounds.is_array() || bounds.size() != 2 || !bounds[0].is_number() ||
          !bounds[1].is_number()) {
        return Status::InvalidArgument(
            fmt::format("{}.clip.{}: expected [lo, hi]", path, var.substr(0, 128)));
      }
      const double lo = bounds[0].get<double>(), hi = bounds[1].get<double>();
      if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi || std::max(-lo, hi) > 1e12) {
        return Status::InvalidArgument(
            fmt::format("{}.clip.{}: bounds must be finite, lo <= hi, |bound| <= 1e12", path,
                        var.substr(0, 128)));
      }
      r.clip[var] = {lo, hi};
    }
  }
  return r;
}

Result<DpNoiseOutcome> AddDpNoise(std::span<double> values,
                                  const std::vector<DpComponent>& components, double l2_units,
                                  uint32_t shares, double rho, RandomSource& random) {
  if (components.empty()) return DpNoiseOutcome{};
  const double k = static_cast<double>(kDpLatticeSteps);
  std::vector<int64_t> lattice;
  // Quantising a sum of reals moves it by at most half a step, so two neighbouring sums differ by
  // at most k + 1 steps where the exact values differed by k: scale the sensitivity accordingly.
  bool any_real = false;
  for (const auto& c : components) {
    if (c.index >= values.size() || !(c.sensitivity > 0)) {
      return Status::Internal("dp: a component is out of the share or has no sensitivity");
    }
    any_real |= !c.integer;
    ASSIGN_OR_RETURN(int64_t z, Quantize(values[c.index], c.sensitivity / k));
    lattice.push_back(z);
  }
  const double l2 = l2_units * (any_real ? k + 1 : k);
  ASSIGN_OR_RETURN(DistributedGaussianPlan plan,
                   PlanDistributedGaussian(l2, lattice.size(), shares, rho));
  RETURN_IF_ERROR(AddNoiseShare(lattice, plan, random));
  for (size_t i = 0; i < components.size(); ++i) {
    values[components[i].index] = static_cast<double>(lattice[i]) * (components[i].sensitivity / k);
  }
  return DpNoiseOutcome{plan.rho, plan.sigma2_per_share.ToDouble()};
}

}  // namespace passerelle::privacy
