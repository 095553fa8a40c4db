// table1: the "Table 1" of a study — characteristics of the population by group (for example by
// jurisdiction: "by": "site" on OMOP cohort tables), pooled over nodes.
//
//   {"id": "t1", "type": "table1", "by": "site",
//    "categorical": ["sex", "ckd"], "continuous": ["age", "hba1c"]}
//
// Rounds:
//   "levels"  each node reports the distinct non-missing values of `by` and of each categorical
//             variable as meta (names only, no counts, as the table analysis); the hub takes the
//             unions (ordered numerically when every level is a number, else as text).
//   "stats"   over the agreed groups G and levels, each node sends
//               per group:               [n_g, small-group flag]                       2·G
//               per categorical var v:   counts of (level | missing) by group, then the
//                                        primary and secondary suppression flags       3·G·(L_v+1)
//               per continuous var:      per group [n, Σx, Σx², n_missing, flag]       5·G
//             Without `by` there is one group, "" (reported as "overall").
// Rows whose `by` is missing are not in the table.
//
// Disclosure rule, at each node, before anything leaves:
//   - max_levels: `by` or a categorical variable with more distinct values than the policy
//     allows is refused;
//   - min_rows: a group with between 1 and min_rows - 1 rows releases nothing (its whole column
//     0, small-group flag 1); when exactly one group of a node is so suppressed, the smallest other
//     non-empty group is suppressed too (so that its size is not the node's total minus the
//     others); a continuous variable with between 1 and min_rows - 1 values in a group is
//     suppressed there (as summary);
//   - min_cell: in each (variable, group) column — the levels and the missing count, whose total
//     n_g is released — a count between 1 and min_cell - 1 is released as 0 with its primary flag;
//     when exactly one cell of the column was suppressed, the smallest other non-zero cell is
//     suppressed too (secondary), so that the small cell cannot be recovered from n_g. A level
//     (or the missing count) held by between 1 and min_cell - 1 persons over all groups is
//     withheld in every group, zeros included: a zero in the other groups would tell which group
//     those few persons are in (attribute disclosure through a zero cell).
// The hub publishes a suppressed value as null and lists it in "suppressed" with its reason; the
// overall column is null wherever a group's value is (a sum with a hole would give the hole away).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "analysis/builtin.h"
#include "protocol/json_reader.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

constexpr size_t kMaxVariables = 200;
constexpr size_t kMaxLevels = 1000;
constexpr size_t kMaxLevelLength = 200;
constexpr size_t kPerContinuous = 5;

class Table1Spec final : public AnalysisSpec {
 public:
  std::string by;  // empty: one group
  std::vector<std::string> categorical;
  std::vector<std::string> continuous;

  json ToJson() const override {
    json j = {{"id", id}, {"type", type}};
    if (!by.empty()) j["by"] = by;
    if (!categorical.empty()) j["categorical"] = categorical;
    if (!continuous.empty()) j["continuous"] = continuous;
    return j;
  }
};

bool ParseNumber(std::string_view s, double& out) {
  if (s.empty() || s.front() == '+') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::vector<std::string> OrderLevels(const std::set<std::string>& levels) {
  std::vector<std::string> out(levels.begin(), levels.end());
  std::map<std::string, double> value;
  for (const auto& l : out) {
    double v;
    if (!ParseNumber(l, v)) return out;
    value[l] = v;
  }
  std::stable_sort(out.begin(), out.end(),
                   [&](const std::string& a, const std::string& b) { return value[a] < value[b]; });
  return out;
}

Result<std::vector<std::string>> StringList(const json& j, std::string_view what) {
  if (!j.is_array() || j.size() > kMaxLevels) {
    return Status::InvalidArgument(
        fmt::format("table1: {} must be an array of at most {} levels", what, kMaxLevels));
  }
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string() || e.get_ref<const std::string&>().size() > kMaxLevelLength) {
      return Status::InvalidArgument(fmt::format("table1: malformed level in {}", what));
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

// The agreed grid of the "stats" round.
struct Grid {
  std::vector<std::string> groups;
  std::vector<std::vector<std::string>> levels;  // per categorical variable

  size_t G() const { return groups.size(); }
  // Cells of categorical variable v in one group: its levels and the missing count.
  size_t Cells(size_t v) const { return levels[v].size() + 1; }
  size_t CategoricalOffset(size_t v) const {
    size_t off = 2 * G();
    for (size_t i = 0; i < v; ++i) off += 3 * G() * Cells(i);
    return off;
  }
  size_t ContinuousOffset(size_t c) const {
    return CategoricalOffset(levels.size()) + kPerContinuous * G() * c;
  }
  size_t Length(size_t continuous) const { return ContinuousOffset(continuous); }
};

Result<Grid> GridFromParams(const Table1Spec& spec, const json& params) {
  Grid g;
  auto groups = params.find("groups");
  auto levels = params.find("levels");
  if (groups == params.end() || levels == params.end() || !levels->is_array() ||
      levels->size() != spec.categorical.size()) {
    return Status::InvalidArgument("table1: malformed round input");
  }
  ASSIGN_OR_RETURN(g.groups, StringList(*groups, "groups"));
  if (g.groups.empty()) return Status::InvalidArgument("table1: no group");
  for (const auto& l : *levels) {
    ASSIGN_OR_RETURN(auto list, StringList(l, "levels"));
    g.levels.push_back(std::move(list));
  }
  return g;
}

int64_t Count(double v) { return CountFromSum(v); }

class Table1Analysis final : public Analysis {
 public:
  std::string_view type() const override { return "table1"; }
  std::string_view description() const override {
    return "characteristics by group: counts and percentages with small-cell suppression, means "
           "and standard deviations";
  }

  Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const json& j,
                                                  std::string_view path) const override {
    auto spec = std::make_unique<Table1Spec>();
    RETURN_IF_ERROR(
        ParseCommonFields(j, path, {"id", "type", "by", "categorical", "continuous"}, *spec));
    ASSIGN_OR_RETURN(auto by, protocol::GetOptionalString(j, "by", path));
    if (by) {
      RETURN_IF_ERROR(ValidateVariableName(*by, protocol::JsonPath(path, "by")));
      spec->by = *by;
    }
    ASSIGN_OR_RETURN(auto cat,
                     protocol::GetOptionalStringArray(j, "categorical", path, kMaxVariables));
    ASSIGN_OR_RETURN(auto con,
                     protocol::GetOptionalStringArray(j, "continuous", path, kMaxVariables));
    spec->categorical = cat.value_or(std::vector<std::string>{});
    spec->continuous = con.value_or(std::vector<std::string>{});
    if (spec->categorical.empty() && spec->continuous.empty()) {
      return Status::InvalidArgument(
          fmt::format("{}: give \"categorical\" and/or \"continuous\" variables", path));
    }
    std::set<std::string> seen;
    for (const auto& [key, list] : {std::pair{"categorical", &spec->categorical},
                                    std::pair{"continuous", &spec->continuous}}) {
      for (size_t i = 0; i < list->size(); ++i) {
        std::string p = fmt::format("{}.{}[{}]", path, key, i);
        RETURN_IF_ERROR(ValidateVariableName((*list)[i], p));
        if (!seen.insert((*list)[i]).second) {
          return Status::InvalidArgument(fmt::format("{}: \"{}\" is listed twice", p, (*list)[i]));
        }
        if ((*list)[i] == spec->by) {
          return Status::InvalidArgument(
              fmt::format("{}: \"{}\" is the grouping variable", p, (*list)[i]));
        }
      }
    }
    return std::unique_ptr<AnalysisSpec>(std::move(spec));
  }

  Result<RoundInput> Begin(const AnalysisSpec&, json& state) const override {
    state = json::object();
    return RoundInput{{{"phase", "levels"}}, {}};
  }

  Result<size_t> ShareLength(const AnalysisSpec& spec_base, int,
                             const RoundInput& input) const override {
    const auto& spec = static_cast<const Table1Spec&>(spec_base);
    if (Phase(input) == "levels") return size_t{0};
    ASSIGN_OR_RETURN(Grid g, GridFromParams(spec, input.params));
    return g.Length(spec.continuous.size());
  }

  Result<NodeShare> LocalStep(AnalysisTable& data, const AnalysisSpec& spec_base, int,
                              const RoundInput& input, const Thresholds& t) const override {
    const auto& spec = static_cast<const Table1Spec&>(spec_base);
    if (!spec.by.empty()) RETURN_IF_ERROR(data.FindVariable(spec.by).status());
    for (const auto& v : spec.categorical) RETURN_IF_ERROR(data.FindVariable(v).status());
    for (const auto& v : spec.continuous) {
      ASSIGN_OR_RETURN(VariableInfo info, data.FindVariable(v));
      if (info.kind != VariableKind::kNumeric) {
        return Status::InvalidArgument(
            fmt::format("table1: continuous variable \"{}\" is not numeric", v));
      }
    }
    NodeShare share;
    if (Phase(input) == "levels") {
      const size_t limit = static_cast<size_t>(std::max<int64_t>(t.max_levels, 1));
      json meta = {{"groups", json::array({""})}, {"levels", json::array()}};
      if (!spec.by.empty()) {
        ASSIGN_OR_RETURN(auto levels, data.Levels(spec.by, limit));
        meta["groups"] = json::array();
        for (const auto& l : levels) meta["groups"].push_back(l.level);
      }
      for (const auto& v : spec.categorical) {
        ASSIGN_OR_RETURN(auto levels, data.Levels(v, limit));
        json arr = json::array();
        for (const auto& l : levels) arr.push_back(l.level);
        meta["levels"].push_back(std::move(arr));
      }
      share.meta = std::move(meta);
      return share;
    }
    if (Phase(input) != "stats") return Status::InvalidArgument("table1: unknown phase");
    ASSIGN_OR_RETURN(Grid g, GridFromParams(spec, input.params));
    const size_t G = g.G();
    std::map<std::string, size_t> group_index;
    for (size_t i = 0; i < G; ++i) group_index[g.groups[i]] = i;
    share.values.assign(g.Length(spec.continuous.size()), 0.0);
    bool outside = false;

    // Group sizes.
    std::vector<double> n_group(G, 0.0);
    if (spec.by.empty()) {
      ASSIGN_OR_RETURN(int64_t rows, data.RowCount());
      n_group[0] = static_cast<double>(rows);
    } else {
      ASSIGN_OR_RETURN(auto cells, data.CrossCounts(spec.by, ""));
      for (const auto& c : cells) {
        auto it = group_index.find(c.row);
        if (it == group_index.end()) {
          outside = true;
          continue;
        }
        n_group[it->second] += static_cast<double>(c.count);
      }
    }
    for (size_t k = 0; k < G; ++k) share.values[2 * k] = n_group[k];

    // Categorical variables: counts by (level, group); the missing count completes n_g.
    for (size_t v = 0; v < spec.categorical.size(); ++v) {
      const size_t cells = g.Cells(v);
      double* counts = share.values.data() + g.CategoricalOffset(v);
      std::map<std::string, size_t> level_index;
      for (size_t l = 0; l < g.levels[v].size(); ++l) level_index[g.levels[v][l]] = l;
      ASSIGN_OR_RETURN(auto pairs, data.CrossCounts(spec.categorical[v], spec.by));
      std::vector<double> non_missing(G, 0.0);
      for (const auto& c : pairs) {
        auto li = level_index.find(c.row);
        auto gi = group_index.find(spec.by.empty() ? std::string() : c.col);
        if (gi == group_index.end()) continue;  // rows outside the groups: not in the table
        non_missing[gi->second] += static_cast<double>(c.count);
        if (li == level_index.end()) {
          outside = true;
          continue;
        }
        counts[gi->second * cells + li->second] += static_cast<double>(c.count);
      }
      for (size_t k = 0; k < G; ++k) {
        counts[k * cells + cells - 1] = std::max(0.0, n_group[k] - non_missing[k]);
      }
    }

    // Continuous variables: moments by group.
    for (size_t c = 0; c < spec.continuous.size(); ++c) {
      double* m = share.values.data() + g.ContinuousOffset(c);
      if (spec.by.empty()) {
        ASSIGN_OR_RETURN(auto moments, data.NumericMoments({spec.continuous[c]}));
        m[0] = static_cast<double>(moments[0].n);
        m[1] = moments[0].sum;
        m[2] = moments[0].sum_sq;
        m[3] = static_cast<double>(moments[0].n_missing);
        continue;
      }
      // By group: the (value, group) counts give the moments exactly; the values stay here.
      ASSIGN_OR_RETURN(auto pairs, data.CrossCounts(spec.continuous[c], spec.by));
      for (const auto& p : pairs) {
        auto gi = group_index.find(p.col);
        if (gi == group_index.end()) continue;
        double x;
        if (!ParseNumber(p.row, x)) {
          return Status::Internal(
              fmt::format("table1: a value of \"{}\" is not a number", spec.continuous[c]));
        }
        double* mk = m + kPerContinuous * gi->second;
        const double n = static_cast<double>(p.count);
        mk[0] += n;
        mk[1] += n * x;
        mk[2] += n * x * x;
      }
      for (size_t k = 0; k < G; ++k) {
        double* mk = m + kPerContinuous * k;
        mk[3] = std::max(0.0, n_group[k] - mk[0]);
      }
    }
    if (outside) share.meta["rows_outside_levels"] = true;
    return share;
  }

  Status Disclose(const AnalysisSpec& spec_base, int, const RoundInput& input, const Thresholds& t,
                  NodeShare& share) const override {
    const auto& spec = static_cast<const Table1Spec&>(spec_base);
    if (Phase(input) == "levels") {
      auto too_many = [&](const json& arr, const std::string& var) -> Status {
        if (static_cast<int64_t>(arr.size()) > t.max_levels) {
          return RefuseByRule("max_levels",
                              fmt::format("variable \"{}\" has more than {} distinct values "
                                          "(max_levels)",
                                          var, t.max_levels));
        }
        return Status::Ok();
      };
      if (!spec.by.empty()) RETURN_IF_ERROR(too_many(share.meta["groups"], spec.by));
      for (size_t v = 0; v < spec.categorical.size(); ++v) {
        RETURN_IF_ERROR(too_many(share.meta["levels"][v], spec.categorical[v]));
      }
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Grid g, GridFromParams(spec, input.params));
    const size_t G = g.G();
    double* values = share.values.data();
    const double min_rows = static_cast<double>(t.min_rows);
    const double min_cell = static_cast<double>(t.min_cell);

    std::vector<double> n_rows(G);
    for (size_t k = 0; k < G; ++k) n_rows[k] = values[2 * k];
    // Small groups release nothing; one alone would be the node's total minus the others.
    std::vector<bool> group_out(G, false);
    size_t small = 0;
    for (size_t k = 0; k < G; ++k) {
      if (values[2 * k] >= 1 && values[2 * k] < min_rows) {
        group_out[k] = true;
        ++small;
      }
    }
    if (small == 1) {
      size_t best = G;
      for (size_t k = 0; k < G; ++k) {
        if (!group_out[k] && values[2 * k] >= 1 &&
            (best == G || values[2 * k] < values[2 * best])) {
          best = k;
        }
      }
      if (best < G) group_out[best] = true;
    }
    for (size_t k = 0; k < G; ++k) {
      if (!group_out[k]) continue;
      values[2 * k] = 0;
      values[2 * k + 1] = 1;
    }

    for (size_t v = 0; v < spec.categorical.size(); ++v) {
      const size_t cells = g.Cells(v);
      double* counts = values + g.CategoricalOffset(v);
      double* primary = counts + G * cells;
      double* secondary = counts + 2 * G * cells;
      // A level held by between 1 and min_cell - 1 persons over the groups this node has rows
      // in: its zeros would tell which groups those persons are not in, so the level is
      // withheld in every such group. (A group the node has no rows in tells nothing: its n of
      // 0 is released.)
      std::vector<bool> level_out(cells, false);
      size_t groups_with_rows = 0;
      for (size_t k = 0; k < G; ++k) groups_with_rows += n_rows[k] >= 1;
      if (groups_with_rows > 1) {
        for (size_t l = 0; l < cells; ++l) {
          double level_total = 0;
          for (size_t k = 0; k < G; ++k) level_total += counts[k * cells + l];
          level_out[l] = level_total >= 1 && level_total < min_cell;
        }
      }
      for (size_t k = 0; k < G; ++k) {
        double* col = counts + k * cells;
        if (group_out[k]) {
          std::fill(col, col + cells, 0.0);
          continue;
        }
        size_t suppressed = 0;
        for (size_t l = 0; l < cells; ++l) {
          if ((col[l] >= 1 && col[l] < min_cell) || (level_out[l] && n_rows[k] >= 1)) {
            col[l] = 0;
            primary[k * cells + l] = 1;
            ++suppressed;
          }
        }
        if (suppressed == 1) {
          size_t best = cells;
          for (size_t l = 0; l < cells; ++l) {
            if (primary[k * cells + l] == 0 && col[l] >= 1 &&
                (best == cells || col[l] < col[best])) {
              best = l;
            }
          }
          if (best < cells) {
            col[best] = 0;
            secondary[k * cells + best] = 1;
          }
        }
      }
    }

    for (size_t c = 0; c < spec.continuous.size(); ++c) {
      double* m = values + g.ContinuousOffset(c);
      for (size_t k = 0; k < G; ++k) {
        double* mk = m + kPerContinuous * k;
        if (group_out[k] || (mk[0] >= 1 && mk[0] < min_rows)) {
          std::fill(mk, mk + 4, 0.0);
          mk[4] = 1;
        }
      }
    }
    return Status::Ok();
  }

  Result<CombineOutcome> Combine(const AnalysisSpec& spec_base, int, const RoundInput& input,
                                 const std::vector<double>& sum, const std::vector<json>& metas,
                                 json& state) const override {
    const auto& spec = static_cast<const Table1Spec&>(spec_base);
    CombineOutcome out;
    if (Phase(input) == "levels") {
      std::set<std::string> groups;
      std::vector<std::set<std::string>> levels(spec.categorical.size());
      for (const auto& m : metas) {
        auto gi = m.find("groups");
        auto li = m.find("levels");
        if (gi == m.end() || li == m.end() || !li->is_array() ||
            li->size() != spec.categorical.size()) {
          return Status::InvalidArgument(
              fmt::format("table1 {}: a node's levels meta is malformed", spec.id));
        }
        ASSIGN_OR_RETURN(auto gl, StringList(*gi, "groups"));
        groups.insert(gl.begin(), gl.end());
        for (size_t v = 0; v < spec.categorical.size(); ++v) {
          ASSIGN_OR_RETURN(auto vl, StringList((*li)[v], "levels"));
          levels[v].insert(vl.begin(), vl.end());
        }
      }
      json params = {
          {"phase", "stats"}, {"groups", OrderLevels(groups)}, {"levels", json::array()}};
      if (params["groups"].empty()) params["groups"] = json::array({""});
      for (const auto& l : levels) {
        if (l.size() > kMaxLevels) {
          return Status::OutOfRange(
              fmt::format("table1 {}: more than {} levels", spec.id, kMaxLevels));
        }
        params["levels"].push_back(OrderLevels(l));
      }
      if (params["groups"].size() > kMaxLevels) {
        return Status::OutOfRange(
            fmt::format("table1 {}: more than {} groups", spec.id, kMaxLevels));
      }
      state = params;
      out.next = RoundInput{std::move(params), {}};
      return out;
    }
    ASSIGN_OR_RETURN(Grid g, GridFromParams(spec, input.params));
    if (sum.size() != g.Length(spec.continuous.size())) {
      return Status::Internal("table1: sum of the wrong length");
    }
    const size_t G = g.G();
    // Column labels: the groups, then "overall" when grouped.
    std::vector<std::string> labels;
    for (const auto& grp : g.groups) labels.push_back(spec.by.empty() ? "overall" : grp);
    const bool grouped = !spec.by.empty();
    json suppressed = json::array();
    auto note = [&](const std::string& variable, const std::string& group,
                    const std::optional<std::string>& level, const std::string& reason) {
      json e = {{"group", group}, {"reason", reason}};
      if (!variable.empty()) e["variable"] = variable;
      if (level) e["level"] = *level;
      suppressed.push_back(std::move(e));
    };

    // Group sizes.
    json n = json::object();
    std::vector<std::optional<int64_t>> n_group(G);
    bool n_overall_known = true;
    int64_t n_overall = 0;
    for (size_t k = 0; k < G; ++k) {
      const int64_t flagged = Count(sum[2 * k + 1]);
      if (flagged > 0) {
        n[labels[k]] = nullptr;
        n_overall_known = false;
        note("", labels[k], std::nullopt,
             fmt::format("group of fewer than min_rows rows (or suppressed with one) at {} "
                         "node(s)",
                         flagged));
      } else {
        n_group[k] = Count(sum[2 * k]);
        n[labels[k]] = *n_group[k];
        n_overall += *n_group[k];
      }
    }
    if (grouped) n["overall"] = n_overall_known ? json(n_overall) : json(nullptr);

    auto percent = [](int64_t count, std::optional<int64_t> total) -> json {
      if (!total || *total <= 0) return nullptr;
      return 100.0 * static_cast<double>(count) / static_cast<double>(*total);
    };

    json variables = json::array();
    for (size_t v = 0; v < spec.categorical.size(); ++v) {
      const size_t cells = g.Cells(v);
      const double* counts = sum.data() + g.CategoricalOffset(v);
      const double* primary = counts + G * cells;
      const double* secondary = counts + 2 * G * cells;
      std::vector<std::string> names = g.levels[v];
      names.push_back("missing");
      json by_group = json::object();
      std::vector<std::optional<int64_t>> overall(cells, int64_t{0});
      for (size_t k = 0; k < G; ++k) {
        json cnt = json::object();
        json pct = json::object();
        for (size_t l = 0; l < cells; ++l) {
          const size_t i = k * cells + l;
          const int64_t p = Count(primary[i]);
          const int64_t s = Count(secondary[i]);
          if (!n_group[k] || p > 0 || s > 0) {
            cnt[names[l]] = nullptr;
            pct[names[l]] = nullptr;
            overall[l].reset();
            if (n_group[k]) {
              note(spec.categorical[v], labels[k], names[l],
                   p > 0
                       ? fmt::format("count, or its level's total, between 1 and min_cell-1 at {} "
                                     "node(s)",
                                     p)
                       : fmt::format("secondary suppression at {} node(s), so that a small "
                                     "cell cannot be recovered by subtraction",
                                     s));
            }
            continue;
          }
          const int64_t c = Count(counts[i]);
          cnt[names[l]] = c;
          pct[names[l]] = percent(c, n_group[k]);
          if (overall[l]) *overall[l] += c;
        }
        by_group[labels[k]] = {{"counts", std::move(cnt)}, {"percent", std::move(pct)}};
      }
      if (grouped) {
        json cnt = json::object();
        json pct = json::object();
        for (size_t l = 0; l < cells; ++l) {
          cnt[names[l]] = overall[l] ? json(*overall[l]) : json(nullptr);
          pct[names[l]] =
              overall[l] && n_overall_known ? percent(*overall[l], n_overall) : json(nullptr);
        }
        by_group["overall"] = {{"counts", std::move(cnt)}, {"percent", std::move(pct)}};
      }
      variables.push_back({{"name", spec.categorical[v]},
                           {"kind", "categorical"},
                           {"levels", g.levels[v]},
                           {"groups", std::move(by_group)}});
    }

    for (size_t c = 0; c < spec.continuous.size(); ++c) {
      const double* m = sum.data() + g.ContinuousOffset(c);
      json by_group = json::object();
      double tn = 0, ts = 0, tss = 0, tmiss = 0;
      bool overall_known = true;
      auto stats = [](double k, double s, double ss, double miss) -> json {
        json j = {{"n", CountFromSum(k)}, {"missing", CountFromSum(miss)}};
        if (k >= 1) {
          j["mean"] = s / k;
        } else {
          j["mean"] = nullptr;
        }
        if (k >= 2) {
          j["sd"] = std::sqrt(std::max(0.0, (ss - s * s / k) / (k - 1)));
        } else {
          j["sd"] = nullptr;
        }
        return j;
      };
      for (size_t k = 0; k < G; ++k) {
        const double* mk = m + kPerContinuous * k;
        const int64_t flagged = Count(mk[4]);
        if (flagged > 0 || !n_group[k]) {
          by_group[labels[k]] = {
              {"n", nullptr}, {"missing", nullptr}, {"mean", nullptr}, {"sd", nullptr}};
          overall_known = false;
          if (n_group[k]) {
            note(spec.continuous[c], labels[k], std::nullopt,
                 fmt::format("fewer than min_rows values at {} node(s)", flagged));
          }
          continue;
        }
        by_group[labels[k]] = stats(mk[0], mk[1], mk[2], mk[3]);
        tn += mk[0];
        ts += mk[1];
        tss += mk[2];
        tmiss += mk[3];
      }
      if (grouped) {
        by_group["overall"] =
            overall_known
                ? stats(tn, ts, tss, tmiss)
                : json{{"n", nullptr}, {"missing", nullptr}, {"mean", nullptr}, {"sd", nullptr}};
      }
      variables.push_back(
          {{"name", spec.continuous[c]}, {"kind", "continuous"}, {"groups", std::move(by_group)}});
    }

    std::vector<std::string> columns = labels;
    if (grouped) columns.push_back("overall");
    json result = {{"groups", columns},
                   {"n", std::move(n)},
                   {"variables", std::move(variables)},
                   {"suppressed", std::move(suppressed)}};
    if (grouped) result["by"] = spec.by;
    bool outside = false;
    for (const auto& m : metas) outside |= m.value("rows_outside_levels", false);
    if (outside) {
      result["note"] = "some rows held values outside the agreed levels and are not counted";
    }
    out.result = std::move(result);
    return out;
  }

 private:
  static std::string Phase(const RoundInput& in) { return in.params.value("phase", ""); }
};

}  // namespace

std::unique_ptr<Analysis> MakeTable1Analysis() { return std::make_unique<Table1Analysis>(); }

}  // namespace passerelle::analysis
