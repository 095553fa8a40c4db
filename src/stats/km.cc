#include "stats/km.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "stats/distributions.h"

namespace passerelle::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Status CheckGrid(const std::vector<double>& grid) {
  if (grid.size() < 2) {
    return Status::InvalidArgument("km: the time grid needs at least two points (origin, end)");
  }
  for (size_t i = 0; i < grid.size(); ++i) {
    if (!std::isfinite(grid[i])) return Status::InvalidArgument("km: grid times must be finite");
    if (i > 0 && !(grid[i] > grid[i - 1])) {
      return Status::InvalidArgument("km: grid times must be strictly increasing (position " +
                                     std::to_string(i) + ")");
    }
  }
  return Status::Ok();
}

size_t GroupCount(const DataSchema& agreed) {
  size_t g = 1;
  for (const auto& v : agreed.variables) {
    g *= v.is_string ? v.string_levels.size() : v.numeric_levels.size();
  }
  return g;
}

}  // namespace

Result<ModelSpec> KmModelSpec(std::string_view formula) {
  ASSIGN_OR_RETURN(Formula f, ParseFormula(formula));
  if (f.response_kind != ResponseKind::kSurv) {
    return Status::InvalidArgument("km: formula \"" + std::string(formula) +
                                   "\" needs a Surv(time, event) or Surv(start, stop, event) "
                                   "left-hand side");
  }
  for (const auto& t : f.terms) {
    if (t.order() > 1) {
      return Status::InvalidArgument("km: group with '+' between variables, not interactions");
    }
  }
  if (!f.offsets.empty() || !f.strata.empty()) {
    return Status::InvalidArgument("km: offset() and strata() have no meaning here");
  }
  ModelSpec spec;
  spec.formula = std::move(f);
  spec.all_factors = true;
  return spec;
}

Result<std::vector<std::string>> KmGroupLabels(const ModelSpec& spec, const DataSchema& agreed) {
  const auto& vars = spec.formula.variables;
  if (agreed.variables.size() != vars.size()) {
    return Status::InvalidArgument("km: the schema does not describe this formula");
  }
  std::vector<std::string> labels = {""};
  for (size_t v = 0; v < vars.size(); ++v) {
    const VariableInfo& info = agreed.variables[v];
    std::vector<std::string> lv;
    if (info.is_string) {
      lv = info.string_levels;
    } else {
      for (double x : info.numeric_levels) lv.push_back(RFormatNumber(x));
    }
    std::vector<std::string> next;
    for (const auto& prefix : labels) {
      for (const auto& l : lv) {
        next.push_back(prefix + (prefix.empty() ? "" : ", ") + vars[v].label + "=" + l);
      }
    }
    labels = std::move(next);
  }
  if (vars.empty()) labels = {"all"};
  return labels;
}

size_t KmResponseSize(size_t groups, size_t intervals) { return groups * intervals * 3; }

Result<std::vector<double>> KmLocalStep(const ModelSpec& spec, const DataSchema& agreed,
                                        const DataFrame& frame, const std::vector<double>& grid) {
  RETURN_IF_ERROR(CheckGrid(grid));
  const Formula& f = spec.formula;
  if (agreed.variables.size() != f.variables.size()) {
    return Status::InvalidArgument("km: the schema does not describe this formula");
  }
  const bool counting = f.surv.size() == 3;
  const DataColumn* start = nullptr;
  if (counting) {
    ASSIGN_OR_RETURN(start, frame.Get(f.surv[0]));
  }
  ASSIGN_OR_RETURN(const DataColumn* stop, frame.Get(f.surv[counting ? 1 : 0]));
  ASSIGN_OR_RETURN(const DataColumn* event, frame.Get(f.surv[counting ? 2 : 1]));
  for (const DataColumn* c : {start, stop, event}) {
    if (c != nullptr && c->is_string) {
      return Status::InvalidArgument("km: Surv() column \"" + c->name + "\" must be numeric");
    }
  }
  ASSIGN_OR_RETURN(std::vector<uint8_t> complete, CompleteCases(spec, frame));
  const size_t m = grid.size() - 1;
  const size_t ngroups = GroupCount(agreed);

  // Group index of each row: mixed radix over the variables, the first varying slowest.
  std::vector<size_t> group(frame.rows(), 0);
  for (size_t v = 0; v < f.variables.size(); ++v) {
    const VariableInfo& info = agreed.variables[v];
    ASSIGN_OR_RETURN(const DataColumn* col, frame.Get(info.column));
    if (col->is_string != info.is_string) {
      return Status::InvalidArgument("km: column \"" + info.column +
                                     "\" has another type than in the agreed schema");
    }
    const size_t nl = info.is_string ? info.string_levels.size() : info.numeric_levels.size();
    std::unordered_map<std::string, size_t> index;
    for (size_t l = 0; l < info.string_levels.size(); ++l) index[info.string_levels[l]] = l;
    for (size_t r = 0; r < frame.rows(); ++r) {
      if (!complete[r]) continue;
      size_t level = 0;
      if (info.is_string) {
        auto it = index.find(col->strings[r]);
        if (it == index.end()) {
          return Status::InvalidArgument("km: column \"" + info.column +
                                         "\" has a value outside the agreed groups");
        }
        level = it->second;
      } else {
        const auto& lv = info.numeric_levels;
        auto it = std::lower_bound(lv.begin(), lv.end(), col->numbers[r]);
        if (it == lv.end() || *it != col->numbers[r]) {
          return Status::InvalidArgument("km: column \"" + info.column +
                                         "\" has a value outside the agreed groups");
        }
        level = static_cast<size_t>(it - lv.begin());
      }
      group[r] = group[r] * nl + level;
    }
  }

  // Difference array of the at-risk counts (m + 1 slots per group).
  std::vector<double> risk_diff(ngroups * (m + 1), 0.0);
  std::vector<double> out(KmResponseSize(ngroups, m), 0.0);
  for (size_t r = 0; r < frame.rows(); ++r) {
    if (!complete[r]) continue;
    const double ev = event->numbers[r];
    if (ev != 0.0 && ev != 1.0) {
      return Status::InvalidArgument("km: event column \"" + event->name +
                                     "\" must hold 0 (censored) or 1 (event)");
    }
    const double t_stop = stop->numbers[r];
    const double t_start = counting ? start->numbers[r] : -std::numeric_limits<double>::infinity();
    if (counting && !(t_start < t_stop)) continue;  // R's Surv() makes these NA
    // First interval at risk: the first j with g_{j-1} >= start.
    const size_t first =
        static_cast<size_t>(std::lower_bound(grid.begin(), grid.end() - 1, t_start) -
                            grid.begin()) +
        1;
    // Interval of the stop time: g_{j-1} < stop <= g_j (m + 1 when past the grid).
    const size_t k =
        static_cast<size_t>(std::lower_bound(grid.begin(), grid.end(), t_stop) - grid.begin());
    if (k == 0) continue;  // ends at or before the origin
    const size_t last = std::min(k, m);
    if (first > last) continue;
    const size_t g = group[r];
    risk_diff[g * (m + 1) + first - 1] += 1;
    risk_diff[g * (m + 1) + last] -= 1;
    if (k <= m) out[(g * m + (k - 1)) * 3 + (ev == 1.0 ? 1 : 2)] += 1;
  }
  for (size_t g = 0; g < ngroups; ++g) {
    double running = 0;
    for (size_t j = 0; j < m; ++j) {
      running += risk_diff[g * (m + 1) + j];
      out[(g * m + j) * 3] = running;
    }
  }
  return out;
}

Status CheckKmDisclosure(const std::vector<double>& node_counts, int64_t min_cell) {
  for (size_t i = 0; i < node_counts.size(); ++i) {
    if (i % 3 == 0) continue;  // at-risk counts are cumulative, not cells
    const double c = node_counts[i];
    if (c > 0 && c < static_cast<double>(min_cell)) {
      return Status::PermissionDenied(
          "km: an interval holds fewer events or censorings than the node's minimum cell count (" +
          std::to_string(min_cell) + "); use a coarser grid");
    }
  }
  return Status::Ok();
}

Result<KmResult> KmCombine(const std::vector<std::string>& groups, const std::vector<double>& grid,
                           const std::vector<double>& sum, const KmOptions& options) {
  RETURN_IF_ERROR(CheckGrid(grid));
  const size_t m = grid.size() - 1;
  if (sum.size() != KmResponseSize(groups.size(), m)) {
    return Status::InvalidArgument("km: answer has " + std::to_string(sum.size()) +
                                   " values, expected " +
                                   std::to_string(KmResponseSize(groups.size(), m)));
  }
  if (!(options.conf_level > 0 && options.conf_level < 1)) {
    return Status::InvalidArgument("km: conf_level must lie in (0, 1)");
  }
  const double z = NormalQuantile(1.0 - (1.0 - options.conf_level) / 2.0);
  KmResult result;
  result.conf_level = options.conf_level;
  result.conf_type = options.conf_type;
  for (size_t g = 0; g < groups.size(); ++g) {
    KmCurve c;
    c.group = groups[g];
    double s = 1.0, greenwood = 0.0;
    for (size_t j = 0; j < m; ++j) {
      const double n = sum[(g * m + j) * 3];
      const double d = sum[(g * m + j) * 3 + 1];
      const double cens = sum[(g * m + j) * 3 + 2];
      if (n > 0 && d > 0) {
        s *= 1.0 - d / n;
        greenwood += n > d ? d / (n * (n - d)) : std::numeric_limits<double>::infinity();
      }
      const double se_log = std::sqrt(greenwood);  // survfit's std.err (cumulative hazard)
      c.time.push_back(grid[j + 1]);
      c.n_risk.push_back(n);
      c.n_event.push_back(d);
      c.n_censor.push_back(cens);
      c.surv.push_back(s);
      c.std_err.push_back(std::isfinite(se_log) ? s * se_log : kNaN);
      double lo = kNaN, hi = kNaN;
      // survival:::survfit_confint.
      switch (options.conf_type) {
        case KmConfType::kLog:
          if (s > 0 && std::isfinite(se_log)) {
            lo = std::exp(std::log(s) - z * se_log);
            hi = std::min(1.0, std::exp(std::log(s) + z * se_log));
          }
          break;
        case KmConfType::kLogLog:
          if (s > 0 && s < 1 && std::isfinite(se_log)) {
            const double se2 = z * se_log / std::log(s);
            lo = std::exp(-std::exp(std::log(-std::log(s)) - se2));
            hi = std::exp(-std::exp(std::log(-std::log(s)) + se2));
          }
          break;
        case KmConfType::kPlain:
          if (std::isfinite(se_log)) {
            lo = std::max(0.0, s - z * se_log * s);
            hi = std::min(1.0, s + z * se_log * s);
          }
          break;
      }
      c.lower.push_back(lo);
      c.upper.push_back(hi);
    }
    result.curves.push_back(std::move(c));
  }
  return result;
}

}  // namespace passerelle::stats
