// Dice kernels (each against a scalar reference and against each other), the threshold table,
// candidate search with and without blocking, threads, and the greedy one-to-one assignment.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/random.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/dice.h"
#include "privacy/pprl/match.h"

namespace passerelle::pprl {
namespace {

// Random CLKs of `bits` bits with density `density`; the first `planted` of B are noisy copies
// of A's rows so that there are pairs near and above usual thresholds.
void MakeSets(uint32_t bits, size_t na, size_t nb, size_t planted, double density, uint64_t seed,
              ClkSet* a, ClkSet* b) {
  ClkHeader h;
  h.bits = bits;
  *a = ClkSet(h);
  *b = ClkSet(h);
  Xoshiro256 g(seed);
  std::vector<uint64_t> w(bits / 64);
  auto random_clk = [&] {
    for (auto& x : w) {
      x = 0;
      for (int i = 0; i < 64; ++i) x |= static_cast<uint64_t>(g.NextDouble() < density) << i;
    }
  };
  for (size_t i = 0; i < na; ++i) {
    random_clk();
    const std::vector<uint64_t> key = {i % 7};
    a->Append(fmt::format("a{}", i), w, key);
  }
  for (size_t j = 0; j < nb; ++j) {
    if (j < planted && j < na) {
      const auto src = a->clk(j);
      const double noise = 0.02 + 0.3 * static_cast<double>(j) / static_cast<double>(planted);
      for (size_t k = 0; k < w.size(); ++k) {
        w[k] = src[k];
        for (int i = 0; i < 64; ++i) {
          if (g.NextDouble() < noise) w[k] ^= uint64_t{1} << i;
        }
      }
    } else {
      random_clk();
    }
    const std::vector<uint64_t> key = {j % 7};
    b->Append(fmt::format("b{}", j), w, key);
  }
}

std::vector<ScoredPair> BruteForce(const ClkSet& a, const ClkSet& b, double t) {
  std::vector<ScoredPair> out;
  for (uint32_t i = 0; i < a.size(); ++i) {
    for (uint32_t j = 0; j < b.size(); ++j) {
      const double d = DiceReference(a.clk(i), b.clk(j));
      if (d >= t) out.push_back({i, j, d});
    }
  }
  return out;
}

TEST(PprlDiceTest, KernelsAreDetectedAndNamed) {
  const auto kernels = AvailableDiceKernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(kernels.front(), DiceKernel::kPortable);
  EXPECT_TRUE(DiceKernelAvailable(BestDiceKernel()));
  for (DiceKernel k : kernels) EXPECT_EQ(ParseDiceKernel(DiceKernelName(k)).value(), k);
  EXPECT_FALSE(ParseDiceKernel("sse9").ok());
  std::string names;
  for (DiceKernel k : kernels) names += std::string(DiceKernelName(k)) + " ";
  ::testing::Test::RecordProperty("dice_kernels", names);
  std::printf("available Dice kernels: %s(best: %s)\n", names.c_str(),
              std::string(DiceKernelName(BestDiceKernel())).c_str());
}

TEST(PprlDiceTest, ThresholdTableMatchesTheFloatingPointDefinition) {
  for (double t : {0.8, 0.5, 0.95, 1.0, 0.123456789, 2.0 / 3.0}) {
    const DiceThreshold thr = DiceThreshold::Create(t, 256).value();
    for (uint32_t pa = 0; pa <= 256; pa += 3) {
      for (uint32_t pb = 0; pb <= 256; pb += 5) {
        for (uint32_t c = 0; c <= std::min(pa, pb); ++c) {
          ASSERT_EQ(thr.Passes(c, pa, pb), DiceScore(c, pa, pb) >= t)
              << "t=" << t << " pa=" << pa << " pb=" << pb << " c=" << c;
        }
      }
    }
  }
  EXPECT_FALSE(DiceThreshold::Create(0.0, 1024).ok());
  EXPECT_FALSE(DiceThreshold::Create(1.5, 1024).ok());
  // Two empty CLKs score 0, never a match.
  EXPECT_FALSE(DiceThreshold::Create(0.01, 64)->Passes(0, 0, 0));
}

TEST(PprlDiceTest, CommonBitsAgreeAcrossKernels) {
  for (uint32_t bits : {64u, 512u, 1024u, 1088u, 2048u, 16384u}) {
    ClkSet a, b;
    MakeSets(bits, 8, 8, 4, 0.4, bits, &a, &b);
    for (size_t i = 0; i < a.size(); ++i) {
      for (size_t j = 0; j < b.size(); ++j) {
        uint32_t ref = 0;
        for (size_t w = 0; w < a.words_per_clk(); ++w) {
          for (int k = 0; k < 64; ++k) ref += ((a.clk(i)[w] & b.clk(j)[w]) >> k) & 1;
        }
        for (DiceKernel k : AvailableDiceKernels()) {
          ASSERT_EQ(CommonBits(k, a.row(i), b.row(j), a.stride()), ref)
              << DiceKernelName(k) << " bits=" << bits;
        }
      }
    }
  }
}

TEST(PprlDiceTest, EveryKernelFindsExactlyTheReferencePairs) {
  struct Case {
    uint32_t bits;
    size_t na, nb;
    double density, threshold;
  };
  // Sizes not multiple of 4 (kernel tails) nor of the tile; strides with padding (1088 bits);
  // the largest CLK length; dense and sparse filters; thresholds on both sides of 0.8.
  const std::vector<Case> cases = {{1024, 70, 2111, 0.35, 0.8}, {1024, 33, 301, 0.6, 0.75},
                                   {512, 41, 517, 0.3, 0.8},    {1088, 29, 203, 0.4, 0.8},
                                   {2048, 19, 131, 0.45, 0.85}, {64, 50, 403, 0.3, 0.6},
                                   {16384, 5, 9, 0.5, 0.9},     {1024, 20, 97, 0.02, 0.5}};
  for (const Case& c : cases) {
    ClkSet a, b;
    MakeSets(c.bits, c.na, c.nb, c.na, c.density, c.bits + c.na, &a, &b);
    const auto ref = BruteForce(a, b, c.threshold);
    ASSERT_FALSE(ref.empty()) << "case bits=" << c.bits;
    for (DiceKernel k : AvailableDiceKernels()) {
      MatchOptions o;
      o.threshold = c.threshold;
      o.kernel = k;
      o.threads = 1;
      auto got = FindCandidates(a, b, o);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, ref) << DiceKernelName(k) << " bits=" << c.bits << " na=" << c.na;
    }
  }
}

TEST(PprlDiceTest, ScoresExactlyAtTheThresholdPass) {
  // pa = pb = 10 and 8 bits in common: Dice 0.8 exactly.
  ClkHeader h;
  h.bits = 1024;
  ClkSet a(h), b(h);
  std::vector<uint64_t> x(16, 0), y(16, 0);
  x[3] = 0x3FF;                   // 10 bits
  y[3] = 0x0FF | (0x3ULL << 20);  // 8 shared + 2 others
  a.Append("x", x, {});
  for (int i = 0; i < 9; ++i)
    b.Append(fmt::format("y{}", i), i == 6 ? y : std::vector<uint64_t>(16, 0), {});
  for (DiceKernel k : AvailableDiceKernels()) {
    MatchOptions o;
    o.kernel = k;
    o.threshold = 0.8;
    auto got = FindCandidates(a, b, o);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u) << DiceKernelName(k);
    EXPECT_EQ((*got)[0].b, 6u);
    EXPECT_EQ((*got)[0].score, 0.8);
    o.threshold = 0.8000001;
    EXPECT_TRUE(FindCandidates(a, b, o)->empty()) << DiceKernelName(k);
  }
}

TEST(PprlMatchTest, ThreadsDoNotChangeTheResult) {
  ClkSet a, b;
  MakeSets(1024, 300, 700, 300, 0.4, 77, &a, &b);
  MatchOptions o;
  o.threshold = 0.7;
  o.threads = 1;
  const auto one = FindCandidates(a, b, o).value();
  o.threads = 3;
  MatchStats stats;
  const auto three = FindCandidates(a, b, o, &stats).value();
  EXPECT_EQ(one, three);
  EXPECT_EQ(stats.threads, 3);
  EXPECT_EQ(stats.comparisons, 300u * 700u);
  EXPECT_EQ(stats.candidates, one.size());
}

TEST(PprlMatchTest, GreedyOneToOneTakesBestScoresFirst) {
  std::vector<ScoredPair> c = {{0, 0, 0.90}, {0, 1, 0.95}, {1, 1, 0.85}, {1, 0, 0.88},
                               {2, 2, 0.81}, {3, 2, 0.81}, {2, 3, 0.80}};
  const auto got = GreedyOneToOne(c);
  // (0,1) 0.95 first; then (0,0) is taken by row 0, (1,0) 0.88 is free; (1,1) is blocked;
  // the tie (2,2)/(3,2) goes to the lower A row; (2,3) is blocked by row 2.
  const std::vector<ScoredPair> want = {{0, 1, 0.95}, {1, 0, 0.88}, {2, 2, 0.81}};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(GreedyOneToOne({}).empty());
}

TEST(PprlMatchTest, BlockingComparesFewerPairsAndFindsASubset) {
  ClkSet a, b;
  MakeSets(1024, 400, 900, 400, 0.4, 5, &a, &b);
  MatchOptions o;
  o.threshold = 0.75;
  MatchStats all_stats;
  const auto all = FindCandidates(a, b, o, &all_stats).value();
  const std::set<std::pair<uint32_t, uint32_t>> all_set = [&] {
    std::set<std::pair<uint32_t, uint32_t>> s;
    for (auto& p : all) s.insert({p.a, p.b});
    return s;
  }();
  for (const char* spec : {"keys", "lsh", "lsh:40:10"}) {
    o.blocking = ParseBlockingOptions(spec).value();
    MatchStats stats;
    const auto got = FindCandidates(a, b, o, &stats);
    ASSERT_TRUE(got.ok()) << spec << ": " << got.status().ToString();
    EXPECT_LT(stats.comparisons, all_stats.comparisons / 2) << spec;
    for (auto& p : *got) EXPECT_TRUE(all_set.count({p.a, p.b})) << spec;
    if (std::string(spec) == "keys") {
      // Keys are i % 7 and j % 7: exactly the pairs with equal residues are compared.
      size_t want = 0;
      for (auto& p : all) want += (p.a % 7) == (p.b % 7);
      EXPECT_EQ(got->size(), want);
    } else {
      // Planted near-copies (Dice >= 0.9) are found by LSH.
      size_t near = 0, found = 0;
      for (auto& p : all) {
        if (p.score < 0.9) continue;
        ++near;
        found += std::any_of(got->begin(), got->end(),
                             [&](const ScoredPair& q) { return q.a == p.a && q.b == p.b; });
      }
      EXPECT_GT(near, 20u);
      EXPECT_EQ(found, near) << spec;
    }
  }
  EXPECT_FALSE(ParseBlockingOptions("lsh:0:3").ok());
  EXPECT_FALSE(ParseBlockingOptions("soundex").ok());
}

TEST(PprlMatchTest, KeysBlockingNeedsKeysAndTooManyCandidatesIsAnError) {
  ClkHeader h;
  h.bits = 64;
  ClkSet a(h), b(h);
  std::vector<uint64_t> ones(1, ~uint64_t{0});
  for (int i = 0; i < 10; ++i) {
    a.Append(fmt::format("a{}", i), ones, {});
    b.Append(fmt::format("b{}", i), ones, {});
  }
  MatchOptions o;
  o.blocking.kind = BlockingOptions::Kind::kKeys;
  EXPECT_EQ(FindCandidates(a, b, o).status().code(), StatusCode::kFailedPrecondition);
  o.blocking.kind = BlockingOptions::Kind::kNone;
  o.max_candidates = 50;
  EXPECT_EQ(FindCandidates(a, b, o).status().code(), StatusCode::kResourceExhausted);
  o.max_candidates = 100;
  EXPECT_EQ(FindCandidates(a, b, o)->size(), 100u);
  o.threshold = 0;
  EXPECT_EQ(FindCandidates(a, b, o).status().code(), StatusCode::kInvalidArgument);
}

TEST(PprlMatchTest, PairsCsvNamesTheIdColumnAndQuotes) {
  ClkHeader h;
  h.bits = 64;
  h.id_name = "rec_id";
  ClkSet a(h), b(h);
  std::vector<uint64_t> w(1, 0xFF);
  a.Append("a,1", w, {});
  b.Append("b\"2", w, {});
  EXPECT_EQ(PairsCsv(a, b, {{0, 0, 1.0}}),
            "a_rec_id,b_rec_id,score\n\"a,1\",\"b\"\"2\",1.000000\n");
}

}  // namespace
}  // namespace passerelle::pprl
