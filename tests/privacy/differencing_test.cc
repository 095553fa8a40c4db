// Population fingerprints (IBLT) and the differencing guard, with the SQLite store.
#include <gtest/gtest.h>

#include <numeric>

#include "common/files.h"
#include "common/random.h"
#include "privacy/differencing.h"
#include "privacy/sqlite_state.h"

namespace passerelle::privacy {
namespace {

crypto::Bytes32 Key(uint8_t b) {
  crypto::Bytes32 k{};
  k.fill(b);
  return k;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> v(static_cast<size_t>(to - from));
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST(Fingerprint, SmallDifferencesDecodeExactly) {
  const uint32_t cells = PopulationFingerprint::DefaultCells(10);
  EXPECT_EQ(cells, 640u);
  Xoshiro256 g(7);
  int decoded = 0, trials = 2000;
  for (int t = 0; t < trials; ++t) {
    const int64_t n = 50 + static_cast<int64_t>(g.Below(250));
    std::vector<int64_t> a = Range(0, n);
    // Remove r persons and add s new ones, r + s in 1..9.
    const int64_t r = static_cast<int64_t>(g.Below(6)), s = 1 + static_cast<int64_t>(g.Below(4));
    std::vector<int64_t> b(a.begin() + r, a.end());
    for (int64_t i = 0; i < s; ++i) b.push_back(1000000 + t * 10 + i);
    auto fa = PopulationFingerprint::Build(Key(1), a, cells).value();
    auto fb = PopulationFingerprint::Build(Key(1), b, cells).value();
    auto d = ComparePopulations(fa, fb).value();
    if (d.decoded && d.only_first == r && d.only_second == s) ++decoded;
  }
  EXPECT_EQ(decoded, trials);
}

TEST(Fingerprint, IdenticalAndVeryDifferentPopulations) {
  const uint32_t cells = PopulationFingerprint::DefaultCells(10);
  auto a = PopulationFingerprint::Build(Key(1), Range(0, 5000), cells).value();
  auto same = PopulationFingerprint::Build(Key(1), Range(0, 5000), cells).value();
  auto d = ComparePopulations(a, same).value();
  EXPECT_TRUE(d.decoded);
  EXPECT_EQ(d.total(), 0);
  auto other = PopulationFingerprint::Build(Key(1), Range(2500, 7500), cells).value();
  EXPECT_FALSE(ComparePopulations(a, other).value().decoded);  // 5000 apart: too many to list
  // Duplicates count once; the order of ids does not matter.
  std::vector<int64_t> dup = Range(0, 5000);
  dup.push_back(17);
  std::reverse(dup.begin(), dup.end());
  auto fd = PopulationFingerprint::Build(Key(1), dup, cells).value();
  EXPECT_EQ(fd.population(), 5000);
  EXPECT_EQ(ComparePopulations(a, fd).value().total(), 0);
}

TEST(Fingerprint, SerialisesCompactlyAndRefusesOtherKeys) {
  const uint32_t cells = PopulationFingerprint::DefaultCells(10);
  auto a = PopulationFingerprint::Build(Key(1), Range(0, 100000), cells).value();
  auto bytes = a.Serialize();
  EXPECT_EQ(bytes.size(), 4 + 4 + 8 + 8 + 20u * cells);  // 12.8 KiB for 100000 persons
  auto back = PopulationFingerprint::Parse(bytes).value();
  EXPECT_EQ(back.population(), 100000);
  EXPECT_EQ(ComparePopulations(a, back).value().total(), 0);
  bytes.pop_back();
  EXPECT_FALSE(PopulationFingerprint::Parse(bytes).ok());
  auto k2 = PopulationFingerprint::Build(Key(2), Range(0, 100000), cells).value();
  EXPECT_FALSE(ComparePopulations(a, k2).ok());
  // String ids (e.g. pseudonyms) work the same way.
  std::vector<std::string> s{"a1", "b2", "c3"}, s2{"a1", "b2"};
  auto fs = PopulationFingerprint::BuildFromStrings(Key(1), s, 256).value();
  auto fs2 = PopulationFingerprint::BuildFromStrings(Key(1), s2, 256).value();
  auto d = ComparePopulations(fs, fs2).value();
  EXPECT_EQ(d.only_first, 1);
  EXPECT_EQ(d.only_second, 0);
  EXPECT_FALSE(PopulationFingerprint::Build(Key(1), Range(0, 3), 10).ok());
}

TEST(Differencing, GuardRefusesNearlyIdenticalPopulationsAndRemembersAcrossRestarts) {
  auto dir = TempDir::Create().value();
  const auto path = dir.path() / "state.db";
  const uint32_t cells = PopulationFingerprint::DefaultCells(10);
  auto fp = [&](std::vector<int64_t> ids) {
    return PopulationFingerprint::Build(Key(9), ids, cells).value();
  };
  {
    auto state = SqlitePrivacyState::Open(path).value();
    DifferencingGuard guard(*state, {.min_rows = 10});
    ASSERT_TRUE(guard.CheckAndRecord("n1", "P1", "study-1", fp(Range(0, 300)), 1).ok());
    // The same population again (a re-run) is fine.
    EXPECT_TRUE(guard.CheckAndRecord("n1", "P1", "study-2", fp(Range(0, 300)), 2).ok());
  }
  auto state = SqlitePrivacyState::Open(path).value();  // restart
  DifferencingGuard guard(*state, {.min_rows = 10});
  Status st = guard.CheckAndRecord("n1", "P1", "study-3", fp(Range(1, 300)), 3);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("earlier study study-"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(" 1 person"), std::string::npos);  // the size is not told
  // Ten persons apart is allowed; other projects have their own history.
  EXPECT_TRUE(guard.CheckAndRecord("n1", "P1", "study-4", fp(Range(10, 300)), 4).ok());
  EXPECT_TRUE(guard.CheckAndRecord("n1", "P2", "study-5", fp(Range(1, 300)), 5).ok());
  // Refused populations are not recorded; pruning keeps the newest.
  EXPECT_EQ(state->Recent("n1", "P1", 100).value().size(), 3u);
  DifferencingGuard small(*state, {.min_rows = 10, .keep_per_project = 2});
  EXPECT_TRUE(small.CheckAndRecord("n1", "P1", "study-6", fp(Range(500, 900)), 6).ok());
  auto kept = state->Recent("n1", "P1", 100).value();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].study_id, "study-6");
  EXPECT_EQ(kept[1].study_id, "study-4");
}

}  // namespace
}  // namespace passerelle::privacy
