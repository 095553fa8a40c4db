#include "analysis/analysis_table.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace passerelle::analysis {

Result<VariableInfo> AnalysisTable::FindVariable(const std::string& name) {
  ASSIGN_OR_RETURN(auto vars, Variables());
  for (auto& v : vars) {
    if (v.name == name) return v;
  }
  return Status::NotFound(fmt::format("variable \"{}\" is not in the dataset", name));
}

Result<std::vector<ColumnData>> AnalysisTable::ReadColumns(const std::vector<std::string>&,
                                                           const ReadOptions&) {
  return Status::FailedPrecondition("this analysis table cannot read columns into memory");
}

void MemoryTable::AddNumeric(std::string name, NumericColumn values) {
  rows_ = values.size();
  order_.push_back(name);
  columns_[std::move(name)] = std::move(values);
}

void MemoryTable::AddCategorical(std::string name, TextColumn values) {
  rows_ = values.size();
  order_.push_back(name);
  columns_[std::move(name)] = std::move(values);
}

Result<const MemoryTable::Column*> MemoryTable::Find(const std::string& name) const {
  auto it = columns_.find(name);
  if (it == columns_.end()) {
    return Status::NotFound(fmt::format("variable \"{}\" is not in the dataset", name));
  }
  return &it->second;
}

std::optional<std::string> MemoryTable::LevelText(const Column& c, size_t i) {
  if (const auto* num = std::get_if<NumericColumn>(&c)) {
    if (!(*num)[i]) return std::nullopt;
    double v = *(*num)[i];
    if (v == std::floor(v) && std::fabs(v) < 1e15)
      return fmt::format("{}", static_cast<int64_t>(v));
    return fmt::format("{}", v);
  }
  return std::get<TextColumn>(c)[i];
}

Result<int64_t> MemoryTable::RowCount() { return static_cast<int64_t>(rows_); }

Result<std::vector<VariableInfo>> MemoryTable::Variables() {
  std::vector<VariableInfo> out;
  for (const auto& name : order_) {
    const Column& c = columns_.at(name);
    out.push_back({name, std::holds_alternative<NumericColumn>(c) ? VariableKind::kNumeric
                                                                  : VariableKind::kCategorical});
  }
  return out;
}

Result<std::vector<Moments>> MemoryTable::NumericMoments(
    const std::vector<std::string>& variables) {
  std::vector<Moments> out;
  for (const auto& name : variables) {
    ASSIGN_OR_RETURN(const Column* c, Find(name));
    const auto* num = std::get_if<NumericColumn>(c);
    if (!num) return Status::InvalidArgument(fmt::format("variable \"{}\" is not numeric", name));
    Moments m;
    for (const auto& v : *num) {
      if (!v) {
        ++m.n_missing;
        continue;
      }
      ++m.n;
      m.sum += *v;
      m.sum_sq += *v * *v;
    }
    out.push_back(m);
  }
  return out;
}

Result<std::vector<LevelCount>> MemoryTable::Levels(const std::string& variable, size_t limit) {
  ASSIGN_OR_RETURN(const Column* c, Find(variable));
  std::map<std::string, int64_t> counts;
  for (size_t i = 0; i < rows_; ++i) {
    auto t = LevelText(*c, i);
    if (t) ++counts[*t];
  }
  std::vector<LevelCount> out;
  for (auto& [level, n] : counts) {
    if (out.size() > limit) break;
    out.push_back({level, n});
  }
  return out;
}

Result<std::vector<CellCount>> MemoryTable::CrossCounts(const std::string& row,
                                                        const std::string& col) {
  ASSIGN_OR_RETURN(const Column* r, Find(row));
  const Column* c = nullptr;
  if (!col.empty()) {
    ASSIGN_OR_RETURN(c, Find(col));
  }
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (size_t i = 0; i < rows_; ++i) {
    auto rt = LevelText(*r, i);
    if (!rt) continue;
    std::string ct;
    if (c) {
      auto t = LevelText(*c, i);
      if (!t) continue;
      ct = *t;
    }
    ++counts[{*rt, ct}];
  }
  std::vector<CellCount> out;
  for (auto& [key, n] : counts) out.push_back({key.first, key.second, n});
  return out;
}

Result<std::vector<std::vector<double>>> MemoryTable::ReadNumeric(
    const std::vector<std::string>& variables) {
  std::vector<std::vector<double>> out;
  for (const auto& name : variables) {
    ASSIGN_OR_RETURN(const Column* c, Find(name));
    const auto* num = std::get_if<NumericColumn>(c);
    if (!num) return Status::InvalidArgument(fmt::format("variable \"{}\" is not numeric", name));
    std::vector<double> v(num->size());
    for (size_t i = 0; i < num->size(); ++i) {
      v[i] = (*num)[i] ? *(*num)[i] : std::numeric_limits<double>::quiet_NaN();
    }
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<ColumnData>> MemoryTable::ReadColumns(const std::vector<std::string>& variables,
                                                         const ReadOptions& options) {
  std::vector<const Column*> cols;
  for (const auto& name : variables) {
    ASSIGN_OR_RETURN(const Column* c, Find(name));
    cols.push_back(c);
  }
  std::vector<uint8_t> keep(rows_, 1);
  if (options.complete_cases) {
    for (const Column* c : cols) {
      for (size_t i = 0; i < rows_; ++i) {
        bool present = std::visit([&](const auto& v) { return v[i].has_value(); }, *c);
        if (!present) keep[i] = 0;
      }
    }
  }
  std::vector<ColumnData> out;
  for (size_t k = 0; k < cols.size(); ++k) {
    ColumnData d;
    d.name = variables[k];
    if (const auto* num = std::get_if<NumericColumn>(cols[k])) {
      for (size_t i = 0; i < rows_; ++i) {
        if (!keep[i]) continue;
        d.numbers.push_back((*num)[i] ? *(*num)[i] : std::numeric_limits<double>::quiet_NaN());
      }
    } else {
      d.is_text = true;
      const auto& text = std::get<TextColumn>(*cols[k]);
      for (size_t i = 0; i < rows_; ++i) {
        if (!keep[i]) continue;
        d.texts.push_back(text[i].value_or(""));
        d.missing.push_back(text[i] ? 0 : 1);
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace passerelle::analysis
