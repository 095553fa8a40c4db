#include "omop/synth/batch.h"

#include <cassert>

#include "omop/cdm.h"

namespace passerelle::omop::synth {
namespace {

constexpr std::string_view kNames[kNumTables] = {"person",
                                                 "observation_period",
                                                 "visit_occurrence",
                                                 "condition_occurrence",
                                                 "drug_exposure",
                                                 "procedure_occurrence",
                                                 "measurement",
                                                 "death",
                                                 "payer_plan_period",
                                                 "condition_era",
                                                 "drug_era"};

store::ColumnType ColumnTypeOf(CdmType t) {
  switch (t) {
    case CdmType::kInteger:
      return store::ColumnType::kInt64;
    case CdmType::kNumeric:
      return store::ColumnType::kDouble;
    case CdmType::kVarchar:
      return store::ColumnType::kString;
    case CdmType::kDate:
      return store::ColumnType::kDate;
    case CdmType::kTimestamp:
      return store::ColumnType::kTimestamp;
  }
  return store::ColumnType::kInt64;
}

}  // namespace

std::string_view TableName(TableId table) { return kNames[table]; }

Batch::Batch() {
  for (int t = 0; t < kNumTables; ++t) {
    const CdmTable* table = FindCdmTable(kNames[t]);
    assert(table != nullptr);
    for (const CdmColumn& c : table->columns) chunks_[t].columns.emplace_back(ColumnTypeOf(c.type));
  }
  // Which columns hold ids local to the batch.
  struct Ref {
    TableId table;
    std::string_view column;
    TableId refers_to;
  };
  const Ref refs[] = {
      {kVisitTable, "visit_occurrence_id", kVisitTable},
      {kConditionTable, "condition_occurrence_id", kConditionTable},
      {kConditionTable, "visit_occurrence_id", kVisitTable},
      {kDrugTable, "drug_exposure_id", kDrugTable},
      {kDrugTable, "visit_occurrence_id", kVisitTable},
      {kProcedureTable, "procedure_occurrence_id", kProcedureTable},
      {kProcedureTable, "visit_occurrence_id", kVisitTable},
      {kMeasurementTable, "measurement_id", kMeasurementTable},
      {kMeasurementTable, "visit_occurrence_id", kVisitTable},
      {kConditionEraTable, "condition_era_id", kConditionEraTable},
      {kDrugEraTable, "drug_era_id", kDrugEraTable},
  };
  for (const Ref& r : refs) {
    const CdmTable* table = FindCdmTable(kNames[r.table]);
    for (size_t i = 0; i < table->columns.size(); ++i) {
      if (table->columns[i].name == r.column) id_columns_.push_back({r.table, i, r.refers_to});
    }
  }
}

void Batch::Rebase(const std::array<int64_t, kNumTables>& base) {
  for (const IdColumn& c : id_columns_) {
    store::ColumnVector& col = chunks_[c.table].columns[c.column];
    const int64_t add = base[c.refers_to];
    for (size_t i = 0; i < col.ints.size(); ++i) {
      if (col.valid[i]) col.ints[i] += add;
    }
  }
}

void Batch::Clear() {
  for (store::Chunk& c : chunks_) {
    for (store::ColumnVector& col : c.columns) col.Clear();
  }
}

}  // namespace passerelle::omop::synth
