#include "stats/cox.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "stats/distributions.h"
#include "stats/linalg.h"
#include "stats/xtwx_kernel.h"

namespace passerelle::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kChunk = 512;

// Local stratum of each design row from the formula's strata() columns.
Result<std::vector<uint32_t>> LocalStrata(const Formula& f, const DataFrame& frame,
                                          const std::vector<size_t>& rows) {
  std::vector<uint32_t> id(rows.size(), 0);
  if (f.strata.empty()) return id;
  std::vector<const DataColumn*> cols;
  for (const auto& name : f.strata) {
    ASSIGN_OR_RETURN(const DataColumn* c, frame.Get(name));
    cols.push_back(c);
  }
  std::map<std::string, uint32_t> ids;
  std::string key;
  for (size_t r = 0; r < rows.size(); ++r) {
    key.clear();
    for (const DataColumn* c : cols) {
      if (c->is_string) {
        key += c->strings[rows[r]];
        key.push_back('\0');
      } else {
        const double v = c->numbers[rows[r]];
        key.append(reinterpret_cast<const char*>(&v), sizeof(v));
      }
    }
    auto it = ids.emplace(key, static_cast<uint32_t>(ids.size())).first;
    id[r] = it->second;
  }
  return id;
}

// Index of the first element of the descending `times` that is <= v: the number of times > v.
uint32_t CountGreater(const double* times, size_t k, double v) {
  const double* it = std::partition_point(times, times + k, [v](double t) { return t > v; });
  return static_cast<uint32_t>(it - times);
}

// Neumaier's compensated sum: the log partial likelihood adds 10^5..10^6 terms, and its rounding
// noise would otherwise decide agfit4's "did the step improve" test near convergence.
struct CompensatedSum {
  double sum = 0, carry = 0;
  void Add(double v) {
    const double t = sum + v;
    carry += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
  }
  double value() const { return sum + carry; }
};

}  // namespace

Result<ModelSpec> CoxModelSpec(std::string_view formula) {
  ASSIGN_OR_RETURN(Formula f, ParseFormula(formula));
  if (f.response_kind != ResponseKind::kSurv) {
    return Status::InvalidArgument("cox: formula \"" + std::string(formula) +
                                   "\" needs a Surv(time, event) or Surv(start, stop, event) "
                                   "left-hand side");
  }
  ModelSpec spec;
  spec.formula = std::move(f);
  spec.drop_intercept = true;
  return spec;
}

namespace {

// `consume` (the frame itself, or null): the frame's covariate columns may be released while X is
// built (the Surv() and strata() columns are kept: they are read afterwards).
// The order of rows (indexes into stop/event/kept) by stratum ascending, stop time descending,
// events before censored rows at equal times, then index: stable LSD radix passes over 16-bit
// digits (a pass whose digit is the same for every row is skipped).
std::vector<uint32_t> SortRowsForCox(const std::vector<double>& stop,
                                     const std::vector<uint8_t>& event,
                                     const std::vector<uint32_t>& stratum,
                                     const std::vector<uint32_t>& kept) {
  const size_t n = stop.size();
  std::vector<uint32_t> order(n), next(n);
  // Events first (a stable partition of the rows in index order).
  {
    size_t pos = 0;
    for (size_t i = 0; i < n; ++i) {
      if (event[i]) order[pos++] = static_cast<uint32_t>(i);
    }
    for (size_t i = 0; i < n; ++i) {
      if (!event[i]) order[pos++] = static_cast<uint32_t>(i);
    }
  }
  // Stop time descending: the bits of a double mapped to an unsigned key that orders like the
  // value, complemented (-0.0 as 0.0). Computed at each pass rather than stored: less memory.
  auto key_of = [&stop](uint32_t row) {
    const double v = stop[row] == 0.0 ? 0.0 : stop[row];
    uint64_t u;
    std::memcpy(&u, &v, sizeof(u));
    u = (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
    return ~u;
  };
  std::vector<size_t> count(65537);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(count.begin(), count.end(), 0);
    for (size_t i = 0; i < n; ++i) ++count[((key_of(order[i]) >> shift) & 0xffff) + 1];
    if (count[((key_of(order[0]) >> shift) & 0xffff) + 1] == n) continue;  // nothing moves
    for (size_t d = 1; d < count.size(); ++d) count[d] += count[d - 1];
    for (size_t i = 0; i < n; ++i) {
      next[count[(key_of(order[i]) >> shift) & 0xffff]++] = order[i];
    }
    order.swap(next);
  }
  // Stratum ascending (a counting sort over the strata).
  uint32_t max_stratum = 0;
  for (size_t i = 0; i < n; ++i) max_stratum = std::max(max_stratum, stratum[kept[i]]);
  if (max_stratum > 0) {
    std::vector<size_t> at(static_cast<size_t>(max_stratum) + 2, 0);
    for (size_t i = 0; i < n; ++i) ++at[stratum[kept[order[i]]] + 1];
    for (size_t d = 1; d < at.size(); ++d) at[d] += at[d - 1];
    for (size_t i = 0; i < n; ++i) next[at[stratum[kept[order[i]]]]++] = order[i];
    order.swap(next);
  }
  return order;
}

Result<CoxData> BuildCoxDataImpl(const ModelLayout& layout, const DataFrame& frame,
                                 DataFrame* consume) {
  const Formula& f = layout.spec.formula;
  if (f.response_kind != ResponseKind::kSurv) {
    return Status::InvalidArgument("cox: the model has no Surv() response");
  }
  for (const auto& v : layout.schema.variables) {
    for (const auto& kept : {f.surv, f.strata}) {
      if (std::find(kept.begin(), kept.end(), v.column) != kept.end()) consume = nullptr;
    }
  }
  BuildOptions bo;
  bo.keep_frame_rows = true;
  ASSIGN_OR_RETURN(Design d, consume != nullptr ? BuildDesign(layout, std::move(*consume), bo)
                                                : BuildDesign(layout, frame, bo));
  const bool counting = f.surv.size() == 3;
  const DataColumn* start_col = nullptr;
  if (counting) {
    ASSIGN_OR_RETURN(start_col, frame.Get(f.surv[0]));
  }
  ASSIGN_OR_RETURN(const DataColumn* stop_col, frame.Get(f.surv[counting ? 1 : 0]));
  ASSIGN_OR_RETURN(const DataColumn* event_col, frame.Get(f.surv[counting ? 2 : 1]));
  for (const DataColumn* c : {start_col, stop_col, event_col}) {
    if (c != nullptr && c->is_string) {
      return Status::InvalidArgument("cox: Surv() column \"" + c->name + "\" must be numeric");
    }
  }
  ASSIGN_OR_RETURN(std::vector<uint32_t> stratum, LocalStrata(f, frame, d.frame_rows));

  CoxData out;
  const size_t p = d.cols;
  out.p = p;
  out.column_names = d.column_names;
  out.counting = counting;
  out.rows_incomplete = d.rows_incomplete;
  // Times of the design rows; rows with stop <= start are dropped (R's Surv() makes them NA).
  std::vector<double> stop, start;
  std::vector<uint8_t> event;
  std::vector<uint32_t> kept;  // design rows kept
  stop.reserve(d.rows);
  event.reserve(d.rows);
  if (counting) start.reserve(d.rows);
  for (size_t r = 0; r < d.rows; ++r) {
    const size_t fr = d.frame_rows[r];
    const double ev = event_col->numbers[fr];
    if (ev != 0.0 && ev != 1.0) {
      return Status::InvalidArgument("cox: event column \"" + event_col->name +
                                     "\" must hold 0 (censored) or 1 (event)");
    }
    if (counting && !(start_col->numbers[fr] < stop_col->numbers[fr])) {
      ++out.rows_invalid;
      continue;
    }
    kept.push_back(static_cast<uint32_t>(r));
    stop.push_back(stop_col->numbers[fr]);
    event.push_back(ev == 1.0 ? 1 : 0);
    if (counting) start.push_back(start_col->numbers[fr]);
  }
  d.frame_rows = {};
  const size_t n = kept.size();
  out.rows = n;
  if (n == 0) return Status::InvalidArgument("cox: no complete rows with valid times");
  if (n >= 0x80000000u) {
    return Status::InvalidArgument("cox: too many rows for one node (at most 2^31 - 1)");
  }

  // Sort by stratum, stop time descending, events first among equal times, then row: stable LSD
  // radix passes from the least significant key up (row order, event flag, stop time, stratum).
  std::vector<uint32_t> order = SortRowsForCox(stop, event, stratum, kept);
  out.stop.resize(n);
  out.event.resize(n);
  if (counting) out.start.resize(n);
  out.stratum_begin.assign(1, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = order[i];
    out.stop[i] = stop[k];
    out.event[i] = event[k];
    if (counting) out.start[i] = start[k];
    out.events += event[k];
    if (i > 0 && stratum[kept[k]] != stratum[kept[order[i - 1]]]) out.stratum_begin.push_back(i);
  }
  out.stratum_begin.push_back(n);
  out.strata = out.stratum_begin.size() - 1;
  stop = {};
  start = {};
  event = {};
  stratum = {};

  // Covariates: the design's columns permuted in place into the sorted order (one column of
  // scratch), then centred per stratum (the partial likelihood of a stratum does not change when
  // its covariates shift; the information is computed stably).
  out.x = std::move(d.x);
  d = Design{};
  std::vector<double> scratch(n);
  out.abs_dev.assign(p, 0.0);
  {
    const size_t design_rows = out.x.size() / std::max<size_t>(p, 1);
    for (size_t i = 0; i < n; ++i) order[i] = kept[order[i]];  // design row of sorted row i
    for (size_t j = 0; j < p; ++j) {
      const double* src = out.x.data() + j * design_rows;
      for (size_t i = 0; i < n; ++i) scratch[i] = src[order[i]];
      double* dst = out.x.data() + j * n;  // n <= design_rows: columns only move left
      double abs_dev = 0;
      for (size_t s = 0; s < out.strata; ++s) {
        const size_t b = out.stratum_begin[s], e = out.stratum_begin[s + 1];
        double mean = 0;
        for (size_t i = b; i < e; ++i) mean += scratch[i];
        mean /= static_cast<double>(e - b);
        for (size_t i = b; i < e; ++i) {
          dst[i] = scratch[i] - mean;
          abs_dev += std::fabs(dst[i]);
        }
      }
      out.abs_dev[j] = abs_dev;
    }
    out.x.resize(n * p);
    out.x.shrink_to_fit();
  }
  kept = {};
  order = {};
  scratch = {};

  // Event times per stratum, and the ranges of the sweep.
  out.time_begin.assign(1, 0);
  out.risk_lo.resize(n);
  out.risk_hi.resize(n);
  if (counting) out.start_order.resize(n);
  std::vector<double> times;
  for (size_t s = 0; s < out.strata; ++s) {
    const size_t b = out.stratum_begin[s], e = out.stratum_begin[s + 1];
    times.clear();
    for (size_t i = b; i < e;) {
      size_t j = i;
      const double t = out.stop[i];
      while (j < e && out.stop[j] == t) ++j;
      if (out.event[i]) {
        uint32_t dcount = 0;
        for (size_t k = i; k < j && out.event[k]; ++k) ++dcount;
        times.push_back(t);
        out.add_end.push_back(j);
        out.event_begin.push_back(i);
        out.event_count.push_back(dcount);
      }
      i = j;
    }
    const size_t k = times.size();
    if (counting) {
      std::iota(out.start_order.begin() + b, out.start_order.begin() + e, static_cast<uint32_t>(b));
      std::stable_sort(out.start_order.begin() + b, out.start_order.begin() + e,
                       [&](uint32_t x, uint32_t y) { return out.start[x] > out.start[y]; });
      size_t pos = b;
      for (size_t t = 0; t < k; ++t) {
        while (pos < e && out.start[out.start_order[pos]] >= times[t]) ++pos;
        out.remove_end.push_back(pos);
      }
    } else {
      for (size_t t = 0; t < k; ++t) out.remove_end.push_back(0);
    }
    for (size_t i = b; i < e; ++i) {
      out.risk_lo[i] = CountGreater(times.data(), k, out.stop[i]);
      out.risk_hi[i] =
          counting ? CountGreater(times.data(), k, out.start[i]) : static_cast<uint32_t>(k);
    }
    out.time_begin.push_back(out.time_begin.back() + k);
  }
  return out;
}

}  // namespace

Result<CoxData> BuildCoxData(const ModelLayout& layout, const DataFrame& frame) {
  return BuildCoxDataImpl(layout, frame, /*consume=*/nullptr);
}

Result<CoxData> BuildCoxData(const ModelLayout& layout, DataFrame&& frame) {
  return BuildCoxDataImpl(layout, frame, /*consume=*/&frame);
}

size_t CoxResponseSize(size_t p) { return cox_slot::kHeader + 2 * p + PackedSize(p); }

Result<std::vector<double>> CoxLocalStep(const CoxData& data, const CoxRequest& request) {
  const size_t p = data.p;
  const size_t n = data.rows;
  if (request.beta.size() != p) {
    return Status::InvalidArgument("cox: request has " + std::to_string(request.beta.size()) +
                                   " coefficients, the model " + std::to_string(p));
  }
  const bool efron = request.ties == CoxTies::kEfron;
  const double* x = data.x.data();  // column-major n x p
  auto xv = [x, n](size_t row, size_t col) { return x[col * n + row]; };

  // Risk scores exp(x'beta), computed as each row enters its risk set (one pass over X for the
  // sweep; covariates are centred per stratum, so eta stays moderate). Rows never at risk at a
  // death keep 0.
  std::vector<double> eta(n, 0.0), risk(n, 0.0);
  const double* beta = request.beta.data();
  std::vector<double> xi(p);

  const auto pe = static_cast<Eigen::Index>(p);
  std::vector<double> grad(p, 0.0);
  Eigen::MatrixXd info = Eigen::MatrixXd::Zero(pe, pe);
  CompensatedSum loglik;
  const size_t ntimes = data.time_begin.back();
  std::vector<double> c_time(ntimes), f_time(ntimes);

  // Rows a_k (mean covariates seen by each death), flushed as info -= A'A.
  Eigen::MatrixXd abuf(static_cast<Eigen::Index>(kChunk), pe);
  Eigen::Index afill = 0;
  auto flush_a = [&]() {
    if (afill == 0) return;
    info.selfadjointView<Eigen::Upper>().rankUpdate(abuf.topRows(afill).transpose(), -1.0);
    afill = 0;
  };
  auto push_a = [&](const double* a, double scale) {
    if (afill == static_cast<Eigen::Index>(kChunk)) flush_a();
    for (size_t j = 0; j < p; ++j) abuf(afill, static_cast<Eigen::Index>(j)) = scale * a[j];
    ++afill;
  };

  std::vector<double> s1(p), d1(p), a(p);
  for (size_t s = 0; s < data.strata; ++s) {
    size_t add = data.stratum_begin[s];
    size_t rem = data.stratum_begin[s];
    double s0 = 0;
    std::fill(s1.begin(), s1.end(), 0.0);
    size_t nrisk = 0;
    for (size_t t = data.time_begin[s]; t < data.time_begin[s + 1]; ++t) {
      for (; add < data.add_end[t]; ++add) {
        if (data.risk_lo[add] >= data.risk_hi[add]) continue;  // never at risk at a death
        double e = 0;
        for (size_t j = 0; j < p; ++j) {
          xi[j] = xv(add, j);
          e += beta[j] * xi[j];
        }
        const double r = std::exp(e);
        eta[add] = e;
        risk[add] = r;
        s0 += r;
        for (size_t j = 0; j < p; ++j) s1[j] += r * xi[j];
        ++nrisk;
      }
      if (data.counting) {
        for (; rem < data.remove_end[t]; ++rem) {
          const size_t i = data.start_order[rem];
          if (data.risk_lo[i] >= data.risk_hi[i]) continue;
          if (--nrisk == 0) {
            s0 = 0;
            std::fill(s1.begin(), s1.end(), 0.0);
          } else {
            const double r = risk[i];
            s0 -= r;
            for (size_t j = 0; j < p; ++j) s1[j] -= r * xv(i, j);
          }
        }
      }
      const size_t eb = data.event_begin[t];
      const uint32_t deaths = data.event_count[t];
      double d0 = 0;
      std::fill(d1.begin(), d1.end(), 0.0);
      for (size_t i = eb; i < eb + deaths; ++i) {
        const double r = risk[i];
        d0 += r;
        loglik.Add(eta[i]);
        for (size_t j = 0; j < p; ++j) {
          const double v = xv(i, j);
          d1[j] += r * v;
          grad[j] += v;
        }
      }
      double csum = 0, fsum = 0;
      if (!efron || deaths == 1) {
        // Breslow: every death sees the whole risk set.
        const double dd = deaths;
        loglik.Add(-dd * std::log(s0));
        for (size_t j = 0; j < p; ++j) {
          a[j] = s1[j] / s0;
          grad[j] -= dd * a[j];
        }
        csum = dd / s0;
        push_a(a.data(), std::sqrt(dd));
      } else {
        // Efron: the k-th of the tied deaths sees the risk set less k/d of the deaths.
        for (uint32_t k = 0; k < deaths; ++k) {
          const double frac = static_cast<double>(k) / deaths;
          const double den = s0 - frac * d0;
          loglik.Add(-std::log(den));
          for (size_t j = 0; j < p; ++j) {
            a[j] = (s1[j] - frac * d1[j]) / den;
            grad[j] -= a[j];
          }
          csum += 1.0 / den;
          fsum += frac / den;
          push_a(a.data(), 1.0);
        }
      }
      c_time[t] = csum;
      f_time[t] = fsum;
    }
  }
  flush_a();

  // info += sum_i v_i x_i x_i' with v_i = risk_i * (sum of 1/den over the deaths it is at risk
  // for, less the Efron share of its own death): the S2 terms of every risk set at once.
  std::vector<double> suffix;
  std::vector<double>& sv = eta;  // reuse: eta is no longer needed
  for (size_t s = 0; s < data.strata; ++s) {
    const size_t tb = data.time_begin[s], te = data.time_begin[s + 1];
    const size_t k = te - tb;
    suffix.assign(k + 1, 0.0);
    for (size_t j = k; j-- > 0;) suffix[j] = suffix[j + 1] + c_time[tb + j];
    for (size_t i = data.stratum_begin[s]; i < data.stratum_begin[s + 1]; ++i) {
      const uint32_t lo = data.risk_lo[i], hi = data.risk_hi[i];
      double v = 0;
      if (lo < hi) {
        double cum = suffix[lo] - suffix[hi];
        if (data.event[i]) cum -= f_time[tb + lo];
        v = risk[i] * cum;
      }
      sv[i] = v > 0 ? v : 0.0;
    }
  }
  std::vector<const double*> cols(p);
  for (size_t j = 0; j < p; ++j) cols[j] = x + j * n;
  AccumulateWeightedCrossProduct(cols.data(), p, sv.data(), nullptr, n, info.data(), nullptr);

  std::vector<double> out(CoxResponseSize(p), 0.0);
  out[cox_slot::kRows] = static_cast<double>(n);
  out[cox_slot::kEvents] = static_cast<double>(data.events);
  out[cox_slot::kLogLik] = loglik.value();
  size_t pos = cox_slot::kHeader;
  for (size_t j = 0; j < p; ++j) out[pos++] = grad[j];
  for (size_t j = 0; j < p; ++j) out[pos++] = data.abs_dev[j];
  for (size_t i = 0; i < p; ++i) {
    for (size_t j = i; j < p; ++j) {
      out[pos++] = info(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
    }
  }
  return out;
}

Status CheckCoxDisclosure(const CoxData& data, const CoxDisclosureOptions& options) {
  if (static_cast<int64_t>(data.rows) < options.min_rows) {
    return Status::PermissionDenied("cox: fewer complete rows than the node's minimum (" +
                                    std::to_string(options.min_rows) + ")");
  }
  if (static_cast<int64_t>(data.events) < options.min_events) {
    return Status::PermissionDenied("cox: fewer events than the node's minimum (" +
                                    std::to_string(options.min_events) + ")");
  }
  if (static_cast<double>(data.p) > options.max_params_ratio * static_cast<double>(data.rows)) {
    return Status::PermissionDenied("cox: too many parameters for the number of rows (at most " +
                                    std::to_string(options.max_params_ratio) + " x rows)");
  }
  return Status::Ok();
}

Result<CoxState> CoxBegin(const CoxOptions& options, std::vector<std::string> column_names) {
  if (column_names.empty()) return Status::InvalidArgument("cox: the model has no covariates");
  if (options.max_iterations < 0) {
    return Status::InvalidArgument("cox: max_iterations must be >= 0");
  }
  if (!(options.conf_level > 0 && options.conf_level < 1)) {
    return Status::InvalidArgument("cox: conf_level must lie in (0, 1)");
  }
  CoxState s;
  s.options = options;
  s.column_names = std::move(column_names);
  s.request.beta.assign(s.column_names.size(), 0.0);
  s.request.ties = options.ties;
  return s;
}

namespace {

void Finish(CoxState& s, std::vector<double> beta, double loglik, std::vector<double> info,
            std::vector<double> gradient, bool converged) {
  s.beta = std::move(beta);
  s.loglik = loglik;
  s.info = std::move(info);
  s.gradient = std::move(gradient);
  s.converged = converged;
  s.finished = true;
}

}  // namespace

Status CoxCombine(CoxState& s, const std::vector<double>& sum) {
  if (s.done()) return Status::FailedPrecondition("cox: the fit is already finished");
  const size_t p = s.column_names.size();
  if (sum.size() != CoxResponseSize(p)) {
    return Status::InvalidArgument("cox: round answer has " + std::to_string(sum.size()) +
                                   " values, expected " + std::to_string(CoxResponseSize(p)));
  }
  const double lk = sum[cox_slot::kLogLik];
  std::vector<double> u(sum.begin() + cox_slot::kHeader, sum.begin() + cox_slot::kHeader + p);
  std::vector<double> abs_dev(sum.begin() + cox_slot::kHeader + p,
                              sum.begin() + cox_slot::kHeader + 2 * p);
  std::vector<double> packed(sum.begin() + cox_slot::kHeader + 2 * p, sum.end());
  std::vector<double> full = UnpackSymmetric(packed.data(), p);
  const bool first = s.rounds == 0;
  ++s.rounds;
  const std::vector<double> beta = s.request.beta;

  auto newton_step = [&](const SymmetricInverse& inv) {
    std::vector<double> step = MultiplyMatrix(inv.inverse, u);
    s.beta_old = beta;
    for (size_t j = 0; j < p; ++j) s.request.beta[j] = beta[j] + step[j];
  };

  if (first) {
    s.rows = sum[cox_slot::kRows];
    s.events = sum[cox_slot::kEvents];
    if (s.events <= 0) {
      return Status::FailedPrecondition("cox: no events over all nodes; cannot fit a Cox model");
    }
    s.loglik0 = lk;
    s.loglik_best = lk;
    // agfit4 scales each covariate by rows / sum |x - stratum mean| (1 for a constant one).
    s.scale.assign(p, 1.0);
    for (size_t j = 0; j < p; ++j) {
      if (abs_dev[j] > 0) s.scale[j] = s.rows / abs_dev[j];
    }
    ASSIGN_OR_RETURN(SymmetricInverse inv, InvertSymmetric(full, p, s.options.toler_chol, s.scale));
    s.rank = inv.rank;
    std::vector<double> step = MultiplyMatrix(inv.inverse, u);
    s.score_test = 0;
    for (size_t j = 0; j < p; ++j) s.score_test += u[j] * step[j];
    s.best_beta = beta;
    s.best_info = packed;
    s.best_gradient = u;
    if (!std::isfinite(lk) || s.options.max_iterations == 0) {
      Finish(s, beta, lk, packed, u, false);
      return Status::Ok();
    }
    newton_step(inv);
    s.iteration = 1;
    return Status::Ok();
  }

  // Round k >= 1 evaluated beta_k (agfit4's check at the top of its next iteration).
  int fail = 0;
  for (size_t j = 0; j < p; ++j) fail += std::isfinite(full[j * p + j]) ? 0 : 1;
  auto inv = InvertSymmetric(full, p, s.options.toler_chol, s.scale);
  if (!inv.ok()) {
    ++fail;
  } else {
    fail += std::abs(inv->rank - s.rank);
  }
  if (!std::isfinite(lk)) ++fail;
  if (s.iteration >= s.options.max_iterations) {
    // Out of iterations: keep the better of the last point and the best accepted one.
    if (fail == 0 && lk >= s.loglik_best) {
      Finish(s, beta, lk, packed, u, false);
    } else {
      Finish(s, s.best_beta, s.loglik_best, s.best_info, s.best_gradient, false);
    }
    return Status::Ok();
  }
  // Converged when the log-likelihood changed by less than epsilon (relative). agfit4 first halves
  // the step on any decrease; a decrease within epsilon is rounding in a sum over every death, so
  // it counts as convergence here (R converges there too whenever its rounding falls the other
  // way), which keeps a fit of 10^6 rows from halving on noise.
  if (fail == 0 && std::fabs(1.0 - s.loglik_best / lk) <= s.options.epsilon) {
    Finish(s, beta, lk, packed, u, true);
    return Status::Ok();
  }
  if (fail > 0 || lk < s.loglik_best) {
    // Step halving towards the last good coefficients.
    ++s.halving;
    for (size_t j = 0; j < p; ++j) {
      s.request.beta[j] = (s.beta_old[j] * s.halving + beta[j]) / (s.halving + 1.0);
    }
    ++s.iteration;
    return Status::Ok();
  }
  s.halving = 0;
  s.loglik_best = lk;
  s.best_beta = beta;
  s.best_info = packed;
  s.best_gradient = u;
  newton_step(*inv);
  ++s.iteration;
  return Status::Ok();
}

Result<CoxResult> CoxFinish(const CoxState& s) {
  if (!s.done()) return Status::FailedPrecondition("cox: the fit is not finished");
  const size_t p = s.column_names.size();
  std::vector<double> full = UnpackSymmetric(s.info.data(), p);
  ASSIGN_OR_RETURN(SymmetricInverse inv, InvertSymmetric(full, p, s.options.toler_chol, s.scale));
  CoxResult r;
  r.loglik_null = s.loglik0;
  r.loglik = s.loglik;
  r.n = static_cast<int64_t>(s.rows);
  r.events = static_cast<int64_t>(s.events);
  r.iterations = s.iteration;
  r.converged = s.converged;
  r.ties = s.options.ties;
  r.conf_level = s.options.conf_level;
  const double zq = NormalQuantile(1.0 - (1.0 - r.conf_level) / 2.0);
  r.covariance.assign(p * p, kNaN);
  double wald = 0;
  std::string infinite;
  for (size_t i = 0; i < p; ++i) {
    CoxCoefficient c;
    c.name = s.column_names[i];
    c.aliased = inv.aliased[i] != 0;
    if (c.aliased) {
      c.estimate = c.std_error = c.z = c.p_value = c.hazard_ratio = c.hr_lower = c.hr_upper = kNaN;
    } else {
      c.estimate = s.beta[i];
      c.std_error = std::sqrt(inv.inverse[i * p + i]);
      c.z = c.estimate / c.std_error;
      c.p_value = 2.0 * NormalUpper(std::fabs(c.z));
      c.hazard_ratio = std::exp(c.estimate);
      c.hr_lower = std::exp(c.estimate - zq * c.std_error);
      c.hr_upper = std::exp(c.estimate + zq * c.std_error);
      double infs = 0;
      for (size_t j = 0; j < p; ++j) {
        if (inv.aliased[j]) continue;
        r.covariance[i * p + j] = inv.inverse[i * p + j];
        wald += s.beta[i] * full[i * p + j] * s.beta[j];
        infs += s.gradient[j] * inv.inverse[j * p + i];
      }
      if (s.converged && (!std::isfinite(s.gradient[i]) ||
                          std::fabs(infs) > s.options.toler_inf * (1.0 + std::fabs(c.estimate)))) {
        infinite += (infinite.empty() ? "" : ", ") + c.name;
      }
    }
    r.coefficients.push_back(std::move(c));
  }
  const double df = inv.rank;
  r.likelihood_ratio = {2.0 * (s.loglik - s.loglik0), df, 0};
  r.likelihood_ratio.p_value = ChiSquareUpper(r.likelihood_ratio.statistic, df);
  r.wald = {wald, df, ChiSquareUpper(wald, df)};
  r.score = {s.score_test, df, ChiSquareUpper(s.score_test, df)};
  if (inv.rank < static_cast<int>(p)) {
    r.warnings.push_back("some coefficients are not defined because of singularities (aliased)");
  }
  if (!s.converged) {
    r.warnings.push_back("Ran out of iterations and did not converge (" +
                         std::to_string(s.options.max_iterations) + ")");
  }
  if (!infinite.empty()) {
    r.warnings.push_back("Loglik converged before variable(s) " + infinite +
                         "; beta may be infinite (as survival::coxph warns)");
  }
  return r;
}

Result<CoxResult> FitCox(const std::vector<const CoxData*>& nodes, const CoxOptions& options) {
  if (nodes.empty()) return Status::InvalidArgument("cox: no node");
  ASSIGN_OR_RETURN(CoxState s, CoxBegin(options, nodes.front()->column_names));
  while (!s.done()) {
    std::vector<double> sum;
    for (const CoxData* d : nodes) {
      ASSIGN_OR_RETURN(std::vector<double> part, CoxLocalStep(*d, s.request));
      if (sum.empty()) {
        sum = std::move(part);
      } else {
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += part[i];
      }
    }
    RETURN_IF_ERROR(CoxCombine(s, sum));
  }
  return CoxFinish(s);
}

}  // namespace passerelle::stats
