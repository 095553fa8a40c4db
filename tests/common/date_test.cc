#include "common/date.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace passerelle {
namespace {

TEST(DateTest, RoundTripsAcrossCenturies) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  for (int d = -200000; d < 200000; d += 97) {
    CivilDate c = CivilFromDays(d);
    EXPECT_EQ(DaysFromCivil(c.year, c.month, c.day), d);
  }
  EXPECT_EQ(FormatDate(DaysFromCivil(2024, 2, 29)), "2024-02-29");
}

TEST(DateTest, ParseIsStrict) {
  EXPECT_EQ(*ParseDate("2015-01-01"), DaysFromCivil(2015, 1, 1));
  EXPECT_FALSE(ParseDate("2023-02-29").ok());
  EXPECT_FALSE(ParseDate("2023-13-01").ok());
  EXPECT_FALSE(ParseDate("2023/01/01").ok());
  EXPECT_FALSE(ParseDate("20230101").ok());
  EXPECT_FALSE(ParseDate("-000-01-01").ok());  // found by fuzzing: from_chars takes a sign
  EXPECT_FALSE(ParseDate("+024-01-01").ok());
  EXPECT_EQ(ParseDate("x").status().message(), "\"x\" is not a date (expected YYYY-MM-DD)");
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(int64_t{86400} * 1000000 * 3 + 5);
  EXPECT_EQ(clock.TodayDays(), 3);
  clock.Advance(std::chrono::hours(24));
  EXPECT_EQ(clock.TodayDays(), 4);
  EXPECT_GT(SystemClock::Default().TodayDays(), DaysFromCivil(2020, 1, 1));
}

}  // namespace
}  // namespace passerelle
