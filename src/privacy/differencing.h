// Differencing defence: a node refuses a study whose population differs from an earlier
// population of the same project by at least one and fewer than `min_rows` persons, since the
// difference of two such releases describes those few persons.
//
// Each population is kept as a compact fingerprint: an invertible Bloom lookup table (Goodrich
// and Mitzenmacher, "Invertible Bloom Lookup Tables", 2011) of keyed 64-bit hashes of the person
// ids. Subtracting two fingerprints and peeling the result lists the symmetric difference exactly
// whenever it is small (that is all the defence needs to know); a large difference does not
// decode and is reported as such. The size is fixed (20 bytes per cell, 64 * min_rows cells by
// default, e.g. 12.8 KiB for min_rows = 10) whatever the population's size. The hash key is a
// secret of the node, so a stored fingerprint does not reveal person ids.
//
// Each key goes to one cell in each of 4 partitions. Decoding a difference of d < min_rows persons
// fails essentially only when two of them share their cell in all 4 partitions: probability about
// d^2/2 * (4 / cells)^4, i.e. 6e-8 for min_rows = 10 (d = 9, 640 cells); larger stopping sets are
// far rarer. The tests decode thousands of random small differences.
//
// Thread-safety: PopulationFingerprint is a value; InMemoryFingerprintStore is thread-safe;
// DifferencingGuard is as thread-safe as its store.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/hash.h"

namespace passerelle::privacy {

struct PopulationDifference {
  bool decoded = false;     // false: too large to list (>= the fingerprint's capacity)
  int64_t only_first = 0;   // persons in the first population only (when decoded)
  int64_t only_second = 0;  // persons in the second population only (when decoded)
  int64_t total() const { return only_first + only_second; }
};

class PopulationFingerprint;
Result<PopulationDifference> ComparePopulations(const PopulationFingerprint& a,
                                                const PopulationFingerprint& b);

class PopulationFingerprint {
 public:
  static constexpr uint32_t kHashes = 4;
  // Default cell count for a min_rows setting: max(256, 64 * min_rows), a multiple of kHashes.
  static uint32_t DefaultCells(int64_t min_rows);

  // The fingerprint of a set of person ids (duplicates count once).
  static Result<PopulationFingerprint> Build(const crypto::Bytes32& key,
                                             std::span<const int64_t> person_ids, uint32_t cells);
  static Result<PopulationFingerprint> BuildFromStrings(const crypto::Bytes32& key,
                                                        std::span<const std::string> person_ids,
                                                        uint32_t cells);

  int64_t population() const { return population_; }
  uint32_t cells() const { return static_cast<uint32_t>(count_.size()); }

  // "PFP1", cells (u32), key id (u64: tells fingerprints made with different keys apart),
  // population (i64), then per cell count (i32), key xor (u64), check xor (u64); little-endian.
  std::vector<uint8_t> Serialize() const;
  static Result<PopulationFingerprint> Parse(std::span<const uint8_t> bytes);

 private:
  friend Result<PopulationDifference> ComparePopulations(const PopulationFingerprint& a,
                                                         const PopulationFingerprint& b);
  static Result<PopulationFingerprint> Empty(const crypto::Bytes32& key, uint32_t cells);
  PopulationFingerprint() = default;
  void Insert(uint64_t key);
  uint64_t key_id_ = 0;
  int64_t population_ = 0;
  std::vector<int32_t> count_;
  std::vector<uint64_t> key_xor_, check_xor_;
};

// REQUIRES (checked): both fingerprints have the same number of cells and key.
Result<PopulationDifference> ComparePopulations(const PopulationFingerprint& a,
                                                const PopulationFingerprint& b);

struct StoredFingerprint {
  std::string study_id;
  std::vector<uint8_t> fingerprint;  // PopulationFingerprint::Serialize()
  int64_t time_micros = 0;
};

// Where a node keeps the recent fingerprints of each project (its SQLite state in production).
class FingerprintStore {
 public:
  virtual ~FingerprintStore() = default;
  // The most recent `limit` fingerprints of the project, newest first.
  virtual Result<std::vector<StoredFingerprint>> Recent(std::string_view node_id,
                                                        std::string_view project_id,
                                                        size_t limit) = 0;
  // Adds one and forgets all but the newest `keep` of the project.
  virtual Status Add(std::string_view node_id, std::string_view project_id,
                     const StoredFingerprint& fingerprint, size_t keep) = 0;
};

class InMemoryFingerprintStore final : public FingerprintStore {
 public:
  Result<std::vector<StoredFingerprint>> Recent(std::string_view node_id,
                                                std::string_view project_id, size_t limit) override;
  Status Add(std::string_view node_id, std::string_view project_id,
             const StoredFingerprint& fingerprint, size_t keep) override;

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::vector<StoredFingerprint>> by_project_;
};

struct DifferencingOptions {
  // Smallest allowed non-zero difference between two populations of a project, in persons
  // (node policy `min_rows`). Identical populations are allowed (re-running a study).
  int64_t min_rows = 10;
  // Fingerprints kept per project; older ones are forgotten (bounded storage).
  size_t keep_per_project = 256;
};

class DifferencingGuard {
 public:
  DifferencingGuard(FingerprintStore& store, DifferencingOptions options)
      : store_(store), options_(options) {}

  // Refuses (kPermissionDenied) a population differing from a kept one of the project by
  // 1..min_rows-1 persons; otherwise records its fingerprint under `study_id`. The message names
  // the earlier study, never the size of the difference or any person.
  Status CheckAndRecord(std::string_view node_id, std::string_view project_id,
                        std::string_view study_id, const PopulationFingerprint& population,
                        int64_t time_micros);

 private:
  FingerprintStore& store_;
  DifferencingOptions options_;
};

}  // namespace passerelle::privacy
