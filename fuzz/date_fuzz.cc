// Fuzzes the strict date parser: what it accepts must format back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/date.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto days = passerelle::ParseDate(text);
  if (days.ok() && passerelle::FormatDate(*days) != text) std::abort();
  return 0;
}
