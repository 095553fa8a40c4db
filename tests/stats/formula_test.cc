#include "stats/formula.h"

#include <gtest/gtest.h>

namespace passerelle::stats {
namespace {

std::vector<std::string> Labels(const Formula& f) {
  std::vector<std::string> out;
  for (const auto& t : f.terms) out.push_back(t.label);
  return out;
}

Formula Parse(const std::string& text) {
  auto f = ParseFormula(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().ToString();
  return f.ok() ? *f : Formula{};
}

TEST(FormulaTest, MainEffectsAndResponse) {
  Formula f = Parse("y ~ a + b");
  EXPECT_EQ(f.response_kind, ResponseKind::kVariable);
  EXPECT_EQ(f.response.column, "y");
  EXPECT_EQ(Labels(f), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f.intercept);
  EXPECT_EQ(f.columns, (std::vector<std::string>{"y", "a", "b"}));
}

TEST(FormulaTest, InteractionsAreOrderedByDegreeAsInR) {
  EXPECT_EQ(Labels(Parse("y ~ a*b + c")), (std::vector<std::string>{"a", "b", "c", "a:b"}));
  EXPECT_EQ(Labels(Parse("y ~ a:b + c")), (std::vector<std::string>{"c", "a:b"}));
  // A term's variables follow their first appearance in the formula.
  EXPECT_EQ(Labels(Parse("y ~ b:a + a")), (std::vector<std::string>{"a", "b:a"}));
  EXPECT_EQ(Labels(Parse("y ~ a*b*c")),
            (std::vector<std::string>{"a", "b", "c", "a:b", "a:c", "b:c", "a:b:c"}));
  EXPECT_EQ(Labels(Parse("y ~ (a + b + c)^2")),
            (std::vector<std::string>{"a", "b", "c", "a:b", "a:c", "b:c"}));
  EXPECT_EQ(Labels(Parse("y ~ a/b")), (std::vector<std::string>{"a", "a:b"}));
  EXPECT_EQ(Labels(Parse("y ~ a + a + b:a + a:b")), (std::vector<std::string>{"a", "a:b"}));
}

TEST(FormulaTest, RemovalAndIntercept) {
  Formula f = Parse("y ~ a*b - a");
  EXPECT_EQ(Labels(f), (std::vector<std::string>{"b", "a:b"}));
  EXPECT_EQ(f.columns, (std::vector<std::string>{"y", "a", "b"}));  // a still in the model frame
  EXPECT_FALSE(Parse("y ~ x - 1").intercept);
  EXPECT_FALSE(Parse("y ~ -1 + x").intercept);
  EXPECT_FALSE(Parse("y ~ 0 + x").intercept);
  EXPECT_FALSE(Parse("y ~ x + 0").intercept);
  EXPECT_TRUE(Parse("y ~ x - 1 + 1").intercept);
  Formula one = Parse("y ~ 1");
  EXPECT_TRUE(one.terms.empty());
  EXPECT_TRUE(one.intercept);
}

TEST(FormulaTest, FactorsOffsetsStrataAndSurv) {
  Formula f = Parse("Surv(t0, t1, ev) ~ factor(g) + x + offset(lt) + strata(site, sex)");
  EXPECT_EQ(f.response_kind, ResponseKind::kSurv);
  EXPECT_EQ(f.surv, (std::vector<std::string>{"t0", "t1", "ev"}));
  EXPECT_EQ(Labels(f), (std::vector<std::string>{"factor(g)", "x"}));
  EXPECT_TRUE(f.variables[0].as_factor);
  EXPECT_EQ(f.variables[0].column, "g");
  EXPECT_EQ(f.offsets, (std::vector<std::string>{"lt"}));
  EXPECT_EQ(f.strata, (std::vector<std::string>{"site", "sex"}));
  EXPECT_EQ(f.columns, (std::vector<std::string>{"t0", "t1", "ev", "g", "x", "lt", "site", "sex"}));
  // factor(x) and x are different variables, as in R.
  EXPECT_EQ(Parse("y ~ x + factor(x)").variables.size(), 2u);
  Formula rhs = Parse("~ a");
  EXPECT_EQ(rhs.response_kind, ResponseKind::kNone);
}

TEST(FormulaTest, BackquotedAndDottedNames) {
  Formula f = Parse("survtime ~ time.id + `my var` + `if`");
  EXPECT_EQ(Labels(f), (std::vector<std::string>{"time.id", "`my var`", "`if`"}));
  EXPECT_EQ(f.variables[1].column, "my var");
  EXPECT_EQ(RLabel("age.60"), "age.60");
  EXPECT_EQ(RLabel("2x"), "`2x`");
}

TEST(FormulaTest, ErrorsNameThePosition) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"y ~ a +", "position 8: expected a term, found the end of the formula"},
      {"y ~ log(a)", "position 5: function log() is not supported"},
      {"y ~ a + 2", "position 9: the number 2 has no meaning"},
      {"y ~ (a + b", "position 11: expected ')' to close the '(' at position 5"},
      {"y ~ a $ b", "position 7: unexpected character '$'"},
      {"y ~ .", "position 5: '.' (all other columns) is not supported"},
      {"y ~ a %in% b", "position 7: operator '%in%' is not supported"},
      {"a + b", "position 1: a formula needs '~'"},
      {"y ~ a ~ b", "'~' may appear only once"},
      {"y ~ y + a", "also appears on the right-hand side"},
      {"y ~ a:1", "0 or 1 cannot be part of an interaction"},
      {"y ~ (a+b)^x", "position 11: the power in (...)^k must be a positive integer"},
      {"y ~ (a+b)^99999999999999", "the power in (...)^k must be a positive integer"},
      {"y ~ `a", "position 5: unterminated backquoted name"},
      {"log(y) ~ a", "position 1: the left-hand side must be"},
      {"y ~ a:offset(z)", "offset() must be added to the model with '+'"},
  };
  for (const auto& c : cases) {
    auto f = ParseFormula(c.text);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(f.status().message().find(c.expected), std::string::npos)
        << c.text << " -> " << f.status().message();
    EXPECT_NE(f.status().message().find(std::string("formula \"") + c.text + "\""),
              std::string::npos);
  }
}

TEST(FormulaTest, HostileInputIsBounded) {
  std::string deep = "y ~ " + std::string(5000, '(') + "a" + std::string(5000, ')');
  auto f = ParseFormula(deep);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("nests deeper"), std::string::npos);
  std::string wide = "y ~ a0";
  for (int i = 1; i < 20; ++i) wide += "*a" + std::to_string(i);  // 2^20 terms
  auto g = ParseFormula(wide);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("more than 1024 terms"), std::string::npos);
}

}  // namespace
}  // namespace passerelle::stats
