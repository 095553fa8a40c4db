#include "store/csv_error.h"

#include <fmt/format.h>

#include <cctype>
#include <string>
#include <vector>

#include "common/strings.h"

namespace passerelle::store {

namespace {

// The text after `key` up to (not including) `end`, or empty.
std::string_view Between(std::string_view s, std::string_view key, std::string_view end) {
  size_t a = s.find(key);
  if (a == std::string_view::npos) return {};
  a += key.size();
  size_t b = s.find(end, a);
  if (b == std::string_view::npos) return {};
  return s.substr(a, b - a);
}

// `msg` without the rows DuckDB quotes: every "Original Line: ..." up to the end of its line.
std::string WithoutQuotedRows(std::string_view msg) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t a = msg.find("Original Line:", pos);
    if (a == std::string_view::npos) break;
    out += msg.substr(pos, a - pos);
    out += "Original Line:";
    size_t nl = msg.find('\n', a);
    if (nl == std::string_view::npos) return out;
    pos = nl;
  }
  out += msg.substr(pos);
  return out;
}

// The first line of an error that is not a CSV row error, with any quoted value cut off.
std::string SafeFirstLine(std::string_view msg) {
  std::string_view first = msg.substr(0, msg.find('\n'));
  size_t v = first.find("Could not convert string");
  if (v != std::string_view::npos) {
    return std::string(Trim(first.substr(0, v))) + " a value could not be converted";
  }
  return std::string(Trim(first));
}

}  // namespace

std::string DescribeCsvError(std::string_view file_label, std::string_view raw) {
  const std::string clean = WithoutQuotedRows(raw);
  const std::string_view msg = clean;
  std::string where;
  if (size_t p = msg.find("CSV Error on Line: "); p != std::string_view::npos) {
    size_t a = p + 19, b = a;
    while (b < msg.size() && msg[b] >= '0' && msg[b] <= '9') ++b;
    if (b > a) where = fmt::format("line {}", msg.substr(a, b - a));
  }
  // Conversion errors: the column and the type, never the value.
  std::string_view col = Between(msg, "converting column \"", "\". Could not convert string");
  if (!col.empty()) {
    // "... Could not convert string "<value>" to '<TYPE>'": the type is the last quoted word.
    std::string_view line = msg.substr(msg.find("converting column"));
    line = line.substr(0, line.find('\n'));
    size_t close = line.rfind('\'');
    size_t open = close == std::string_view::npos || close == 0 ? std::string_view::npos
                                                                : line.rfind('\'', close - 1);
    std::string type = open == std::string_view::npos
                           ? std::string("value")
                           : AsciiLower(line.substr(open + 1, close - open - 1));
    std::string what = type == "date" || type == "timestamp"
                           ? fmt::format("not a valid {} (expected YYYY-MM-DD)", type)
                           : fmt::format("not a valid {}", type);
    if (where.empty()) return fmt::format("{}: column \"{}\": {}", file_label, col, what);
    return fmt::format("{}: {}, column \"{}\": {}", file_label, where, col, what);
  }
  // The sniffer gives up on files whose rows disagree (told not to skip lines, it cannot hide
  // them).
  if (msg.find("Error when sniffing file") != std::string_view::npos) {
    return fmt::format(
        "{}: not a regular CSV file (do all rows have the same number of fields, and are quotes "
        "balanced?)",
        file_label);
  }
  // Structural errors: DuckDB's explanation is the first non-empty line after "Original Line".
  std::vector<std::string> lines = Split(msg, '\n');
  std::string reason;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (StartsWith(lines[i], "Original Line:")) {
      for (size_t j = i + 1; j < lines.size(); ++j) {
        std::string_view t = Trim(lines[j]);
        if (!t.empty()) {
          reason = std::string(t);
          break;
        }
      }
      break;
    }
  }
  if (reason.empty()) {
    // Not a row-level CSV error (missing file, bad option): DuckDB's first line, values cut.
    reason = SafeFirstLine(msg);
  }
  if (!reason.empty() && reason.back() == '.') reason.pop_back();
  if (!reason.empty()) {
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  }
  if (where.empty()) return fmt::format("{}: {}", file_label, reason);
  return fmt::format("{}: {}: {}", file_label, where, reason);
}

}  // namespace passerelle::store
