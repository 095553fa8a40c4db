// Test helpers: the DataSHIELD CSVs of the shared data read through DuckDB into stats::DataFrame
// (one frame per study file = one site), and the golden JSON files written by
// tools/golden/make_golden.R.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "stats/data_frame.h"

namespace passerelle::stats::testing {

// Sites prefix1..prefixN of the datashield folder, with the derived columns that
// make_golden.R adds (BMI_CAT for CNSIM; LOG_SURVTIME, START_R, END_R, SURV_R, BMI_GRP for
// EXPAND), and `site` = the file index.
Result<std::vector<DataFrame>> LoadSites(const std::string& prefix, int sites);

// The SELECT list (without "SELECT") that LoadSites uses on a DataSHIELD CSV read with
// all_varchar = true: typed columns plus the derived ones.
std::string SiteSelect(const std::string& prefix);

// Rows of several frames one after the other (the pooled data).
DataFrame Pool(const std::vector<DataFrame>& frames);

nlohmann::json LoadGolden(const std::string& name);

// A golden number: null is NaN (R's NA), "Inf"/"-Inf" infinities.
double Num(const nlohmann::json& j);
std::vector<double> Nums(const nlohmann::json& j);

// |a - b| / |b| (0 when both are NaN or equal; 1 when only one is NaN).
double RelErr(double a, double b);

}  // namespace passerelle::stats::testing
