// Fuzzes what the hub parses in a record linkage: CLK sets (pprl::ParseClkSet, from nodes'
// uploads and from files) and the linkage wire messages (protocol/linkage_messages.h).
// The first byte chooses the decoder; the rest is its input. Whatever parses must survive a
// round trip (serialise, parse again, same result), or the target aborts.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/match.h"
#include "protocol/codec.h"
#include "protocol/linkage_messages.h"

namespace {

using nlohmann::json;
namespace protocol = passerelle::protocol;

template <typename T, typename... Args>
void RoundTrip(const json& j, Args... args) {
  auto m = T::FromJson(j, args...);
  if (!m.ok()) return;
  auto again = T::FromJson(m->ToJson(), args...);
  if (!again.ok() || again->ToJson() != m->ToJson()) std::abort();
}

void FuzzClkSet(std::string_view bytes) {
  auto set = passerelle::pprl::ParseClkSet(bytes, "fuzz");
  if (!set.ok()) return;
  std::string out = passerelle::pprl::SerializeClkSet(*set);
  auto again = passerelle::pprl::ParseClkSet(out, "fuzz");
  if (!again.ok() || again->size() != set->size() ||
      passerelle::pprl::SerializeClkSet(*again) != out) {
    std::abort();
  }
  if (set->size() > 0 && set->size() <= 64) {
    passerelle::pprl::MatchOptions o;
    o.threads = 1;
    auto m = passerelle::pprl::Match(*set, *set, o);
    if (!m.ok()) std::abort();  // a set is always comparable with itself
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0] % 10;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (which == 0) {
    FuzzClkSet(rest);
    return 0;
  }
  auto j = protocol::ParseJson(rest, {.max_bytes = 1u << 20, .max_depth = 32});
  if (!j.ok()) return 0;
  switch (which) {
    case 1:
      RoundTrip<protocol::LinkageStudy>(*j);
      break;
    case 2:
      RoundTrip<protocol::LinkageTask>(*j);
      break;
    case 3:
      RoundTrip<protocol::KeyPost>(*j);
      break;
    case 4:
      RoundTrip<protocol::KeySet>(*j);
      break;
    case 5:
      RoundTrip<protocol::SealedSecrets>(*j);
      break;
    case 6:
      RoundTrip<protocol::SealedSecret>(*j);
      break;
    case 7:
      RoundTrip<protocol::ClkUpload>(*j, size_t{1} << 20);
      break;
    case 8:
      RoundTrip<protocol::NodeMatches>(*j);
      break;
    default:
      RoundTrip<protocol::LinkageUse>(*j, std::string_view("study.linkage"));
      RoundTrip<protocol::LinkageFailure>(*j);
      protocol::IsLinkageStudy(*j);
      protocol::IsLinkageTask(*j);
      break;
  }
  return 0;
}
