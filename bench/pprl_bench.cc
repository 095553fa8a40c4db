// All-pairs Dice on 1024-bit CLKs at threshold 0.8: comparisons per second per core for each
// popcount kernel this CPU can run, and the ratio to a plain scalar popcount loop measured in the
// same run (the named baseline). Default: 100k x 100k (10^10 comparisons per kernel).
//
// Rates are comparisons per CPU second of the measuring thread (CLOCK_THREAD_CPUTIME_ID), so
// that they mean "per core" even on a machine shared with other work; wall-clock rates are printed
// beside them. Every kernel is measured single-threaded through the library's real matching path
// (pprl::FindCandidates: tiling, threshold test, candidate collection). A kernel or the baseline
// whose estimated time for the full size exceeds --budget seconds is measured on a prefix of the
// A rows against all of B and its rate extrapolated; the output says so on its line.
//
// Flags: --n N (records per side), --rows-a R (rows of A for every measurement; default N),
// --budget S (seconds per measurement before falling back to a prefix; default 120),
// --threads T (also measure the best kernel on T threads; default 0 = skip), --quick (n = 20000).
#include <fmt/format.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/random.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/dice.h"
#include "privacy/pprl/match.h"

using namespace passerelle;
using namespace passerelle::pprl;

namespace {

constexpr uint32_t kBits = 1024;
constexpr double kThreshold = 0.8;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds used by the calling thread: a per-core rate that stays meaningful on a machine
// shared with other work (wall-clock rates are printed too).
double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// n random CLKs with 37.5% of bits set; the first `planted` CLKs of B are noisy copies of A's
// (each set bit cleared with probability 1/16: Dice about 0.97), so that the candidate path is
// exercised too.
void MakeSets(size_t n, size_t planted, ClkSet* a, ClkSet* b) {
  ClkHeader h;
  h.bits = kBits;
  *a = ClkSet(h);
  *b = ClkSet(h);
  a->Reserve(n);
  b->Reserve(n);
  Xoshiro256 gen(20240917);
  std::vector<uint64_t> w(kBits / 64), v(kBits / 64);
  for (size_t i = 0; i < n; ++i) {
    for (auto& x : w) x = gen() & (gen() | gen());  // P(bit) = 1/2 * 3/4
    a->Append(std::to_string(i), w, {});
  }
  for (size_t i = 0; i < n; ++i) {
    if (i < planted) {
      const auto src = a->clk(i);
      for (size_t k = 0; k < v.size(); ++k) v[k] = src[k] & ~(gen() & gen() & gen() & gen());
    } else {
      for (auto& x : v) x = gen() & (gen() | gen());
    }
    b->Append(std::to_string(i), v, {});
  }
}

// The named baseline: a plain scalar loop, popcount of the AND word by word, the Dice
// coefficient in floating point, compared with the threshold. Compiled for POPCNT where the CPU
// has it (so that the ratio is against hardware popcount, not a library call).
#if defined(__x86_64__)
__attribute__((target("popcnt")))
#endif
uint64_t
ScalarBaseline(const ClkSet& a, size_t rows_a, const ClkSet& b) {
  uint64_t found = 0;
  const size_t words = a.words_per_clk();
  for (size_t i = 0; i < rows_a; ++i) {
    const uint64_t* x = a.row(i);
    const uint32_t pa = a.popcount(i);
    for (size_t j = 0; j < b.size(); ++j) {
      const uint64_t* y = b.row(j);
      uint32_t c = 0;
      for (size_t k = 0; k < words; ++k)
        c += static_cast<uint32_t>(__builtin_popcountll(x[k] & y[k]));
      if (2.0 * c / static_cast<double>(pa + b.popcount(j)) >= kThreshold) ++found;
    }
  }
  return found;
}

// A prefix of A's rows (a copy: FindCandidates takes whole sets).
ClkSet Prefix(const ClkSet& a, size_t rows) {
  ClkSet out(a.header());
  out.Reserve(rows);
  for (size_t i = 0; i < rows; ++i) out.Append(a.id(i), a.clk(i), {});
  return out;
}

struct Measure {
  double rate = 0;       // comparisons per CPU second of the measuring thread
  double wall_rate = 0;  // comparisons per wall-clock second
  uint64_t found = 0;
  size_t rows = 0;
};

template <typename Run>
Measure Timed(size_t rows, size_t nb, Run run) {
  const double t0 = Now();
  const double c0 = ThreadCpu();
  Measure m;
  m.found = run(rows);
  const double cmp = static_cast<double>(rows) * static_cast<double>(nb);
  m.rate = cmp / (ThreadCpu() - c0);
  m.wall_rate = cmp / (Now() - t0);
  m.rows = rows;
  return m;
}

// Measures on all `rows_a` rows, or on a prefix when a calibration run predicts more than
// `budget` seconds.
template <typename Run>
Measure Adaptive(size_t rows_a, size_t nb, double budget, Run run) {
  const size_t probe = std::min<size_t>(rows_a, 64);
  const Measure p = Timed(probe, nb, run);
  const double predicted = static_cast<double>(rows_a) * static_cast<double>(nb) / p.wall_rate;
  if (predicted <= budget) return Timed(rows_a, nb, run);
  size_t rows = static_cast<size_t>(budget * p.wall_rate / static_cast<double>(nb));
  rows = std::max<size_t>(rows / 64 * 64, 64);
  return Timed(std::min(rows, rows_a), nb, run);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per measurement, as it is made
  size_t n = 100000;
  size_t rows_a = 0;
  double budget = 120;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--n") {
      n = std::strtoull(value(), nullptr, 10);
    } else if (arg == "--rows-a") {
      rows_a = std::strtoull(value(), nullptr, 10);
    } else if (arg == "--budget") {
      budget = std::strtod(value(), nullptr);
    } else if (arg == "--threads") {
      threads = std::atoi(value());
    } else if (arg == "--quick") {
      n = 20000;
    } else {
      std::fprintf(stderr,
                   "usage: pprl_bench [--n N] [--rows-a R] [--budget S] [--threads T] [--quick]\n");
      return 2;
    }
  }
  if (n < 64) n = 64;
  if (rows_a == 0 || rows_a > n) rows_a = n;

  ClkSet a, b;
  MakeSets(n, n / 100, &a, &b);
  std::printf(
      "pprl_bench: all-pairs Dice, %u-bit CLKs, threshold %.1f, %zu x %zu (%.3g "
      "comparisons per measurement at full size), single-threaded per kernel\n",
      kBits, kThreshold, rows_a, n, static_cast<double>(rows_a) * static_cast<double>(n));

  const Measure base =
      Adaptive(rows_a, n, budget, [&](size_t rows) { return ScalarBaseline(a, rows, b); });
  auto note = [&](const Measure& m) {
    return m.rows < rows_a
               ? fmt::format("  (measured on {} of {} A rows, extrapolated)", m.rows, rows_a)
               : std::string();
  };
  std::printf("  %-24s %8.1f M comparisons/s/core (wall %7.1f)   ratio 1.00%s\n",
              "baseline (scalar loop)", base.rate / 1e6, base.wall_rate / 1e6, note(base).c_str());

  for (DiceKernel k : AvailableDiceKernels()) {
    MatchOptions opts;
    opts.threshold = kThreshold;
    opts.threads = 1;
    opts.kernel = k;
    opts.one_to_one = false;
    const Measure m = Adaptive(rows_a, n, budget, [&](size_t rows) -> uint64_t {
      const ClkSet pa = rows == a.size() ? ClkSet() : Prefix(a, rows);
      auto r = FindCandidates(rows == a.size() ? a : pa, b, opts);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().message().c_str());
        std::exit(1);
      }
      return r->size();
    });
    std::printf("  %-24s %8.1f M comparisons/s/core (wall %7.1f)   ratio %.2f%s\n",
                fmt::format("kernel {}", DiceKernelName(k)).c_str(), m.rate / 1e6,
                m.wall_rate / 1e6, m.rate / base.rate, note(m).c_str());
    if (m.rows == base.rows && m.found != base.found) {
      std::printf("  MISMATCH: kernel %s found %llu pairs, the baseline %llu\n",
                  std::string(DiceKernelName(k)).c_str(), static_cast<unsigned long long>(m.found),
                  static_cast<unsigned long long>(base.found));
      return 1;
    }
  }

  if (threads > 0) {
    MatchOptions opts;
    opts.threshold = kThreshold;
    opts.threads = threads;
    opts.one_to_one = false;
    const double t0 = Now();
    auto r = FindCandidates(a, b, opts);
    const double secs = Now() - t0;
    if (!r.ok()) return 1;
    std::printf("  best kernel (%s) on %d threads: %.1f M comparisons/s in total, %.2f s\n",
                std::string(DiceKernelName(BestDiceKernel())).c_str(), threads,
                static_cast<double>(a.size()) * static_cast<double>(b.size()) / secs / 1e6, secs);
  }
  std::printf("  target: >= 300 M comparisons/s/core (anonlink publishes 113-139 M)\n");
  return 0;
}
