#include "crypto/shamir.h"

#include <fmt/format.h>

#include <set>

namespace passerelle::crypto {
namespace {

// GCC and Clang's 128-bit integer (__extension__ keeps -Wpedantic quiet about it).
__extension__ typedef unsigned __int128 u128;

constexpr uint64_t kP = kShamirPrime;
constexpr int kLimbBytes[kShamirLimbs] = {7, 7, 7, 7, 4};

uint64_t Reduce(u128 v) {
  // v < 2^122: fold the high bits twice (2^61 = 1 mod p).
  uint64_t r = static_cast<uint64_t>(v & kP) + static_cast<uint64_t>(v >> 61);
  r = (r & kP) + (r >> 61);
  return r >= kP ? r - kP : r;
}
uint64_t Add(uint64_t a, uint64_t b) {
  uint64_t r = a + b;  // < 2^62, no overflow
  return r >= kP ? r - kP : r;
}
uint64_t Sub(uint64_t a, uint64_t b) { return a >= b ? a - b : a + kP - b; }
uint64_t Mul(uint64_t a, uint64_t b) { return Reduce(static_cast<u128>(a) * b); }
uint64_t Pow(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) r = Mul(r, base);
    base = Mul(base, base);
    e >>= 1;
  }
  return r;
}
// REQUIRES: a != 0 (mod p).
uint64_t Inverse(uint64_t a) { return Pow(a, kP - 2); }

Status CheckPoints(std::span<const ShamirShare> shares) {
  std::set<uint32_t> seen;
  for (const auto& s : shares) {
    if (s.x == 0) return Status::InvalidArgument("Shamir: a share has x = 0");
    if (!seen.insert(s.x).second) {
      return Status::InvalidArgument(fmt::format("Shamir: two shares have x = {}", s.x));
    }
    for (uint64_t y : s.y) {
      if (y >= kP) return Status::InvalidArgument("Shamir: a share value is not below p");
    }
  }
  return Status::Ok();
}

}  // namespace

std::array<uint8_t, kShamirShareBytes> ShamirShare::Encode() const {
  std::array<uint8_t, kShamirShareBytes> out{};
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(x >> (8 * i));
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    for (int i = 0; i < 8; ++i) out[4 + 8 * l + i] = static_cast<uint8_t>(y[l] >> (8 * i));
  }
  return out;
}

Result<ShamirShare> ShamirShare::Decode(std::span<const uint8_t> bytes) {
  if (bytes.size() != kShamirShareBytes) {
    return Status::InvalidArgument(
        fmt::format("Shamir share: expected {} bytes, got {}", kShamirShareBytes, bytes.size()));
  }
  ShamirShare s;
  for (int i = 0; i < 4; ++i) s.x |= static_cast<uint32_t>(bytes[i]) << (8 * i);
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    for (int i = 0; i < 8; ++i) s.y[l] |= static_cast<uint64_t>(bytes[4 + 8 * l + i]) << (8 * i);
  }
  if (s.x == 0) return Status::InvalidArgument("Shamir share: x must not be 0");
  for (uint64_t y : s.y) {
    if (y >= kP) return Status::InvalidArgument("Shamir share: value not below p");
  }
  return s;
}

Result<std::vector<ShamirShare>> ShamirSplit(std::span<const uint8_t, 32> secret,
                                             uint32_t threshold, std::span<const uint32_t> xs,
                                             RandomSource& random) {
  if (threshold < 1 || threshold > xs.size()) {
    return Status::InvalidArgument(
        fmt::format("Shamir: threshold {} must be between 1 and the number of shares {}", threshold,
                    xs.size()));
  }
  std::vector<ShamirShare> shares(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) shares[i].x = xs[i];
  RETURN_IF_ERROR(CheckPoints(shares));
  std::vector<uint64_t> coeffs(threshold);
  size_t offset = 0;
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    uint64_t limb = 0;
    for (int i = 0; i < kLimbBytes[l]; ++i) {
      limb |= static_cast<uint64_t>(secret[offset + i]) << (8 * i);
    }
    offset += kLimbBytes[l];
    coeffs[0] = limb;
    for (uint32_t c = 1; c < threshold; ++c) coeffs[c] = random.Uniform(kP);
    for (auto& s : shares) {
      // Horner's rule.
      uint64_t acc = 0;
      for (uint32_t c = threshold; c-- > 0;) acc = Add(Mul(acc, s.x), coeffs[c]);
      s.y[l] = acc;
    }
  }
  SecureZero(std::span<uint8_t>(reinterpret_cast<uint8_t*>(coeffs.data()),
                                coeffs.size() * sizeof(uint64_t)));
  return shares;
}

Result<ShamirShare> ShamirInterpolate(std::span<const ShamirShare> basis, uint32_t x) {
  if (basis.empty()) return Status::InvalidArgument("Shamir: no shares to interpolate");
  RETURN_IF_ERROR(CheckPoints(basis));
  const uint64_t x0 = x % kP;
  // Lagrange basis weights at x0: w_i = prod_{j != i} (x0 - x_j) / (x_i - x_j).
  std::vector<uint64_t> w(basis.size());
  for (size_t i = 0; i < basis.size(); ++i) {
    uint64_t num = 1, den = 1;
    for (size_t j = 0; j < basis.size(); ++j) {
      if (j == i) continue;
      num = Mul(num, Sub(x0, basis[j].x));
      den = Mul(den, Sub(basis[i].x, basis[j].x));
    }
    w[i] = Mul(num, Inverse(den));
  }
  ShamirShare out;
  out.x = x;
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    uint64_t acc = 0;
    for (size_t i = 0; i < basis.size(); ++i) acc = Add(acc, Mul(w[i], basis[i].y[l]));
    out.y[l] = acc;
  }
  return out;
}

Result<Bytes32> ShamirCombine(std::span<const ShamirShare> shares, uint32_t threshold) {
  if (threshold < 1 || shares.size() < threshold) {
    return Status::FailedPrecondition(fmt::format(
        "Shamir: {} shares given, {} needed to recover the secret", shares.size(), threshold));
  }
  RETURN_IF_ERROR(CheckPoints(shares));
  auto basis = shares.first(threshold);
  for (const auto& extra : shares.subspan(threshold)) {
    ASSIGN_OR_RETURN(ShamirShare expected, ShamirInterpolate(basis, extra.x));
    if (expected.y != extra.y) {
      return Status::DataLoss(fmt::format(
          "Shamir: the share at x = {} is inconsistent with the others (tampered or corrupted)",
          extra.x));
    }
  }
  ASSIGN_OR_RETURN(ShamirShare at0, ShamirInterpolate(basis, 0));
  Bytes32 secret{};
  size_t offset = 0;
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    if (at0.y[l] >> (8 * kLimbBytes[l]) != 0) {
      return Status::DataLoss(
          "Shamir: the recovered value does not encode a 32-byte secret "
          "(a share was tampered with or corrupted)");
    }
    for (int i = 0; i < kLimbBytes[l]; ++i) {
      secret[offset + i] = static_cast<uint8_t>(at0.y[l] >> (8 * i));
    }
    offset += kLimbBytes[l];
  }
  return secret;
}

}  // namespace passerelle::crypto
