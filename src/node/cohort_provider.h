// OMOP studies at a node: the analysis table of a study that names a "cohort" (with "covariates"
// and "outcome") instead of a "dataset". The node compiles the cohort in its own CDM and builds
// the table with cohort::BuildAnalysisTable — SQL inside the store, no row enters this process —
// then the analyses read it through SqlTable like a flat dataset.
//
// The table of study <id> is the temporary table `_passerelle_study_<id>` of the node's
// connection, with the columns of docs/cohorts.md plus a text column `site` holding the node id
// (the group of "by jurisdiction" analyses, e.g. table1 by site). Temporary, so that:
//   - it is never written to the database file (a node opens its database read-only);
//   - no study can read it as a dataset (dataset names may not start with "_passerelle", and
//     datasets are the regular tables of the store);
//   - it goes away with the connection at the latest.
// It is built by the first task of the study and reused by its later rounds (multi-round
// analyses: GLM, Cox); a task whose cohort differs from the one the table was built from
// rebuilds it. The node is not told when a study ends, so at most `max_studies` tables are kept:
// the least recently used is dropped beyond that, and all are dropped with the CohortTables.
//
// Thread-safety: as the DataSource it borrows (one thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analysis/analysis_table.h"
#include "common/status.h"
#include "protocol/messages.h"
#include "store/data_source.h"

namespace passerelle::node {

struct CohortTablesOptions {
  // Studies whose tables are kept between tasks; the least recently used is dropped beyond.
  size_t max_studies = 4;
};

class CohortTables {
 public:
  // `source` must outlive this object.
  explicit CohortTables(store::DataSource& source, CohortTablesOptions options = {});
  // Drops every table still held.
  ~CohortTables();
  CohortTables(const CohortTables&) = delete;
  CohortTables& operator=(const CohortTables&) = delete;

  // The analysis table of `task`'s study, built on first use.
  // REQUIRES: task.cohort is set.
  // Errors: an invalid cohort/covariates/outcome (kInvalidArgument, naming the study), a CDM
  // table missing from the store, a covariate named "site" (reserved).
  Result<std::unique_ptr<analysis::AnalysisTable>> Open(const protocol::Task& task);

  // Drops the table of `study_id`; OK when there is none.
  Status Drop(const std::string& study_id);

  // The temporary tables held now (tests).
  std::vector<std::string> tables() const;

  // The table name of a study: "_passerelle_study_" + the id with characters other than
  // [A-Za-z0-9_] as '_'.
  static std::string TableName(const std::string& study_id);

 private:
  struct Entry {
    std::string study_id;
    std::string fingerprint;  // the cohort request it was built from (JSON text)
    std::string table;
    uint64_t last_use = 0;
  };
  Status Build(const protocol::Task& task, const std::string& table);

  store::DataSource& source_;
  CohortTablesOptions options_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace passerelle::node
