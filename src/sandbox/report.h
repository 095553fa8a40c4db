// Renderings of a study result (the JSON of GET /v1/studies/{id}/result) for people and
// spreadsheets: a short text summary and a long-format CSV.
//
// CSV columns: analysis,type,variable,row,col,statistic,value,note — one line per released or
// suppressed number; a suppressed value is empty with its reason in `note`.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace passerelle::sandbox {

std::string ResultToCsv(const nlohmann::json& result);
std::string ResultToText(const nlohmann::json& result);

}  // namespace passerelle::sandbox
