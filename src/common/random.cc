#include "common/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace passerelle {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t RandomSource::NextU64() {
  uint64_t v;
  uint8_t buf[8];
  Fill(buf);
  std::memcpy(&v, buf, sizeof v);
  return v;
}

uint64_t RandomSource::Uniform(uint64_t bound) {
  // Rejection sampling: accept values below the largest multiple of bound.
  const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % bound);
  for (;;) {
    uint64_t v = NextU64();
    if (v < limit) return v % bound;
  }
}

void SystemRandom::Fill(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "fatal: getrandom failed: %s\n", std::strerror(errno));
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
}

SystemRandom& SystemRandom::Default() {
  static SystemRandom r;
  return r;
}

void DeterministicRandom::Fill(std::span<uint8_t> out) {
  size_t i = 0;
  while (i < out.size()) {
    const uint64_t v = gen_();
    for (int b = 0; b < 8 && i < out.size(); ++b) out[i++] = static_cast<uint8_t>(v >> (8 * b));
  }
}

Xoshiro256::Xoshiro256(uint64_t seed) {
  for (auto& s : s_) s = SplitMix64(seed);
}

uint64_t Xoshiro256::Below(uint64_t bound) {
  // Lemire, "Fast random integer generation in an interval" (2019).
  uint64_t x = (*this)();
  __uint128_t m = static_cast<__uint128_t>(x) * bound;
  uint64_t l = static_cast<uint64_t>(m);
  if (l < bound) {
    const uint64_t t = -bound % bound;
    while (l < t) {
      x = (*this)();
      m = static_cast<__uint128_t>(x) * bound;
      l = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

}  // namespace passerelle
