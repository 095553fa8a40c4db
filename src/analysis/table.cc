// table: a one- or two-way contingency table of categorical variables, pooled over nodes.
//
// Rounds (the phase travels in the round input's params, so a study that gives the levels skips
// the first one):
//   "levels"  each node reports the distinct non-missing values of `rows` (and `cols`) as meta —
//             names only, no counts (as DataSHIELD's ds.levels); the hub takes the union and
//             orders it (numerically when every level is a number, else as text).
//   "counts"  each node counts rows over the agreed grid (rows x cols, row-major) where both
//             variables are non-missing. Share: [R·C cells, R·C primary flags, R·C secondary
//             flags, 1 small-table flag].
//
// Disclosure rule, at each node, before anything leaves:
//   - max_levels: a variable with more distinct values than the policy allows is refused (it is
//     probably an identifier or a continuous measure, not a category);
//   - min_rows: a table over between 1 and min_rows - 1 rows releases nothing (every cell 0,
//     small-table flag 1);
//   - min_cell (primary): a cell with a count between 1 and min_cell - 1 is released as 0 with its
//     primary flag raised; so is every cell, zeros included, of a row or column whose total is
//     between 1 and min_cell - 1 (a zero beside a one-person row, with the level list, tells that
//     person's value: attribute disclosure through a zero cell). All cells of such a line carry
//     the same flag, so the flags do not tell a zero from a small count;
//   - secondary: row and column totals are assumed known (one-way tables, counts), so cells are
//     withheld further, smallest first, until no withheld cell is recoverable exactly from the
//     shown cells and those totals (SecondarySuppression: no line with one withheld cell, no
//     withheld cell that is a bridge of the graph of withheld cells). Interval bounds and
//     differencing across studies are for the privacy module (DP, the differencing guard).
// With secure aggregation the hub applies the same rule to the revealed sum (DiscloseSecureSum).
// The hub publishes a pooled cell as null when any node flagged it, and lists each null cell in
// "suppressed" with its reason and the number of nodes concerned.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "analysis/builtin.h"
#include "protocol/json_reader.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

constexpr size_t kMaxLevels = 1000;  // hard bound on an agreed level list
constexpr size_t kMaxLevelLength = 200;

class TableSpec final : public AnalysisSpec {
 public:
  std::string rows;
  std::string cols;  // empty: one-way table
  std::optional<std::vector<std::string>> row_levels;
  std::optional<std::vector<std::string>> col_levels;

  bool two_way() const { return !cols.empty(); }

  json ToJson() const override {
    json j = {{"id", id}, {"type", type}, {"rows", rows}};
    if (two_way()) j["cols"] = cols;
    if (row_levels) j["row_levels"] = *row_levels;
    if (col_levels) j["col_levels"] = *col_levels;
    return j;
  }
};

bool ParseNumber(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') return false;
  auto [ptr, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && ptr == e;
}

// Orders levels numerically when all are numbers, else as text; removes duplicates.
std::vector<std::string> OrderLevels(std::set<std::string> levels) {
  std::vector<std::string> out(levels.begin(), levels.end());
  bool numeric = !out.empty();
  std::map<std::string, double> value;
  for (const auto& l : out) {
    double v;
    if (!ParseNumber(l, v)) {
      numeric = false;
      break;
    }
    value[l] = v;
  }
  if (numeric) {
    std::stable_sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
      return value[a] < value[b];
    });
  }
  return out;
}

Result<std::vector<std::string>> LevelsParam(const json& params, std::string_view key) {
  auto it = params.find(key);
  if (it == params.end() || !it->is_array() || it->size() > kMaxLevels) {
    return Status::InvalidArgument(fmt::format(
        "table: round input \"{}\" must be an array of at most {} levels", key, kMaxLevels));
  }
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (!e.is_string()) return Status::InvalidArgument("table: a level must be a string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Status ValidateLevels(const std::vector<std::string>& levels, std::string_view path) {
  if (levels.empty() || levels.size() > kMaxLevels) {
    return Status::InvalidArgument(fmt::format("{}: give 1 to {} levels", path, kMaxLevels));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i].size() > kMaxLevelLength) {
      return Status::InvalidArgument(fmt::format("{}[{}]: level too long", path, i));
    }
    if (!seen.insert(levels[i]).second) {
      return Status::InvalidArgument(
          fmt::format("{}[{}]: \"{}\" listed twice", path, i, levels[i]));
    }
  }
  return Status::Ok();
}

// Secondary suppression on an R x C table whose row and column totals a researcher may know
// from other releases (one-way tables of the same rows, a count). The withheld cells are the
// edges of a bipartite graph on the lines (rows, columns) whose totals are known; a withheld
// cell is exactly recoverable from the shown cells and those totals if and only if it is a
// bridge of that graph (see privacy/disclosure.h). In a one-way table (C == 1) a row's "total"
// is the cell itself, so the rows carry no equation: they are merged into one free vertex and
// only the grand total binds. Adds cells (status 2), smallest first, until no line has exactly
// one withheld cell and no withheld cell is a bridge; fails closed (everything withheld) if no
// candidate is found.
void SecondarySuppression(const double* cells, size_t R, size_t C, std::vector<uint8_t>& hidden) {
  const size_t n = R * C;
  const size_t V = R + C;
  auto row_vertex = [&](size_t i) { return C == 1 ? size_t{0} : i; };
  auto col_vertex = [&](size_t j) { return R + j; };
  auto pick = [&](const std::vector<size_t>& cand) {
    return *std::min_element(cand.begin(), cand.end(), [&](size_t a, size_t b) {
      return std::make_pair(cells[a], a) < std::make_pair(cells[b], b);
    });
  };
  auto count_in_line = [&](bool is_row, size_t line) {
    size_t c = 0;
    for (size_t k = 0; k < (is_row ? C : R); ++k) {
      c += hidden[is_row ? line * C + k : k * C + line] != 0;
    }
    return c;
  };
  for (size_t guard = 0; guard <= n; ++guard) {
    bool changed = false, stuck = false;
    // Rule (1): a bound line with exactly one withheld cell gets a second one, preferring a
    // cell whose crossing line also has exactly one.
    for (int pass = 0; pass < 2 && !changed; ++pass) {
      const bool is_row = pass == 0;
      if (is_row && C == 1) continue;  // rows of a one-way table carry no equation
      for (size_t line = 0; line < (is_row ? R : C) && !changed; ++line) {
        if (count_in_line(is_row, line) != 1) continue;
        std::vector<size_t> cand, pairing;
        for (size_t k = 0; k < (is_row ? C : R); ++k) {
          const size_t idx = is_row ? line * C + k : k * C + line;
          if (hidden[idx]) continue;
          cand.push_back(idx);
          if (count_in_line(!is_row, k) == 1 && !(!is_row && C == 1)) pairing.push_back(idx);
        }
        if (cand.empty()) continue;
        hidden[pick(pairing.empty() ? cand : pairing)] = 2;
        changed = true;
      }
    }
    if (changed) continue;
    // Rule (2): a withheld cell that is a bridge gets a cycle through it.
    std::vector<std::vector<std::pair<size_t, size_t>>> adj(V);  // (vertex, cell)
    for (size_t k = 0; k < n; ++k) {
      if (!hidden[k]) continue;
      const size_t a = row_vertex(k / C), b = col_vertex(k % C);
      adj[a].emplace_back(b, k);
      adj[b].emplace_back(a, k);
    }
    auto reach = [&](size_t start, size_t skip) {
      std::vector<uint8_t> seen(V, 0);
      std::vector<size_t> stack{start};
      seen[start] = 1;
      while (!stack.empty()) {
        const size_t v = stack.back();
        stack.pop_back();
        for (auto [w, k] : adj[v]) {
          if (k == skip || seen[w]) continue;
          seen[w] = 1;
          stack.push_back(w);
        }
      }
      return seen;
    };
    for (size_t k = 0; k < n && !changed; ++k) {
      if (!hidden[k]) continue;
      const size_t a = row_vertex(k / C), b = col_vertex(k % C);
      const std::vector<uint8_t> side_a = reach(a, k);
      if (side_a[b]) continue;  // on a cycle: not recoverable
      const std::vector<uint8_t> side_b = reach(b, k);
      std::vector<size_t> cand;
      for (size_t m = 0; m < n; ++m) {
        if (hidden[m]) continue;
        const size_t r = row_vertex(m / C), c = col_vertex(m % C);
        if ((side_a[r] && side_b[c]) || (side_b[r] && side_a[c])) cand.push_back(m);
      }
      if (cand.empty()) {
        stuck = true;
        break;
      }
      hidden[pick(cand)] = 2;
      changed = true;
    }
    if (stuck) break;
    if (!changed) return;
  }
  // No fix found (not expected once rule (1) holds): fail closed.
  for (auto& h : hidden) h = h ? h : uint8_t{2};
}

class TableAnalysis final : public Analysis {
 public:
  std::string_view type() const override { return "table"; }
  std::string_view description() const override {
    return "contingency table of one or two categorical variables, with small-cell suppression";
  }

  Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const json& j,
                                                  std::string_view path) const override {
    auto spec = std::make_unique<TableSpec>();
    RETURN_IF_ERROR(ParseCommonFields(
        j, path, {"id", "type", "rows", "cols", "row_levels", "col_levels"}, *spec));
    ASSIGN_OR_RETURN(spec->rows, protocol::GetString(j, "rows", path));
    RETURN_IF_ERROR(ValidateVariableName(spec->rows, protocol::JsonPath(path, "rows")));
    ASSIGN_OR_RETURN(auto cols, protocol::GetOptionalString(j, "cols", path));
    if (cols) {
      RETURN_IF_ERROR(ValidateVariableName(*cols, protocol::JsonPath(path, "cols")));
      if (*cols == spec->rows) {
        return Status::InvalidArgument(
            fmt::format("{}.cols: rows and cols name the same variable", path));
      }
      spec->cols = *cols;
    }
    ASSIGN_OR_RETURN(spec->row_levels,
                     protocol::GetOptionalStringArray(j, "row_levels", path, kMaxLevels));
    ASSIGN_OR_RETURN(spec->col_levels,
                     protocol::GetOptionalStringArray(j, "col_levels", path, kMaxLevels));
    if (spec->row_levels) {
      RETURN_IF_ERROR(ValidateLevels(*spec->row_levels, protocol::JsonPath(path, "row_levels")));
    }
    if (spec->col_levels) {
      if (!spec->two_way()) {
        return Status::InvalidArgument(fmt::format("{}.col_levels: given without cols", path));
      }
      RETURN_IF_ERROR(ValidateLevels(*spec->col_levels, protocol::JsonPath(path, "col_levels")));
    }
    return std::unique_ptr<AnalysisSpec>(std::move(spec));
  }

  Result<RoundInput> Begin(const AnalysisSpec& spec_base, json& state) const override {
    const auto& spec = static_cast<const TableSpec&>(spec_base);
    state = json::object();
    RoundInput in;
    if (spec.row_levels && (!spec.two_way() || spec.col_levels)) {
      in.params = CountsParams(*spec.row_levels,
                               spec.two_way() ? *spec.col_levels : std::vector<std::string>{""});
    } else {
      in.params = {{"phase", "levels"}};
    }
    return in;
  }

  Result<size_t> ShareLength(const AnalysisSpec&, int, const RoundInput& input) const override {
    if (Phase(input) == "levels") return size_t{0};
    ASSIGN_OR_RETURN(auto rows, LevelsParam(input.params, "rows"));
    ASSIGN_OR_RETURN(auto cols, LevelsParam(input.params, "cols"));
    return 3 * rows.size() * cols.size() + 1;
  }

  Result<NodeShare> LocalStep(AnalysisTable& data, const AnalysisSpec& spec_base, int,
                              const RoundInput& input, const Thresholds& t) const override {
    const auto& spec = static_cast<const TableSpec&>(spec_base);
    RETURN_IF_ERROR(data.FindVariable(spec.rows).status());
    if (spec.two_way()) RETURN_IF_ERROR(data.FindVariable(spec.cols).status());
    NodeShare share;
    if (Phase(input) == "levels") {
      size_t limit = static_cast<size_t>(std::max<int64_t>(t.max_levels, 1));
      json meta = json::object();
      for (const auto& [key, var] : {std::pair{"rows", spec.rows}, std::pair{"cols", spec.cols}}) {
        if (var.empty()) {
          meta[key] = json::array({""});
          continue;
        }
        ASSIGN_OR_RETURN(auto levels, data.Levels(var, limit));
        json arr = json::array();
        for (const auto& l : levels) arr.push_back(l.level);
        meta[key] = std::move(arr);
      }
      share.meta = std::move(meta);
      return share;
    }
    if (Phase(input) != "counts") {
      return Status::InvalidArgument("table: unknown phase in round input");
    }
    ASSIGN_OR_RETURN(auto rows, LevelsParam(input.params, "rows"));
    ASSIGN_OR_RETURN(auto cols, LevelsParam(input.params, "cols"));
    std::map<std::string, size_t> row_index, col_index;
    for (size_t i = 0; i < rows.size(); ++i) row_index[rows[i]] = i;
    for (size_t j = 0; j < cols.size(); ++j) col_index[cols[j]] = j;
    ASSIGN_OR_RETURN(auto cells, data.CrossCounts(spec.rows, spec.cols));
    const size_t n = rows.size() * cols.size();
    share.values.assign(3 * n + 1, 0.0);
    int64_t outside = 0;
    for (const auto& c : cells) {
      auto r = row_index.find(c.row);
      auto k = col_index.find(c.col);
      if (r == row_index.end() || k == col_index.end()) {
        // A value outside the agreed levels (given by the study, or the data changed between
        // rounds): those rows are not in this table. Counted, never named.
        outside += c.count;
        continue;
      }
      share.values[r->second * cols.size() + k->second] += static_cast<double>(c.count);
    }
    if (outside > 0) share.meta["rows_outside_levels"] = true;
    return share;
  }

  Status Disclose(const AnalysisSpec& spec_base, int, const RoundInput& input, const Thresholds& t,
                  NodeShare& share) const override {
    const auto& spec = static_cast<const TableSpec&>(spec_base);
    if (Phase(input) == "levels") {
      for (const char* key : {"rows", "cols"}) {
        const json& arr = share.meta[key];
        if (static_cast<int64_t>(arr.size()) > t.max_levels) {
          return RefuseByRule(
              "max_levels",
              fmt::format("variable \"{}\" has more than {} distinct values (max_levels)",
                          std::string(key) == "rows" ? spec.rows : spec.cols, t.max_levels));
        }
      }
      return Status::Ok();
    }
    const size_t n = (share.values.size() - 1) / 3;
    double* cells = share.values.data();
    double* primary = cells + n;
    double* secondary = cells + 2 * n;
    double& small_table = share.values[3 * n];
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += cells[i];
    const double min_cell = static_cast<double>(t.min_cell);
    if (total >= 1 && total < static_cast<double>(t.min_rows)) {
      std::fill(cells, cells + n, 0.0);
      small_table = 1;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(auto rows, LevelsParam(input.params, "rows"));
    const size_t R = rows.size(), C = n / std::max<size_t>(R, 1);
    if (R == 0 || R * C != n) return Status::Internal("table: share of the wrong length");
    std::vector<uint8_t> hidden(n, 0);  // 0 shown, 1 primary, 2 secondary
    std::vector<double> row_total(R, 0.0), col_total(C, 0.0);
    for (size_t i = 0; i < R; ++i) {
      for (size_t j = 0; j < C; ++j) {
        row_total[i] += cells[i * C + j];
        col_total[j] += cells[i * C + j];
      }
    }
    auto small = [&](double c) { return c >= 1 && c < min_cell; };
    for (size_t i = 0; i < R; ++i) {
      for (size_t j = 0; j < C; ++j) {
        // A small cell, or any cell (zeros included) of a row or column holding between 1 and
        // min_cell - 1 persons: a zero there, with the level list, tells those persons' value.
        if (small(cells[i * C + j]) || small(row_total[i]) || small(col_total[j])) {
          hidden[i * C + j] = 1;
        }
      }
    }
    SecondarySuppression(cells, R, C, hidden);
    for (size_t k = 0; k < n; ++k) {
      if (hidden[k] == 0) {
        cells[k] = RoundCount(cells[k], t.rounding_base);
        continue;
      }
      cells[k] = 0;
      (hidden[k] == 1 ? primary : secondary)[k] = 1;
    }
    return Status::Ok();
  }

  Result<CombineOutcome> Combine(const AnalysisSpec& spec_base, int, const RoundInput& input,
                                 const std::vector<double>& sum, const std::vector<json>& metas,
                                 json& state) const override {
    const auto& spec = static_cast<const TableSpec&>(spec_base);
    CombineOutcome out;
    if (Phase(input) == "levels") {
      std::set<std::string> rows, cols;
      for (const auto& m : metas) {
        for (const auto& [key, target] :
             {std::pair<const char*, std::set<std::string>*>{"rows", &rows}, {"cols", &cols}}) {
          auto it = m.find(key);
          if (it == m.end() || !it->is_array()) {
            return Status::InvalidArgument(
                fmt::format("table {}: a node's levels meta lacks \"{}\"", spec.id, key));
          }
          for (const auto& l : *it) {
            if (!l.is_string() || l.get_ref<const std::string&>().size() > kMaxLevelLength) {
              return Status::InvalidArgument(
                  fmt::format("table {}: a node sent a malformed level", spec.id));
            }
            target->insert(l.get<std::string>());
          }
        }
      }
      std::vector<std::string> row_levels =
          spec.row_levels ? *spec.row_levels : OrderLevels(std::move(rows));
      std::vector<std::string> col_levels =
          !spec.two_way() ? std::vector<std::string>{""}
                          : (spec.col_levels ? *spec.col_levels : OrderLevels(std::move(cols)));
      if (row_levels.size() > kMaxLevels || col_levels.size() > kMaxLevels) {
        return Status::OutOfRange(
            fmt::format("table {}: more than {} levels over all nodes; not a categorical variable?",
                        spec.id, kMaxLevels));
      }
      state = {{"rows", row_levels}, {"cols", col_levels}};
      out.next = RoundInput{CountsParams(row_levels, col_levels), {}};
      return out;
    }
    ASSIGN_OR_RETURN(auto rows, LevelsParam(input.params, "rows"));
    ASSIGN_OR_RETURN(auto cols, LevelsParam(input.params, "cols"));
    const size_t n = rows.size() * cols.size();
    if (sum.size() != 3 * n + 1) return Status::Internal("table: sum of the wrong length");
    const int64_t small_tables = CountFromSum(sum[3 * n]);
    json cells = json::array();
    json suppressed = json::array();
    bool outside = false;
    for (const auto& m : metas) outside |= m.value("rows_outside_levels", false);
    for (size_t i = 0; i < rows.size(); ++i) {
      json row = json::array();
      for (size_t j = 0; j < cols.size(); ++j) {
        size_t k = i * cols.size() + j;
        int64_t p = CountFromSum(sum[n + k]);
        int64_t s = CountFromSum(sum[2 * n + k]);
        std::vector<std::string> reasons;
        if (small_tables > 0) {
          reasons.push_back(
              fmt::format("table on fewer than min_rows rows at {} node(s)", small_tables));
        }
        if (p > 0) {
          reasons.push_back(fmt::format(
              "count, or its row or column total, between 1 and min_cell-1 at {} node(s)", p));
        }
        if (s > 0) {
          reasons.push_back(fmt::format(
              "secondary suppression at {} node(s), so that a small cell cannot be recovered "
              "by subtraction",
              s));
        }
        if (reasons.empty()) {
          row.push_back(CountFromSum(sum[k]));
          continue;
        }
        row.push_back(nullptr);
        json entry = {{"row", rows[i]}};
        if (spec.two_way()) entry["col"] = cols[j];
        std::string reason;
        for (const auto& r : reasons) reason += (reason.empty() ? "" : "; ") + r;
        entry["reason"] = reason;
        suppressed.push_back(std::move(entry));
      }
      cells.push_back(std::move(row));
    }
    json result = {{"rows", rows}};
    if (spec.two_way()) {
      result["cols"] = cols;
      result["cells"] = std::move(cells);
      result["variables"] = {{"rows", spec.rows}, {"cols", spec.cols}};
    } else {
      json counts = json::array();
      for (auto& r : cells) counts.push_back(r[0]);
      result["counts"] = std::move(counts);
      result["variables"] = {{"rows", spec.rows}};
    }
    result["suppressed"] = std::move(suppressed);
    if (outside) {
      result["note"] = "some rows held values outside the listed levels and are not counted";
    }
    out.result = std::move(result);
    return out;
  }

 private:
  static std::string Phase(const RoundInput& in) { return in.params.value("phase", ""); }

  static json CountsParams(const std::vector<std::string>& rows,
                           const std::vector<std::string>& cols) {
    return {{"phase", "counts"}, {"rows", rows}, {"cols", cols}};
  }
};

}  // namespace

std::unique_ptr<Analysis> MakeTableAnalysis() { return std::make_unique<TableAnalysis>(); }

}  // namespace passerelle::analysis
