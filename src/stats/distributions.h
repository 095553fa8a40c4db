// Tail probabilities and quantiles for test statistics, to double precision where the result is
// representable (relative error about 1e-13 or better against R's pnorm/pt/pchisq/qnorm).
//
// Thread-safety: pure functions.
#pragma once

namespace passerelle::stats {

// P(Z <= x) for a standard normal Z (R: pnorm(x)).
double NormalCdf(double x);
// P(Z > x) (R: pnorm(x, lower.tail = FALSE)).
double NormalUpper(double x);
// The p-quantile of the standard normal (R: qnorm(p)). REQUIRES: 0 < p < 1.
double NormalQuantile(double p);
// Two-sided p-value of a Student t statistic with `df` degrees of freedom: 2 * pt(-|t|, df).
double StudentTwoSidedP(double t, double df);
// P(X > x) for X chi-square with `df` degrees of freedom (R: pchisq(x, df, lower.tail = FALSE)).
double ChiSquareUpper(double x, double df);

// Regularised incomplete beta I_x(a, b), with y = 1 - x given separately to avoid cancellation.
double RegularizedBeta(double x, double y, double a, double b);
// Regularised upper incomplete gamma Q(a, x).
double RegularizedGammaUpper(double a, double x);

}  // namespace passerelle::stats
