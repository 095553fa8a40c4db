// Generalised linear models fitted exactly across nodes: R's glm.fit (IRLS) split into a node-side
// sum and a hub-side update.
//
// Families with their canonical links: gaussian (identity), binomial (logit), poisson (log). The
// link, variance and deviance functions are R's, including its clamping (binomial: eta beyond
// +-30, mu within DBL_EPSILON of 0 or 1; poisson: mu >= DBL_EPSILON), so that the iterations are
// those of R.
//
// Protocol (every message a node sends is a sum over its rows, so the hub only needs the sum
// over nodes):
//   hub:  GlmState s = GlmBegin(...)             // s.request is round 0
//   loop: each node: v = GlmLocalStep(design, family, s.request)   (a vector of doubles)
//         hub:       GlmCombine(s, sum of the nodes' v)             (s.request becomes the next)
//         until s.done()
//   hub:  GlmFinish(s) -> GlmResult
// Round 0 evaluates R's starting values (mustart); round k >= 1 evaluates the k-th IRLS
// coefficients: its deviance decides convergence (|dev - dev_old| / (|dev| + 0.1) < epsilon, at
// most max_iterations), its X'WX and X'Wz give the next coefficients. Standard errors come from the
// X'WX of the last solve, as R's summary.glm uses the QR of the last weighted least squares. So a
// fit of k iterations takes k + 1 rounds; with an offset and an intercept, R's null deviance needs
// an intercept-only refit, a few more rounds.
//
// Aliased columns are found on the hub's X'WX by a Cholesky in column order (the column is
// redundant when 1 - R^2 on the earlier columns is below GlmOptions::alias_tolerance), like R's
// pivoting QR keeps the first independent columns; their coefficients are NaN (R's NA).
//
// Thread-safety: GlmLocalStep is a pure function of its arguments (a Design may be shared by
// threads); a GlmState belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "stats/design.h"

namespace passerelle::stats {

enum class GlmFamily { kGaussian, kBinomial, kPoisson };
std::string_view GlmFamilyName(GlmFamily family);  // "gaussian", "binomial", "poisson"
Result<GlmFamily> ParseGlmFamily(std::string_view name);

struct GlmOptions {
  GlmFamily family = GlmFamily::kGaussian;
  // Convergence: relative deviance change below this (R's glm.control epsilon).
  double epsilon = 1e-8;
  // At most this many IRLS iterations (R's glm.control maxit).
  int max_iterations = 25;
  // A column is aliased when 1 - R^2 of it on the earlier columns (weighted) is below this. R's QR
  // uses 1e-11 on the norm; normal equations resolve about 1e-10 on the squared norm.
  double alias_tolerance = 1e-10;
  // Level of the Wald confidence intervals.
  double conf_level = 0.95;
};

// What the hub asks of every node in a round. Wire-visible.
struct GlmRequest {
  // true: evaluate starting values instead of coefficients (round 0 of a fit).
  bool start = false;
  // start: empty for the family's mustart (R's `initialize`); else the fitted values at these
  // coefficients over all design columns (R refits the null model from the full fit's values).
  std::vector<double> start_beta;
  // The design columns of this fit (indices into Design columns), and !start: their coefficients.
  std::vector<int> columns;
  std::vector<double> beta;
  // Also sum the deviance of the null model (wire values 0, 1, 2).
  enum class NullDeviance {
    kNone = 0,
    kConstantMu = 1,  // at the constant mean null_mu (models with an intercept, no offset)
    kOffsetOnly = 2,  // at mu = linkinv(offset) (models without an intercept)
  };
  NullDeviance null_mode = NullDeviance::kNone;
  double null_mu = 0.0;
};

// Layout of a node's answer (a sum over its rows), for q = request.columns.size():
namespace glm_slot {
inline constexpr size_t kRows = 0;         // complete rows
inline constexpr size_t kRowsOk = 1;       // rows with a positive weight (R's n.ok)
inline constexpr size_t kSumW = 2;         // sum of prior weights
inline constexpr size_t kSumWY = 3;        // sum of w * y
inline constexpr size_t kDeviance = 4;     // deviance at this round's mu
inline constexpr size_t kLogLik = 5;       // the mu-dependent part of the AIC's log-likelihood
inline constexpr size_t kLogLikConst = 6;  // its constant part (start rounds only, else 0)
inline constexpr size_t kInvalid = 7;      // rows with a non-finite or out-of-range eta or mu
inline constexpr size_t kBoundary = 8;     // rows with mu numerically 0 or 1 (R's glm.fit warning)
inline constexpr size_t kNullDeviance = 9;
inline constexpr size_t kNonInteger = 10;  // poisson: rows with a non-integer y (AIC is Inf)
inline constexpr size_t kHeader = 11;
// then X'Wz (q values), then X'WX packed (q(q+1)/2 values, upper triangle by rows).
}  // namespace glm_slot
size_t GlmResponseSize(size_t q);

// Node side: one round's sums over the node's complete rows. Errors: a request that does not fit
// the design; y outside the family's range (binomial 0 <= y <= 1, poisson y >= 0).
Result<std::vector<double>> GlmLocalStep(const Design& design, GlmFamily family,
                                         const GlmRequest& request);

// Disclosure rules a node checks before it sends anything (values from the node's policy; a
// study may raise them, never lower them).
struct GlmDisclosureOptions {
  int64_t min_rows = 5;            // complete rows at least
  double max_params_ratio = 0.33;  // columns at most this x rows (DataSHIELD's nfilter.glm)
  int64_t min_cell = 5;            // binomial: at least this many successes and failures
};
// Errors (kPermissionDenied) never state the node's counts, only the rule.
Status CheckGlmDisclosure(const Design& design, GlmFamily family,
                          const GlmDisclosureOptions& options);

// Hub state, plain values so that the hub can persist it between rounds (all fields).
struct GlmState {
  GlmOptions options;
  std::vector<std::string> column_names;
  bool has_intercept = false;
  bool has_offset = false;

  enum class Phase { kMain, kNull, kDone };
  Phase phase = Phase::kMain;
  GlmRequest request;  // what the nodes answer next
  int rounds = 0;      // rounds combined so far

  // IRLS of the current phase (main fit, or R's intercept-only refit for the null deviance).
  int iteration = 0;
  std::vector<double> beta_old;  // R's coefold
  bool have_old = false;
  double deviance_old = 0;
  int halvings = 0;
  bool boundary = false;
  // The last solve: unscaled covariance over request.columns (row-major), aliased flags, rank.
  std::vector<double> cov_unscaled;
  std::vector<uint8_t> aliased;
  int rank = 0;

  // From round 0 of the main fit.
  double rows = 0, rows_ok = 0, sum_w = 0, sum_wy = 0, loglik_const = 0, non_integer = 0;

  // The main fit once finished.
  std::vector<double> beta;  // all columns, aliased 0
  double deviance = 0, loglik = 0, boundary_rows = 0;
  int iterations = 0;
  bool converged = false;
  std::vector<double> main_cov_unscaled;
  std::vector<uint8_t> main_aliased;
  int main_rank = 0;
  bool main_boundary = false;
  double null_deviance = 0;
  bool have_null_deviance = false;
  bool null_converged = true;
  std::vector<std::string> warnings;

  bool done() const { return phase == Phase::kDone; }
};

// Starts a fit of a model with these design columns (ModelLayout::column_names()).
// `has_offset`: the model has an offset (then the null deviance needs a refit, as in R's glm).
Result<GlmState> GlmBegin(const GlmOptions& options, std::vector<std::string> column_names,
                          bool has_intercept, bool has_offset);

// Folds the sum over nodes of this round's answers into the state and sets the next request.
// Errors: an answer of the wrong size, no usable rows, R's fatal conditions (no valid
// coefficients, a step that cannot be corrected).
Status GlmCombine(GlmState& state, const std::vector<double>& sum);

struct GlmCoefficient {
  std::string name;
  bool aliased = false;  // then every number below is NaN (R's NA)
  double estimate = 0, std_error = 0;
  double statistic = 0;  // z, or t for gaussian (dispersion estimated)
  double p_value = 0;
  double ci_lower = 0, ci_upper = 0;  // Wald: estimate -+ qnorm(1 - (1-level)/2) * SE
};

struct GlmResult {
  GlmFamily family = GlmFamily::kGaussian;
  std::vector<GlmCoefficient> coefficients;
  std::string statistic_name;  // "z" or "t"
  bool dispersion_estimated = false;
  double dispersion = 1;
  double deviance = 0, null_deviance = 0, aic = 0;
  double df_residual = 0, df_null = 0;
  int rank = 0;
  int64_t n = 0;     // complete rows over all nodes
  int64_t n_ok = 0;  // of which with a positive weight
  int iterations = 0;
  bool converged = false;
  bool boundary = false;    // R's "algorithm stopped at boundary value"
  bool separation = false;  // binomial: fitted probabilities numerically 0 or 1
  double conf_level = 0.95;
  std::string ci_method;
  // p x p covariance of the estimates (dispersion included), row-major, NaN for aliased.
  std::vector<double> covariance;
  std::vector<std::string> warnings;
};

// REQUIRES: state.done().
Result<GlmResult> GlmFinish(const GlmState& state);

// The whole protocol in one process over several nodes' designs (tests, benchmarks, sandbox):
// the same rounds, each node's sums added in order.
// The model has an offset when the designs carry one.
Result<GlmResult> FitGlm(const std::vector<const Design*>& nodes, const GlmOptions& options);

}  // namespace passerelle::stats
