#include "stats/glm.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <utility>

#include "stats/distributions.h"
#include "stats/linalg.h"
#include "stats/xtwx_kernel.h"

namespace passerelle::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kChunk = 512;  // rows per block of the X'WX accumulation

// ---- R's family functions (stats/src/family.c and stats/R/family.R) -------------------------

// y * log(y / mu), 0 when y == 0 (R's y_log_y).
inline double YLogY(double y, double mu) { return y != 0.0 ? y * std::log(y / mu) : 0.0; }

template <GlmFamily F>
struct Family;

template <>
struct Family<GlmFamily::kGaussian> {
  static double LinkInv(double eta) { return eta; }
  static double LinkFun(double mu) { return mu; }
  static double MuEta(double) { return 1.0; }
  static double Variance(double) { return 1.0; }
  static double DevResid(double y, double mu, double w) { return w * (y - mu) * (y - mu); }
  static bool ValidMu(double mu) { return std::isfinite(mu); }
  static double MuStart(double y, double) { return y; }
};

template <>
struct Family<GlmFamily::kBinomial> {
  static constexpr double kThresh = 30.0;
  static double LinkInv(double eta) {
    double t = eta < -kThresh ? DBL_EPSILON : (eta > kThresh ? 1.0 / DBL_EPSILON : std::exp(eta));
    return t / (1.0 + t);
  }
  static double LinkFun(double mu) { return std::log(mu / (1.0 - mu)); }
  static double MuEta(double eta) {
    if (eta > kThresh || eta < -kThresh) return DBL_EPSILON;
    double opexp = 1.0 + std::exp(eta);
    return std::exp(eta) / (opexp * opexp);
  }
  static double Variance(double mu) { return mu * (1.0 - mu); }
  static double DevResid(double y, double mu, double w) {
    return 2.0 * w * (YLogY(y, mu) + YLogY(1.0 - y, 1.0 - mu));
  }
  static bool ValidMu(double mu) { return std::isfinite(mu) && mu > 0.0 && mu < 1.0; }
  static double MuStart(double y, double w) { return (w * y + 0.5) / (w + 1.0); }
};

template <>
struct Family<GlmFamily::kPoisson> {
  static double LinkInv(double eta) { return std::max(std::exp(eta), DBL_EPSILON); }
  static double LinkFun(double mu) { return std::log(mu); }
  static double MuEta(double eta) { return std::max(std::exp(eta), DBL_EPSILON); }
  static double Variance(double mu) { return mu; }
  static double DevResid(double y, double mu, double w) {
    if (y > 0) return 2.0 * w * (y * std::log(y / mu) - (y - mu));
    return 2.0 * mu * w;
  }
  static bool ValidMu(double mu) { return std::isfinite(mu) && mu > 0.0; }
  static double MuStart(double y, double) { return y + 0.1; }
};

double LogChoose(double n, double k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

template <GlmFamily F>
Status LocalStepImpl(const Design& d, const GlmRequest& req, std::vector<double>& out) {
  using Fam = Family<F>;
  const size_t n = d.rows;
  const size_t q = req.columns.size();
  const bool from_mustart = req.start && req.start_beta.empty();
  const bool has_w = !d.weights.empty();
  const bool has_off = !d.offset.empty();
  const double boundary_eps = 10.0 * DBL_EPSILON;

  // Range of y (R's family initialize).
  if (req.start) {
    for (size_t r = 0; r < n; ++r) {
      double y = d.y[r];
      if (F == GlmFamily::kBinomial && has_w && d.weights[r] == 0) y = 0;
      if (F == GlmFamily::kBinomial && (y < 0.0 || y > 1.0)) {
        return Status::InvalidArgument(
            "glm: binomial outcome values must lie in [0, 1] (0/1 or a proportion)");
      }
      if (F == GlmFamily::kPoisson && y < 0.0) {
        return Status::InvalidArgument("glm: negative outcome values are not allowed for poisson");
      }
      if (!std::isfinite(y)) return Status::InvalidArgument("glm: infinite outcome value");
    }
  }

  // Coefficients of the linear predictor over all design columns.
  std::vector<double> coef_all;
  if (!from_mustart) {
    coef_all.assign(d.cols, 0.0);
    if (req.start) {
      coef_all = req.start_beta;
    } else {
      for (size_t k = 0; k < q; ++k) coef_all[req.columns[k]] = req.beta[k];
    }
  }

  std::vector<double> xtwx(q * q, 0.0), xtwz(q, 0.0);
  std::vector<double> eta(kChunk), wt(kChunk), zw(kChunk);
  std::vector<const double*> cols(q);

  double rows_ok = 0, sum_w = 0, sum_wy = 0, dev = 0, loglik = 0, loglik_const = 0;
  double invalid = 0, boundary = 0, null_dev = 0, non_integer = 0;

  for (size_t r0 = 0; r0 < n; r0 += kChunk) {
    const size_t nr = std::min(kChunk, n - r0);
    // Linear predictor of the block.
    if (from_mustart) {
      for (size_t i = 0; i < nr; ++i) {
        const size_t r = r0 + i;
        const double w = has_w ? d.weights[r] : 1.0;
        double y = d.y[r];
        if (F == GlmFamily::kBinomial && w == 0) y = 0;
        eta[i] = Fam::LinkFun(Fam::MuStart(y, w));
      }
    } else {
      for (size_t i = 0; i < nr; ++i) eta[i] = has_off ? d.offset[r0 + i] : 0.0;
      for (size_t j = 0; j < d.cols; ++j) {
        const double b = coef_all[j];
        if (b == 0.0) continue;
        const double* col = d.column(j) + r0;
        for (size_t i = 0; i < nr; ++i) eta[i] += b * col[i];
      }
      if (req.start) {
        // Start from fitted values: eta = linkfun(linkinv(X beta + offset)), as R does.
        for (size_t i = 0; i < nr; ++i) eta[i] = Fam::LinkFun(Fam::LinkInv(eta[i]));
      }
    }
    for (size_t i = 0; i < nr; ++i) {
      const size_t r = r0 + i;
      const double w = has_w ? d.weights[r] : 1.0;
      double y = d.y[r];
      if (F == GlmFamily::kBinomial && w == 0) y = 0;
      const double off = has_off ? d.offset[r] : 0.0;
      const double e = eta[i];
      double mu, me;
      if constexpr (F == GlmFamily::kBinomial) {
        // R's logit linkinv and mu.eta (family.c) sharing one exp().
        double t;
        if (e < -Fam::kThresh) {
          t = DBL_EPSILON;
          me = DBL_EPSILON;
        } else if (e > Fam::kThresh) {
          t = 1.0 / DBL_EPSILON;
          me = DBL_EPSILON;
        } else {
          t = std::exp(e);
          me = t / ((1.0 + t) * (1.0 + t));
        }
        mu = t / (1.0 + t);
      } else {
        mu = Fam::LinkInv(e);
        me = Fam::MuEta(e);
      }
      if (!std::isfinite(e) || !Fam::ValidMu(mu)) invalid += 1;
      sum_w += w;
      sum_wy += w * y;
      if constexpr (F == GlmFamily::kBinomial) {
        // Each log only when needed: a 0/1 outcome with weight 1 needs one of them (the logs are
        // most of a row's cost).
        double log_mu = 0, log_1mu = 0;
        bool have_mu = false, have_1mu = false;
        auto lmu = [&] {
          if (!have_mu) log_mu = std::log(mu), have_mu = true;
          return log_mu;
        };
        auto l1mu = [&] {
          if (!have_1mu) log_1mu = std::log(1.0 - mu), have_1mu = true;
          return log_1mu;
        };
        // 0/1 outcomes: R's y_log_y terms reduce to one log each.
        if (y == 1.0) {
          dev -= 2.0 * w * lmu();
        } else if (y == 0.0) {
          dev -= 2.0 * w * l1mu();
        } else {
          dev += Fam::DevResid(y, mu, w);
        }
        if (mu > 1.0 - boundary_eps || mu < boundary_eps) boundary += 1;
        if (w > 0) {
          const double trials = std::nearbyint(w);
          const double succ = std::nearbyint(w * y);
          if (succ > 0) loglik += succ * lmu();
          if (trials - succ > 0) loglik += (trials - succ) * l1mu();
          if (req.start) {
            loglik_const += LogChoose(trials, succ);
            if (std::fabs(w * y - succ) > 1e-3) non_integer += 1;
          }
        }
      } else if constexpr (F == GlmFamily::kPoisson) {
        dev += Fam::DevResid(y, mu, w);
        if (mu < boundary_eps) boundary += 1;
        loglik += w * ((y > 0 ? y * std::log(mu) : 0.0) - mu);
        if (req.start) {
          loglik_const -= w * std::lgamma(y + 1.0);
          if (std::fabs(y - std::nearbyint(y)) > 1e-7 * std::max(1.0, std::fabs(y))) {
            non_integer += 1;
          }
        }
      } else {
        dev += Fam::DevResid(y, mu, w);
        if (req.start) loglik_const += std::log(w);
      }
      if (req.null_mode == GlmRequest::NullDeviance::kConstantMu) {
        null_dev += Fam::DevResid(y, req.null_mu, w);
      } else if (req.null_mode == GlmRequest::NullDeviance::kOffsetOnly) {
        null_dev += Fam::DevResid(y, Fam::LinkInv(off), w);
      }
      if (w > 0) {
        rows_ok += 1;
        const double w2 = w * me * me / Fam::Variance(mu);
        wt[i] = w2;
        zw[i] = (e - off) + (y - mu) / me;
      } else {
        wt[i] = 0.0;
        zw[i] = 0.0;
      }
    }
    // X'WX += X_b' W_b X_b and X'Wz += X_b' W_b z_b over the fit's columns (vectorised kernel).
    for (size_t k = 0; k < q; ++k) cols[k] = d.column(req.columns[k]) + r0;
    AccumulateWeightedCrossProduct(cols.data(), q, wt.data(), zw.data(), nr, xtwx.data(),
                                   xtwz.data());
  }

  out.assign(GlmResponseSize(q), 0.0);
  out[glm_slot::kRows] = static_cast<double>(n);
  out[glm_slot::kRowsOk] = rows_ok;
  out[glm_slot::kSumW] = sum_w;
  out[glm_slot::kSumWY] = sum_wy;
  out[glm_slot::kDeviance] = dev;
  out[glm_slot::kLogLik] = loglik;
  out[glm_slot::kLogLikConst] = loglik_const;
  out[glm_slot::kInvalid] = invalid;
  out[glm_slot::kBoundary] = boundary;
  out[glm_slot::kNullDeviance] = null_dev;
  out[glm_slot::kNonInteger] = non_integer;
  size_t pos = glm_slot::kHeader;
  for (size_t k = 0; k < q; ++k) out[pos++] = xtwz[k];
  for (size_t i = 0; i < q; ++i) {
    for (size_t j = i; j < q; ++j) out[pos++] = xtwx[i + j * q];
  }
  return Status::Ok();
}

// ---- hub --------------------------------------------------------------------------------------

// Solves the weighted least squares of this round: the next coefficients of the phase's columns.
Result<std::vector<double>> Solve(GlmState& s, const std::vector<double>& sum) {
  const size_t q = s.request.columns.size();
  const double* xtwz = sum.data() + glm_slot::kHeader;
  std::vector<double> full = UnpackSymmetric(xtwz + q, q);
  ASSIGN_OR_RETURN(SymmetricInverse inv, InvertSymmetric(full, q, s.options.alias_tolerance));
  std::vector<double> beta = MultiplyMatrix(inv.inverse, std::vector<double>(xtwz, xtwz + q));
  for (double b : beta) {
    if (!std::isfinite(b)) {
      return Status::FailedPrecondition("glm: non-finite coefficients at iteration " +
                                        std::to_string(s.iteration));
    }
  }
  if (inv.rank > 0 && s.rows > 0 && inv.rank > s.rows) {
    return Status::FailedPrecondition("glm: the design has rank " + std::to_string(inv.rank) +
                                      " but only " + std::to_string(static_cast<int64_t>(s.rows)) +
                                      " rows");
  }
  s.cov_unscaled = std::move(inv.inverse);
  s.aliased = std::move(inv.aliased);
  s.rank = inv.rank;
  return beta;
}

void StartPhase(GlmState& s, std::vector<int> columns, std::vector<double> start_beta) {
  s.iteration = 0;
  s.have_old = false;
  s.halvings = 0;
  s.boundary = false;
  s.request = GlmRequest{};
  s.request.start = true;
  s.request.start_beta = std::move(start_beta);
  s.request.columns = std::move(columns);
}

// The phase is over (converged or out of iterations) with this round's sums at request.beta.
void FinishPhase(GlmState& s, const std::vector<double>& sum, bool converged) {
  const double dev = sum[glm_slot::kDeviance];
  if (s.phase == GlmState::Phase::kMain) {
    s.beta.assign(s.column_names.size(), 0.0);
    for (size_t k = 0; k < s.request.columns.size(); ++k) {
      s.beta[s.request.columns[k]] = s.request.beta[k];
    }
    s.deviance = dev;
    s.loglik = sum[glm_slot::kLogLik];
    s.boundary_rows = sum[glm_slot::kBoundary];
    s.iterations = s.iteration;
    s.converged = converged;
    s.main_cov_unscaled = s.cov_unscaled;
    s.main_aliased = s.aliased;
    s.main_rank = s.rank;
    s.main_boundary = s.boundary;
    if (s.has_offset && s.has_intercept) {
      // R's glm: the null deviance of a model with an offset is an intercept-only refit,
      // started from the full model's fitted values.
      s.phase = GlmState::Phase::kNull;
      StartPhase(s, {0}, s.beta);
      return;
    }
  } else {
    s.null_deviance = dev;
    s.have_null_deviance = true;
    s.null_converged = converged;
  }
  s.phase = GlmState::Phase::kDone;
  s.request = GlmRequest{};
}

}  // namespace

std::string_view GlmFamilyName(GlmFamily family) {
  switch (family) {
    case GlmFamily::kGaussian:
      return "gaussian";
    case GlmFamily::kBinomial:
      return "binomial";
    case GlmFamily::kPoisson:
      return "poisson";
  }
  return "?";
}

Result<GlmFamily> ParseGlmFamily(std::string_view name) {
  if (name == "gaussian") return GlmFamily::kGaussian;
  if (name == "binomial") return GlmFamily::kBinomial;
  if (name == "poisson") return GlmFamily::kPoisson;
  return Status::InvalidArgument("glm: unknown family \"" + std::string(name) +
                                 "\" (use gaussian, binomial or poisson)");
}

size_t GlmResponseSize(size_t q) { return glm_slot::kHeader + q + PackedSize(q); }

Result<std::vector<double>> GlmLocalStep(const Design& design, GlmFamily family,
                                         const GlmRequest& request) {
  if (design.y.size() != design.rows) {
    return Status::InvalidArgument("glm: the design has no response");
  }
  for (int c : request.columns) {
    if (c < 0 || static_cast<size_t>(c) >= design.cols) {
      return Status::InvalidArgument("glm: request names a column outside the design");
    }
  }
  if (request.start && !request.start_beta.empty() && request.start_beta.size() != design.cols) {
    return Status::InvalidArgument("glm: start coefficients do not match the design");
  }
  if (!request.start && request.beta.size() != request.columns.size()) {
    return Status::InvalidArgument("glm: coefficients do not match the request's columns");
  }
  std::vector<double> out;
  switch (family) {
    case GlmFamily::kGaussian:
      RETURN_IF_ERROR(LocalStepImpl<GlmFamily::kGaussian>(design, request, out));
      break;
    case GlmFamily::kBinomial:
      RETURN_IF_ERROR(LocalStepImpl<GlmFamily::kBinomial>(design, request, out));
      break;
    case GlmFamily::kPoisson:
      RETURN_IF_ERROR(LocalStepImpl<GlmFamily::kPoisson>(design, request, out));
      break;
  }
  return out;
}

Status CheckGlmDisclosure(const Design& design, GlmFamily family,
                          const GlmDisclosureOptions& options) {
  const auto n = static_cast<double>(design.rows);
  if (n < static_cast<double>(options.min_rows)) {
    return Status::PermissionDenied("glm: fewer complete rows than the node's minimum (" +
                                    std::to_string(options.min_rows) + ")");
  }
  const auto p = static_cast<double>(design.cols);
  if (p >= n) {
    return Status::PermissionDenied(
        "glm: the model is saturated (as many parameters as complete rows or more)");
  }
  if (p > options.max_params_ratio * n) {
    return Status::PermissionDenied("glm: too many parameters for the number of rows (at most " +
                                    std::to_string(options.max_params_ratio) + " x rows)");
  }
  if (family == GlmFamily::kBinomial) {
    double succ = 0, fail = 0;
    for (size_t r = 0; r < design.rows; ++r) {
      const double w = design.weights.empty() ? 1.0 : design.weights[r];
      succ += w * design.y[r];
      fail += w * (1.0 - design.y[r]);
    }
    if (succ < static_cast<double>(options.min_cell) ||
        fail < static_cast<double>(options.min_cell)) {
      return Status::PermissionDenied(
          "glm: an outcome class has fewer rows than the node's minimum cell count (" +
          std::to_string(options.min_cell) + ")");
    }
  }
  return Status::Ok();
}

Result<GlmState> GlmBegin(const GlmOptions& options, std::vector<std::string> column_names,
                          bool has_intercept, bool has_offset) {
  if (column_names.empty()) return Status::InvalidArgument("glm: the model has no columns");
  if (options.max_iterations < 1) {
    return Status::InvalidArgument("glm: max_iterations must be at least 1");
  }
  if (!(options.conf_level > 0 && options.conf_level < 1)) {
    return Status::InvalidArgument("glm: conf_level must lie in (0, 1)");
  }
  GlmState s;
  s.options = options;
  s.column_names = std::move(column_names);
  s.has_intercept = has_intercept;
  s.has_offset = has_offset;
  std::vector<int> all(s.column_names.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  StartPhase(s, std::move(all), {});
  return s;
}

Status GlmCombine(GlmState& s, const std::vector<double>& sum) {
  if (s.done()) return Status::FailedPrecondition("glm: the fit is already finished");
  const size_t q = s.request.columns.size();
  if (sum.size() != GlmResponseSize(q)) {
    return Status::InvalidArgument("glm: round answer has " + std::to_string(sum.size()) +
                                   " values, expected " + std::to_string(GlmResponseSize(q)));
  }
  ++s.rounds;
  const double dev = sum[glm_slot::kDeviance];
  const bool invalid = sum[glm_slot::kInvalid] > 0 || !std::isfinite(dev);

  if (s.request.start) {
    if (s.phase == GlmState::Phase::kMain) {
      s.rows = sum[glm_slot::kRows];
      s.rows_ok = sum[glm_slot::kRowsOk];
      s.sum_w = sum[glm_slot::kSumW];
      s.sum_wy = sum[glm_slot::kSumWY];
      s.loglik_const = sum[glm_slot::kLogLikConst];
      s.non_integer = sum[glm_slot::kNonInteger];
      if (s.rows_ok <= 0) {
        return Status::FailedPrecondition("glm: no complete rows with a positive weight");
      }
    }
    if (invalid) {
      return Status::FailedPrecondition(
          "glm: cannot find valid starting values (R: please specify some)");
    }
    s.deviance_old = dev;
    s.iteration = 1;
    ASSIGN_OR_RETURN(std::vector<double> beta, Solve(s, sum));
    GlmRequest next;
    next.columns = s.request.columns;
    next.beta = std::move(beta);
    if (s.phase == GlmState::Phase::kMain) {
      if (!s.has_intercept) {
        next.null_mode = GlmRequest::NullDeviance::kOffsetOnly;
      } else if (!s.has_offset) {
        next.null_mode = GlmRequest::NullDeviance::kConstantMu;
        next.null_mu = s.sum_wy / s.sum_w;
      }
    }
    s.request = std::move(next);
    return Status::Ok();
  }

  if (invalid) {
    // R's step halving towards the previous coefficients.
    if (!s.have_old) {
      return Status::FailedPrecondition(
          "glm: no valid set of coefficients has been found (R: please supply starting values)");
    }
    if (++s.halvings > s.options.max_iterations) {
      return Status::FailedPrecondition("glm: cannot correct step size (R: inner loop 1)");
    }
    for (size_t k = 0; k < q; ++k) {
      s.request.beta[k] = 0.5 * (s.request.beta[k] + s.beta_old[k]);
    }
    s.boundary = true;
    return Status::Ok();
  }
  if (s.request.null_mode != GlmRequest::NullDeviance::kNone) {
    s.null_deviance = sum[glm_slot::kNullDeviance];
    s.have_null_deviance = true;
    s.request.null_mode = GlmRequest::NullDeviance::kNone;
  }
  s.halvings = 0;
  const bool converged =
      std::fabs(dev - s.deviance_old) / (std::fabs(dev) + 0.1) < s.options.epsilon;
  if (converged || s.iteration >= s.options.max_iterations) {
    FinishPhase(s, sum, converged);
    return Status::Ok();
  }
  s.deviance_old = dev;
  s.beta_old = s.request.beta;
  s.have_old = true;
  ++s.iteration;
  ASSIGN_OR_RETURN(std::vector<double> beta, Solve(s, sum));
  s.request.beta = std::move(beta);
  return Status::Ok();
}

Result<GlmResult> GlmFinish(const GlmState& s) {
  if (!s.done()) return Status::FailedPrecondition("glm: the fit is not finished");
  const GlmFamily family = s.options.family;
  const size_t p = s.column_names.size();
  GlmResult r;
  r.family = family;
  r.deviance = s.deviance;
  r.null_deviance = s.have_null_deviance ? s.null_deviance : kNaN;
  r.rank = s.main_rank;
  r.n = static_cast<int64_t>(s.rows);
  r.n_ok = static_cast<int64_t>(s.rows_ok);
  r.df_residual = s.rows_ok - r.rank;
  r.df_null = s.rows_ok - (s.has_intercept ? 1 : 0);
  r.iterations = s.iterations;
  r.converged = s.converged;
  r.boundary = s.main_boundary;
  r.conf_level = s.options.conf_level;
  r.dispersion_estimated = family == GlmFamily::kGaussian;
  r.statistic_name = r.dispersion_estimated ? "t" : "z";
  // summary.glm: the gaussian dispersion is the residual sum of squares over its df.
  r.dispersion =
      r.dispersion_estimated ? (r.df_residual > 0 ? s.deviance / r.df_residual : kNaN) : 1.0;
  const double rank2 = 2.0 * r.rank;
  switch (family) {
    case GlmFamily::kGaussian:
      r.aic = s.rows * (std::log(2.0 * M_PI * s.deviance / s.rows) + 1.0) + 2.0 - s.loglik_const +
              rank2;
      break;
    case GlmFamily::kBinomial:
      r.aic = -2.0 * (s.loglik_const + s.loglik) + rank2;
      break;
    case GlmFamily::kPoisson:
      r.aic = s.non_integer > 0 ? kInf : -2.0 * (s.loglik_const + s.loglik) + rank2;
      break;
  }

  const double zq = NormalQuantile(1.0 - (1.0 - r.conf_level) / 2.0);
  r.ci_method = "Wald (R's confint.default): estimate -+ qnorm(" +
                std::to_string(1.0 - (1.0 - r.conf_level) / 2.0) + ") x SE";
  r.covariance.assign(p * p, kNaN);
  std::vector<std::string> aliased_names;
  for (size_t i = 0; i < p; ++i) {
    GlmCoefficient c;
    c.name = s.column_names[i];
    c.aliased = s.main_aliased[i] != 0;
    if (c.aliased) {
      c.estimate = c.std_error = c.statistic = c.p_value = c.ci_lower = c.ci_upper = kNaN;
      aliased_names.push_back(c.name);
    } else {
      c.estimate = s.beta[i];
      c.std_error = std::sqrt(s.main_cov_unscaled[i * p + i] * r.dispersion);
      c.statistic = c.estimate / c.std_error;
      if (r.dispersion_estimated) {
        c.p_value = r.df_residual > 0 ? StudentTwoSidedP(c.statistic, r.df_residual) : kNaN;
      } else {
        c.p_value = 2.0 * NormalUpper(std::fabs(c.statistic));
      }
      c.ci_lower = c.estimate - zq * c.std_error;
      c.ci_upper = c.estimate + zq * c.std_error;
      for (size_t j = 0; j < p; ++j) {
        if (!s.main_aliased[j]) {
          r.covariance[i * p + j] = s.main_cov_unscaled[i * p + j] * r.dispersion;
        }
      }
    }
    r.coefficients.push_back(std::move(c));
  }

  if (!aliased_names.empty()) {
    std::string names;
    for (const auto& n : aliased_names) names += (names.empty() ? "" : ", ") + n;
    r.warnings.push_back(
        std::to_string(aliased_names.size()) +
        " coefficient(s) not defined because of singularities (aliased): " + names);
  }
  if (!r.converged) {
    r.warnings.push_back("glm.fit: algorithm did not converge in " +
                         std::to_string(s.options.max_iterations) + " iterations");
  }
  if (r.boundary) r.warnings.push_back("glm.fit: algorithm stopped at boundary value");
  if (family == GlmFamily::kBinomial && s.boundary_rows > 0) {
    r.separation = true;
    r.warnings.push_back(
        "glm.fit: fitted probabilities numerically 0 or 1 occurred: the outcome is (quasi-)"
        "completely separated by the covariates; the estimates and standard errors of the "
        "separating terms are not meaningful (remove or merge them, or use a penalised model)");
  }
  if (family == GlmFamily::kBinomial && !r.converged) r.separation = true;
  if (family == GlmFamily::kPoisson && s.boundary_rows > 0) {
    r.warnings.push_back("glm.fit: fitted rates numerically 0 occurred");
  }
  if (family == GlmFamily::kBinomial && s.non_integer > 0) {
    r.warnings.push_back("non-integer #successes in a binomial glm");
  }
  if (family == GlmFamily::kPoisson && s.non_integer > 0) {
    r.warnings.push_back("non-integer outcome in a poisson glm: the AIC is infinite (as R's)");
  }
  if (!s.null_converged) {
    r.warnings.push_back("the intercept-only refit for the null deviance did not converge");
  }
  return r;
}

Result<GlmResult> FitGlm(const std::vector<const Design*>& nodes, const GlmOptions& options) {
  if (nodes.empty()) return Status::InvalidArgument("glm: no node");
  const Design& first = *nodes.front();
  ASSIGN_OR_RETURN(GlmState s, GlmBegin(options, first.column_names, first.has_intercept,
                                        !first.offset.empty()));
  while (!s.done()) {
    std::vector<double> sum;
    for (const Design* d : nodes) {
      ASSIGN_OR_RETURN(std::vector<double> part, GlmLocalStep(*d, options.family, s.request));
      if (sum.empty()) {
        sum = std::move(part);
      } else {
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += part[i];
      }
    }
    RETURN_IF_ERROR(GlmCombine(s, sum));
  }
  return GlmFinish(s);
}

}  // namespace passerelle::stats
