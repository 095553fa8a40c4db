// glm, cox and km results as text and CSV cells (see report.h).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "sandbox/report.h"

namespace passerelle::sandbox {
namespace {

using nlohmann::json;

std::string Num(const json& v, const char* spec = "{:.6g}") {
  if (!v.is_number()) return "NA";
  return fmt::format(fmt::runtime(spec), v.get<double>());
}

std::string PValue(const json& v) {
  if (!v.is_number()) return "NA";
  const double p = v.get<double>();
  return p < 1e-16 ? std::string("<1e-16") : fmt::format("{:.4g}", p);
}

std::string Str(const json& a, const char* key) {
  if (!a.contains(key)) return "";
  const json& v = a[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

void Warnings(const json& a, std::string& out) {
  for (const auto& w : a.value("warnings", json::array())) {
    out += fmt::format("  warning: {}\n", w.is_string() ? w.get<std::string>() : w.dump());
  }
}

void Test(const json& a, const char* key, const char* name, std::string& out) {
  if (!a.contains(key) || !a[key].is_object()) return;
  const json& t = a[key];
  out += fmt::format("  {:<22} {} on {} df, p = {}\n", name, Num(t.value("statistic", json())),
                     Num(t.value("df", json()), "{:g}"), PValue(t.value("p_value", json())));
}

}  // namespace

std::string GlmToText(const json& a, const std::string& title) {
  std::string out = fmt::format("\n{} {} {}\n", title, Str(a, "family"), Str(a, "formula"));
  const std::string stat = a.value("statistic", std::string("z"));
  out += fmt::format("  {:<28} {:>13} {:>12} {:>9} {:>10} {:>13} {:>13}\n", "term", "estimate",
                     "std.error", stat + " value", "p", "2.5 %", "97.5 %");
  for (const auto& c : a.value("coefficients", json::array())) {
    if (c.value("aliased", false)) {
      out += fmt::format("  {:<28} {:>13}  (aliased)\n", Str(c, "term"), "NA");
      continue;
    }
    out +=
        fmt::format("  {:<28} {:>13} {:>12} {:>9} {:>10} {:>13} {:>13}\n", Str(c, "term"),
                    Num(c.value("estimate", json())), Num(c.value("std_error", json())),
                    Num(c.value("statistic", json()), "{:.3f}"), PValue(c.value("p_value", json())),
                    Num(c.value("ci_low", json())), Num(c.value("ci_high", json())));
  }
  out += fmt::format(
      "  n = {}, iterations = {}{}; deviance {} on {} df (null {} on {} df); AIC {}; "
      "dispersion {}\n",
      Str(a, "n"), Str(a, "iterations"), a.value("converged", true) ? "" : " (NOT converged)",
      Num(a.value("deviance", json()), "{:.7g}"), Num(a.value("df_residual", json()), "{:.0f}"),
      Num(a.value("null_deviance", json()), "{:.7g}"), Num(a.value("df_null", json()), "{:.0f}"),
      Num(a.value("aic", json()), "{:.7g}"), Num(a.value("dispersion", json())));
  if (a.value("separation", false)) out += "  separation detected: estimates are not finite\n";
  Warnings(a, out);
  return out;
}

std::string CoxToText(const json& a, const std::string& title) {
  std::string out = fmt::format("\n{} {}, ties {}{}\n", title, Str(a, "formula"), Str(a, "ties"),
                                a.contains("strata") ? ", strata " + Str(a, "strata") : "");
  out += fmt::format("  {:<28} {:>13} {:>12} {:>12} {:>12} {:>12} {:>9} {:>10}\n", "term", "coef",
                     "se(coef)", "exp(coef)", "lower .95", "upper .95", "z", "p");
  for (const auto& c : a.value("coefficients", json::array())) {
    if (c.value("aliased", false)) {
      out += fmt::format("  {:<28} {:>13}  (aliased)\n", Str(c, "term"), "NA");
      continue;
    }
    out +=
        fmt::format("  {:<28} {:>13} {:>12} {:>12} {:>12} {:>12} {:>9} {:>10}\n", Str(c, "term"),
                    Num(c.value("estimate", json())), Num(c.value("std_error", json())),
                    Num(c.value("hazard_ratio", json())), Num(c.value("hr_ci_low", json())),
                    Num(c.value("hr_ci_high", json())), Num(c.value("statistic", json()), "{:.3f}"),
                    PValue(c.value("p_value", json())));
  }
  const json ll = a.value("loglik", json::array());
  out += fmt::format(
      "  n = {}, events = {}, iterations = {}{}; log partial likelihood {} (null {})\n",
      Str(a, "n"), Str(a, "events"), Str(a, "iterations"),
      a.value("converged", true) ? "" : " (NOT converged)",
      ll.size() > 1 ? Num(ll[1], "{:.8g}") : "NA", ll.size() > 0 ? Num(ll[0], "{:.8g}") : "NA");
  Test(a, "lr_test", "likelihood ratio test", out);
  Test(a, "wald_test", "Wald test", out);
  Test(a, "score_test", "score (logrank) test", out);
  Warnings(a, out);
  return out;
}

std::string KmToText(const json& a, const std::string& title) {
  std::string out =
      fmt::format("\n{}{}\n", title, a.contains("variable") ? " by " + Str(a, "variable") : "");
  const json times = a.value("times", json::array());
  const json groups = a.value("groups", json::object());
  std::vector<std::string> order;
  for (const auto& g : a.value("group_order", json::array())) order.push_back(g.get<std::string>());
  if (order.empty()) {
    for (const auto& [k, v] : groups.items()) order.push_back(k);
  }
  auto cell = [](const json& g, const char* key, size_t j) -> json {
    if (!g.contains(key) || !g[key].is_array() || j >= g[key].size()) return json();
    return g[key][j];
  };
  for (const auto& name : order) {
    if (!groups.contains(name)) continue;
    const json& g = groups[name];
    if (!a.contains("variable") && order.size() == 1 && name.empty()) {
      out += "  (all)\n";
    } else {
      out += fmt::format("  group {}\n", name.empty() ? "(all)" : name);
    }
    out += fmt::format("    {:>10} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}\n", "time", "n.risk",
                       "n.event", "n.censor", "survival", "lower .95", "upper .95");
    for (size_t j = 0; j < times.size(); ++j) {
      auto count = [&](const char* key) {
        const json v = cell(g, key, j);
        return v.is_number() ? std::to_string(v.get<int64_t>()) : std::string("*");
      };
      out += fmt::format("    {:>10} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}\n", Num(times[j]),
                         count("n_risk"), count("n_event"), count("n_censor"),
                         Num(cell(g, "survival", j), "{:.4f}"), Num(cell(g, "ci_low", j), "{:.4f}"),
                         Num(cell(g, "ci_high", j), "{:.4f}"));
    }
  }
  for (const auto& s : a.value("suppressed", json::array())) {
    out += fmt::format("  * group {} at time {}: {}\n", Str(s, "group"), Str(s, "time"),
                       Str(s, "reason"));
  }
  return out;
}

std::vector<CsvCell> ModelToCsvCells(const json& a, const std::string& kind) {
  std::vector<CsvCell> cells;
  auto add = [&](const std::string& var, const std::string& row, const std::string& col,
                 const std::string& stat, const json& value, const std::string& note = "") {
    cells.push_back({var, row, col, stat, value, note});
  };
  if (kind == "glm" || kind == "cox") {
    const std::string var = Str(a, "formula");
    for (const auto& c : a.value("coefficients", json::array())) {
      const std::string term = Str(c, "term");
      const std::string note = c.value("aliased", false) ? "aliased" : "";
      for (const char* k : {"estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high",
                            "hazard_ratio", "hr_ci_low", "hr_ci_high"}) {
        if (c.contains(k)) add(var, term, "", k, c[k], note);
      }
    }
    for (const char* k : {"n", "events", "iterations", "converged", "deviance", "null_deviance",
                          "df_residual", "df_null", "aic", "dispersion"}) {
      if (a.contains(k)) add(var, "", "", k, a[k]);
    }
    if (a.contains("loglik") && a["loglik"].is_array() && a["loglik"].size() == 2) {
      add(var, "", "", "loglik_null", a["loglik"][0]);
      add(var, "", "", "loglik", a["loglik"][1]);
    }
    for (const char* t : {"lr_test", "wald_test", "score_test"}) {
      if (!a.contains(t) || !a[t].is_object()) continue;
      for (const char* k : {"statistic", "df", "p_value"}) {
        if (a[t].contains(k)) add(var, t, "", k, a[t][k]);
      }
    }
  } else if (kind == "km") {
    const std::string var = Str(a, "variable");
    const json times = a.value("times", json::array());
    const json groups = a.value("groups", json::object());
    for (const auto& [group, g] : groups.items()) {
      for (size_t j = 0; j < times.size(); ++j) {
        const std::string col = Num(times[j], "{:.17g}");
        for (const char* k :
             {"n_risk", "n_event", "n_censor", "survival", "std_err", "ci_low", "ci_high"}) {
          if (!g.contains(k) || !g[k].is_array() || j >= g[k].size()) continue;
          std::string note;
          if (g[k][j].is_null()) {
            for (const auto& s : a.value("suppressed", json::array())) {
              if (Str(s, "group") == group) note = Str(s, "reason");
            }
          }
          add(var, group, col, k, g[k][j], note);
        }
      }
    }
  }
  return cells;
}

}  // namespace passerelle::sandbox
