// Fuzzes the parser of the site key file (privacy/pseudonymize.h) and of the secure round
// parameters a node reads from a task (privacy/secure_round.h).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "privacy/pseudonymize.h"
#include "privacy/secure_round.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto key = passerelle::privacy::ParseSiteKeyText(text, "fuzz");
  (void)key;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    auto p = passerelle::privacy::SecureRoundFromJson("st-fuzz", 1, j);
    // Parameters that are accepted are the ones the hub derives: they must round-trip.
    if (p.ok() && !passerelle::privacy::SecureRoundFromJson(
                       "st-fuzz", 1, passerelle::privacy::SecureRoundToJson(*p))
                       .ok()) {
      std::abort();
    }
  }
  return 0;
}
