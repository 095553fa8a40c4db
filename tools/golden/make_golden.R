# Golden values for the statistics layer (src/stats), computed by R on the pooled shared data.
#
#   Rscript tools/golden/make_golden.R [DATA_DIR] [OUT_DIR]
#
# DATA_DIR defaults to ../shared/data/datashield beside the repository (the folder of the
# DataSHIELD test CSVs; an empty field is a missing value), OUT_DIR to tests/stats/golden. Needs
# r-base-core and r-cran-survival (Debian); the C++ tests only read the JSON files written here.
# Each study file is one site; derived columns are computed the same way in the C++ tests
# (tests/stats/shared_data.cc).
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))  # factor levels sorted bytewise, as src/stats does

args <- commandArgs(trailingOnly = TRUE)
script_dir <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
repo <- normalizePath(file.path(script_dir, "..", ".."))
data_dir <- if (length(args) >= 1) args[1] else file.path(repo, "..", "shared", "data", "datashield")
out_dir <- if (length(args) >= 2) args[2] else file.path(repo, "tests", "stats", "golden")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

read_sites <- function(prefix, sites) {
  do.call(rbind, lapply(sites, function(i) {
    d <- read.csv(file.path(data_dir, paste0(prefix, i, ".csv")), na.strings = "")
    d$site <- i
    d
  }))
}

# ---- minimal JSON writer (full precision) ----
num <- function(x) {
  sapply(x, function(v) {
    if (is.na(v)) "null"
    else if (is.infinite(v)) if (v > 0) "\"Inf\"" else "\"-Inf\""
    else sprintf("%.17g", v)
  })
}
str_json <- function(x) paste0("\"", gsub("\"", "\\\\\"", x), "\"")
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x)) {
    if (is.null(names(x))) {
      items <- sapply(x, to_json, indent = inner)
      return(paste0("[\n", inner, paste(items, collapse = paste0(",\n", inner)), "\n", indent, "]"))
    }
    items <- mapply(function(k, v) paste0(str_json(k), ": ", to_json(v, inner)), names(x), x)
    return(paste0("{\n", inner, paste(items, collapse = paste0(",\n", inner)), "\n", indent, "}"))
  }
  if (is.character(x)) {
    return(if (length(x) == 1 && is.null(attr(x, "array"))) str_json(x) else
      paste0("[", paste(str_json(x), collapse = ", "), "]"))
  }
  if (is.logical(x)) x <- as.numeric(x)
  if (length(x) == 1 && is.null(attr(x, "array"))) return(num(x))
  paste0("[", paste(num(x), collapse = ", "), "]")
}
arr <- function(x) { attr(x, "array") <- TRUE; x }
write_case <- function(name, value) {
  writeLines(to_json(value), file.path(out_dir, paste0(name, ".json")))
  cat("wrote", name, "\n")
}

# ---- data ----
cnsim <- read_sites("CNSIM", 1:3)
cnsim$BMI_CAT <- c("low", "Mid", "high")[cnsim$PM_BMI_CATEGORICAL]
expand <- read_sites("EXPAND_WITH_MISSING", 1:3)
expand$LOG_SURVTIME <- log(expand$survtime)
expand$START_R <- floor(expand$starttime * 2) / 2
expand$END_R <- ceiling(expand$endtime * 2) / 2
expand$SURV_R <- ceiling(expand$survtime * 4) / 4
expand$BMI_GRP <- ifelse(expand$bmi.26 < -2, "lean", ifelse(expand$bmi.26 > 2, "Heavy", "mid"))
nomiss <- read_sites("EXPAND_NO_MISSING", 1)

# ---- GLM ----
glm_case <- function(name, data, formula, family, data_name, weights = NULL) {
  if (is.null(weights)) {
    fit <- glm(as.formula(formula), family = family, data = data)
  } else {
    data$.w <- data[[weights]]
    fit <- glm(as.formula(formula), family = family, data = data, weights = .w)
  }
  s <- summary(fit)
  cf <- coef(fit)
  tab <- matrix(NA_real_, length(cf), 4, dimnames = list(names(cf), NULL))
  tab[rownames(s$coefficients), ] <- s$coefficients
  ci <- matrix(NA_real_, length(cf), 2, dimnames = list(names(cf), NULL))
  ok <- !is.na(cf)
  z <- qnorm(0.975)
  ci[ok, 1] <- cf[ok] - z * tab[ok, 2]
  ci[ok, 2] <- cf[ok] + z * tab[ok, 2]
  write_case(name, list(
    data = data_name, formula = formula, family = family$family,
    weights = if (is.null(weights)) "" else weights,
    names = arr(names(cf)), estimate = arr(unname(cf)), std_error = arr(unname(tab[, 2])),
    statistic = arr(unname(tab[, 3])), p_value = arr(unname(tab[, 4])),
    ci_lower = arr(unname(ci[, 1])), ci_upper = arr(unname(ci[, 2])),
    deviance = fit$deviance, null_deviance = fit$null.deviance, aic = fit$aic,
    df_residual = fit$df.residual, df_null = fit$df.null, rank = fit$rank,
    iterations = fit$iter, n = nobs(fit) + sum(fit$prior.weights == 0), dispersion = s$dispersion,
    converged = fit$converged))
}

glm_case("glm_gaussian_cnsim", cnsim, "LAB_TSC ~ LAB_TRIG", gaussian(), "CNSIM")
glm_case("glm_binomial_cnsim", cnsim, "DIS_DIAB ~ GENDER*PM_BMI_CONTINUOUS + LAB_HDL",
         binomial(), "CNSIM")
glm_case("glm_binomial_factor_cnsim", cnsim, "DIS_DIAB ~ factor(PM_BMI_CATEGORICAL) + LAB_HDL",
         binomial(), "CNSIM")
glm_case("glm_binomial_factor_interaction_cnsim", cnsim,
         "DIS_DIAB ~ factor(PM_BMI_CATEGORICAL)*LAB_HDL", binomial(), "CNSIM")
glm_case("glm_gaussian_string_factor_cnsim", cnsim, "LAB_HDL ~ BMI_CAT * GENDER", gaussian(),
         "CNSIM")
glm_case("glm_gaussian_no_intercept_cnsim", cnsim, "LAB_TSC ~ BMI_CAT + BMI_CAT:LAB_HDL - 1",
         gaussian(), "CNSIM")
glm_case("glm_gaussian_weighted_cnsim", cnsim, "LAB_TSC ~ LAB_TRIG + GENDER", gaussian(),
         "CNSIM", weights = "PM_BMI_CONTINUOUS")
glm_case("glm_binomial_aliased_cnsim", cnsim, "DIS_DIAB ~ GENDER + LAB_HDL + factor(GENDER)",
         binomial(), "CNSIM")
glm_case("glm_poisson_expand", expand, "survtime ~ time.id + female", poisson(), "EXPAND")
glm_case("glm_poisson_offset_expand", expand, "cens ~ female + age.60 + offset(LOG_SURVTIME)",
         poisson(), "EXPAND")
glm_case("glm_poisson_no_intercept_expand", expand, "cens ~ 0 + female + age.60", poisson(),
         "EXPAND")

# ---- Cox ----
cox_case <- function(name, data, formula, ties, data_name) {
  fit <- coxph(as.formula(formula), data = data, ties = ties)
  s <- summary(fit)
  cf <- coef(fit)
  se <- sqrt(diag(fit$var))
  se[is.na(cf)] <- NA
  z <- cf / se
  q <- qnorm(0.975)
  ok <- !is.na(cf)
  # summary.coxph rounds the Wald statistic to 2 decimals: recompute it unrounded.
  wald <- as.numeric(t(cf[ok]) %*% solve(fit$var[ok, ok, drop = FALSE], cf[ok]))
  write_case(name, list(
    data = data_name, formula = formula, ties = ties,
    names = arr(names(cf)), estimate = arr(unname(cf)), std_error = arr(unname(se)),
    z = arr(unname(z)), p_value = arr(unname(2 * pnorm(-abs(z)))),
    hr_lower = arr(unname(exp(cf - q * se))), hr_upper = arr(unname(exp(cf + q * se))),
    loglik_null = fit$loglik[1], loglik = fit$loglik[2],
    lr = unname(s$logtest["test"]), lr_df = unname(s$logtest["df"]),
    lr_p = unname(s$logtest["pvalue"]),
    wald = wald, wald_p = pchisq(wald, sum(ok), lower.tail = FALSE),
    score = unname(s$sctest["test"]), score_p = unname(s$sctest["pvalue"]),
    n = fit$n, events = fit$nevent, iterations = fit$iter))
}

cox_covs <- "age.60 + female + noise.56 + pm10.16 + bmi.26"
cox_case("cox_efron_expand", expand,
         paste("Surv(starttime, endtime, cens) ~", cox_covs, "+ strata(site)"), "efron", "EXPAND")
cox_case("cox_breslow_expand", expand,
         paste("Surv(starttime, endtime, cens) ~", cox_covs, "+ strata(site)"), "breslow",
         "EXPAND")
cox_case("cox_efron_ties_expand", expand,
         "Surv(START_R, END_R, cens) ~ age.60 + female + pm10.16 + strata(site)", "efron", "EXPAND")
cox_case("cox_breslow_ties_expand", expand,
         "Surv(START_R, END_R, cens) ~ age.60 + female + pm10.16 + strata(site)", "breslow",
         "EXPAND")
cox_case("cox_right_ties_expand", expand,
         "Surv(SURV_R, cens) ~ age.60 + female + bmi.26 + strata(site)", "efron", "EXPAND")
cox_case("cox_factor_strata_expand", expand,
         "Surv(starttime, endtime, cens) ~ age.60 + BMI_GRP + pm10.16:BMI_GRP + strata(site) + strata(female)",
         "efron", "EXPAND")
# time.id is constant within every risk set (it indexes fixed time windows): no information,
# its columns are aliased.
cox_case("cox_aliased_expand", expand,
         "Surv(starttime, endtime, cens) ~ age.60 + factor(time.id) + strata(site)", "efron",
         "EXPAND")
cox_case("cox_nomissing1", nomiss, "Surv(starttime, endtime, cens) ~ age.60", "efron",
         "EXPAND_NO_MISSING1")

# ---- Kaplan-Meier ----
km_case <- function(name, fit, grid, data_name, formula) {
  s <- summary(fit, times = grid[-1], extend = TRUE)
  groups <- if (is.null(s$strata)) rep("all", length(s$time)) else as.character(s$strata)
  curves <- lapply(unique(groups), function(g) {
    k <- groups == g
    list(group = g, time = arr(s$time[k]), n_risk = arr(s$n.risk[k]),
         n_event = arr(s$n.event[k]), surv = arr(s$surv[k]), std_err = arr(s$std.err[k]),
         lower = arr(s$lower[k]), upper = arr(s$upper[k]))
  })
  write_case(name, list(data = data_name, formula = formula, grid = arr(grid), curves = curves))
}

grid <- seq(0, 6, by = 0.5)
ceil_grid <- function(t) {
  i <- findInterval(t, grid, left.open = TRUE) + 1  # smallest grid point >= t
  ifelse(i <= length(grid), grid[pmin(i, length(grid))], t)
}
ex <- expand
ex$T_GRID <- ceil_grid(ex$survtime)
km_case("km_right_grid_expand", survfit(Surv(T_GRID, cens) ~ female, data = ex), grid, "EXPAND",
        "Surv(survtime, cens) ~ female")
exact_grid <- sort(unique(c(0, nomiss$starttime, nomiss$endtime)))
km_case("km_counting_exact_nomissing1",
        survfit(Surv(starttime, endtime, cens) ~ female, data = nomiss), exact_grid,
        "EXPAND_NO_MISSING1", "Surv(starttime, endtime, cens) ~ female")

# ---- design matrices: column names, rows and column sums ----
design_formulas <- c(
  "LAB_TSC ~ GENDER*PM_BMI_CONTINUOUS + LAB_HDL",
  "LAB_TSC ~ factor(PM_BMI_CATEGORICAL)*LAB_HDL",
  "LAB_TSC ~ BMI_CAT:GENDER",
  "LAB_TSC ~ LAB_HDL:BMI_CAT",
  "LAB_TSC ~ BMI_CAT + BMI_CAT:LAB_HDL - 1",
  "LAB_TSC ~ 0 + BMI_CAT*factor(GENDER)",
  "LAB_TSC ~ (LAB_HDL + LAB_TRIG + GENDER)^2",
  "LAB_TSC ~ BMI_CAT/LAB_HDL",
  "LAB_TSC ~ factor(GENDER):BMI_CAT + LAB_HDL",
  "LAB_TSC ~ LAB_TRIG*BMI_CAT - LAB_TRIG",
  "LAB_TSC ~ factor(PM_BMI_CATEGORICAL):factor(GENDER)",
  "LAB_TSC ~ LAB_HDL:LAB_TRIG + BMI_CAT - 1",
  "LAB_TSC ~ LAB_TRIG:factor(GENDER):BMI_CAT")
designs <- lapply(design_formulas, function(f) {
  mm <- model.matrix(as.formula(f), data = cnsim)
  list(formula = f, names = arr(colnames(mm)), rows = nrow(mm), col_sums = arr(unname(colSums(mm))))
})
write_case("design_cnsim", list(data = "CNSIM", designs = designs))
# ---- distributions ----
zs <- c(0, 0.5, 1.96, 3, 7.5, 12, 25, 37)
ts <- c(0.1, 1, 2.5, 6, 20); dfs <- c(1, 3, 10, 95, 7480)
tt <- expand.grid(t = ts, df = dfs)
xs <- c(0.5, 3, 11, 40, 400, 1153); cdfs <- c(1, 2, 5, 12)
cc <- expand.grid(x = xs, df = cdfs)
ps <- c(1e-12, 0.001, 0.025, 0.3, 0.5, 0.975, 0.999999)
write_case("distributions", list(
  z = arr(zs), normal_upper = arr(pnorm(zs, lower.tail = FALSE)),
  t = arr(tt$t), t_df = arr(tt$df), t_two_sided = arr(2 * pt(-tt$t, tt$df)),
  chisq_x = arr(cc$x), chisq_df = arr(cc$df), chisq_upper = arr(pchisq(cc$x, cc$df, lower.tail = FALSE)),
  p = arr(ps), normal_quantile = arr(qnorm(ps))))
cat("R", R.version$major, R.version$minor, "survival", as.character(packageVersion("survival")), "\n")
