// The differential-privacy block of a study file and the noise a node adds to its share
// (docs/privacy.md, "DP in a study"):
//
//   "privacy": {"dp": {"rho": 0.1,                       or "epsilon": 1.0, "delta": 1e-6
//                      "clip": {"age": [0, 120], ...}}}  bounds of each summarised variable
//
// Each release (one analysis's share in one round) costs `rho` zCDP at each node. A share is
// noised on a lattice: component c of real sensitivity D_c (what one person can change it by,
// after clipping) is quantised with granularity D_c / kDpLatticeSteps, so that every component
// weighs the same in the L2 sensitivity; the node adds its share of distributed discrete
// Gaussian noise (dp.h, PlanDistributedGaussian) for `shares` contributors (the secure-
// aggregation threshold t when the sum is secure — the hub never sees a noise-free sum — and 1
// when each node's share is released on its own), then maps back to reals.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/random.h"
#include "common/status.h"

namespace passerelle::privacy {

// Lattice steps per unit of sensitivity (part of the mechanism's definition).
inline constexpr int64_t kDpLatticeSteps = 64;

struct DpRequest {
  double rho = 0;                                         // zCDP cost of each release
  std::map<std::string, std::pair<double, double>> clip;  // variable -> [lo, hi]
};

// Validates the "dp" object: exactly one of "rho" (0 < rho <= 10) or "epsilon" (0 < eps <= 20,
// with "delta", default 1e-6, in (0, 0.01]) converted to the rho whose (eps, delta) guarantee
// (Bun and Steinke 2016, Prop. 1.3) is eps; "clip" bounds finite with lo <= hi. `path` names the
// object in errors.
Result<DpRequest> ParseDpRequest(const nlohmann::json& j, std::string_view path);

// One component of a share that gets noise.
struct DpComponent {
  size_t index = 0;        // position in the share
  double sensitivity = 1;  // what one person changes it by (> 0), after clipping
  bool integer = false;    // the value is an integer (a count): quantised exactly
};

struct DpNoiseOutcome {
  double rho = 0;     // the release's actual cost (<= the request)
  double sigma2 = 0;  // per-node noise variance, in lattice units
};

// Adds this node's noise share to `values` in place. `l2_units`: the L2 sensitivity of the
// whole share in units of kDpLatticeSteps (e.g. 1 when one person changes one count; the caller
// knows which components one person can change together); the lattice adds at most one step per
// quantised non-integer component, which this function accounts for.
Result<DpNoiseOutcome> AddDpNoise(std::span<double> values,
                                  const std::vector<DpComponent>& components, double l2_units,
                                  uint32_t shares, double rho, RandomSource& random);

}  // namespace passerelle::privacy
