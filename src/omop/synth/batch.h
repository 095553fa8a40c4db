// Column buffers for the clinical tables of one chunk of synthetic persons, filled row by row
// and handed to DuckDB's appender as store::Chunk values.
//
// Invariant: ids of rows created in a batch (visit_occurrence_id, condition_occurrence_id, ...)
// are local, 1..rows of the batch, and so are the references to them (e.g. a condition's
// visit_occurrence_id). Rebase() turns them into global ids once the rows of every earlier batch
// are known, which keeps ids dense and independent of which thread made which batch.
//
// Thread-safety: a Batch belongs to one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "store/data_source.h"

namespace passerelle::omop::synth {

enum TableId : int {
  kPersonTable,
  kObservationPeriodTable,
  kVisitTable,
  kConditionTable,
  kDrugTable,
  kProcedureTable,
  kMeasurementTable,
  kDeathTable,
  kPayerPlanPeriodTable,
  kConditionEraTable,
  kDrugEraTable,
  kNumTables
};

// The CDM table name of a TableId.
std::string_view TableName(TableId table);

class Batch {
 public:
  Batch();

  // One row being written: values in the table's column order; Null() for an empty column.
  class Row {
   public:
    Row& Int(int64_t v) {
      cols_[i_++].AppendInt(v);
      return *this;
    }
    Row& Dbl(double v) {
      cols_[i_++].AppendDouble(v);
      return *this;
    }
    Row& Str(std::string_view v) {
      cols_[i_++].AppendString(std::string(v));
      return *this;
    }
    // An int column that is NULL when v is 0 (ids, optional concepts).
    Row& IntOr0(int64_t v) { return v == 0 ? Null() : Int(v); }
    Row& Null() {
      cols_[i_++].AppendNull();
      return *this;
    }
    // Fills the remaining columns with NULL.
    void Rest() {
      while (i_ < cols_.size()) cols_[i_++].AppendNull();
    }

   private:
    friend class Batch;
    explicit Row(std::vector<store::ColumnVector>& cols) : cols_(cols) {}
    std::vector<store::ColumnVector>& cols_;
    size_t i_ = 0;
  };

  // Starts a row of `table`; its local id (1-based) is rows(table) after the row is written.
  Row Add(TableId table) { return Row(chunks_[table].columns); }
  int64_t rows(TableId table) const { return static_cast<int64_t>(chunks_[table].size()); }
  // The local id the next row of `table` will get.
  int64_t NextId(TableId table) const { return rows(table) + 1; }

  // Adds base[t] to every local id of table t (and to references to it).
  void Rebase(const std::array<int64_t, kNumTables>& base);
  const store::Chunk& chunk(TableId table) const { return chunks_[table]; }
  void Clear();

 private:
  struct IdColumn {
    TableId table;
    size_t column;
    TableId refers_to;
  };
  std::array<store::Chunk, kNumTables> chunks_;
  std::vector<IdColumn> id_columns_;
};

}  // namespace passerelle::omop::synth
