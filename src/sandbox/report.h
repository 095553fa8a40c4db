// Renderings of a study result (the JSON of GET /v1/studies/{id}/result) for people and
// spreadsheets: a short text summary and a long-format CSV.
//
// CSV columns: analysis,type,variable,row,col,statistic,value,note — one line per released or
// suppressed number; a suppressed value is empty with its reason in `note`.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace passerelle::sandbox {

std::string ResultToCsv(const nlohmann::json& result);
std::string ResultToText(const nlohmann::json& result);

// table1 (report_table1.cc): Table 1 as text under `title` — one column per group, "mean (SD)"
// for continuous variables, "n (%)" for categorical ones (the level "1" of a 0/1 variable, else
// every level), "*" for a suppressed value with its reason below — and as CSV cells.
std::string Table1ToText(const nlohmann::json& table1, const std::string& title);
struct CsvCell {
  std::string variable, row, col, statistic;
  nlohmann::json value;
  std::string note;
};
std::vector<CsvCell> Table1ToCsvCells(const nlohmann::json& table1);

// glm, cox and km (report_models.cc): a coefficient table in R's layout (estimate, SE, statistic,
// p, CI; NA for an aliased term) with the fit's summary lines, or survival by group on the time
// grid ("*" for a suppressed count); as CSV, one cell per number (row: term / group, col: time).
std::string GlmToText(const nlohmann::json& glm, const std::string& title);
std::string CoxToText(const nlohmann::json& cox, const std::string& title);
std::string KmToText(const nlohmann::json& km, const std::string& title);
std::vector<CsvCell> ModelToCsvCells(const nlohmann::json& result, const std::string& kind);

}  // namespace passerelle::sandbox
