// Clock interface: the only way code reads the time, so tests can drive it (FakeClock).
// Thread-safety: SystemClock is stateless; FakeClock is safe for concurrent reads and advances.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace passerelle {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, microseconds since the Unix epoch (UTC).
  virtual int64_t NowMicros() const = 0;
  // Monotonic time for durations and timeouts, microseconds since an arbitrary origin.
  virtual int64_t MonotonicMicros() const = 0;

  // Days since 1970-01-01 (UTC) of NowMicros().
  int32_t TodayDays() const;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  int64_t MonotonicMicros() const override;
  // A process-wide instance.
  static SystemClock& Default();
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_micros = 0) : now_(now_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  int64_t MonotonicMicros() const override { return now_.load(); }
  void Advance(std::chrono::microseconds d) { now_ += d.count(); }
  void Set(int64_t now_micros) { now_ = now_micros; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace passerelle
