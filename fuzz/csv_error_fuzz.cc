// Fuzzes the rewriting of DuckDB's CSV errors (its input quotes rows of site data): it must never
// crash and never return text from an "Original Line:" it was given.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/csv_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string msg(reinterpret_cast<const char*>(data), size);
  std::string out = passerelle::store::DescribeCsvError("f.csv", msg);
  // A marker placed only in the quoted row must not come back.
  const std::string marker = "ZZSECRETZZ";
  size_t line = msg.find("Original Line: ");
  if (line != std::string::npos && msg.find(marker) != std::string::npos &&
      msg.find(marker) > line && msg.find('\n', line) > msg.find(marker) &&
      msg.find(marker, msg.find('\n', line)) == std::string::npos &&
      msg.rfind(marker, line) == std::string::npos) {
    if (out.find(marker) != std::string::npos) std::abort();
  }
  return 0;
}
