#include "node/cohort_provider.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "cohort/features.h"
#include "common/log.h"
#include "node/sql_table.h"

namespace passerelle::node {

using nlohmann::json;

namespace {

constexpr std::string_view kTablePrefix = "_passerelle_study_";
constexpr std::string_view kSiteColumn = "site";

json CohortStudyJson(const protocol::CohortRequest& c) {
  json j = {{"cohort", c.cohort}, {"covariates", c.covariates}};
  if (!c.outcome.is_null()) j["outcome"] = c.outcome;
  return j;
}

}  // namespace

CohortTables::CohortTables(store::DataSource& source, CohortTablesOptions options)
    : source_(source), options_(options) {
  if (options_.max_studies == 0) options_.max_studies = 1;
}

CohortTables::~CohortTables() {
  for (const auto& e : entries_) {
    Status st = source_.Execute(source_.dialect().DropTemporaryTableIfExists(e.table));
    if (!st.ok()) log::Warn("node: could not drop {}: {}", e.table, st.message());
  }
}

std::string CohortTables::TableName(const std::string& study_id) {
  std::string name(kTablePrefix);
  for (char c : study_id) {
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  if (name.size() > 63) name.resize(63);
  return name;
}

std::vector<std::string> CohortTables::tables() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.table);
  return out;
}

Status CohortTables::Drop(const std::string& study_id) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.study_id == study_id; });
  if (it == entries_.end()) return Status::Ok();
  std::string table = it->table;
  entries_.erase(it);
  return source_.Execute(source_.dialect().DropTemporaryTableIfExists(table));
}

Status CohortTables::Build(const protocol::Task& task, const std::string& table) {
  const std::string origin = fmt::format("study {}", task.study_id);
  ASSIGN_OR_RETURN(cohort::CohortStudySpec spec,
                   cohort::ParseCohortStudySpec(CohortStudyJson(*task.cohort), origin));
  for (const auto& c : spec.covariates) {
    if (c.name == kSiteColumn) {
      return Status::InvalidArgument(
          fmt::format("{}: the covariate name \"{}\" is reserved (the node adds it: the node's id)",
                      origin, kSiteColumn));
    }
  }
  cohort::BuildOptions options;
  options.temporary = true;
  auto info = cohort::BuildAnalysisTable(source_, spec, table, options);
  if (!info.ok()) return info.status().WithContext(origin);
  for (const auto& c : info->columns) {
    if (c.name == kSiteColumn) {
      return Status::InvalidArgument(
          fmt::format("{}: the column name \"{}\" is reserved (the node adds it: the node's id)",
                      origin, kSiteColumn));
    }
  }
  const store::Dialect& d = source_.dialect();
  RETURN_IF_ERROR(source_.Execute(
      fmt::format("ALTER TABLE {} ADD COLUMN {} VARCHAR DEFAULT {}", d.QuoteIdentifier(table),
                  d.QuoteIdentifier(kSiteColumn), d.QuoteLiteral(task.node))));
  // Node-local figures for the data steward's log; nothing here is released.
  log::Info("node {}: {}: analysis table built from the cohort ({} persons, {} columns)", task.node,
            origin, info->rows, info->columns.size() + 1);
  return Status::Ok();
}

Result<std::unique_ptr<analysis::AnalysisTable>> CohortTables::Open(const protocol::Task& task) {
  if (!task.cohort) return Status::InvalidArgument("task has no cohort");
  const std::string fingerprint = CohortStudyJson(*task.cohort).dump();
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.study_id == task.study_id; });
  if (it != entries_.end() && it->fingerprint != fingerprint) {
    RETURN_IF_ERROR(Drop(task.study_id));
    it = entries_.end();
  }
  if (it == entries_.end()) {
    while (entries_.size() >= options_.max_studies) {
      auto lru =
          std::min_element(entries_.begin(), entries_.end(),
                           [](const Entry& a, const Entry& b) { return a.last_use < b.last_use; });
      RETURN_IF_ERROR(Drop(lru->study_id));
    }
    const std::string table = TableName(task.study_id);
    Status built = Build(task, table);
    if (!built.ok()) {
      // Never leave a half-built table behind.
      source_.Execute(source_.dialect().DropTemporaryTableIfExists(table)).PermitUncheckedError();
      return built;
    }
    entries_.push_back({task.study_id, fingerprint, table, 0});
    it = entries_.end() - 1;
  }
  it->last_use = ++clock_;
  ASSIGN_OR_RETURN(auto sql_table, SqlTable::OpenBuilt(source_, it->table));
  return std::unique_ptr<analysis::AnalysisTable>(std::move(sql_table));
}

}  // namespace passerelle::node
