// Accuracy on FEBRL 4 (dataset4a.csv vs dataset4b.csv, 5000 records each, 5000 true one-to-one
// matches: the same rec-N number), encoded with examples/pprl/febrl-schema.json (soc_sec_id left
// out), 1024-bit CLKs, threshold 0.8, greedy one-to-one. The bar is clkhash's published figure:
// precision 1.000 and recall 0.992.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "pprl_test_util.h"
#include "privacy/pprl/encode_source.h"
#include "privacy/pprl/encoder.h"
#include "privacy/pprl/match.h"

namespace passerelle::pprl {
namespace {

const std::string kData = PASSERELLE_SHARED_DATA;
const std::string kSchema = std::string(PASSERELLE_SOURCE_DIR) + "/examples/pprl/febrl-schema.json";

// "rec-1070-org" and "rec-1070-dup-0" name the same person.
std::string PersonOf(const std::string& id) {
  const size_t a = id.find('-');
  const size_t b = id.find('-', a + 1);
  return id.substr(a + 1, b - a - 1);
}

struct Quality {
  size_t pairs = 0, true_pairs = 0;
  double precision = 0, recall = 0;
  uint64_t comparisons = 0;
};

Quality Evaluate(const ClkSet& a, const ClkSet& b, const MatchOptions& opts) {
  Result<MatchResult> r = Match(a, b, opts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  Quality q;
  if (!r.ok()) return q;
  q.pairs = r->pairs.size();
  for (const ScoredPair& p : r->pairs) q.true_pairs += PersonOf(a.id(p.a)) == PersonOf(b.id(p.b));
  q.precision = q.pairs == 0 ? 0 : static_cast<double>(q.true_pairs) / q.pairs;
  q.recall = static_cast<double>(q.true_pairs) / 5000.0;
  q.comparisons = r->stats.comparisons;
  return q;
}

class PprlFebrlTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(PprlFebrlTest, PrecisionAndRecallReachClkhashFigures) {
  Result<LinkageSchema> schema = ReadSchemaFile(kSchema);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  ASSERT_EQ(schema->bits, 1024);
  for (const FieldSpec& f : schema->fields) EXPECT_NE(f.column, "soc_sec_id");
  const LinkageKey key = testing::TestKey(GetParam());
  Result<Encoder> enc = Encoder::Create(*schema, key);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EncodeReport report;
  Result<ClkSet> a = EncodeCsvFile(*enc, kData + "/febrl/dataset4a.csv", ',', &report);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Result<ClkSet> b = EncodeCsvFile(*enc, kData + "/febrl/dataset4b.csv");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(a->size(), 5000u);
  ASSERT_EQ(b->size(), 5000u);
  EXPECT_EQ(report.records, 5000u);
  EXPECT_EQ(report.fields[0].missing, 112u);  // given_name: empty cells of dataset4a

  MatchOptions opts;
  opts.threshold = 0.8;
  const Quality all = Evaluate(*a, *b, opts);
  std::printf(
      "FEBRL 4a/4b, key %llu, 1024-bit CLKs, threshold 0.8: %zu pairs, %zu true, "
      "precision %.4f, recall %.4f (%llu comparisons)\n",
      static_cast<unsigned long long>(GetParam()), all.pairs, all.true_pairs, all.precision,
      all.recall, static_cast<unsigned long long>(all.comparisons));
  EXPECT_EQ(all.comparisons, 25000000u);
  EXPECT_GE(all.precision, 1.000);
  EXPECT_GE(all.recall, 0.992);

  // Blocking on the schema's keyed blocking keys: a few percent of the comparisons, nearly the
  // same recall.
  opts.blocking.kind = BlockingOptions::Kind::kKeys;
  const Quality blocked = Evaluate(*a, *b, opts);
  std::printf("  with --blocking keys: %llu comparisons, precision %.4f, recall %.4f\n",
              static_cast<unsigned long long>(blocked.comparisons), blocked.precision,
              blocked.recall);
  EXPECT_LT(blocked.comparisons, 25000000u / 50);
  EXPECT_GE(blocked.precision, 1.000);
  EXPECT_GE(blocked.recall, 0.99);
}

// Two unrelated keys: the figures must not depend on one lucky key.
INSTANTIATE_TEST_SUITE_P(Keys, PprlFebrlTest, ::testing::Values(uint64_t{2024}, uint64_t{7}));

}  // namespace
}  // namespace passerelle::pprl
