#include "privacy/pprl/match.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/files.h"
#include "common/random.h"

namespace passerelle::pprl {
namespace {

constexpr size_t kBlockRows = 64;   // rows of A per work unit
constexpr size_t kTileRows = 2048;  // rows of B per tile (256 KiB at 1024 bits)

int ThreadCount(int requested, size_t units) {
  int n = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  if (static_cast<size_t>(n) > units) n = static_cast<int>(std::max<size_t>(units, 1));
  return n;
}

// Runs work(thread_index, unit) for every unit in [0, units) on `threads` threads; stops handing
// out units once `stop` is set.
template <typename Work>
void ParallelUnits(int threads, size_t units, std::atomic<bool>& stop, Work work) {
  std::atomic<size_t> next{0};
  auto loop = [&](int t) {
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) return;
      const size_t u = next.fetch_add(1, std::memory_order_relaxed);
      if (u >= units) return;
      work(t, u);
    }
  };
  if (threads == 1) {
    loop(0);
    return;
  }
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(loop, t);
  for (auto& th : pool) th.join();
}

uint64_t Mix(uint64_t x) { return SplitMix64(x); }

// The blocking keys of every row of a set, flattened (offsets[i]..offsets[i+1]).
struct RowKeys {
  std::vector<uint64_t> keys;
  std::vector<size_t> offsets{0};
};

RowKeys KeysOf(const ClkSet& set, const BlockingOptions& opt,
               const std::vector<std::vector<uint32_t>>& lsh_positions) {
  RowKeys out;
  out.offsets.reserve(set.size() + 1);
  for (size_t i = 0; i < set.size(); ++i) {
    if (opt.kind == BlockingOptions::Kind::kKeys) {
      for (uint64_t k : set.block_keys(i)) out.keys.push_back(k);
    } else {
      const uint64_t* row = set.row(i);
      for (size_t t = 0; t < lsh_positions.size(); ++t) {
        uint64_t v = 0;
        for (uint32_t p : lsh_positions[t]) v = (v << 1) | ((row[p / 64] >> (p % 64)) & 1);
        out.keys.push_back(Mix(v ^ Mix(t + 1)));
      }
    }
    out.offsets.push_back(out.keys.size());
  }
  return out;
}

}  // namespace

Result<BlockingOptions> ParseBlockingOptions(std::string_view spec) {
  BlockingOptions o;
  if (spec == "none" || spec.empty()) return o;
  if (spec == "keys") {
    o.kind = BlockingOptions::Kind::kKeys;
    return o;
  }
  if (spec.substr(0, 3) == "lsh") {
    o.kind = BlockingOptions::Kind::kLsh;
    if (spec.size() == 3) return o;
    int tables = 0, bits = 0;
    char tail = 0;
    const std::string s(spec);
    if (std::sscanf(s.c_str(), "lsh:%d:%d%c", &tables, &bits, &tail) == 2 && tables >= 1 &&
        tables <= 1024 && bits >= 1 && bits <= 64) {
      o.lsh_tables = tables;
      o.lsh_bits = bits;
      return o;
    }
  }
  return Status::InvalidArgument(fmt::format(
      "--blocking \"{}\": use none, keys, lsh or lsh:TABLES:BITS (1..1024 tables, 1..64 bits)",
      spec));
}

Result<std::vector<ScoredPair>> FindCandidates(const ClkSet& a, const ClkSet& b,
                                               const MatchOptions& options, MatchStats* stats) {
  if (a.header().bits != b.header().bits) {
    return Status::FailedPrecondition("the CLK sets have different lengths");
  }
  if (a.size() > UINT32_MAX || b.size() > UINT32_MAX) {
    return Status::OutOfRange("more than 2^32 records in one set");
  }
  DiceKernel kernel = options.kernel == DiceKernel::kAuto ? BestDiceKernel() : options.kernel;
  if (!DiceKernelAvailable(kernel)) {
    return Status::FailedPrecondition(
        fmt::format("this CPU cannot run the {} kernel", DiceKernelName(kernel)));
  }
  ASSIGN_OR_RETURN(DiceThreshold thr, DiceThreshold::Create(options.threshold, a.header().bits));
  const size_t stride = a.stride();
  const size_t na = a.size();
  const size_t nb = b.size();
  const size_t units = (na + kBlockRows - 1) / kBlockRows;
  const int threads = ThreadCount(options.threads, units);
  std::vector<std::vector<ScoredPair>> found(threads);
  std::vector<uint64_t> comparisons(threads, 0);
  std::atomic<size_t> total{0};
  std::atomic<bool> stop{false};
  auto keep = [&](int t, uint32_t i, uint32_t j, uint32_t c) {
    found[t].push_back({i, j, DiceScore(c, a.popcount(i), b.popcount(j))});
    if (total.fetch_add(1, std::memory_order_relaxed) + 1 > options.max_candidates) {
      stop.store(true);
    }
  };

  if (options.blocking.kind == BlockingOptions::Kind::kNone) {
    // Lower bound of the popcounts of each tile of B, for the kernels' prefilter.
    const size_t tiles = (nb + kTileRows - 1) / kTileRows;
    std::vector<uint16_t> tile_min(tiles, 0);
    for (size_t t = 0; t < tiles; ++t) {
      const size_t end = std::min(nb, (t + 1) * kTileRows);
      tile_min[t] =
          *std::min_element(b.popcounts().begin() + t * kTileRows, b.popcounts().begin() + end);
    }
    std::vector<std::vector<uint32_t>> out_j(threads, std::vector<uint32_t>(kTileRows));
    std::vector<std::vector<uint16_t>> out_c(threads, std::vector<uint16_t>(kTileRows));
    ParallelUnits(threads, units, stop, [&](int th, size_t unit) {
      const size_t a0 = unit * kBlockRows;
      const size_t a1 = std::min(na, a0 + kBlockRows);
      for (size_t t = 0; t < tiles; ++t) {
        const size_t b0 = t * kTileRows;
        DiceScanInput in;
        in.b = b.row(b0);
        in.pb = b.popcounts().data() + b0;
        in.nb = std::min(nb, b0 + kTileRows) - b0;
        in.stride = stride;
        for (size_t i = a0; i < a1; ++i) {
          in.a = a.row(i);
          in.pa = a.popcount(i);
          in.need_a = thr.need() + in.pa;
          in.min_need = in.need_a[tile_min[t]];
          const size_t n = DiceScan(kernel, in, out_j[th].data(), out_c[th].data());
          for (size_t k = 0; k < n; ++k) {
            keep(th, static_cast<uint32_t>(i), static_cast<uint32_t>(b0 + out_j[th][k]),
                 out_c[th][k]);
          }
        }
        comparisons[th] += (a1 - a0) * in.nb;
      }
    });
  } else {
    const BlockingOptions& bo = options.blocking;
    if (bo.kind == BlockingOptions::Kind::kKeys && (!a.has_block_keys() || !b.has_block_keys())) {
      return Status::FailedPrecondition(
          "--blocking keys: the CLK files carry no blocking keys; add a \"blocking\" section to "
          "the schema and encode again, or use --blocking lsh");
    }
    std::vector<std::vector<uint32_t>> lsh_positions;
    if (bo.kind == BlockingOptions::Kind::kLsh) {
      if (bo.lsh_bits < 1 || bo.lsh_bits > 64 || bo.lsh_tables < 1) {
        return Status::InvalidArgument("LSH blocking needs 1..64 bits and at least one table");
      }
      Xoshiro256 gen(bo.lsh_seed);
      std::vector<uint32_t> all(a.header().bits);
      for (uint32_t p = 0; p < all.size(); ++p) all[p] = p;
      for (int t = 0; t < bo.lsh_tables; ++t) {
        // Partial Fisher-Yates: the first lsh_bits entries are a sample without replacement.
        for (int k = 0; k < bo.lsh_bits; ++k) {
          const size_t r = k + gen.Below(all.size() - k);
          std::swap(all[k], all[r]);
        }
        lsh_positions.emplace_back(all.begin(), all.begin() + bo.lsh_bits);
      }
    }
    const RowKeys ka = KeysOf(a, bo, lsh_positions);
    const RowKeys kb = KeysOf(b, bo, lsh_positions);
    std::unordered_map<uint64_t, std::vector<uint32_t>> index;
    index.reserve(kb.keys.size());
    for (size_t j = 0; j < nb; ++j) {
      for (size_t k = kb.offsets[j]; k < kb.offsets[j + 1]; ++k) {
        index[kb.keys[k]].push_back(static_cast<uint32_t>(j));
      }
    }
    std::vector<std::vector<uint32_t>> seen(threads, std::vector<uint32_t>(nb, 0));
    ParallelUnits(threads, units, stop, [&](int th, size_t unit) {
      const size_t a0 = unit * kBlockRows;
      const size_t a1 = std::min(na, a0 + kBlockRows);
      std::vector<uint32_t>& mark = seen[th];
      for (size_t i = a0; i < a1; ++i) {
        const uint32_t stamp = static_cast<uint32_t>(i) + 1;
        const uint16_t* need_a = thr.need() + a.popcount(i);
        for (size_t k = ka.offsets[i]; k < ka.offsets[i + 1]; ++k) {
          auto it = index.find(ka.keys[k]);
          if (it == index.end()) continue;
          for (uint32_t j : it->second) {
            if (mark[j] == stamp) continue;
            mark[j] = stamp;
            ++comparisons[th];
            const uint32_t c = CommonBits(kernel, a.row(i), b.row(j), stride);
            if (c >= need_a[b.popcount(j)]) keep(th, static_cast<uint32_t>(i), j, c);
          }
        }
      }
    });
  }

  if (stop.load()) {
    return Status::ResourceExhausted(fmt::format(
        "more than {} candidate pairs reach the threshold {}; raise the threshold or use "
        "blocking",
        options.max_candidates, options.threshold));
  }
  std::vector<ScoredPair> all;
  all.reserve(total.load());
  for (auto& f : found) all.insert(all.end(), f.begin(), f.end());
  std::sort(all.begin(), all.end(), [](const ScoredPair& x, const ScoredPair& y) {
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
  if (stats != nullptr) {
    stats->comparisons = 0;
    for (uint64_t c : comparisons) stats->comparisons += c;
    stats->candidates = all.size();
    stats->kernel = kernel;
    stats->threads = threads;
  }
  return all;
}

std::vector<ScoredPair> GreedyOneToOne(std::vector<ScoredPair> candidates) {
  std::sort(candidates.begin(), candidates.end(), [](const ScoredPair& x, const ScoredPair& y) {
    if (x.score != y.score) return x.score > y.score;
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
  uint32_t max_a = 0, max_b = 0;
  for (const ScoredPair& p : candidates) {
    max_a = std::max(max_a, p.a);
    max_b = std::max(max_b, p.b);
  }
  std::vector<bool> used_a(candidates.empty() ? 0 : max_a + 1u, false);
  std::vector<bool> used_b(candidates.empty() ? 0 : max_b + 1u, false);
  std::vector<ScoredPair> out;
  for (const ScoredPair& p : candidates) {
    if (used_a[p.a] || used_b[p.b]) continue;
    used_a[p.a] = true;
    used_b[p.b] = true;
    out.push_back(p);
  }
  return out;
}

Result<MatchResult> Match(const ClkSet& a, const ClkSet& b, const MatchOptions& options) {
  RETURN_IF_ERROR(CheckComparable(a, b));
  MatchResult r;
  ASSIGN_OR_RETURN(std::vector<ScoredPair> cands, FindCandidates(a, b, options, &r.stats));
  r.pairs = options.one_to_one ? GreedyOneToOne(std::move(cands)) : std::move(cands);
  return r;
}

namespace {

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string PairsCsv(const ClkSet& a, const ClkSet& b, const std::vector<ScoredPair>& pairs) {
  const std::string ida = a.header().id_name.empty() ? "id" : a.header().id_name;
  const std::string idb = b.header().id_name.empty() ? "id" : b.header().id_name;
  std::string out = CsvField("a_" + ida) + "," + CsvField("b_" + idb) + ",score\n";
  for (const ScoredPair& p : pairs) {
    out += fmt::format("{},{},{:.6f}\n", CsvField(a.id(p.a)), CsvField(b.id(p.b)), p.score);
  }
  return out;
}

Status WritePairsCsv(const std::filesystem::path& path, const ClkSet& a, const ClkSet& b,
                     const std::vector<ScoredPair>& pairs) {
  return WriteFileAtomic(path, PairsCsv(a, b, pairs));
}

}  // namespace passerelle::pprl
