#include "crypto/aead.h"

#include <sodium.h>

namespace passerelle::crypto {

static_assert(kAeadNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kAeadTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

std::vector<uint8_t> AeadSeal(const Bytes32& key, std::span<const uint8_t> plaintext,
                              std::span<const uint8_t> associated_data, RandomSource& random) {
  EnsureSodium();
  std::vector<uint8_t> out(kAeadNonceBytes + plaintext.size() + kAeadTagBytes);
  random.Fill(std::span<uint8_t>(out.data(), kAeadNonceBytes));
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kAeadNonceBytes, &clen, plaintext.data(), plaintext.size(),
      associated_data.data(), associated_data.size(), nullptr, out.data(), key.data());
  return out;
}

Result<std::vector<uint8_t>> AeadOpen(const Bytes32& key, std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data) {
  EnsureSodium();
  if (sealed.size() < kAeadOverhead) {
    return Status::Unauthenticated("sealed message is shorter than a nonce and a tag");
  }
  std::vector<uint8_t> out(sealed.size() - kAeadOverhead);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &mlen, nullptr, sealed.data() + kAeadNonceBytes,
          sealed.size() - kAeadNonceBytes, associated_data.data(), associated_data.size(),
          sealed.data(), key.data()) != 0) {
    return Status::Unauthenticated("sealed message failed authentication (tampered or wrong key)");
  }
  return out;
}

}  // namespace passerelle::crypto
