// Calendar dates as days since 1970-01-01 (the representation DuckDB and our wire format use).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace passerelle {

struct CivilDate {
  int year;
  int month;  // 1..12
  int day;    // 1..31
};

// Days since the epoch of a proleptic Gregorian date (after H. Hinnant's days_from_civil).
int32_t DaysFromCivil(int year, int month, int day);
CivilDate CivilFromDays(int32_t days);
// "YYYY-MM-DD".
std::string FormatDate(int32_t days);
// Parses "YYYY-MM-DD" strictly (checks the day exists in its month).
Result<int32_t> ParseDate(std::string_view text);

}  // namespace passerelle
