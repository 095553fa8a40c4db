// The ChaCha20 PRG: RFC 8439 keystream, the uint64 view, chunk boundaries, add/subtract.
#include <gtest/gtest.h>

#include <numeric>

#include "crypto/prg.h"

namespace passerelle::crypto {
namespace {

TEST(Prg, ChaCha20Rfc8439BlockVector) {
  // RFC 8439 section 2.3.2: key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1.
  Bytes32 key;
  std::iota(key.begin(), key.end(), 0);
  std::array<uint8_t, 12> nonce{0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0};
  std::array<uint8_t, 64> block;
  ChaCha20Keystream(key, nonce, 1, block);
  EXPECT_EQ(ToHex(block),
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d7"
            "05d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}

TEST(Prg, ExpansionIsTheLittleEndianKeystreamAcrossChunks) {
  Bytes32 seed{};
  seed[0] = 42;
  const size_t n = 4096 * 2 + 13;  // crosses the 4096-value chunk boundary twice
  std::vector<uint64_t> v(n);
  PrgExpand(seed, v);
  std::vector<uint8_t> ks(n * 8);
  std::array<uint8_t, 12> zero_nonce{};
  ChaCha20Keystream(seed, zero_nonce, 0, ks);
  for (size_t i = 0; i < n; i += 997) {
    uint64_t want = 0;
    for (int b = 0; b < 8; ++b) want |= static_cast<uint64_t>(ks[8 * i + b]) << (8 * b);
    EXPECT_EQ(v[i], want) << i;
  }
  // A prefix of a longer expansion equals the shorter expansion.
  std::vector<uint64_t> shorter(100);
  PrgExpand(seed, shorter);
  EXPECT_TRUE(std::equal(shorter.begin(), shorter.end(), v.begin()));
}

TEST(Prg, AddThenSubtractRestoresAndSeedsDiffer) {
  Bytes32 s1{}, s2{};
  s2[31] = 1;
  std::vector<uint64_t> a(5000), b(5000);
  PrgExpand(s1, a);
  PrgExpand(s2, b);
  size_t equal = 0;
  for (size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i];
  EXPECT_EQ(equal, 0u);
  std::vector<uint64_t> x(5000);
  std::iota(x.begin(), x.end(), 1);
  auto orig = x;
  PrgAdd(s1, x);
  EXPECT_NE(x, orig);
  EXPECT_EQ(x[0], orig[0] + a[0]);
  PrgSubtract(s1, x);
  EXPECT_EQ(x, orig);
  // Bits look uniform: about half of all bits set.
  size_t ones = 0;
  for (uint64_t w : a) ones += static_cast<size_t>(__builtin_popcountll(w));
  EXPECT_NEAR(static_cast<double>(ones) / (64.0 * a.size()), 0.5, 0.01);
}

}  // namespace
}  // namespace passerelle::crypto
