// Linkage keys, schemas, CLK encoding, hardening and the CLK file format.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/random.h"
#include "pprl_test_util.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/dice.h"
#include "privacy/pprl/encoder.h"
#include "privacy/pprl/key.h"
#include "privacy/pprl/match.h"
#include "privacy/pprl/schema.h"

namespace passerelle::pprl {
namespace {

using testing::PersonSchema;
using testing::TestKey;
using Record = std::vector<std::optional<std::string_view>>;

const std::vector<std::string> kGiven = {"Marie", "Jean",   "Élodie", "François", "Hélène",
                                         "Noël",  "Chloé",  "Gaëtan", "Zoé",      "Jérôme",
                                         "Anaïs", "Benoît", "Renée",  "Loïc",     "Cécile"};
const std::vector<std::string> kFamily = {
    "Tremblay", "Gagnon", "Roy",     "Côté",     "Bouchard", "Gauthier",  "Morin",   "Lavoie",
    "Fortin",   "Gagné",  "Ouellet", "Bélanger", "Lévesque", "Bergeron",  "Leblanc", "Paquette",
    "Girard",   "Simard", "Dubé",    "Poirier",  "Lefebvre", "St-Pierre", "Hébert",  "Lachance"};
const std::vector<std::string> kCity = {"Montréal", "Québec",   "Trois-Rivières", "Lyon",
                                        "Paris",    "Rimouski", "Saint-Étienne",  "Nantes"};

struct Person {
  std::string given, family, birth, city;
  Record AsRecord() const { return {given, family, birth, city}; }
};

std::vector<Person> People(size_t n, uint64_t seed) {
  Xoshiro256 g(seed);
  std::vector<Person> out;
  for (size_t i = 0; i < n; ++i) {
    Person p;
    p.given = kGiven[g.Below(kGiven.size())];
    p.family = kFamily[g.Below(kFamily.size())];
    p.birth = fmt::format("{}-{:02d}-{:02d}", 1930 + g.Below(80), 1 + g.Below(12), 1 + g.Below(28));
    p.city = kCity[g.Below(kCity.size())];
    out.push_back(p);
  }
  return out;
}

std::vector<uint64_t> EncodeOne(const Encoder& e, const Record& r) {
  std::vector<uint64_t> clk(e.output_words());
  std::vector<uint64_t> keys;
  e.Encode(r, clk, &keys);
  return clk;
}

ClkSet EncodeAll(const Encoder& e, const std::vector<Person>& people) {
  ClkSet set(e.Header());
  std::vector<uint64_t> clk(e.output_words());
  std::vector<uint64_t> keys;
  for (size_t i = 0; i < people.size(); ++i) {
    e.Encode(people[i].AsRecord(), clk, &keys);
    set.Append(fmt::format("p{}", i), clk, keys);
  }
  return set;
}

uint32_t Popcount(std::span<const uint64_t> w) {
  uint32_t c = 0;
  for (uint64_t x : w) c += static_cast<uint32_t>(__builtin_popcountll(x));
  return c;
}

// --- keys ---------------------------------------------------------------------------------------

TEST(PprlKeyTest, RejectsShortOrConstantSecrets) {
  std::vector<uint8_t> short_secret(31, 7);
  EXPECT_EQ(LinkageKey::FromSecret(short_secret).status().code(), StatusCode::kInvalidArgument);
  std::vector<uint8_t> zeros(64, 0);
  Result<LinkageKey> z = LinkageKey::FromSecret(zeros);
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("keygen"), std::string::npos);
}

TEST(PprlKeyTest, KeyCheckIdentifiesTheKeyAndSubkeysAreIndependent) {
  EXPECT_EQ(TestKey(1).KeyCheck(), TestKey(1).KeyCheck());
  EXPECT_NE(TestKey(1).KeyCheck(), TestKey(2).KeyCheck());
  const LinkageKey k = TestKey(1);
  EXPECT_NE(k.Derive("a"), k.Derive("b"));
  EXPECT_EQ(k.Derive("a"), TestKey(1).Derive("a"));
  EXPECT_NE(k.Derive("a"), TestKey(2).Derive("a"));
}

TEST(PprlKeyTest, GenerateWritesA0600FileAndNeverOverwrites) {
  auto dir = TempDir::Create().value();
  const auto path = dir.path() / "link.key";
  DeterministicRandom r(5);
  ASSERT_TRUE(LinkageKey::GenerateFile(path, r).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(LinkageKey::GenerateFile(path, r).code(), StatusCode::kAlreadyExists);
  Result<LinkageKey> k = LinkageKey::ReadFile(path);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  // The same bytes as a secret give the same key.
  DeterministicRandom again(5);
  std::vector<uint8_t> bytes(32);
  again.Fill(bytes);
  EXPECT_EQ(k->KeyCheck(), LinkageKey::FromSecret(bytes)->KeyCheck());
}

TEST(PprlKeyTest, ReadRefusesFilesOthersCanReadAndShortFiles) {
  auto dir = TempDir::Create().value();
  const auto path = dir.path() / "k";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(40, 'x') + "abcdefghij").ok());
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(LinkageKey::ReadFile(path).status().code(), StatusCode::kPermissionDenied);
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(LinkageKey::ReadFile(path).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "0123456789abcdef").ok());
  ::chmod(path.c_str(), 0600);
  EXPECT_EQ(LinkageKey::ReadFile(path).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LinkageKey::ReadFile(dir.path() / "absent").status().code(), StatusCode::kNotFound);
}

// --- schema -------------------------------------------------------------------------------------

TEST(PprlSchemaTest, ParsesDefaultsAndWeights) {
  Result<LinkageSchema> s = ParseSchema(R"({"id": "pid", "clk": {"k": 12}, "fields": [
      {"name": "surname", "type": "name"},
      {"name": "dob", "column": "birth_date", "type": "date", "weight": 2.5},
      {"name": "zip", "type": "code", "tokens": "exact", "k": 3}]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->bits, 1024);
  EXPECT_EQ(s->fields[0].k, 12);
  EXPECT_EQ(s->fields[0].tokens, Tokenizer::kBigrams);
  EXPECT_EQ(s->fields[1].column, "birth_date");
  EXPECT_EQ(s->fields[1].k, 30);
  EXPECT_EQ(s->fields[1].tokens, Tokenizer::kDateParts);
  EXPECT_EQ(s->fields[2].k, 3);
  EXPECT_EQ(s->OutputBits(), 1024);
}

TEST(PprlSchemaTest, ErrorsNameTheProblem) {
  auto err = [](std::string_view json) {
    Result<LinkageSchema> s = ParseSchema(json, "s.json");
    return s.ok() ? std::string("ok") : s.status().message();
  };
  EXPECT_NE(err("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(err(R"({"fields": [{"name": "a"}]})").find("\"id\""), std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "fields": [{"name": "a", "wieght": 2}]})").find("\"wieght\""),
            std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "clk": {"bits": 1000}, "fields": [{"name": "a"}]})")
                .find("multiple of 64"),
            std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "clk": {"bits": 192, "hardening": {"xor_fold": true}},
                    "fields": [{"name": "a"}]})")
                .find("128"),
            std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "clk": {"hardening": {"blip_flip_probability": 0.5}},
                    "fields": [{"name": "a"}]})")
                .find("blip"),
            std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "fields": [{"name": "a"}, {"name": "a"}]})").find("twice"),
            std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "fields": [{"name": "a", "tokens": "date_parts"}]})").find("date"),
            std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "fields": [{"name": "a"}],
                    "blocking": [{"name": "b", "parts": [{"field": "x"}]}]})")
                .find("\"x\" is not a field"),
            std::string::npos);
  EXPECT_NE(err(R"({"id": "i", "fields": [{"name": "a", "k": 0}]})").find("nothing to encode"),
            std::string::npos);
}

TEST(PprlSchemaTest, FingerprintIgnoresFormattingButNotSettings) {
  const auto a = ParseSchema(R"({"id":"i","fields":[{"name":"a","k":5},{"name":"b"}]})");
  const auto b = ParseSchema(R"({ "fields": [ {"k": 5, "name": "a"}, {"name": "b"} ],
                                  "id": "i", "version": 1 })");
  const auto c = ParseSchema(R"({"id":"i","fields":[{"name":"a","k":6},{"name":"b"}]})");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->Fingerprint(), b->Fingerprint());
  EXPECT_NE(a->Fingerprint(), c->Fingerprint());
}

// --- encoding -----------------------------------------------------------------------------------

TEST(PprlEncoderTest, TokensArePaddedBigramsOrDateParts) {
  const LinkageKey key = TestKey(1);
  Encoder e = Encoder::Create(PersonSchema(), key).value();
  EXPECT_EQ(e.Tokens(0, "Anne"), (std::vector<std::string>{"_a", "an", "nn", "ne", "e_"}));
  EXPECT_EQ(e.Tokens(0, "Zoé"), (std::vector<std::string>{"_z", "zo", "oe", "e_"}));
  EXPECT_EQ(e.Tokens(2, "12/03/1980"),
            (std::vector<std::string>{"y1980", "m03", "d12", "f19800312"}));
  EXPECT_TRUE(e.Tokens(0, " - ").empty());
  EXPECT_TRUE(e.Tokens(2, "not a date").empty());
}

TEST(PprlEncoderTest, EachTokenSetsKKeyedPositions) {
  const LinkageKey key = TestKey(1);
  Encoder e = Encoder::Create(PersonSchema(), key).value();
  const std::vector<uint32_t> p = e.Positions(0, "an");
  ASSERT_EQ(p.size(), 10u);
  for (uint32_t x : p) EXPECT_LT(x, 1024u);
  // Not an arithmetic progression (no double hashing h1 + i * h2 mod L).
  std::set<uint32_t> steps;
  for (size_t i = 1; i < p.size(); ++i) steps.insert((p[i] - p[i - 1] + 1024) % 1024);
  EXPECT_GT(steps.size(), 1u);
  EXPECT_EQ(e.Positions(0, "an"), p);  // deterministic
  EXPECT_EQ(e.Positions(1, "an"), p);  // same "names" domain as given
  EXPECT_NE(e.Positions(3, "an"), e.Positions(3, "na"));
  EXPECT_NE(Encoder::Create(PersonSchema(), TestKey(2))->Positions(0, "an"), p);  // keyed
  // Birth has k = 15: BLAKE2b-512 gives 16 positions per block; HMAC-SHA-256 gives 8, so two
  // blocks.
  EXPECT_EQ(e.Positions(2, "y1980").size(), 15u);
  LinkageSchema hmac = PersonSchema();
  hmac.hash = HashFunction::kHmacSha256;
  Encoder eh = Encoder::Create(hmac, key).value();
  EXPECT_EQ(eh.Positions(2, "y1980").size(), 15u);
  EXPECT_NE(eh.Positions(2, "y1980"), e.Positions(2, "y1980"));
}

TEST(PprlEncoderTest, SpellingVariantsGiveTheSameClk) {
  const LinkageKey key = TestKey(3);
  Encoder e = Encoder::Create(PersonSchema(), key).value();
  const auto a = EncodeOne(e, {"Hélène", "Côté-Lefèvre", "1980-03-12", "Trois-Rivières"});
  const auto b = EncodeOne(e, {"HELENE", "cote lefevre", "12/03/1980", "trois rivieres"});
  const auto c =
      EncodeOne(e, {"He\xCC\x81le\xCC\x80ne", "Côté Lefèvre", "12 mars 1980", "TROIS-RIVIÈRES"});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  // Given name and surname share a domain: swapped names give the same bits.
  const auto swapped = EncodeOne(e, {"Côté-Lefèvre", "Hélène", "1980-03-12", "Trois-Rivières"});
  EXPECT_EQ(a, swapped);
  // A typo keeps most of the bits.
  const auto typo = EncodeOne(e, {"Hélène", "Coté-Lefebvre", "1980-03-12", "Trois-Rivières"});
  EXPECT_NE(a, typo);
  EXPECT_GT(DiceReference(a, typo), 0.85);
}

TEST(PprlEncoderTest, MissingValuesSetNoBitsAndAreCounted) {
  const LinkageKey key = TestKey(3);
  Encoder e = Encoder::Create(PersonSchema(), key).value();
  std::vector<FieldReport> report = NewFieldReport(e.schema());
  std::vector<uint64_t> clk(e.output_words());
  std::vector<uint64_t> keys;
  e.Encode(Record{std::nullopt, "", "31/02/1980", "?"}, clk, &keys, &report);
  // Only the (impossible but well-formed) date sets bits: 4 tokens of 15 positions.
  EXPECT_GT(Popcount(clk), 0u);
  EXPECT_LE(Popcount(clk), 60u);
  EXPECT_EQ(report[0].missing, 1u);
  EXPECT_EQ(report[1].missing, 1u);
  EXPECT_EQ(report[2].missing, 0u);
  EXPECT_EQ(report[2].invalid_dates, 1u);
  EXPECT_EQ(report[3].missing, 1u);
  EXPECT_TRUE(keys.empty());  // the family-name blocking key needs the family name
  e.Encode(Record{std::nullopt, std::nullopt, std::nullopt, std::nullopt}, clk, &keys, &report);
  EXPECT_EQ(Popcount(clk), 0u);
}

TEST(PprlEncoderTest, BlockingKeysAreKeyedAndFollowTheTransform) {
  Encoder e1 = Encoder::Create(PersonSchema(), TestKey(1)).value();
  Encoder e2 = Encoder::Create(PersonSchema(), TestKey(2)).value();
  std::vector<uint64_t> clk(e1.output_words()), k1, k2, k3;
  e1.Encode(Record{"Jean", "Robert", "1980-01-01", "Lyon"}, clk, &k1);
  e1.Encode(Record{"Marie", "Rupert", "1990-01-01", "Paris"}, clk, &k2);  // same Soundex R163
  e2.Encode(Record{"Jean", "Robert", "1980-01-01", "Lyon"}, clk, &k3);
  ASSERT_EQ(k1.size(), 1u);
  EXPECT_EQ(k1, k2);
  EXPECT_NE(k1, k3);
}

TEST(PprlEncoderTest, DifferentKeysGiveUnrelatedClks) {
  const auto people = People(300, 11);
  const LinkageKey key1 = TestKey(1), key2 = TestKey(2);
  Encoder e1 = Encoder::Create(PersonSchema(), key1).value();
  Encoder e2 = Encoder::Create(PersonSchema(), key2).value();
  const ClkSet s1 = EncodeAll(e1, people);
  const ClkSet s2 = EncodeAll(e2, people);
  double same_record_other_key = 0, other_record_same_key = 0;
  for (size_t i = 0; i < people.size(); ++i) {
    EXPECT_EQ(DiceReference(s1.clk(i), EncodeAll(e1, {people[i]}).clk(0)), 1.0);
    same_record_other_key += DiceReference(s1.clk(i), s2.clk(i));
    other_record_same_key += DiceReference(s1.clk(i), s1.clk((i + 1) % people.size()));
  }
  same_record_other_key /= people.size();
  other_record_same_key /= people.size();
  // Under another key the same person looks like a random other CLK (Dice ~ density), and far
  // less like itself than two different people with shared names do under one key.
  EXPECT_LT(same_record_other_key, 0.35);
  EXPECT_LT(same_record_other_key, other_record_same_key);
  // And matching across keys finds nothing, while the same key finds everyone.
  MatchOptions opts;
  opts.threshold = 0.8;
  EXPECT_EQ(FindCandidates(s1, s2, opts)->size(), 0u);
  EXPECT_EQ(Match(s1, s2, opts).status().code(), StatusCode::kFailedPrecondition);
  const ClkSet again = EncodeAll(e1, people);
  Result<MatchResult> same = Match(s1, again, opts);
  ASSERT_TRUE(same.ok());
  EXPECT_GE(same->pairs.size(), people.size() * 9 / 10);  // duplicates in the sample tie
}

// --- hardening ----------------------------------------------------------------------------------

TEST(PprlHardeningTest, XorFoldingXorsTheTwoHalves) {
  const LinkageKey key = TestKey(4);
  Encoder plain = Encoder::Create(PersonSchema(), key).value();
  Encoder folded = Encoder::Create(PersonSchema(R"({"xor_fold": true})"), key).value();
  EXPECT_EQ(folded.output_bits(), 512);
  EXPECT_EQ(folded.Header().flags, ClkHeader::kXorFolded);
  for (const Person& p : People(50, 4)) {
    const auto x = EncodeOne(plain, p.AsRecord());
    const auto f = EncodeOne(folded, p.AsRecord());
    ASSERT_EQ(f.size(), 8u);
    for (size_t w = 0; w < 8; ++w) EXPECT_EQ(f[w], x[w] ^ x[w + 8]);
  }
}

TEST(PprlHardeningTest, BalancedFiltersHaveHalfTheirBitsSetAndKeepAgreements) {
  const LinkageKey key = TestKey(5);
  Encoder plain = Encoder::Create(PersonSchema(), key).value();
  Encoder bal = Encoder::Create(PersonSchema(R"({"balance": true})"), key).value();
  EXPECT_EQ(bal.output_bits(), 2048);
  EXPECT_EQ(bal.Header().flags, ClkHeader::kBalanced);
  const auto people = People(40, 5);
  std::vector<std::vector<uint64_t>> x, b;
  for (const Person& p : people) {
    x.push_back(EncodeOne(plain, p.AsRecord()));
    b.push_back(EncodeOne(bal, p.AsRecord()));
    EXPECT_EQ(Popcount(b.back()), 1024u);  // every CLK, whatever the identity's length
  }
  // A balanced pair shares a one for every position where the plain filters agree (1-1 or 0-0).
  for (size_t i = 0; i + 1 < people.size(); ++i) {
    uint32_t common_bal = 0, agree = 0;
    for (size_t w = 0; w < 32; ++w) common_bal += __builtin_popcountll(b[i][w] & b[i + 1][w]);
    for (size_t w = 0; w < 16; ++w) agree += __builtin_popcountll(~(x[i][w] ^ x[i + 1][w]));
    EXPECT_EQ(common_bal, agree);
  }
  // The permutation is keyed: not the plain filter followed by its complement.
  EXPECT_NE(b[0][0], x[0][0]);
  Encoder bal2 = Encoder::Create(PersonSchema(R"({"balance": true})"), TestKey(6)).value();
  const Person empty_person{"", "", "", ""};
  // With no bits set the balanced CLK is the keyed image of the all-ones complement.
  EXPECT_NE(EncodeOne(bal, empty_person.AsRecord()), EncodeOne(bal2, empty_person.AsRecord()));
  // Folding and balancing together: back to 1024 bits, 512 set.
  Encoder both =
      Encoder::Create(PersonSchema(R"({"xor_fold": true, "balance": true})"), key).value();
  EXPECT_EQ(both.output_bits(), 1024);
  EXPECT_EQ(Popcount(EncodeOne(both, people[0].AsRecord())), 512u);
}

TEST(PprlHardeningTest, BlipFlipsBitsWithTheConfiguredProbability) {
  const LinkageKey key = TestKey(7);
  Encoder plain = Encoder::Create(PersonSchema(), key).value();
  const LinkageSchema blip_schema = PersonSchema(R"({"blip_flip_probability": 0.1})");
  EXPECT_EQ(Encoder::Create(blip_schema, key).status().code(), StatusCode::kInvalidArgument);
  DeterministicRandom r1(99), r2(99), r3(100);
  Encoder b1 = Encoder::Create(blip_schema, key, &r1).value();
  Encoder b2 = Encoder::Create(blip_schema, key, &r2).value();
  Encoder b3 = Encoder::Create(blip_schema, key, &r3).value();
  EXPECT_EQ(b1.Header().flags, ClkHeader::kBlip);
  EXPECT_EQ(b1.Header().blip_threshold, static_cast<uint32_t>(std::floor(0.1 * 4294967296.0)));
  uint64_t flipped = 0, total = 0;
  bool differs_with_other_seed = false;
  for (const Person& p : People(200, 7)) {
    const auto x = EncodeOne(plain, p.AsRecord());
    const auto y1 = EncodeOne(b1, p.AsRecord());
    const auto y2 = EncodeOne(b2, p.AsRecord());
    const auto y3 = EncodeOne(b3, p.AsRecord());
    EXPECT_EQ(y1, y2);  // same seed, same flips: reproducible in tests
    differs_with_other_seed = differs_with_other_seed || y1 != y3;
    for (size_t w = 0; w < x.size(); ++w) flipped += __builtin_popcountll(x[w] ^ y1[w]);
    total += 1024;
  }
  EXPECT_TRUE(differs_with_other_seed);
  // 204800 Bernoulli(0.1) flips: standard deviation 0.00066; allow 7 of them.
  const double rate = static_cast<double>(flipped) / static_cast<double>(total);
  EXPECT_NEAR(rate, 0.1, 0.0046);
}

// --- CLK files ----------------------------------------------------------------------------------

ClkSet SmallSet() {
  Encoder e = Encoder::Create(PersonSchema(), TestKey(8)).value();
  ClkSet set = EncodeAll(e, People(20, 8));
  ClkSet out(set.header());
  for (size_t i = 0; i < set.size(); ++i) {
    // Ids with CSV-hostile characters survive.
    const std::string id = i == 3 ? "id, with \"quotes\"" : set.id(i);
    out.Append(id, set.clk(i), set.block_keys(i));
  }
  return out;
}

TEST(PprlClkFileTest, RoundTrips) {
  const ClkSet set = SmallSet();
  auto dir = TempDir::Create().value();
  ASSERT_TRUE(WriteClkFile(dir.path() / "a.clk", set).ok());
  Result<ClkSet> back = ReadClkFile(dir.path() / "a.clk");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), set.size());
  EXPECT_EQ(back->header().bits, 1024u);
  EXPECT_EQ(back->header().id_name, "id");
  EXPECT_EQ(back->header().schema_fingerprint, set.header().schema_fingerprint);
  EXPECT_EQ(back->header().key_check, set.header().key_check);
  for (size_t i = 0; i < set.size(); ++i) {
    EXPECT_EQ(back->id(i), set.id(i));
    EXPECT_TRUE(std::equal(back->clk(i).begin(), back->clk(i).end(), set.clk(i).begin()));
    EXPECT_EQ(back->popcount(i), set.popcount(i));
    EXPECT_TRUE(std::equal(back->block_keys(i).begin(), back->block_keys(i).end(),
                           set.block_keys(i).begin(), set.block_keys(i).end()));
  }
  EXPECT_TRUE(CheckComparable(set, *back).ok());
}

TEST(PprlClkFileTest, DamagedOrForeignFilesAreRejected) {
  const std::string bytes = SerializeClkSet(SmallSet());
  std::string flipped = bytes;
  flipped[200] ^= 0x01;
  EXPECT_EQ(ParseClkSet(flipped).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseClkSet(bytes.substr(0, bytes.size() - 7)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseClkSet("id,clk\n1,AAAA\n").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseClkSet("").status().code(), StatusCode::kInvalidArgument);
}

TEST(PprlClkFileTest, HostileCountsAreRejectedBeforeAllocating) {
  // A real, empty file whose record count (offset 16) claims 2^60 records, checksum fixed up.
  ClkHeader h;
  h.bits = 1024;
  std::string f = SerializeClkSet(ClkSet(h));
  for (int i = 0; i < 8; ++i) f[16 + i] = static_cast<char>((uint64_t{1} << 60) >> (8 * i));
  f.resize(f.size() - 32);
  std::array<uint8_t, 32> sum{};
  ASSERT_TRUE(EnsureSodium().ok());
  crypto_generichash(sum.data(), sum.size(), reinterpret_cast<const uint8_t*>(f.data()), f.size(),
                     nullptr, 0);
  f.append(reinterpret_cast<const char*>(sum.data()), sum.size());
  Result<ClkSet> r = ParseClkSet(f);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("record count"), std::string::npos);
}

TEST(PprlClkFileTest, IncomparableSetsAreRefused) {
  const LinkageKey key = TestKey(9);
  const auto people = People(5, 9);
  const ClkSet base = EncodeAll(Encoder::Create(PersonSchema(), key).value(), people);
  const ClkSet other_key = EncodeAll(Encoder::Create(PersonSchema(), TestKey(10)).value(), people);
  LinkageSchema s2 = PersonSchema();
  s2.fields[3].k = 9;
  const ClkSet other_schema = EncodeAll(Encoder::Create(s2, key).value(), people);
  const ClkSet folded =
      EncodeAll(Encoder::Create(PersonSchema(R"({"xor_fold": true})"), key).value(), people);
  EXPECT_NE(CheckComparable(base, other_key).message().find("different linkage keys"),
            std::string::npos);
  EXPECT_NE(CheckComparable(base, other_schema).message().find("different schemas"),
            std::string::npos);
  EXPECT_NE(CheckComparable(base, folded).message().find("lengths"), std::string::npos);
}

}  // namespace
}  // namespace passerelle::pprl
