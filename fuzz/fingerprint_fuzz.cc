// Fuzzes the population fingerprint decoder (privacy/differencing.h), which reads the node's
// stored fingerprints: what parses must serialise to bytes that parse again identically, and
// comparing it with itself must give an empty difference.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "privacy/differencing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using passerelle::privacy::PopulationFingerprint;
  auto f = PopulationFingerprint::Parse(std::span<const uint8_t>(data, size));
  if (!f.ok()) return 0;
  std::vector<uint8_t> bytes = f->Serialize();
  auto g = PopulationFingerprint::Parse(bytes);
  if (!g.ok() || g->Serialize() != bytes) std::abort();
  auto d = passerelle::privacy::ComparePopulations(*f, *g);
  if (d.ok() && d->decoded && d->total() != 0) std::abort();
  return 0;
}
