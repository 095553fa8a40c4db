// Shamir sharing of 32-byte secrets over GF(2^61 - 1).
#include <gtest/gtest.h>

#include "common/random.h"
#include "crypto/shamir.h"

namespace passerelle::crypto {
namespace {

Bytes32 RandomSecret(RandomSource& r) {
  Bytes32 s;
  r.Fill(s);
  return s;
}

TEST(Shamir, AnyThresholdSubsetRecoversTheSecret) {
  DeterministicRandom r(1);
  Bytes32 secret = RandomSecret(r);
  secret[31] = 0xff;  // high bytes of the last limb
  std::vector<uint32_t> xs{1, 2, 3, 4, 5};
  auto shares = ShamirSplit(secret, 3, xs, r);
  ASSERT_TRUE(shares.ok());
  for (size_t a = 0; a < 5; ++a) {
    for (size_t b = a + 1; b < 5; ++b) {
      for (size_t c = b + 1; c < 5; ++c) {
        std::vector<ShamirShare> sub{(*shares)[a], (*shares)[b], (*shares)[c]};
        auto got = ShamirCombine(sub, 3);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(*got, secret);
      }
    }
  }
  EXPECT_EQ(ShamirCombine(*shares, 3).value(), secret);  // all five, consistency checked
}

TEST(Shamir, FewerSharesThanThresholdGiveNothingUseful) {
  DeterministicRandom r(2);
  Bytes32 secret = RandomSecret(r);
  std::vector<uint32_t> xs{1, 2, 3};
  auto shares = ShamirSplit(secret, 3, xs, r).value();
  std::vector<ShamirShare> two{shares[0], shares[1]};
  EXPECT_EQ(ShamirCombine(two, 3).status().code(), StatusCode::kFailedPrecondition);
  // Interpolating two shares as if the threshold were 2 gives a different value.
  auto wrong = ShamirCombine(two, 2);
  EXPECT_TRUE(!wrong.ok() || *wrong != secret);
}

TEST(Shamir, TamperedExtraShareIsDetected) {
  DeterministicRandom r(3);
  Bytes32 secret = RandomSecret(r);
  std::vector<uint32_t> xs{1, 2, 3, 4};
  auto shares = ShamirSplit(secret, 2, xs, r).value();
  shares[3].y[2] = (shares[3].y[2] + 1) % kShamirPrime;
  auto got = ShamirCombine(shares, 2);
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(got.status().message().find("x = 4"), std::string::npos);
  // The first two alone still recover it; the interpolated share at x = 4 is the genuine one.
  std::vector<ShamirShare> basis{shares[0], shares[1]};
  EXPECT_EQ(ShamirCombine(basis, 2).value(), secret);
  EXPECT_NE(ShamirInterpolate(basis, 4).value().y, shares[3].y);
}

TEST(Shamir, EncodeDecodeAndValidation) {
  DeterministicRandom r(4);
  Bytes32 secret = RandomSecret(r);
  std::vector<uint32_t> xs{7, 9};
  auto shares = ShamirSplit(secret, 2, xs, r).value();
  auto bytes = shares[0].Encode();
  EXPECT_EQ(bytes.size(), kShamirShareBytes);
  EXPECT_EQ(ShamirShare::Decode(bytes).value(), shares[0]);
  auto bad = bytes;
  bad[0] = bad[1] = bad[2] = bad[3] = 0;  // x = 0
  EXPECT_FALSE(ShamirShare::Decode(bad).ok());
  bad = bytes;
  for (int i = 4; i < 12; ++i) bad[i] = 0xff;  // y_0 >= p
  EXPECT_FALSE(ShamirShare::Decode(bad).ok());
  EXPECT_FALSE(ShamirShare::Decode(std::span<const uint8_t>(bytes.data(), 10)).ok());

  std::vector<uint32_t> dup{1, 1};
  EXPECT_FALSE(ShamirSplit(secret, 2, dup, r).ok());
  std::vector<uint32_t> zero{0, 1};
  EXPECT_FALSE(ShamirSplit(secret, 2, zero, r).ok());
  EXPECT_FALSE(ShamirSplit(secret, 3, xs, r).ok());
}

TEST(Shamir, ThresholdOneIsReplication) {
  DeterministicRandom r(5);
  Bytes32 secret = RandomSecret(r);
  std::vector<uint32_t> xs{1, 2};
  auto shares = ShamirSplit(secret, 1, xs, r).value();
  EXPECT_EQ(shares[0].y, shares[1].y);
  std::vector<ShamirShare> one{shares[1]};
  EXPECT_EQ(ShamirCombine(one, 1).value(), secret);
}

}  // namespace
}  // namespace passerelle::crypto
