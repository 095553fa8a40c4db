#include "common/date.h"

#include <fmt/format.h>

#include <charconv>

namespace passerelle {

int32_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int32_t>(era * 146097 + static_cast<int>(doe) - 719468);
}

CivilDate CivilFromDays(int32_t z32) {
  int z = z32 + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = static_cast<int>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{y + (m <= 2), static_cast<int>(m), static_cast<int>(d)};
}

std::string FormatDate(int32_t days) {
  CivilDate c = CivilFromDays(days);
  return fmt::format("{:04d}-{:02d}-{:02d}", c.year, c.month, c.day);
}

Result<int32_t> ParseDate(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format("\"{}\" is not a date (expected YYYY-MM-DD)", text));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int y = 0, m = 0, d = 0;
  auto parse = [&](std::string_view s, int& out) {
    for (char c : s) {
      if (c < '0' || c > '9') return false;  // from_chars would accept a sign
    }
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  if (!parse(text.substr(0, 4), y) || !parse(text.substr(5, 2), m) ||
      !parse(text.substr(8, 2), d)) {
    return bad();
  }
  if (m < 1 || m > 12 || d < 1) return bad();
  int32_t days = DaysFromCivil(y, m, d);
  CivilDate back = CivilFromDays(days);
  if (back.year != y || back.month != m || back.day != d) return bad();
  return days;
}

}  // namespace passerelle
