// From a formula and a node's columns to a design matrix, identical across nodes.
//
// Three steps, so that every node builds X with the same columns even when a node lacks some
// level of a factor:
//   1. schema round (node):  DescribeData(spec, frame) -> DataSchema: for each variable of the
//      formula, whether the node's column holds strings, and for factor-coded variables the
//      sorted set of levels the node has. This is a union, not a sum: the federation gathers
//      these sets (see docs/statistics.md, "Factor levels"). A study may also give the levels
//      itself, then no node reports them.
//   2. hub: MergeSchemas(per-node schemas) -> the agreed schema (union of levels, sorted like R).
//      LayoutModel(spec, agreed schema) -> the model's columns, names and coding; deterministic,
//      so the hub and every node compute the same layout from the same inputs.
//   3. node: BuildDesign(layout, frame) -> X (complete cases only), y, weights, offset.
//
// R conventions followed (stats::model.frame / model.matrix):
// - Complete cases over every column the model mentions (response, all formula variables, offset,
//   weights, extra columns): na.omit.
// - Factors: string columns, and numeric columns written factor(x). Levels sorted as R sorts them
//   in the C locale (strings bytewise; numbers numerically, labelled like as.character(x)).
//   factor(x) takes its levels from every row where x is present (R evaluates factor() before
//   dropping incomplete rows); a bare string column from the complete cases (R converts character
//   columns after na.omit). A level without complete rows then gives an all-zero column, reported
//   as aliased, as in R.
// - Treatment contrasts, first level as reference; a factor in an interaction whose margin is
//   absent gets full indicator coding, and without an intercept the first factor gets all its
//   levels (R's TermCode heuristic, "Statistical Models in S" p. 38). Columns of an interaction
//   vary fastest in its first variable; names as R's: "(Intercept)", "x", "fB", "x:fB".
//
// Thread-safety: pure functions on values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "stats/data_frame.h"
#include "stats/formula.h"

namespace passerelle::stats {

struct ModelSpec {
  Formula formula;
  // Optional column of prior weights (R's `weights`); must be >= 0.
  std::string weights;
  // Optional offset column, added to the formula's offset() terms.
  std::string offset;
  // More columns taken into the complete cases (e.g. Cox time columns given outside the formula).
  std::vector<std::string> extra_columns;
  // Cox: code factors as if the model had an intercept, then leave the intercept column out
  // (survival::coxph).
  bool drop_intercept = false;
  // Kaplan-Meier groups: every right-hand-side variable is a factor.
  bool all_factors = false;
  // LayoutModel refuses models with more design columns (the hub and the nodes hold p x p
  // matrices; a factor with thousands of levels is a mistake or an identifier).
  size_t max_columns = 5000;
};

// What one node reports about one variable in the schema round. Wire-visible.
struct VariableInfo {
  std::string column;
  bool as_factor = false;  // coded as a factor (a string column, or factor(column))
  bool is_string = false;  // the node's column holds strings
  // as_factor && !is_string: sorted distinct values.
  std::vector<double> numeric_levels;
  // as_factor && is_string: sorted (bytewise) distinct values.
  std::vector<std::string> string_levels;
};

// One entry per distinct (column, as_factor) of the response and the right-hand side, in formula
// order. Wire-visible: this is the schema round's message.
struct DataSchema {
  std::vector<VariableInfo> variables;
};

// Node side of the schema round. Errors: a missing column; a column that is numeric at one use
// and must be a string at another.
Result<DataSchema> DescribeData(const ModelSpec& spec, const DataFrame& frame);

// Hub side: the union of the nodes' schemas. Errors: schemas of different variables, a column
// that is a string at one node and numeric at another.
Result<DataSchema> MergeSchemas(const std::vector<DataSchema>& schemas);

// How one design column is computed: the product of its parts.
struct DesignColumn {
  std::string name;
  int term = 0;  // 0 for the intercept, else 1 + index into formula.terms (R's "assign")
  struct Part {
    int variable;  // index into formula.variables
    int level;     // -1: the numeric value; else the 0/1 indicator of this level
  };
  std::vector<Part> parts;  // empty for the intercept
};

struct ModelLayout {
  ModelSpec spec;
  DataSchema schema;           // the agreed schema
  bool has_intercept = false;  // column 0 is "(Intercept)"
  std::vector<DesignColumn> columns;
  // Index into schema.variables of each formula variable, and of the response (-1 if none).
  std::vector<int> variable_schema;
  int response_schema = -1;

  std::vector<std::string> column_names() const;
  // R's labels of a factor's levels ("1", "0.5", "a"), by schema index.
  std::vector<std::string> LevelLabels(int schema_index) const;
};

// Computes the model's columns from the agreed schema. Errors: a factor with fewer than two
// levels, a model with no column or more than spec.max_columns.
Result<ModelLayout> LayoutModel(const ModelSpec& spec, const DataSchema& agreed);

struct Design {
  size_t rows = 0;             // complete cases, the rows of x
  size_t rows_incomplete = 0;  // rows left out for a missing value
  size_t cols = 0;
  std::vector<std::string> column_names;
  bool has_intercept = false;
  // Column-major rows x cols.
  std::vector<double> x;
  // The response. A factor response is 1 where the value is not the first level (R's binomial).
  // Empty when the formula has no single-column response.
  std::vector<double> y;
  std::vector<double> weights;  // prior weights; empty means all 1
  std::vector<double> offset;   // empty means all 0
  // The frame row of each design row (only when asked for).
  std::vector<size_t> frame_rows;

  const double* column(size_t j) const { return x.data() + j * rows; }
};

struct BuildOptions {
  // Fill Design::frame_rows.
  bool keep_frame_rows = false;
};

// Node side: the design matrix of the complete cases. Errors: a column of another type than the
// schema says, a factor value outside the agreed levels, negative weights. Messages never quote a
// value of the data.
Result<Design> BuildDesign(const ModelLayout& layout, const DataFrame& frame,
                           const BuildOptions& options = {});
// The same, consuming the frame: each column's data is released after its last use while X
// grows, so that the peak memory stays near one copy of the model's data (a node builds X from a
// frame it read only for this). The frame is left with empty columns.
Result<Design> BuildDesign(const ModelLayout& layout, DataFrame&& frame,
                           const BuildOptions& options = {});

// The complete-case mask (1 = complete) over the model's columns (see ModelSpec).
Result<std::vector<uint8_t>> CompleteCases(const ModelSpec& spec, const DataFrame& frame);

// R's as.character() of a double: up to 15 significant digits, fixed or scientific notation
// whichever is narrower ("1", "0.5", "1e+05", "123456").
std::string RFormatNumber(double value);

}  // namespace passerelle::stats
