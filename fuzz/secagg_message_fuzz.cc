// Fuzzes the decoders of the secure-aggregation messages (privacy/secagg.h) a hub or a node
// reads from the network: the first byte chooses the message type, the rest is the encoding.
// Whatever decodes must encode to an encoding that decodes again to the same encoding.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "privacy/secagg.h"

namespace {

namespace secagg = passerelle::privacy::secagg;

template <typename Message>
void Check(std::span<const uint8_t> bytes, const passerelle::crypto::Bytes32& session) {
  auto m = secagg::Decode<Message>(bytes, session);
  if (!m.ok()) return;
  std::vector<uint8_t> again = secagg::Encode(session, *m);
  auto m2 = secagg::Decode<Message>(again, session);
  if (!m2.ok() || secagg::Encode(session, *m2) != again) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The session every seed was written for (fuzz/secagg_seeds.cc): all zeros.
  const passerelle::crypto::Bytes32 session{};
  std::span<const uint8_t> bytes(data + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      Check<secagg::AdvertiseKeys>(bytes, session);
      break;
    case 1:
      Check<secagg::KeyDirectory>(bytes, session);
      break;
    case 2:
      Check<secagg::ShareKeys>(bytes, session);
      break;
    case 3:
      Check<secagg::SharesForClient>(bytes, session);
      break;
    case 4:
      Check<secagg::MaskedInput>(bytes, session);
      break;
    case 5:
      Check<secagg::SurvivorList>(bytes, session);
      break;
    case 6:
      Check<secagg::SurvivorSignature>(bytes, session);
      break;
    default:
      Check<secagg::UnmaskResponse>(bytes, session);
      break;
  }
  return 0;
}
