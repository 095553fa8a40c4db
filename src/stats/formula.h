// R-style model formulas: "y ~ a + b", "y ~ a*b - 1", "Surv(start, stop, event) ~ x + strata(g)".
//
// Supported, with R's meaning (stats::terms.formula):
//   ~  + (add terms)  - (remove terms; -1 / +0 remove the intercept, +1 adds it)
//   a:b (interaction)  a*b (= a + b + a:b)  a/b (= a + a:b)  (a + b)^2 (interactions up to order 2)
//   (parentheses)  factor(x) / as.factor(x) (code x as a factor)  offset(x)  strata(x, ...) (Cox)
//   backquoted names (`my var`). Left-hand side: a column, factor(column) or Surv(time, event) /
//   Surv(start, stop, event).
// Not supported (an error that names the position): '.', I(), transformations such as log(x),
// %in%, numbers other than 0 and 1.
//
// Terms are ordered as R orders them: by degree (main effects, then two-way interactions, ...),
// then by first appearance; a term's variables, and so its label, follow the order in which the
// variables first appear in the formula ("b:a" stays "b:a" when b came first).
//
// Thread-safety: pure functions on values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::stats {

// A variable of the right-hand side (R's "variables" attribute, without the response).
struct FormulaVariable {
  std::string column;      // the data column
  bool as_factor = false;  // written factor(column): coded as a factor even when numeric
  std::string label;       // as R labels it: "x", "factor(x)", "`my var`"

  friend bool operator==(const FormulaVariable&, const FormulaVariable&) = default;
};

// One term of the model: a main effect (one variable) or an interaction.
struct FormulaTerm {
  std::vector<int> variables;  // ascending indices into Formula::variables
  std::string label;           // R's term label: "a", "a:b"

  size_t order() const { return variables.size(); }
};

enum class ResponseKind { kNone, kVariable, kSurv };

struct Formula {
  std::string text;
  ResponseKind response_kind = ResponseKind::kNone;
  FormulaVariable response;                // kVariable
  std::vector<std::string> surv;           // kSurv: {time, event} or {start, stop, event}
  std::vector<FormulaVariable> variables;  // right-hand side, by first appearance
  std::vector<FormulaTerm> terms;          // R's order (see above)
  bool intercept = true;
  std::vector<std::string> offsets;  // columns of offset() terms (their sum is the offset)
  std::vector<std::string> strata;   // columns of strata() terms
  // Every data column the formula mentions, in order of first appearance: the response, the
  // variables (also of removed terms), offsets, strata. Complete cases are taken over these (R's
  // model frame with na.omit).
  std::vector<std::string> columns;
};

// Parses `text`. Errors name the 1-based character position: `formula "y ~ a +": position 8:
// expected a term, found the end of the formula`.
Result<Formula> ParseFormula(std::string_view text);

// R's label for a column name: the name itself when syntactic, else the name in backquotes.
std::string RLabel(std::string_view column);

}  // namespace passerelle::stats
