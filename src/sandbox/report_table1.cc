// Renderings of a table1 result (report.h).
#include <fmt/format.h>

#include <map>
#include <tuple>

#include "sandbox/report.h"

namespace passerelle::sandbox {

using nlohmann::json;

namespace {

std::string Num(const json& v, int digits = 1) {
  if (!v.is_number()) return "*";
  return fmt::format("{:.{}f}", v.get<double>(), digits);
}

// Continuous variables first, as a Table 1 usually shows them.
json Ordered(const json& variables) {
  json out = json::array();
  for (const auto& v : variables) {
    if (v.value("kind", "") == "continuous") out.push_back(v);
  }
  for (const auto& v : variables) {
    if (v.value("kind", "") != "continuous") out.push_back(v);
  }
  return out;
}

}  // namespace

// Table 1 as text: one column per group, "n (%)" for categorical variables (the level "1" of a
// 0/1 variable, else every level), "mean (SD)" for continuous ones; "*" marks a suppressed value.
std::string Table1ToText(const json& t, const std::string& title) {
  if (!t.contains("groups") || !t.contains("variables")) return title + ": " + t.dump() + "\n";
  std::string out = fmt::format("\n{}\n", title);
  const json& groups = t["groups"];
  out += fmt::format("  {:<24}", "");
  for (const auto& g : groups) out += fmt::format("{:>20}", g.get<std::string>());
  out += fmt::format("\n  {:<24}", "persons");
  for (const auto& g : groups) out += fmt::format("{:>20}", Num(t["n"][g.get<std::string>()], 0));
  out += "\n";
  for (const auto& v : Ordered(t["variables"])) {
    const std::string name = v["name"];
    if (v["kind"] == "continuous") {
      out += fmt::format("  {:<24}", name + ", mean (SD)");
      for (const auto& g : groups) {
        const json& s = v["groups"][g.get<std::string>()];
        out += fmt::format("{:>20}",
                           s["mean"].is_null() ? "*" : Num(s["mean"]) + " (" + Num(s["sd"]) + ")");
      }
      out += "\n";
      continue;
    }
    std::vector<std::string> levels = v["levels"].get<std::vector<std::string>>();
    const bool binary = levels == std::vector<std::string>{"0", "1"};
    if (binary) levels = {"1"};
    if (!binary) out += fmt::format("  {:<24}\n", name + ", n (%)");
    for (const auto& l : levels) {
      out += fmt::format("  {:<24}", binary ? name + ", n (%)" : "  " + l);
      for (const auto& g : groups) {
        const json& s = v["groups"][g.get<std::string>()];
        const json& c = s["counts"][l];
        out += fmt::format("{:>20}",
                           c.is_null() ? "*" : Num(c, 0) + " (" + Num(s["percent"][l]) + "%)");
      }
      out += "\n";
    }
  }
  for (const auto& s : t.value("suppressed", json::array())) {
    out +=
        fmt::format("  * {} {}{}: {}\n", s.value("variable", "persons"), s.value("group", ""),
                    s.contains("level") ? " = " + s.value("level", "") : "", s.value("reason", ""));
  }
  return out;
}

std::vector<CsvCell> Table1ToCsvCells(const json& t) {
  std::vector<CsvCell> out;
  if (!t.contains("groups") || !t.contains("variables")) return out;
  std::map<std::tuple<std::string, std::string, std::string>, std::string> notes;
  for (const auto& s : t.value("suppressed", json::array())) {
    notes[{s.value("variable", ""), s.value("level", ""), s.value("group", "")}] =
        s.value("reason", "");
  }
  for (const auto& g : t["groups"]) {
    const std::string group = g.get<std::string>();
    out.push_back({"", "", group, "n", t["n"][group], notes[{"", "", group}]});
  }
  for (const auto& v : t["variables"]) {
    const std::string name = v.value("name", "");
    for (const auto& g : t["groups"]) {
      const std::string group = g.get<std::string>();
      const json& s = v["groups"][group];
      if (v.value("kind", "") == "continuous") {
        const std::string note = notes[{name, "", group}];
        for (const char* stat : {"n", "missing", "mean", "sd"}) {
          out.push_back({name, "", group, stat, s[stat], note});
        }
        continue;
      }
      for (const auto& [level, count] : s["counts"].items()) {
        const std::string note = notes[{name, level, group}];
        out.push_back({name, level, group, "count", count, note});
        out.push_back({name, level, group, "percent", s["percent"][level], note});
      }
    }
  }
  return out;
}

}  // namespace passerelle::sandbox
