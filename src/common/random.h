// Randomness interfaces.
//
// - RandomSource: bytes for anything security- or privacy-relevant (keys, masks, DP noise).
//   SystemRandom reads the kernel's CSPRNG (getrandom); tests inject a deterministic source.
// - Xoshiro256: a fast, seeded, non-cryptographic generator for simulation (synthetic data,
//   benchmarks). Never use it for privacy.
//
// Thread-safety: SystemRandom is thread-safe; a DeterministicRandom or Xoshiro256 instance is not.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"

namespace passerelle {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;

  uint64_t NextU64();
  // Uniform in [0, bound) without modulo bias. REQUIRES: bound > 0.
  uint64_t Uniform(uint64_t bound);
};

// The kernel's CSPRNG. Aborts the process if the kernel cannot give randomness (the environment
// is unusable for privacy then).
class SystemRandom final : public RandomSource {
 public:
  void Fill(std::span<uint8_t> out) override;
  static SystemRandom& Default();
};

// xoshiro256** (Blackman and Vigna, 2018), seeded with splitmix64.
class Xoshiro256 {
 public:
  using result_type = uint64_t;
  explicit Xoshiro256(uint64_t seed);
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t{0}; }
  uint64_t operator()() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform double in [0, 1) with 53 random bits.
  double NextDouble() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, bound). REQUIRES: bound > 0. (Lemire's nearly divisionless method.)
  uint64_t Below(uint64_t bound);

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// A reproducible stream for tests: xoshiro256** seeded through splitmix64. Not cryptographic.
class DeterministicRandom final : public RandomSource {
 public:
  explicit DeterministicRandom(uint64_t seed) : gen_(seed) {}
  void Fill(std::span<uint8_t> out) override;

 private:
  Xoshiro256 gen_;
};

// splitmix64 step: also a good 64-bit mixer for deriving independent seeds.
uint64_t SplitMix64(uint64_t& state);

}  // namespace passerelle
