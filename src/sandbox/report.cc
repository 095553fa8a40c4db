#include "sandbox/report.h"

#include <fmt/format.h>

namespace passerelle::sandbox {

using nlohmann::json;

namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Value(const json& v) {
  if (v.is_null()) return "";
  if (v.is_number_integer() || v.is_number_unsigned()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return fmt::format("{:.17g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// The type of an analysis result: from the result's "types", else from its shape.
std::string Kind(const json& result, const std::string& id, const json& a) {
  if (result.contains("types") && result["types"].contains(id)) {
    return result["types"][id].get<std::string>();
  }
  if (a.contains("cells") || a.contains("counts")) return "table";
  if (a.contains("n") && (a["n"].is_null() || a["n"].is_number()) && !a["n"].is_object()) {
    return "count";
  }
  return "summary";
}

}  // namespace

std::string ResultToCsv(const json& result) {
  std::string out = "analysis,type,variable,row,col,statistic,value,note\n";
  auto line = [&](const std::string& id, const std::string& type, const std::string& var,
                  const std::string& row, const std::string& col, const std::string& stat,
                  const json& value, const std::string& note) {
    out += fmt::format("{},{},{},{},{},{},{},{}\n", CsvField(id), type, CsvField(var),
                       CsvField(row), CsvField(col), stat, CsvField(Value(value)), CsvField(note));
  };
  if (!result.contains("analyses")) return out;
  for (const auto& [id, a] : result["analyses"].items()) {
    std::string kind = Kind(result, id, a);
    if (kind == "count") {
      line(id, kind, "", "", "", "n", a["n"], a.value("suppressed", ""));
    } else if (kind == "summary") {
      for (const auto& [var, s] : a.items()) {
        if (!s.is_object()) continue;
        for (const char* stat : {"n", "n_missing", "mean", "var", "sd"}) {
          if (s.contains(stat))
            line(id, kind, var, "", "", stat, s[stat], s.value("suppressed", ""));
        }
      }
    } else if (kind == "table") {
      std::map<std::pair<std::string, std::string>, std::string> reasons;
      for (const auto& s : a.value("suppressed", json::array())) {
        reasons[{s.value("row", ""), s.value("col", "")}] = s.value("reason", "");
      }
      const json& rows = a["rows"];
      std::string var = a.contains("variables") ? a["variables"].value("rows", "") : "";
      if (a.contains("cells")) {
        var += " x " + a["variables"].value("cols", "");
        for (size_t i = 0; i < rows.size(); ++i) {
          for (size_t j = 0; j < a["cols"].size(); ++j) {
            std::string r = rows[i].get<std::string>(), c = a["cols"][j].get<std::string>();
            line(id, kind, var, r, c, "count", a["cells"][i][j], reasons[{r, c}]);
          }
        }
      } else {
        for (size_t i = 0; i < rows.size(); ++i) {
          std::string r = rows[i].get<std::string>();
          line(id, kind, var, r, "", "count", a["counts"][i], reasons[{r, ""}]);
        }
      }
    } else if (kind == "table1") {
      for (const auto& c : Table1ToCsvCells(a)) {
        line(id, kind, c.variable, c.row, c.col, c.statistic, c.value, c.note);
      }
    } else if (kind == "glm" || kind == "cox" || kind == "km") {
      for (const auto& c : ModelToCsvCells(a, kind)) {
        line(id, kind, c.variable, c.row, c.col, c.statistic, c.value, c.note);
      }
    } else {
      line(id, kind, "", "", "", "result", a.dump(), "");
    }
  }
  return out;
}

std::string ResultToText(const json& result) {
  std::string out;
  out += fmt::format("Study {} \"{}\" on dataset {}, {} node(s): {}\n", result.value("study", "?"),
                     result.value("name", ""), result.value("dataset", ""),
                     result.value("nodes", json::array()).size(),
                     result.value("nodes", json::array()).dump());
  if (!result.contains("analyses")) return out;
  for (const auto& [id, a] : result["analyses"].items()) {
    std::string kind = Kind(result, id, a);
    if (kind == "count") {
      out += fmt::format("\n[{}] count: n = {}{}\n", id, Value(a["n"]),
                         a.contains("suppressed")
                             ? " (suppressed: " + a["suppressed"].get<std::string>() + ")"
                             : "");
    } else if (kind == "summary") {
      out += fmt::format("\n[{}] summary\n  {:<22} {:>8} {:>9} {:>12} {:>12}\n", id, "variable",
                         "n", "missing", "mean", "sd");
      for (const auto& [var, s] : a.items()) {
        if (!s.is_object()) continue;
        if (s.contains("suppressed")) {
          out += fmt::format("  {:<22} suppressed: {}\n", var, s["suppressed"].get<std::string>());
          continue;
        }
        auto num = [](const json& v) {
          return v.is_null() ? std::string("-") : fmt::format("{:.4f}", v.get<double>());
        };
        out += fmt::format("  {:<22} {:>8} {:>9} {:>12} {:>12}\n", var, Value(s["n"]),
                           Value(s["n_missing"]), num(s["mean"]), num(s["sd"]));
      }
    } else if (kind == "table") {
      const json& rows = a["rows"];
      bool two = a.contains("cells");
      std::string title = a.contains("variables")
                              ? a["variables"].value("rows", "") +
                                    (two ? " x " + a["variables"].value("cols", "") : "")
                              : "";
      out += fmt::format("\n[{}] table {}\n", id, title);
      if (two) {
        out += fmt::format("  {:<14}", "");
        for (const auto& c : a["cols"]) out += fmt::format(" {:>10}", c.get<std::string>());
        out += "\n";
      }
      for (size_t i = 0; i < rows.size(); ++i) {
        out += fmt::format("  {:<14}", rows[i].get<std::string>());
        if (two) {
          for (const auto& c : a["cells"][i]) {
            out += fmt::format(" {:>10}", c.is_null() ? "*" : Value(c));
          }
        } else {
          const json& c = a["counts"][i];
          out += fmt::format(" {:>10}", c.is_null() ? "*" : Value(c));
        }
        out += "\n";
      }
      for (const auto& s : a.value("suppressed", json::array())) {
        out +=
            fmt::format("  * {}{}: {}\n", s.value("row", ""),
                        s.contains("col") ? " / " + s.value("col", "") : "", s.value("reason", ""));
      }
    } else if (kind == "table1") {
      out += Table1ToText(
          a, fmt::format("[{}] table1{}", id, a.contains("by") ? " by " + a.value("by", "") : ""));
    } else if (kind == "glm") {
      out += GlmToText(a, fmt::format("[{}] glm", id));
    } else if (kind == "cox") {
      out += CoxToText(a, fmt::format("[{}] cox", id));
    } else if (kind == "km") {
      out += KmToText(a, fmt::format("[{}] km", id));
    } else {
      out += fmt::format("\n[{}] {}: {}\n", id, kind, a.dump());
    }
  }
  return out;
}

}  // namespace passerelle::sandbox
