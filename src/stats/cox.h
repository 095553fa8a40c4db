// Cox proportional hazards, stratified by site, fitted exactly across nodes: survival::coxph's
// Newton-Raphson (agreg.fit / agfit4) split into node-side sums and a hub-side update.
//
// Each node is its own stratum (its own baseline hazard); a node may split further with strata()
// terms of the formula. The partial likelihood of a stratified model is a sum over strata, so its
// log, gradient and information matrix are sums over nodes, and the federated fit equals
// coxph(Surv(start, stop, event) ~ x + strata(site)) on the pooled data. Data are right-censored
// (Surv(time, event)) or counting-process (Surv(start, stop, event): at risk on (start, stop]).
// Ties: Efron (default, as coxph) or Breslow.
//
// Protocol:
//   hub:  CoxState s = CoxBegin(options, column_names)    // s.request: beta = 0 (round 0)
//   loop: each node: v = CoxLocalStep(data, s.request)    // sums over its strata
//         hub:       CoxCombine(s, sum of the nodes' v)
//         until s.done()
//   hub:  CoxFinish(s) -> CoxResult
// Round 0 at beta = 0 gives the null log partial likelihood and the score test. The hub then
// iterates as agfit4: a Newton step, step halving when the log-likelihood gets worse, convergence
// when |1 - loglik_old / loglik| <= epsilon (1e-9), at most max_iterations (20) Newton steps.
// Redundant columns are found by a Cholesky in column order (survival's cholesky2, tolerance
// toler.chol = 2.2e-16^0.75, on covariates scaled to unit mean absolute deviation); their
// coefficients are NaN (R's NA).
//
// Node side: BuildCoxData sorts the node's rows once (by stratum and time) and centres the
// covariates per stratum (the partial likelihood does not change); every round is then one pass
// over the rows with cumulative sums, plus a blocked X'VX product.
//
// Thread-safety: CoxLocalStep is a pure function of its arguments; a CoxState belongs to one
// thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "stats/data_frame.h"
#include "stats/design.h"

namespace passerelle::stats {

enum class CoxTies { kEfron, kBreslow };

// The model spec of a Cox formula "Surv([start,] stop, event) ~ x + ... [+ strata(g)]":
// factors coded as coxph codes them (contrasts as with an intercept, no intercept column).
// Errors: a formula without a Surv() response.
Result<ModelSpec> CoxModelSpec(std::string_view formula);

// A node's rows prepared for the rounds. Internal layout, built once per study.
struct CoxData {
  size_t rows = 0;             // complete rows used
  size_t rows_incomplete = 0;  // rows left out for a missing value
  size_t rows_invalid = 0;     // rows left out with stop <= start (R's Surv() makes them NA)
  size_t events = 0;
  size_t strata = 0;
  size_t p = 0;
  std::vector<std::string> column_names;
  bool counting = false;  // start times given

  // Rows sorted by stratum, stop time descending, events first among equal times.
  std::vector<double> x;  // column-major rows x p, centred per stratum
  std::vector<double> stop;
  std::vector<double> start;  // counting only
  std::vector<uint8_t> event;
  std::vector<size_t> stratum_begin;  // strata + 1 offsets into the sorted rows
  std::vector<double> abs_dev;        // per covariate: sum of |x - stratum mean|
  // Per stratum, the event times (descending) as ranges: rows to add before each event time
  // (stop >= t), the event rows at t, the start-order rows to remove (start >= t).
  std::vector<size_t> time_begin;     // strata + 1 offsets into the per-time arrays
  std::vector<size_t> add_end;        // per event time: sorted rows [.., add_end) are in
  std::vector<size_t> event_begin;    // per event time: first event row
  std::vector<uint32_t> event_count;  // per event time: tied events
  std::vector<size_t> remove_end;     // per event time: start-order entries [.., remove_end)
  std::vector<uint32_t> start_order;  // counting: sorted rows by start descending, per stratum
  // Per row, the event times (indices within its stratum) at which it is at risk: [lo, hi).
  std::vector<uint32_t> risk_lo, risk_hi;
};

// Builds a node's Cox data from the agreed layout (of CoxModelSpec) and its columns. Errors: an
// event value other than 0/1, a missing column, no rows.
Result<CoxData> BuildCoxData(const ModelLayout& layout, const DataFrame& frame);
// The same, consuming the frame (its covariate columns are released while X is built), so that a
// node's peak memory stays lower.
Result<CoxData> BuildCoxData(const ModelLayout& layout, DataFrame&& frame);

// What the hub asks every node in a round. Wire-visible.
struct CoxRequest {
  std::vector<double> beta;
  CoxTies ties = CoxTies::kEfron;
};

// Layout of a node's answer, for p covariates:
namespace cox_slot {
inline constexpr size_t kRows = 0;
inline constexpr size_t kEvents = 1;
inline constexpr size_t kLogLik = 2;  // log partial likelihood
inline constexpr size_t kHeader = 3;
// then the gradient (p values), the sums of |x - stratum mean| per covariate (p values; with the
// row count they give survival's covariate scaling, used to decide aliasing), then the information
// matrix (minus the Hessian), packed upper triangle by rows (p(p+1)/2 values).
}  // namespace cox_slot
size_t CoxResponseSize(size_t p);

// Node side: sums over the node's strata at request.beta.
Result<std::vector<double>> CoxLocalStep(const CoxData& data, const CoxRequest& request);

struct CoxDisclosureOptions {
  int64_t min_rows = 5;            // complete rows at least
  int64_t min_events = 5;          // events at least (the node's min_cell)
  double max_params_ratio = 0.33;  // covariates at most this x rows
};
Status CheckCoxDisclosure(const CoxData& data, const CoxDisclosureOptions& options);

struct CoxOptions {
  CoxTies ties = CoxTies::kEfron;
  double epsilon = 1e-9;                       // coxph.control eps
  int max_iterations = 20;                     // coxph.control iter.max
  double toler_chol = 1.8189894035458565e-12;  // coxph.control toler.chol = eps^0.75
  double toler_inf = 3.1622776601683795e-05;   // coxph.control toler.inf = sqrt(eps)
  double conf_level = 0.95;
};

// Hub state: plain values, persist all fields between rounds.
struct CoxState {
  CoxOptions options;
  std::vector<std::string> column_names;
  CoxRequest request;
  int rounds = 0;
  int iteration = 0;  // R's iter
  int halving = 0;
  int rank = 0;
  bool finished = false;
  bool converged = false;
  double loglik0 = 0, loglik_best = 0;
  double score_test = 0;
  double rows = 0, events = 0;
  std::vector<double> beta_old;
  std::vector<double> scale;  // survival's covariate scaling, from round 0
  // The accepted (best) point: beta, its log-likelihood and information (packed).
  std::vector<double> best_beta, best_info, best_gradient;
  // The final point.
  std::vector<double> beta;
  double loglik = 0;
  std::vector<double> info;      // packed
  std::vector<double> gradient;  // at the final point
  std::vector<std::string> warnings;

  bool done() const { return finished; }
};

Result<CoxState> CoxBegin(const CoxOptions& options, std::vector<std::string> column_names);
Status CoxCombine(CoxState& state, const std::vector<double>& sum);

struct CoxCoefficient {
  std::string name;
  bool aliased = false;  // then every number is NaN
  double estimate = 0, std_error = 0, z = 0, p_value = 0;
  double hazard_ratio = 0, hr_lower = 0, hr_upper = 0;  // exp(coef), exp(coef -+ z SE)
};

struct CoxTest {
  double statistic = 0, df = 0, p_value = 0;
};

struct CoxResult {
  std::vector<CoxCoefficient> coefficients;
  double loglik_null = 0, loglik = 0;
  CoxTest likelihood_ratio, wald, score;
  int64_t n = 0, events = 0;
  int iterations = 0;
  bool converged = false;
  CoxTies ties = CoxTies::kEfron;
  double conf_level = 0.95;
  std::vector<double> covariance;  // p x p row-major, NaN for aliased
  std::vector<std::string> warnings;
};

Result<CoxResult> CoxFinish(const CoxState& state);

// The whole protocol in one process over several nodes (each its own strata).
Result<CoxResult> FitCox(const std::vector<const CoxData*>& nodes, const CoxOptions& options);

}  // namespace passerelle::stats
