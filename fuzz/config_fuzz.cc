// Fuzzes the TOML configuration parser and its typed getters (hub.toml, node.toml, policies).
#include <cstdint>
#include <string_view>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = passerelle::Config::Parse(text, "fuzz.toml");
  if (!config.ok()) return 0;
  for (const char* key : {"hub.listen", "policy.min_cell", "a", "a.b.c", "nodes"}) {
    config->GetString(key, "").PermitUncheckedError();
    config->GetInt(key, 0).PermitUncheckedError();
    config->GetDouble(key, 0).PermitUncheckedError();
    config->GetBool(key, false).PermitUncheckedError();
    config->GetStringList(key, {}).PermitUncheckedError();
    config->TableKeys(key);
  }
  config->UnknownKeys({"a"});
  return 0;
}
