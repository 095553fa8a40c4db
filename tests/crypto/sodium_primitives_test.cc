// Known-answer tests of the libsodium wrappers against the RFC test vectors, plus the behaviour
// the privacy layer relies on (tamper detection, key agreement symmetry, Argon2id round trip).
#include <gtest/gtest.h>

#include <string>

#include "common/random.h"
#include "crypto/aead.h"
#include "crypto/argon2.h"
#include "crypto/hash.h"
#include "crypto/kx.h"
#include "crypto/sign.h"

namespace passerelle::crypto {
namespace {

std::vector<uint8_t> Hex(std::string_view h) { return FromHex(h).value(); }
template <size_t N>
std::array<uint8_t, N> HexArray(std::string_view h) {
  auto v = Hex(h);
  std::array<uint8_t, N> a{};
  EXPECT_EQ(v.size(), N);
  std::copy(v.begin(), v.end(), a.begin());
  return a;
}

TEST(SodiumHash, Sha256Fips180Vector) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Bytes32 parts = Sha256Builder().Add("a").Add("bc").Finish();
  EXPECT_EQ(parts, Sha256("abc"));
}

TEST(SodiumHash, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(ToHex(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SodiumHash, Blake2bRfc7693Vector) {
  auto out = Blake2b(AsBytes("abc"), 64);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(ToHex(*out),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5"
            "de4533cc9518d38aa8dbf1925ab92386edd4009923");
  // Keyed and unkeyed differ; the key matters.
  Bytes32 k1{}, k2{};
  k2[0] = 1;
  EXPECT_NE(Blake2b256(AsBytes("x"), k1), Blake2b256(AsBytes("x"), k2));
  EXPECT_FALSE(Blake2b(AsBytes("x"), 8).ok());
}

TEST(SodiumHash, HexRoundTripAndErrors) {
  std::vector<uint8_t> b{0x00, 0xab, 0xff};
  EXPECT_EQ(ToHex(b), "00abff");
  EXPECT_EQ(FromHex("00ABff").value(), b);
  EXPECT_FALSE(FromHex("abc").ok());
  EXPECT_FALSE(FromHex("zz").ok());
  EXPECT_TRUE(ConstantTimeEquals(b, b));
  EXPECT_FALSE(ConstantTimeEquals(b, std::vector<uint8_t>{0x00, 0xab}));
}

TEST(SodiumSign, Ed25519Rfc8032Test1) {
  auto seed = HexArray<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  SigningKey k = SigningKey::FromSeed(seed);
  EXPECT_EQ(ToHex(k.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Signature sig = k.Sign({});
  EXPECT_EQ(ToHex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3"
            "9701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifySignature(k.public_key(), {}, sig));
  sig[10] ^= 1;
  EXPECT_FALSE(VerifySignature(k.public_key(), {}, sig));
}

TEST(SodiumSign, SignWithKeyPairIsTheSeedsSignature) {
  auto seed = HexArray<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  SigningKey k = SigningKey::FromSeed(seed);
  EXPECT_EQ(ToHex(SignWithKeyPair(seed, k.public_key(), {})),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3"
            "9701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  Signature sig = SignWithKeyPair(seed, k.public_key(), AsBytes("audit entry"));
  EXPECT_EQ(sig, k.Sign(AsBytes("audit entry")));
  EXPECT_TRUE(VerifySignature(k.public_key(), AsBytes("audit entry"), sig));
}

TEST(SodiumSign, GeneratedKeysSignAndRejectOtherMessages) {
  DeterministicRandom r(7);
  SigningKey k = SigningKey::Generate(r);
  Signature sig = k.Sign(AsBytes("hello"));
  EXPECT_TRUE(VerifySignature(k.public_key(), AsBytes("hello"), sig));
  EXPECT_FALSE(VerifySignature(k.public_key(), AsBytes("hellp"), sig));
  SigningKey other = SigningKey::Generate(r);
  EXPECT_FALSE(VerifySignature(other.public_key(), AsBytes("hello"), sig));
}

TEST(SodiumKx, X25519Rfc7748Vector) {
  auto a = HexArray<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto b = HexArray<32>("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  EXPECT_EQ(ToHex(X25519PublicKey(a)),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  Bytes32 b_pub = X25519PublicKey(b);
  EXPECT_EQ(ToHex(b_pub), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto shared = X25519SharedSecret(a, b_pub);
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(ToHex(*shared), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

TEST(SodiumKx, BothSidesDeriveTheSameKeyAndLowOrderPointsAreRefused) {
  DeterministicRandom r(11);
  X25519KeyPair a = X25519KeyPair::Generate(r), b = X25519KeyPair::Generate(r);
  Bytes32 s1 = X25519SharedSecret(a.secret_key, b.public_key).value();
  Bytes32 s2 = X25519SharedSecret(b.secret_key, a.public_key).value();
  EXPECT_EQ(s1, s2);
  Bytes32 k1 = DeriveKey(s1, a.public_key, b.public_key, AsBytes("ctx"));
  Bytes32 k2 = DeriveKey(s2, a.public_key, b.public_key, AsBytes("ctx"));
  EXPECT_EQ(k1, k2);
  EXPECT_NE(k1, DeriveKey(s1, a.public_key, b.public_key, AsBytes("other")));
  Bytes32 zero{};  // the identity point: a low-order key
  EXPECT_FALSE(X25519SharedSecret(a.secret_key, zero).ok());
}

TEST(SodiumAead, SealOpenAndDetectTampering) {
  DeterministicRandom r(3);
  Bytes32 key;
  r.Fill(key);
  auto sealed = AeadSeal(key, AsBytes("share bytes"), AsBytes("ad"), r);
  EXPECT_EQ(sealed.size(), 11 + kAeadOverhead);
  auto opened = AeadOpen(key, sealed, AsBytes("ad"));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(std::string(opened->begin(), opened->end()), "share bytes");
  for (size_t i = 0; i < sealed.size(); i += 7) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(AeadOpen(key, bad, AsBytes("ad")).status().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_FALSE(AeadOpen(key, sealed, AsBytes("ae")).ok());
  Bytes32 other = key;
  other[0] ^= 1;
  EXPECT_FALSE(AeadOpen(other, sealed, AsBytes("ad")).ok());
  EXPECT_FALSE(AeadOpen(key, std::span<const uint8_t>(sealed.data(), 10), AsBytes("ad")).ok());
}

TEST(SodiumArgon2, HashVerifyAndRehash) {
  PasswordHashOptions fast{.ops_limit = 1, .mem_limit = 8192};
  auto h = HashPassword("correct horse", fast);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword(*h, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*h, "correct horsf"));
  EXPECT_FALSE(VerifyPassword("not a hash", "x"));
  EXPECT_TRUE(PasswordNeedsRehash(*h, PasswordHashOptions{.ops_limit = 2, .mem_limit = 8192}));
  EXPECT_FALSE(PasswordNeedsRehash(*h, fast));
  EXPECT_FALSE(HashPassword("x", PasswordHashOptions{.ops_limit = 0, .mem_limit = 8192}).ok());
}

}  // namespace
}  // namespace passerelle::crypto
