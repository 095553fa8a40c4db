#include "common/clock.h"

namespace passerelle {

int32_t Clock::TodayDays() const {
  constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
  int64_t us = NowMicros();
  int64_t days = us / kMicrosPerDay;
  if (us % kMicrosPerDay < 0) --days;
  return static_cast<int32_t>(days);
}

int64_t SystemClock::NowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::MonotonicMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SystemClock& SystemClock::Default() {
  static SystemClock clock;
  return clock;
}

}  // namespace passerelle
