// Matching two sets of CLKs: candidate pairs whose Dice similarity reaches a threshold (over all
// pairs, or within blocks), then a greedy one-to-one assignment. This is the linkage unit's part:
// it needs the CLKs only, never the key or the identities, so the hub can run it.
//
// All pairs: rows of A are cut into blocks that worker threads take in turn; each thread scans its
// block against B tile by tile (tiles of B stay in the core's L2 cache while the block's rows pass)
// with the fastest Dice kernel the CPU has (dice.h).
// Blocking (optional): only pairs that share a blocking key are compared:
//   kKeys  the keyed blocking keys stored in the CLK files (the schema's "blocking" section);
//   kLsh   Hamming LSH on the CLKs themselves (Indyk and Motwani 1998): `lsh_tables` tables, each
//          keyed by `lsh_bits` CLK bit positions drawn from a public seed; needs nothing from the
//          encoder, at some cost in recall (docs/pprl.md gives FEBRL figures).
// One-to-one: candidates sorted by score (descending, ties by A row then B row), a pair is kept
// when neither of its records is taken yet (greedy solution, as in anonlink).
//
// Thread-safety: functions are reentrant; they start and join their own threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/dice.h"

namespace passerelle::pprl {

struct BlockingOptions {
  enum class Kind { kNone, kKeys, kLsh };
  Kind kind = Kind::kNone;
  int lsh_tables = 96;    // kLsh: number of hash tables
  int lsh_bits = 14;      // kLsh: CLK bits sampled per table, 1..64
  uint64_t lsh_seed = 1;  // kLsh: seed of the sampled positions (public; both sides use the same)
};

// "none", "keys", "lsh" or "lsh:TABLES:BITS".
Result<BlockingOptions> ParseBlockingOptions(std::string_view spec);

struct MatchOptions {
  double threshold = 0.8;  // Dice similarity a pair must reach, in (0, 1]
  int threads = 0;         // worker threads; 0 = every core
  DiceKernel kernel = DiceKernel::kAuto;
  BlockingOptions blocking;
  bool one_to_one = true;  // greedy one-to-one assignment of the candidates
  // Refuse (kResourceExhausted) rather than hold more candidate pairs than this (memory guard:
  // 16 bytes each).
  size_t max_candidates = 100'000'000;
};

// A pair of rows (index in A, index in B) and its Dice score.
struct ScoredPair {
  uint32_t a = 0;
  uint32_t b = 0;
  double score = 0.0;
  friend bool operator==(const ScoredPair&, const ScoredPair&) = default;
};

struct MatchStats {
  uint64_t comparisons = 0;  // Dice coefficients computed
  uint64_t candidates = 0;   // pairs at or above the threshold
  DiceKernel kernel = DiceKernel::kPortable;
  int threads = 1;
};

// Every pair at or above the threshold, sorted by A row then B row.
// REQUIRES: CheckComparable(a, b) is OK (checked: same CLK length at least).
Result<std::vector<ScoredPair>> FindCandidates(const ClkSet& a, const ClkSet& b,
                                               const MatchOptions& options,
                                               MatchStats* stats = nullptr);

// Greedy one-to-one assignment (see above); the result is in decreasing score order.
std::vector<ScoredPair> GreedyOneToOne(std::vector<ScoredPair> candidates);

struct MatchResult {
  std::vector<ScoredPair> pairs;
  MatchStats stats;
};

// CheckComparable, FindCandidates, then GreedyOneToOne when options.one_to_one.
Result<MatchResult> Match(const ClkSet& a, const ClkSet& b, const MatchOptions& options);

// PAIRS.csv: header "a_<id>,b_<id>,score" (<id> = the schema's id column), one row per pair: the
// id of the record in A, the id of the record in B, the score with 6 decimals.
std::string PairsCsv(const ClkSet& a, const ClkSet& b, const std::vector<ScoredPair>& pairs);
Status WritePairsCsv(const std::filesystem::path& path, const ClkSet& a, const ClkSet& b,
                     const std::vector<ScoredPair>& pairs);

}  // namespace passerelle::pprl
