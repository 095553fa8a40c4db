#include "store/csv_error.h"

#include <fmt/format.h>

#include <regex>

#include "common/strings.h"

namespace passerelle::store {

std::string DescribeCsvError(std::string_view file_label, std::string_view message) {
  const std::string msg(message);
  std::smatch m;
  std::string where;
  if (std::regex_search(msg, m, std::regex(R"(CSV Error on Line: (\d+))"))) {
    where = fmt::format("line {}", m[1].str());
  }
  // Conversion errors: the column and the type, never the value.
  if (std::regex_search(
          msg, m,
          std::regex(
              R"re(converting column "([^"]*)"\. Could not convert string .* to '([^']+)')re"))) {
    std::string col = m[1].str();
    std::string type = m[2].str();
    std::string what = type == "DATE" || type == "TIMESTAMP"
                           ? fmt::format("not a valid {} (expected YYYY-MM-DD)", AsciiLower(type))
                           : fmt::format("not a valid {}", AsciiLower(type));
    if (where.empty()) return fmt::format("{}: column \"{}\": {}", file_label, col, what);
    return fmt::format("{}: {}, column \"{}\": {}", file_label, where, col, what);
  }
  // The sniffer gives up on files whose rows disagree (told not to skip lines, it cannot hide
  // them).
  if (msg.find("Error when sniffing file") != std::string::npos) {
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
    // Not a row-level CSV error (missing file, bad option): DuckDB's first line is safe.
    std::string_view first = lines.empty() ? std::string_view() : Trim(lines[0]);
    reason = std::string(first);
  }
  if (!reason.empty() && reason.back() == '.') reason.pop_back();
  if (!reason.empty())
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  if (where.empty()) return fmt::format("{}: {}", file_label, reason);
  return fmt::format("{}: {}: {}", file_label, where, reason);
}

}  // namespace passerelle::store
