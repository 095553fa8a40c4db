#include "privacy/dp_sampler.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdlib>

namespace passerelle::privacy {
namespace {

// GCC and Clang's 128-bit integer (__extension__ keeps -Wpedantic quiet about it).
__extension__ typedef unsigned __int128 u128;

// Unsigned 256-bit integer: just what the samplers need (multiply, compare, subtract, uniform).
struct U256 {
  std::array<uint64_t, 4> w{};  // little-endian limbs

  static U256 From(u128 v) {
    U256 r;
    r.w[0] = static_cast<uint64_t>(v);
    r.w[1] = static_cast<uint64_t>(v >> 64);
    return r;
  }
  bool IsZero() const { return (w[0] | w[1] | w[2] | w[3]) == 0; }
  int BitLength() const {
    for (int i = 3; i >= 0; --i) {
      if (w[i]) return 64 * i + 64 - __builtin_clzll(w[i]);
    }
    return 0;
  }
};

int Compare(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    if (a.w[i] != b.w[i]) return a.w[i] < b.w[i] ? -1 : 1;
  }
  return 0;
}

// a -= b. REQUIRES: a >= b.
void SubInPlace(U256& a, const U256& b) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 d = static_cast<u128>(a.w[i]) - b.w[i] - borrow;
    a.w[i] = static_cast<uint64_t>(d);
    borrow = (d >> 64) ? 1 : 0;
  }
}

// a * m. REQUIRES: no overflow past 256 bits (the callers' parameter limits guarantee it).
U256 MulSmall(const U256& a, uint64_t m) {
  U256 r;
  u128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 p = static_cast<u128>(a.w[i]) * m + carry;
    r.w[i] = static_cast<uint64_t>(p);
    carry = p >> 64;
  }
  if (carry != 0) std::abort();
  return r;
}

// a * b for 128-bit a, b: exact in 256 bits.
U256 Mul128(u128 a, u128 b) {
  const uint64_t a0 = static_cast<uint64_t>(a), a1 = static_cast<uint64_t>(a >> 64);
  const uint64_t b0 = static_cast<uint64_t>(b), b1 = static_cast<uint64_t>(b >> 64);
  U256 r;
  const u128 p00 = static_cast<u128>(a0) * b0;
  const u128 p01 = static_cast<u128>(a0) * b1;
  const u128 p10 = static_cast<u128>(a1) * b0;
  const u128 p11 = static_cast<u128>(a1) * b1;
  r.w[0] = static_cast<uint64_t>(p00);
  u128 mid = (p00 >> 64) + static_cast<uint64_t>(p01) + static_cast<uint64_t>(p10);
  r.w[1] = static_cast<uint64_t>(mid);
  u128 hi = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + static_cast<uint64_t>(p11);
  r.w[2] = static_cast<uint64_t>(hi);
  r.w[3] = static_cast<uint64_t>((hi >> 64) + (p11 >> 64));
  return r;
}

// Uniform in [0, bound) by rejection from the fewest random bytes. REQUIRES: bound > 0.
U256 UniformBelow(const U256& bound, RandomSource& random) {
  const int bits = bound.BitLength();
  const size_t nbytes = static_cast<size_t>((bits + 7) / 8);
  std::array<uint8_t, 32> buf;
  for (;;) {
    random.Fill(std::span<uint8_t>(buf.data(), nbytes));
    U256 r;
    for (size_t i = 0; i < nbytes; ++i)
      r.w[i / 8] |= static_cast<uint64_t>(buf[i]) << (8 * (i % 8));
    const int top = bits % 64;
    if (top != 0) r.w[(bits - 1) / 64] &= (uint64_t{1} << top) - 1;
    if (Compare(r, bound) < 0) return r;
  }
}

// Bernoulli(n / d). REQUIRES: d > 0.
bool Bernoulli(const U256& n, const U256& d, RandomSource& random) {
  if (n.IsZero()) return false;
  if (Compare(n, d) >= 0) return true;
  return Compare(UniformBelow(d, random), n) < 0;
}

// Bernoulli(exp(-n/d)) for n <= d (CKS Algorithm 1, gamma in [0, 1]).
bool BernoulliExpNegUnit(const U256& n, const U256& d, RandomSource& random) {
  uint64_t k = 1;
  for (;;) {
    // A ~ Bernoulli(gamma / k).
    if (!Bernoulli(n, MulSmall(d, k), random)) break;
    ++k;
  }
  return (k & 1) == 1;
}

// Bernoulli(exp(-n/d)) for any n >= 0, d > 0 (CKS Algorithm 1).
bool BernoulliExpNeg(U256 n, const U256& d, RandomSource& random) {
  static const U256 kOne = U256::From(1);
  while (Compare(n, d) >= 0) {
    if (!BernoulliExpNegUnit(kOne, kOne, random)) return false;
    SubInPlace(n, d);
  }
  return BernoulliExpNegUnit(n, d, random);
}

// Discrete Laplace with scale t/s (CKS Algorithm 2). REQUIRES: s, t >= 1.
int64_t Laplace(uint64_t s, uint64_t t, RandomSource& random) {
  static const U256 kOne = U256::From(1);
  const U256 tt = U256::From(t);
  for (;;) {
    const uint64_t u = random.Uniform(t);
    if (!BernoulliExpNeg(U256::From(u), tt, random)) continue;
    uint64_t v = 0;
    while (BernoulliExpNegUnit(kOne, kOne, random)) ++v;
    const u128 x = static_cast<u128>(u) + static_cast<u128>(t) * v;
    const u128 y = x / s;
    if (y >= (u128{1} << 62)) continue;  // probability < exp(-2^62 s / t): never in practice
    const bool negative = random.Uniform(2) == 1;
    if (negative && y == 0) continue;
    return negative ? -static_cast<int64_t>(y) : static_cast<int64_t>(y);
  }
}

uint64_t Isqrt(uint64_t n) {
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<long double>(n)));
  while (static_cast<u128>(r) * r > n) --r;
  while (static_cast<u128>(r + 1) * (r + 1) <= n) ++r;
  return r;
}

Status CheckRational(Rational r, std::string_view what) {
  if (r.den < 1 || r.den > kMaxRationalDen || r.num >= kMaxRationalNum) {
    return Status::InvalidArgument(fmt::format(
        "{}: {}/{} is outside the supported range (numerator < 2^62, 1 <= denominator <= 2^32)",
        what, r.num, r.den));
  }
  return Status::Ok();
}

}  // namespace

Result<Rational> RationalAtLeast(double x) {
  if (!(x > 0) || !std::isfinite(x)) {
    return Status::InvalidArgument("noise parameter must be a positive finite number");
  }
  for (int k = 32; k >= 0; --k) {
    const double scaled = std::ceil(std::ldexp(x, k));
    if (scaled < std::ldexp(1.0, 62)) {
      return Rational{static_cast<uint64_t>(scaled), uint64_t{1} << k};
    }
  }
  return Status::InvalidArgument(fmt::format("noise parameter {} is too large (at most 2^62)", x));
}

bool SampleBernoulli(Rational p, RandomSource& random) {
  return Bernoulli(U256::From(p.num), U256::From(p.den), random);
}

bool SampleBernoulliExpNeg(Rational gamma, RandomSource& random) {
  return BernoulliExpNeg(U256::From(gamma.num), U256::From(gamma.den), random);
}

Result<DiscreteLaplaceSampler> DiscreteLaplaceSampler::Create(Rational scale) {
  RETURN_IF_ERROR(CheckRational(scale, "discrete Laplace scale"));
  if (scale.num == 0) return Status::InvalidArgument("discrete Laplace scale must be positive");
  return DiscreteLaplaceSampler(scale);
}

int64_t DiscreteLaplaceSampler::Sample(RandomSource& random) const {
  return Laplace(/*s=*/scale_.den, /*t=*/scale_.num, random);
}

Result<DiscreteGaussianSampler> DiscreteGaussianSampler::Create(Rational sigma2) {
  RETURN_IF_ERROR(CheckRational(sigma2, "discrete Gaussian variance"));
  if (sigma2.num == 0) return Status::InvalidArgument("discrete Gaussian variance must be > 0");
  const uint64_t t = Isqrt(sigma2.num / sigma2.den) + 1;  // floor(sigma) + 1
  if (t > (uint64_t{1} << 31)) {
    return Status::InvalidArgument("discrete Gaussian: sigma must be below 2^31");
  }
  return DiscreteGaussianSampler(sigma2, t);
}

int64_t DiscreteGaussianSampler::Sample(RandomSource& random) const {
  const uint64_t a = sigma2_.num, b = sigma2_.den, t = t_;
  // gamma = (|Y| - sigma^2/t)^2 / (2 sigma^2) = (|Y| b t - a)^2 / (2 a b t^2).
  const U256 den = MulSmall(Mul128(static_cast<u128>(a) * b, static_cast<u128>(t) * t), 2);
  for (;;) {
    const int64_t y = Laplace(1, t, random);
    const u128 ay = static_cast<u128>(y < 0 ? -static_cast<u128>(y) : static_cast<u128>(y));
    const u128 ybt = ay * b * t;  // < 2^62 * 2^32 * 2^32 = 2^126
    const u128 diff = ybt >= a ? ybt - a : a - ybt;
    if (BernoulliExpNeg(Mul128(diff, diff), den, random)) return y;
  }
}

std::vector<int64_t> DiscreteGaussianSampler::SampleVector(size_t n, RandomSource& random) const {
  std::vector<int64_t> out(n);
  for (auto& v : out) v = Sample(random);
  return out;
}

}  // namespace passerelle::privacy
