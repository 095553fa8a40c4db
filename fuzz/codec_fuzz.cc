// Fuzzes the protocol's codec: strict base64 (RFC 4648) and the numeric-vector encoding (base64 of
// little-endian float64). Properties: what decodes re-encodes to the same text (the decoder is
// strict, so the encoding is canonical), and any bytes survive encode/decode unchanged.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace passerelle::protocol;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto bytes = Base64Decode(text);
  if (bytes.ok() && Base64Encode(*bytes) != text) std::abort();  // not canonical
  auto values = DecodeVector(text, 1u << 16);
  if (values.ok()) {
    if (!bytes.ok() || bytes->size() != values->size() * 8) std::abort();
    if (EncodeVector(*values) != text) std::abort();
  }
  // Arbitrary bytes: encode then decode gives them back.
  std::span<const uint8_t> raw(data, size);
  auto back = Base64Decode(Base64Encode(raw));
  if (!back.ok() || back->size() != size || (size && std::memcmp(back->data(), data, size) != 0)) {
    std::abort();
  }
  // Arbitrary bytes as float64 values (whole multiples of 8): finite ones round-trip.
  std::vector<double> v(size / 8);
  if (!v.empty()) std::memcpy(v.data(), data, v.size() * 8);
  auto decoded = DecodeVector(EncodeVector(v));
  if (decoded.ok() && std::memcmp(decoded->data(), v.data(), v.size() * 8) != 0) std::abort();
  return 0;
}
