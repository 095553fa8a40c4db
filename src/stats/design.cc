#include "stats/design.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <unordered_map>
#include <utility>

namespace passerelle::stats {
namespace {

// The columns complete cases are taken over, without duplicates.
std::vector<std::string> ModelColumns(const ModelSpec& spec) {
  std::vector<std::string> cols = spec.formula.columns;
  auto add = [&](const std::string& c) {
    if (!c.empty() && std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  };
  add(spec.weights);
  add(spec.offset);
  for (const auto& c : spec.extra_columns) add(c);
  return cols;
}

// The variables the schema describes: the response (if a single column), then the right-hand
// side variables. `written_factor` says whether the formula asks for a factor.
struct SchemaSlot {
  std::string column;
  bool written_factor;
};

std::vector<SchemaSlot> SchemaSlots(const ModelSpec& spec) {
  std::vector<SchemaSlot> slots;
  const Formula& f = spec.formula;
  if (f.response_kind == ResponseKind::kVariable) {
    slots.push_back({f.response.column, f.response.as_factor});
  }
  for (const auto& v : f.variables) slots.push_back({v.column, v.as_factor || spec.all_factors});
  return slots;
}

int ResponseOffset(const ModelSpec& spec) {
  return spec.formula.response_kind == ResponseKind::kVariable ? 1 : 0;
}

}  // namespace

Result<std::vector<uint8_t>> CompleteCases(const ModelSpec& spec, const DataFrame& frame) {
  std::vector<uint8_t> complete(frame.rows(), 1);
  for (const auto& name : ModelColumns(spec)) {
    ASSIGN_OR_RETURN(const DataColumn* col, frame.Get(name));
    if (col->is_string) {
      if (col->missing.empty()) continue;
      for (size_t i = 0; i < complete.size(); ++i) complete[i] &= col->missing[i] == 0;
    } else {
      for (size_t i = 0; i < complete.size(); ++i) complete[i] &= !std::isnan(col->numbers[i]);
    }
  }
  return complete;
}

Result<DataSchema> DescribeData(const ModelSpec& spec, const DataFrame& frame) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> complete, CompleteCases(spec, frame));
  DataSchema schema;
  for (const SchemaSlot& slot : SchemaSlots(spec)) {
    ASSIGN_OR_RETURN(const DataColumn* col, frame.Get(slot.column));
    VariableInfo info;
    info.column = slot.column;
    info.is_string = col->is_string;
    info.as_factor = slot.written_factor || col->is_string;
    if (info.as_factor) {
      // factor(x) takes its levels from every row where x is present; a bare string column (or a
      // Kaplan-Meier group) from the complete cases.
      bool all_present_rows = slot.written_factor && !spec.all_factors;
      auto use = [&](size_t i) { return all_present_rows ? !col->IsMissing(i) : complete[i] != 0; };
      if (col->is_string) {
        std::vector<std::string> levels;
        for (size_t i = 0; i < col->size(); ++i) {
          if (use(i)) levels.push_back(col->strings[i]);
        }
        std::sort(levels.begin(), levels.end());
        levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
        info.string_levels = std::move(levels);
      } else {
        std::vector<double> levels;
        for (size_t i = 0; i < col->size(); ++i) {
          if (use(i)) levels.push_back(col->numbers[i]);
        }
        std::sort(levels.begin(), levels.end());
        levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
        info.numeric_levels = std::move(levels);
      }
    }
    schema.variables.push_back(std::move(info));
  }
  return schema;
}

Result<DataSchema> MergeSchemas(const std::vector<DataSchema>& schemas) {
  if (schemas.empty()) return Status::InvalidArgument("merge schemas: no node schema given");
  DataSchema out = schemas.front();
  for (size_t s = 1; s < schemas.size(); ++s) {
    const DataSchema& other = schemas[s];
    if (other.variables.size() != out.variables.size()) {
      return Status::InvalidArgument("merge schemas: node schemas describe different models");
    }
    for (size_t i = 0; i < out.variables.size(); ++i) {
      VariableInfo& a = out.variables[i];
      const VariableInfo& b = other.variables[i];
      if (a.column != b.column) {
        return Status::InvalidArgument("merge schemas: node schemas describe different models (" +
                                       a.column + " / " + b.column + ")");
      }
      if (a.is_string != b.is_string) {
        return Status::InvalidArgument("merge schemas: column \"" + a.column +
                                       "\" holds strings at some nodes and numbers at others; "
                                       "make the column the same type everywhere");
      }
      if (a.as_factor != b.as_factor) {
        return Status::InvalidArgument("merge schemas: column \"" + a.column +
                                       "\" is a factor at some nodes only");
      }
      std::vector<double> nums;
      std::set_union(a.numeric_levels.begin(), a.numeric_levels.end(), b.numeric_levels.begin(),
                     b.numeric_levels.end(), std::back_inserter(nums));
      a.numeric_levels = std::move(nums);
      std::vector<std::string> strs;
      std::set_union(a.string_levels.begin(), a.string_levels.end(), b.string_levels.begin(),
                     b.string_levels.end(), std::back_inserter(strs));
      a.string_levels = std::move(strs);
    }
  }
  return out;
}

std::vector<std::string> ModelLayout::column_names() const {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& c : columns) names.push_back(c.name);
  return names;
}

std::vector<std::string> ModelLayout::LevelLabels(int schema_index) const {
  const VariableInfo& info = schema.variables[schema_index];
  if (info.is_string) return info.string_levels;
  std::vector<std::string> labels;
  for (double v : info.numeric_levels) labels.push_back(RFormatNumber(v));
  return labels;
}

Result<ModelLayout> LayoutModel(const ModelSpec& spec, const DataSchema& agreed) {
  const Formula& f = spec.formula;
  ModelLayout layout;
  layout.spec = spec;
  layout.schema = agreed;
  int offset = ResponseOffset(spec);
  if (agreed.variables.size() != f.variables.size() + offset) {
    return Status::InvalidArgument("layout: the schema does not describe this formula");
  }
  for (size_t i = 0; i < f.variables.size(); ++i) {
    const VariableInfo& info = agreed.variables[i + offset];
    if (info.column != f.variables[i].column) {
      return Status::InvalidArgument("layout: the schema does not describe this formula");
    }
    layout.variable_schema.push_back(static_cast<int>(i) + offset);
  }
  if (offset == 1) layout.response_schema = 0;

  auto is_factor = [&](int v) { return agreed.variables[layout.variable_schema[v]].as_factor; };
  auto n_levels = [&](int v) {
    const VariableInfo& info = agreed.variables[layout.variable_schema[v]];
    return info.is_string ? info.string_levels.size() : info.numeric_levels.size();
  };

  // R's TermCode: variable v of term t is coded by contrasts (1) when the term without v is empty
  // or contained in an earlier term, else by indicators of every level (2).
  const size_t nt = f.terms.size();
  std::vector<std::vector<int>> code(nt);
  for (size_t t = 0; t < nt; ++t) {
    const auto& vars = f.terms[t].variables;
    code[t].assign(vars.size(), 0);
    for (size_t k = 0; k < vars.size(); ++k) {
      if (!is_factor(vars[k])) continue;
      std::vector<int> reduced;
      for (size_t m = 0; m < vars.size(); ++m) {
        if (m != k) reduced.push_back(vars[m]);
      }
      int c = 2;
      if (reduced.empty()) {
        c = 1;
      } else {
        for (size_t u = 0; u < t && c == 2; ++u) {
          const auto& earlier = f.terms[u].variables;
          if (std::includes(earlier.begin(), earlier.end(), reduced.begin(), reduced.end())) c = 1;
        }
      }
      code[t][k] = c;
    }
  }
  bool coded_intercept = f.intercept || spec.drop_intercept;
  if (!coded_intercept) {
    // Without an intercept, the first factor of the first term holding one gets every level.
    bool done = false;
    for (size_t t = 0; t < nt && !done; ++t) {
      for (size_t k = 0; k < f.terms[t].variables.size() && !done; ++k) {
        if (is_factor(f.terms[t].variables[k])) {
          code[t][k] = 2;
          done = true;
        }
      }
    }
  }

  layout.has_intercept = f.intercept && !spec.drop_intercept;
  if (layout.has_intercept) layout.columns.push_back({"(Intercept)", 0, {}});
  for (size_t t = 0; t < nt; ++t) {
    const auto& vars = f.terms[t].variables;
    // Options per variable: the levels (or -1 for a numeric value) and their name pieces.
    std::vector<std::vector<std::pair<int, std::string>>> options(vars.size());
    for (size_t k = 0; k < vars.size(); ++k) {
      const FormulaVariable& fv = f.variables[vars[k]];
      if (!is_factor(vars[k])) {
        options[k].push_back({-1, fv.label});
        continue;
      }
      size_t nl = n_levels(vars[k]);
      if (nl < 2) {
        return Status::InvalidArgument(
            "layout: " + fv.label + " has " + std::to_string(nl) +
            " level(s) over all nodes; a factor needs at least two (contrasts can be applied "
            "only to factors with 2 or more levels)");
      }
      std::vector<std::string> labels = layout.LevelLabels(layout.variable_schema[vars[k]]);
      for (size_t l = (code[t][k] == 1 ? 1 : 0); l < nl; ++l) {
        options[k].push_back({static_cast<int>(l), fv.label + labels[l]});
      }
    }
    size_t term_columns = 1;
    for (const auto& o : options) {
      term_columns *= o.size();
      if (term_columns + layout.columns.size() > spec.max_columns) {
        return Status::InvalidArgument("layout: formula \"" + f.text + "\" has more than " +
                                       std::to_string(spec.max_columns) + " columns");
      }
    }
    // Cartesian product, first variable fastest.
    std::vector<size_t> idx(vars.size(), 0);
    for (;;) {
      DesignColumn col;
      col.term = static_cast<int>(t) + 1;
      for (size_t k = 0; k < vars.size(); ++k) {
        if (k > 0) col.name += ":";
        col.name += options[k][idx[k]].second;
        col.parts.push_back({vars[k], options[k][idx[k]].first});
      }
      layout.columns.push_back(std::move(col));
      size_t k = 0;
      while (k < vars.size() && ++idx[k] == options[k].size()) {
        idx[k] = 0;
        ++k;
      }
      if (k == vars.size()) break;
    }
  }
  if (layout.columns.empty()) {
    return Status::InvalidArgument("layout: formula \"" + f.text +
                                   "\" gives a model without columns");
  }
  return layout;
}

namespace {

// `consume` (the frame itself, or null): the frame may be emptied column by column once a column
// has been used for the last time (then X grows while the frame shrinks, and the peak stays near
// one copy of the data).
Result<Design> BuildDesignImpl(const ModelLayout& layout, const DataFrame& frame,
                               const BuildOptions& options, DataFrame* consume) {
  const ModelSpec& spec = layout.spec;
  const Formula& f = spec.formula;
  ASSIGN_OR_RETURN(std::vector<uint8_t> complete, CompleteCases(spec, frame));
  std::vector<size_t> rows;
  rows.reserve(frame.rows());
  for (size_t i = 0; i < complete.size(); ++i) {
    if (complete[i]) rows.push_back(i);
  }
  complete = {};
  const size_t n = rows.size();

  // Per schema variable: the column, and for factors the level index of each design row.
  const size_t nv = layout.schema.variables.size();
  std::vector<const DataColumn*> cols(nv, nullptr);
  std::vector<std::vector<int32_t>> level(nv);
  for (size_t s = 0; s < nv; ++s) {
    const VariableInfo& info = layout.schema.variables[s];
    ASSIGN_OR_RETURN(cols[s], frame.Get(info.column));
    if (cols[s]->is_string != info.is_string) {
      return Status::InvalidArgument(
          "design: column \"" + info.column + "\" is " + (cols[s]->is_string ? "text" : "numeric") +
          " here but " + (info.is_string ? "text" : "numeric") + " in the agreed schema");
    }
    if (!info.as_factor) continue;
    level[s].resize(n);
    const std::string unknown = "design: column \"" + info.column +
                                "\" has a value outside the agreed levels (the schema round "
                                "must include this node)";
    if (info.is_string) {
      std::unordered_map<std::string, int32_t> index;
      for (size_t l = 0; l < info.string_levels.size(); ++l) {
        index.emplace(info.string_levels[l], static_cast<int32_t>(l));
      }
      for (size_t r = 0; r < n; ++r) {
        auto it = index.find(cols[s]->strings[rows[r]]);
        if (it == index.end()) return Status::InvalidArgument(unknown);
        level[s][r] = it->second;
      }
    } else {
      const auto& lv = info.numeric_levels;
      for (size_t r = 0; r < n; ++r) {
        double v = cols[s]->numbers[rows[r]];
        auto it = std::lower_bound(lv.begin(), lv.end(), v);
        if (it == lv.end() || *it != v) return Status::InvalidArgument(unknown);
        level[s][r] = static_cast<int32_t>(it - lv.begin());
      }
    }
  }

  Design d;
  d.rows = n;
  d.rows_incomplete = frame.rows() - n;
  d.cols = layout.columns.size();
  d.column_names = layout.column_names();
  d.has_intercept = layout.has_intercept;

  if (layout.response_schema >= 0) {
    int s = layout.response_schema;
    d.y.resize(n);
    if (layout.schema.variables[s].as_factor) {
      for (size_t r = 0; r < n; ++r) d.y[r] = level[s][r] != 0 ? 1.0 : 0.0;
    } else {
      for (size_t r = 0; r < n; ++r) d.y[r] = cols[s]->numbers[rows[r]];
    }
  }

  if (!spec.weights.empty()) {
    ASSIGN_OR_RETURN(const DataColumn* w, frame.Get(spec.weights));
    if (w->is_string) {
      return Status::InvalidArgument("design: weights column \"" + spec.weights +
                                     "\" must be numeric");
    }
    d.weights.resize(n);
    for (size_t r = 0; r < n; ++r) {
      d.weights[r] = w->numbers[rows[r]];
      if (d.weights[r] < 0 || !std::isfinite(d.weights[r])) {
        return Status::InvalidArgument("design: weights column \"" + spec.weights +
                                       "\" has negative or infinite values");
      }
    }
  }

  std::vector<std::string> offsets = f.offsets;
  if (!spec.offset.empty()) offsets.push_back(spec.offset);
  if (!offsets.empty()) {
    d.offset.assign(n, 0.0);
    for (const auto& name : offsets) {
      ASSIGN_OR_RETURN(const DataColumn* o, frame.Get(name));
      if (o->is_string) {
        return Status::InvalidArgument("design: offset column \"" + name + "\" must be numeric");
      }
      for (size_t r = 0; r < n; ++r) d.offset[r] += o->numbers[rows[r]];
    }
  }
  // X, column by column. When consuming, a frame column's values are released after the last
  // design column that reads them (several schema variables may share a frame column: x and
  // factor(x)), and a factor's level codes after their last use. X is reserved, not touched, so
  // that its pages become resident as the columns are written.
  const auto kNever = static_cast<ptrdiff_t>(-1);
  std::vector<ptrdiff_t> var_last(nv, kNever);
  std::map<std::string, ptrdiff_t> column_last;
  for (size_t s = 0; s < nv; ++s) column_last[layout.schema.variables[s].column] = kNever;
  for (size_t j = 0; j < d.cols; ++j) {
    for (const auto& part : layout.columns[j].parts) {
      const auto s = static_cast<size_t>(layout.variable_schema[part.variable]);
      var_last[s] = static_cast<ptrdiff_t>(j);
      column_last[layout.schema.variables[s].column] = static_cast<ptrdiff_t>(j);
    }
  }
  // Freed memory goes back to the system every quarter of X (at most 64 MiB), so that X's new
  // pages do not come on top of the frame's freed ones (the heap walk is too slow to do after
  // every column).
  const size_t trim_bytes =
      std::clamp<size_t>(n * d.cols * sizeof(double) / 4, size_t{1} << 20, size_t{64} << 20);
  size_t released = 0;
  auto release_after = [&](ptrdiff_t j) {
    if (consume == nullptr) return;
    for (size_t s = 0; s < nv; ++s) {
      if (var_last[s] == j) level[s] = {};
    }
    for (const auto& [column, last] : column_last) {
      if (last == j) released += consume->ReleaseColumnData(column);
    }
    if (released >= trim_bytes) {
      ReturnFreedMemory();
      released = 0;
    }
  };
  release_after(kNever);
  d.x.reserve(n * d.cols);
  for (size_t j = 0; j < d.cols; ++j) {
    d.x.resize((j + 1) * n, 1.0);
    double* out = d.x.data() + j * n;
    const DesignColumn& dc = layout.columns[j];
    for (const auto& part : dc.parts) {
      int s = layout.variable_schema[part.variable];
      if (part.level < 0) {
        const double* v = cols[s]->numbers.data();
        for (size_t r = 0; r < n; ++r) out[r] *= v[rows[r]];
      } else {
        const int32_t* lv = level[s].data();
        for (size_t r = 0; r < n; ++r) {
          if (lv[r] != part.level) out[r] = 0.0;
        }
      }
    }
    release_after(static_cast<ptrdiff_t>(j));
  }
  if (released > 0) ReturnFreedMemory();
  if (options.keep_frame_rows) d.frame_rows = std::move(rows);
  return d;
}

}  // namespace

Result<Design> BuildDesign(const ModelLayout& layout, const DataFrame& frame,
                           const BuildOptions& options) {
  return BuildDesignImpl(layout, frame, options, /*consume=*/nullptr);
}

Result<Design> BuildDesign(const ModelLayout& layout, DataFrame&& frame,
                           const BuildOptions& options) {
  return BuildDesignImpl(layout, frame, options, /*consume=*/&frame);
}

std::string RFormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Inf" : "-Inf";
  if (value == 0) return "0";
  // The fewest significant digits (at most 15) that give the value to 15 digits.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.14e", value);
  const double target = std::strtod(buf, nullptr);
  int sig = 15;
  for (int s = 1; s <= 15; ++s) {
    std::snprintf(buf, sizeof(buf), "%.*e", s - 1, value);
    if (std::strtod(buf, nullptr) == target) {
      sig = s;
      break;
    }
  }
  std::snprintf(buf, sizeof(buf), "%.*e", sig - 1, value);
  std::string sci = buf;
  int e10 = std::atoi(sci.c_str() + sci.find('e') + 1);
  int neg = value < 0 ? 1 : 0;
  int decimals = std::max(0, sig - 1 - e10);
  int fixed_width = neg + (e10 >= 0 ? e10 + 1 : 1) + (decimals > 0 ? decimals + 1 : 0);
  if (fixed_width <= static_cast<int>(sci.size())) {
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    return buf;
  }
  return sci;
}

}  // namespace passerelle::stats
