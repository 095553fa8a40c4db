#include "stats/formula.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <utility>

namespace passerelle::stats {
namespace {

// ---- tokens ----------------------------------------------------------------------------------

enum class Tok { kName, kNumber, kOp, kLParen, kRParen, kComma, kEnd };

struct Token {
  Tok kind;
  std::string text;  // name (unquoted), number text or operator
  size_t pos;        // 1-based position in the formula
};

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '.'; }
bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "the end of the formula";
    case Tok::kName:
      return "the name \"" + t.text + "\"";
    case Tok::kNumber:
      return "the number " + t.text;
    default:
      return "'" + t.text + "'";
  }
}

class Parser;

// ---- syntax tree -----------------------------------------------------------------------------

struct Node {
  enum Kind { kName, kNumber, kCall, kBinary, kUnary } kind;
  std::string text;  // name, number, function name or operator
  size_t pos = 0;
  std::vector<std::unique_ptr<Node>> args;
};
using NodePtr = std::unique_ptr<Node>;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Status Tokenize() {
    size_t i = 0;
    while (i < text_.size()) {
      char c = text_[i];
      size_t pos = i + 1;
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '`') {
        size_t end = text_.find('`', i + 1);
        if (end == std::string_view::npos) return Error(pos, "unterminated backquoted name");
        if (end == i + 1) return Error(pos, "empty backquoted name");
        tokens_.push_back({Tok::kName, std::string(text_.substr(i + 1, end - i - 1)), pos});
        i = end + 1;
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && i + 1 < text_.size() &&
                  std::isdigit(static_cast<unsigned char>(text_[i + 1])))) {
        size_t j = i;
        while (j < text_.size() &&
               (std::isdigit(static_cast<unsigned char>(text_[j])) || text_[j] == '.')) {
          ++j;
        }
        if (j < text_.size() && IsNameChar(text_[j])) {
          return Error(pos, "a name cannot start with a digit");
        }
        tokens_.push_back({Tok::kNumber, std::string(text_.substr(i, j - i)), pos});
        i = j;
      } else if (IsNameStart(c)) {
        size_t j = i;
        while (j < text_.size() && IsNameChar(text_[j])) ++j;
        tokens_.push_back({Tok::kName, std::string(text_.substr(i, j - i)), pos});
        i = j;
      } else if (c == '%') {
        size_t end = text_.find('%', i + 1);
        if (end == std::string_view::npos) return Error(pos, "unterminated %...% operator");
        return Error(
            pos, "operator '" + std::string(text_.substr(i, end - i + 1)) + "' is not supported");
      } else if (c == '(') {
        tokens_.push_back({Tok::kLParen, "(", pos});
        ++i;
      } else if (c == ')') {
        tokens_.push_back({Tok::kRParen, ")", pos});
        ++i;
      } else if (c == ',') {
        tokens_.push_back({Tok::kComma, ",", pos});
        ++i;
      } else if (c == '~' || c == '+' || c == '-' || c == '*' || c == '/' || c == ':' || c == '^') {
        tokens_.push_back({Tok::kOp, std::string(1, c), pos});
        ++i;
      } else {
        return Error(pos, std::string("unexpected character '") + c + "'");
      }
    }
    tokens_.push_back({Tok::kEnd, "", text_.size() + 1});
    return Status::Ok();
  }

  // formula := [expr] '~' expr | expr      (a formula without '~' is refused by the caller)
  Result<NodePtr> ParseAll() {
    ASSIGN_OR_RETURN(NodePtr root, ParseExpr(0));
    if (Peek().kind != Tok::kEnd) {
      return Error(Peek().pos, "unexpected " + Describe(Peek()));
    }
    return root;
  }

  Status Error(size_t pos, const std::string& what) const {
    return Status::InvalidArgument("formula \"" + std::string(text_) + "\": position " +
                                   std::to_string(pos) + ": " + what);
  }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  Token Take() { return tokens_[next_++]; }

  // Binding powers (R's ?Syntax): ~ < binary + - < * / < : < unary + - < ^.
  static int InfixPower(const std::string& op) {
    if (op == "~") return 1;
    if (op == "+" || op == "-") return 2;
    if (op == "*" || op == "/") return 3;
    if (op == ":") return 5;
    if (op == "^") return 7;
    return 0;
  }

  Result<NodePtr> ParseExpr(int min_power) {
    // Formulas come from study files: bound the recursion.
    if (++depth_ > kMaxDepth) {
      return Error(Peek().pos,
                   "the formula nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    NodePtr left;
    Token t = Take();
    if (t.kind == Tok::kOp && (t.text == "-" || t.text == "+" || t.text == "~")) {
      int power = t.text == "~" ? 1 : 6;
      ASSIGN_OR_RETURN(NodePtr operand, ParseExpr(power));
      left = std::make_unique<Node>();
      left->kind = Node::kUnary;
      left->text = t.text;
      left->pos = t.pos;
      left->args.push_back(std::move(operand));
    } else if (t.kind == Tok::kLParen) {
      ASSIGN_OR_RETURN(left, ParseExpr(0));
      if (Peek().kind != Tok::kRParen) {
        return Error(Peek().pos, "expected ')' to close the '(' at position " +
                                     std::to_string(t.pos) + ", found " + Describe(Peek()));
      }
      Take();
    } else if (t.kind == Tok::kNumber) {
      left = std::make_unique<Node>();
      left->kind = Node::kNumber;
      left->text = t.text;
      left->pos = t.pos;
    } else if (t.kind == Tok::kName) {
      left = std::make_unique<Node>();
      left->kind = Node::kName;
      left->text = t.text;
      left->pos = t.pos;
      if (Peek().kind == Tok::kLParen) {
        Take();
        left->kind = Node::kCall;
        if (Peek().kind != Tok::kRParen) {
          for (;;) {
            ASSIGN_OR_RETURN(NodePtr arg, ParseExpr(0));
            left->args.push_back(std::move(arg));
            if (Peek().kind == Tok::kComma) {
              Take();
              continue;
            }
            break;
          }
        }
        if (Peek().kind != Tok::kRParen) {
          return Error(Peek().pos, "expected ',' or ')' in the call to " + t.text + "(), found " +
                                       Describe(Peek()));
        }
        Take();
      }
    } else {
      return Error(t.pos, "expected a term, found " + Describe(t));
    }

    for (;;) {
      const Token& op = Peek();
      if (op.kind != Tok::kOp) break;
      int power = InfixPower(op.text);
      if (power == 0 || power <= min_power) break;
      Token taken = Take();
      // Left-associative operators parse their right operand at their own power; '^' is
      // right-associative and lets another '^' bind on its right.
      int right_min = taken.text == "^" ? power - 1 : power;
      ASSIGN_OR_RETURN(NodePtr right, ParseExpr(right_min));
      auto bin = std::make_unique<Node>();
      bin->kind = Node::kBinary;
      bin->text = taken.text;
      bin->pos = taken.pos;
      bin->args.push_back(std::move(left));
      bin->args.push_back(std::move(right));
      left = std::move(bin);
    }
    return left;
  }

  static constexpr int kMaxDepth = 200;
  std::string_view text_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  int depth_ = 0;
};

// ---- evaluation to terms ---------------------------------------------------------------------

using Term = std::vector<int>;  // ascending variable indices

struct TermList {
  std::vector<Term> terms;
  std::optional<bool> intercept;
};

bool IsSyntactic(std::string_view name) {
  if (name.empty()) return false;
  if (!IsNameStart(name[0])) return false;
  if (name[0] == '.' && name.size() > 1 && std::isdigit(static_cast<unsigned char>(name[1]))) {
    return false;
  }
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  static const char* const kReserved[] = {"if",   "else", "repeat", "while", "function",
                                          "for",  "next", "break",  "TRUE",  "FALSE",
                                          "NULL", "Inf",  "NaN",    "NA",    "in"};
  for (const char* r : kReserved) {
    if (name == r) return false;
  }
  return true;
}

// More terms than this is an error (a*b*c*... grows as 2^k).
constexpr size_t kMaxTerms = 1024;

void AddUnique(std::vector<Term>& list, const Term& t) {
  if (list.size() > kMaxTerms) return;  // reported by the caller
  if (std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
}

Term Union(const Term& a, const Term& b) {
  Term out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

class Evaluator {
 public:
  Evaluator(const Parser& parser, Formula& f) : parser_(parser), f_(f) {}

  void NoteColumn(const std::string& column) {
    if (std::find(f_.columns.begin(), f_.columns.end(), column) == f_.columns.end()) {
      f_.columns.push_back(column);
    }
  }

  // Registers the right-hand-side variables in order of appearance (R's variable order), so that
  // variables of removed terms also count for complete cases.
  Status Register(const Node& n) {
    switch (n.kind) {
      case Node::kName:
        if (n.text == ".") {
          return parser_.Error(n.pos, "'.' (all other columns) is not supported; list the columns");
        }
        VariableIndex({n.text, false, RLabel(n.text)});
        return Status::Ok();
      case Node::kNumber:
        return Status::Ok();
      case Node::kCall: {
        if (n.text == "factor" || n.text == "as.factor") {
          ASSIGN_OR_RETURN(std::string col, SingleColumnArg(n));
          VariableIndex({col, true, n.text + "(" + RLabel(col) + ")"});
          return Status::Ok();
        }
        if (n.text == "offset" || n.text == "strata") {
          for (const auto& a : n.args) {
            if (a->kind != Node::kName) {
              return parser_.Error(a->pos, n.text + "() takes column names");
            }
            NoteColumn(a->text);
          }
          if (n.args.empty()) return parser_.Error(n.pos, n.text + "() needs a column");
          if (n.text == "offset" && n.args.size() != 1) {
            return parser_.Error(n.pos, "offset() takes one column");
          }
          return Status::Ok();
        }
        if (n.text == "Surv") {
          return parser_.Error(n.pos, "Surv() belongs on the left-hand side of '~'");
        }
        return parser_.Error(n.pos, "function " + n.text +
                                        "() is not supported (supported: factor(), as.factor(), "
                                        "offset(), strata())");
      }
      case Node::kBinary:
      case Node::kUnary:
        for (const auto& a : n.args) RETURN_IF_ERROR(Register(*a));
        return Status::Ok();
    }
    return Status::Ok();
  }

  Result<TermList> Eval(const Node& n) {
    switch (n.kind) {
      case Node::kName: {
        TermList out;
        out.terms.push_back({VariableIndex({n.text, false, RLabel(n.text)})});
        return out;
      }
      case Node::kNumber: {
        TermList out;
        if (n.text == "1") {
          out.intercept = true;
        } else if (n.text == "0") {
          out.intercept = false;
        } else {
          return parser_.Error(
              n.pos, "the number " + n.text + " has no meaning in a formula (only 0 and 1 do)");
        }
        return out;
      }
      case Node::kCall: {
        TermList out;
        if (n.text == "factor" || n.text == "as.factor") {
          ASSIGN_OR_RETURN(std::string col, SingleColumnArg(n));
          out.terms.push_back({VariableIndex({col, true, n.text + "(" + RLabel(col) + ")"})});
          return out;
        }
        if (n.text == "offset") {
          if (in_interaction_ > 0 || in_minus_ > 0) {
            return parser_.Error(n.pos, "offset() must be added to the model with '+'");
          }
          f_.offsets.push_back(n.args[0]->text);
          return out;
        }
        if (n.text == "strata") {
          if (in_interaction_ > 0 || in_minus_ > 0) {
            return parser_.Error(n.pos, "strata() must be added to the model with '+'");
          }
          for (const auto& a : n.args) {
            if (std::find(f_.strata.begin(), f_.strata.end(), a->text) == f_.strata.end()) {
              f_.strata.push_back(a->text);
            }
          }
          return out;
        }
        return parser_.Error(n.pos, "function " + n.text + "() is not supported");
      }
      case Node::kUnary: {
        if (n.text == "~") return parser_.Error(n.pos, "'~' may appear only once");
        if (n.text == "+") return Eval(*n.args[0]);
        // Unary minus: remove from an empty model.
        ++in_minus_;
        auto right = Eval(*n.args[0]);
        --in_minus_;
        if (!right.ok()) return right.status();
        TermList out;
        if (right->intercept.has_value()) out.intercept = !*right->intercept;
        return out;
      }
      case Node::kBinary: {
        ASSIGN_OR_RETURN(TermList out, EvalBinary(n));
        if (out.terms.size() > kMaxTerms) {
          return parser_.Error(
              n.pos, "the formula expands to more than " + std::to_string(kMaxTerms) + " terms");
        }
        return out;
      }
    }
    return parser_.Error(n.pos, "unexpected expression");
  }

 private:
  Result<TermList> EvalBinary(const Node& n) {
    const std::string& op = n.text;
    if (op == "~") return parser_.Error(n.pos, "'~' may appear only once");
    if (op == "^") {
      const Node& exp = *n.args[1];
      int k = 0;
      bool ok = exp.kind == Node::kNumber && !exp.text.empty() && exp.text.size() <= 2;
      for (char c : exp.text) ok = ok && c >= '0' && c <= '9';
      if (ok) k = std::stoi(exp.text);
      if (!ok || k < 1) {
        return parser_.Error(exp.pos, "the power in (...)^k must be a positive integer below 100");
      }
      ++in_interaction_;
      auto base = Eval(*n.args[0]);
      --in_interaction_;
      if (!base.ok()) return base.status();
      if (base->intercept.has_value()) {
        return parser_.Error(n.pos, "0 or 1 cannot be raised to a power");
      }
      TermList out;
      out.terms = base->terms;
      for (int i = 1; i < k; ++i) {
        std::vector<Term> next = out.terms;
        for (const Term& a : out.terms) {
          for (const Term& b : base->terms) AddUnique(next, Union(a, b));
        }
        out.terms = std::move(next);
      }
      return out;
    }
    bool interaction = op == ":" || op == "*" || op == "/";
    if (interaction) ++in_interaction_;
    if (op == "-") ++in_minus_;
    auto left = Eval(*n.args[0]);
    auto right = left.ok() ? Eval(*n.args[1]) : Result<TermList>(left.status());
    if (interaction) --in_interaction_;
    if (op == "-") --in_minus_;
    if (!left.ok()) return left.status();
    if (!right.ok()) return right.status();
    TermList out;
    if (op == "+") {
      out.terms = left->terms;
      for (const Term& t : right->terms) AddUnique(out.terms, t);
      out.intercept = right->intercept.has_value() ? right->intercept : left->intercept;
      return out;
    }
    if (op == "-") {
      for (const Term& t : left->terms) {
        if (std::find(right->terms.begin(), right->terms.end(), t) == right->terms.end()) {
          out.terms.push_back(t);
        }
      }
      out.intercept = left->intercept;
      if (right->intercept.has_value()) out.intercept = !*right->intercept;
      return out;
    }
    if (left->intercept.has_value() || right->intercept.has_value()) {
      return parser_.Error(n.pos, "0 or 1 cannot be part of an interaction ('" + op + "')");
    }
    if (op == ":") {
      for (const Term& a : left->terms) {
        for (const Term& b : right->terms) AddUnique(out.terms, Union(a, b));
      }
      return out;
    }
    if (op == "*") {
      out.terms = left->terms;
      for (const Term& t : right->terms) AddUnique(out.terms, t);
      for (const Term& a : left->terms) {
        for (const Term& b : right->terms) AddUnique(out.terms, Union(a, b));
      }
      return out;
    }
    // a / b = a + (all variables of a):b
    out.terms = left->terms;
    Term all;
    for (const Term& a : left->terms) all = Union(all, a);
    for (const Term& b : right->terms) AddUnique(out.terms, Union(all, b));
    return out;
  }

  Result<std::string> SingleColumnArg(const Node& n) {
    if (n.args.size() != 1 || n.args[0]->kind != Node::kName) {
      return parser_.Error(n.pos, n.text + "() takes one column name");
    }
    return n.args[0]->text;
  }

  int VariableIndex(FormulaVariable v) {
    NoteColumn(v.column);
    for (size_t i = 0; i < f_.variables.size(); ++i) {
      if (f_.variables[i] == v) return static_cast<int>(i);
    }
    f_.variables.push_back(std::move(v));
    return static_cast<int>(f_.variables.size() - 1);
  }

  const Parser& parser_;
  Formula& f_;
  int in_interaction_ = 0;
  int in_minus_ = 0;
};

Status ParseResponse(const Parser& parser, const Node& lhs, Formula& f) {
  if ((lhs.kind == Node::kBinary || lhs.kind == Node::kUnary) && lhs.text == "~") {
    return parser.Error(lhs.pos, "'~' may appear only once");
  }
  if (lhs.kind == Node::kName) {
    f.response_kind = ResponseKind::kVariable;
    f.response = {lhs.text, false, RLabel(lhs.text)};
    f.columns.push_back(lhs.text);
    return Status::Ok();
  }
  if (lhs.kind == Node::kCall && (lhs.text == "factor" || lhs.text == "as.factor")) {
    if (lhs.args.size() != 1 || lhs.args[0]->kind != Node::kName) {
      return parser.Error(lhs.pos, lhs.text + "() takes one column name");
    }
    f.response_kind = ResponseKind::kVariable;
    f.response = {lhs.args[0]->text, true, lhs.text + "(" + RLabel(lhs.args[0]->text) + ")"};
    f.columns.push_back(lhs.args[0]->text);
    return Status::Ok();
  }
  if (lhs.kind == Node::kCall && lhs.text == "Surv") {
    if (lhs.args.size() != 2 && lhs.args.size() != 3) {
      return parser.Error(lhs.pos,
                          "Surv() takes (time, event) or (start, stop, event) column names");
    }
    f.response_kind = ResponseKind::kSurv;
    for (const auto& a : lhs.args) {
      if (a->kind != Node::kName) return parser.Error(a->pos, "Surv() takes column names");
      f.surv.push_back(a->text);
      if (std::find(f.columns.begin(), f.columns.end(), a->text) == f.columns.end()) {
        f.columns.push_back(a->text);
      }
    }
    return Status::Ok();
  }
  return parser.Error(lhs.pos, "the left-hand side must be a column, factor(column) or Surv(...)");
}

}  // namespace

std::string RLabel(std::string_view column) {
  std::string out;
  if (IsSyntactic(column)) return out.assign(column);
  out.reserve(column.size() + 2);
  out.push_back('`');
  out.append(column);
  out.push_back('`');
  return out;
}

Result<Formula> ParseFormula(std::string_view text) {
  Parser parser(text);
  RETURN_IF_ERROR(parser.Tokenize());
  ASSIGN_OR_RETURN(NodePtr root, parser.ParseAll());
  Formula f;
  f.text = std::string(text);
  const Node* rhs = nullptr;
  if (root->kind == Node::kBinary && root->text == "~") {
    RETURN_IF_ERROR(ParseResponse(parser, *root->args[0], f));
    rhs = root->args[1].get();
  } else if (root->kind == Node::kUnary && root->text == "~") {
    rhs = root->args[0].get();
  } else {
    return parser.Error(1, "a formula needs '~' (write \"y ~ x\" or \"~ x\")");
  }
  Evaluator eval(parser, f);
  RETURN_IF_ERROR(eval.Register(*rhs));
  ASSIGN_OR_RETURN(TermList terms, eval.Eval(*rhs));
  f.intercept = terms.intercept.value_or(true);
  if (f.response_kind == ResponseKind::kVariable) {
    for (const auto& v : f.variables) {
      if (v.column == f.response.column) {
        return parser.Error(
            rhs->pos, "the response \"" + v.column + "\" also appears on the right-hand side");
      }
    }
  }
  // R orders terms by degree, keeping the order of appearance within a degree.
  std::stable_sort(terms.terms.begin(), terms.terms.end(),
                   [](const Term& a, const Term& b) { return a.size() < b.size(); });
  for (const Term& t : terms.terms) {
    FormulaTerm ft;
    ft.variables = t;
    for (size_t i = 0; i < t.size(); ++i) {
      if (i > 0) ft.label += ":";
      ft.label += f.variables[t[i]].label;
    }
    f.terms.push_back(std::move(ft));
  }
  return f;
}

}  // namespace passerelle::stats
