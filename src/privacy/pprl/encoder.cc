#include "privacy/pprl/encoder.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cmath>
#include <cstring>

#include "privacy/pprl/normalize.h"

namespace passerelle::pprl {
namespace {

constexpr std::string_view kFieldLabel = "passerelle/pprl/v1/field/";
constexpr std::string_view kBlockingLabel = "passerelle/pprl/v1/blocking";
constexpr std::string_view kBalanceLabel = "passerelle/pprl/v1/balance-permutation";

uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void AppendLengthPrefixed(std::string* out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(n >> (8 * i)));
  out->append(s);
}

bool GetBit(std::span<const uint64_t> w, size_t i) { return (w[i / 64] >> (i % 64)) & 1; }
void SetBit(std::span<uint64_t> w, size_t i) { w[i / 64] |= uint64_t{1} << (i % 64); }

// A keyed stream of uniform u32 values for the balancing permutation (deterministic per key).
class KeyedStream {
 public:
  explicit KeyedStream(const LinkageKey::Subkey& key) : key_(key) {}
  uint32_t Next() {
    if (pos_ == 16) Refill();
    return LoadU32(block_.data() + 4 * pos_++);
  }
  // Uniform in [0, bound) by rejection. REQUIRES: bound > 0.
  uint32_t Below(uint32_t bound) {
    const uint64_t range = uint64_t{1} << 32;
    const uint64_t limit = range - range % bound;
    for (;;) {
      const uint32_t v = Next();
      if (v < limit) return v % bound;
    }
  }

 private:
  void Refill() {
    uint8_t counter[8];
    for (int i = 0; i < 8; ++i) counter[i] = static_cast<uint8_t>(counter_ >> (8 * i));
    ++counter_;
    crypto_generichash(block_.data(), block_.size(), counter, sizeof counter, key_.data(),
                       key_.size());
    pos_ = 0;
  }
  LinkageKey::Subkey key_;
  std::array<uint8_t, 64> block_{};
  uint64_t counter_ = 0;
  int pos_ = 16;
};

}  // namespace

struct Encoder::Impl {
  LinkageSchema schema;
  std::vector<LinkageKey::Subkey> field_keys;
  LinkageKey::Subkey blocking_key{};
  std::vector<uint32_t> permutation;  // balancing: output position of each input bit
  RandomSource* random = nullptr;
  uint32_t blip_threshold = 0;
  ClkHeader header;

  ~Impl() {
    for (auto& k : field_keys) sodium_memzero(k.data(), k.size());
    sodium_memzero(blocking_key.data(), blocking_key.size());
  }

  // The normalised value of a field, or nullopt when missing; `date` is set for date fields.
  std::optional<std::string> Normalise(const FieldSpec& f, std::string_view raw, DateParts* date,
                                       bool* invalid_date) const {
    *invalid_date = false;
    std::string v;
    switch (f.type) {
      case FieldType::kName:
      case FieldType::kCode:
        v = NormalizeText(raw, TextMode::kCompact);
        break;
      case FieldType::kText:
        v = NormalizeText(raw, TextMode::kWords);
        break;
      case FieldType::kDate: {
        const auto formats = f.date_formats.empty() ? DefaultDateFormats()
                                                    : std::span<const std::string>(f.date_formats);
        if (!ParseDateText(raw, formats, date)) return std::nullopt;
        *invalid_date = !date->valid;
        v = date->Canonical();
        break;
      }
    }
    if (v.empty()) return std::nullopt;
    return v;
  }

  std::vector<std::string> TokensOf(const FieldSpec& f, const std::string& value,
                                    const DateParts& date) const {
    std::vector<std::string> tokens;
    switch (f.tokens) {
      case Tokenizer::kExact:
        tokens.push_back(value);
        break;
      case Tokenizer::kUnigrams:
        tokens = SplitCodePoints(value);
        break;
      case Tokenizer::kDateParts:
        tokens.push_back(fmt::format("y{:04d}", date.year));
        tokens.push_back(fmt::format("m{:02d}", date.month));
        tokens.push_back(fmt::format("d{:02d}", date.day));
        tokens.push_back("f" + value);
        break;
      case Tokenizer::kBigrams: {
        const std::vector<std::string> cps = SplitCodePoints(value);
        std::string prev = "_";
        for (const std::string& cp : cps) {
          tokens.push_back(prev + cp);
          prev = cp;
        }
        tokens.push_back(prev + "_");
        break;
      }
    }
    return tokens;
  }

  // Calls emit(position) for the k positions of a token.
  template <typename Emit>
  void ForEachPosition(size_t field, std::string_view token, Emit emit) const {
    const int k = schema.fields[field].k;
    const auto& key = field_keys[field];
    const uint32_t bits = static_cast<uint32_t>(schema.bits);
    std::string msg(token);
    msg.push_back('\0');
    uint8_t block[64];
    int done = 0;
    for (int c = 0; done < k; ++c) {
      msg.back() = static_cast<char>(c);
      size_t words;
      if (schema.hash == HashFunction::kBlake2b) {
        crypto_generichash(block, 64, reinterpret_cast<const uint8_t*>(msg.data()), msg.size(),
                           key.data(), key.size());
        words = 16;
      } else {
        crypto_auth_hmacsha256(block, reinterpret_cast<const uint8_t*>(msg.data()), msg.size(),
                               key.data());
        words = 8;
      }
      for (size_t j = 0; j < words && done < k; ++j, ++done) emit(LoadU32(block + 4 * j) % bits);
    }
  }

  std::optional<std::string> BlockComponent(const BlockingSpec::Part& part, const FieldSpec& f,
                                            const std::string& value, const DateParts& date) const {
    switch (part.transform) {
      case BlockTransform::kExact:
        return value;
      case BlockTransform::kSoundex: {
        std::string s = Soundex(value);
        if (s.empty()) return std::nullopt;
        return s;
      }
      case BlockTransform::kPrefix: {
        const std::vector<std::string> cps = SplitCodePoints(value);
        std::string s;
        for (size_t i = 0; i < cps.size() && i < static_cast<size_t>(part.prefix); ++i) s += cps[i];
        return s;
      }
      case BlockTransform::kYear:
        if (f.type != FieldType::kDate) return std::nullopt;
        return fmt::format("{:04d}", date.year);
    }
    return std::nullopt;
  }
};

Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;
Encoder::~Encoder() = default;

std::vector<FieldReport> NewFieldReport(const LinkageSchema& schema) {
  std::vector<FieldReport> r;
  for (const FieldSpec& f : schema.fields) r.push_back({f.name, 0, 0});
  return r;
}

Result<Encoder> Encoder::Create(const LinkageSchema& schema, const LinkageKey& key,
                                RandomSource* blip_random) {
  RETURN_IF_ERROR(EnsureSodium());
  RETURN_IF_ERROR(schema.Validate());
  if (schema.hardening.blip_flip_probability > 0 && blip_random == nullptr) {
    return Status::InvalidArgument("BLIP needs a random source (none was given)");
  }
  auto impl = std::make_unique<Impl>();
  impl->schema = schema;
  impl->random = blip_random;
  for (const FieldSpec& f : schema.fields) {
    impl->field_keys.push_back(key.Derive(std::string(kFieldLabel) + f.HashDomain()));
  }
  impl->blocking_key = key.Derive(kBlockingLabel);
  const double p = schema.hardening.blip_flip_probability;
  impl->blip_threshold = static_cast<uint32_t>(std::floor(p * 4294967296.0));
  if (schema.hardening.balance) {
    const uint32_t n =
        static_cast<uint32_t>(schema.hardening.xor_fold ? schema.bits : 2 * schema.bits);
    impl->permutation.resize(n);
    for (uint32_t i = 0; i < n; ++i) impl->permutation[i] = i;
    LinkageKey::Subkey pk = key.Derive(kBalanceLabel);
    KeyedStream stream(pk);
    sodium_memzero(pk.data(), pk.size());
    for (uint32_t i = n - 1; i > 0; --i)
      std::swap(impl->permutation[i], impl->permutation[stream.Below(i + 1)]);
  }
  ClkHeader& h = impl->header;
  h.bits = static_cast<uint32_t>(schema.OutputBits());
  if (schema.hardening.xor_fold) h.flags |= ClkHeader::kXorFolded;
  if (schema.hardening.balance) h.flags |= ClkHeader::kBalanced;
  if (impl->blip_threshold > 0) h.flags |= ClkHeader::kBlip;
  h.blip_threshold = impl->blip_threshold;
  h.schema_fingerprint = schema.Fingerprint();
  h.key_check = key.KeyCheck();
  h.id_name = schema.id_column;
  return Encoder(std::move(impl));
}

const LinkageSchema& Encoder::schema() const { return impl_->schema; }
ClkHeader Encoder::Header() const { return impl_->header; }
int Encoder::output_bits() const { return impl_->schema.OutputBits(); }

std::vector<std::string> Encoder::Tokens(size_t field, std::string_view value) const {
  const FieldSpec& f = impl_->schema.fields.at(field);
  DateParts date;
  bool invalid = false;
  const auto v = impl_->Normalise(f, value, &date, &invalid);
  if (!v) return {};
  return impl_->TokensOf(f, *v, date);
}

std::vector<uint32_t> Encoder::Positions(size_t field, std::string_view token) const {
  std::vector<uint32_t> out;
  impl_->ForEachPosition(field, token, [&](uint32_t p) { out.push_back(p); });
  return out;
}

void Encoder::Encode(std::span<const std::optional<std::string_view>> values,
                     std::span<uint64_t> clk, std::vector<uint64_t>* block_keys,
                     std::vector<FieldReport>* report) const {
  const Impl& m = *impl_;
  const LinkageSchema& s = m.schema;
  const size_t filter_words = static_cast<size_t>(s.bits) / 64;
  std::vector<uint64_t> filter(filter_words, 0);
  std::vector<std::optional<std::string>> normalised(s.fields.size());
  std::vector<DateParts> dates(s.fields.size());
  for (size_t i = 0; i < s.fields.size(); ++i) {
    const FieldSpec& f = s.fields[i];
    bool invalid_date = false;
    if (values[i]) normalised[i] = m.Normalise(f, *values[i], &dates[i], &invalid_date);
    if (report != nullptr) {
      if (!normalised[i]) ++(*report)[i].missing;
      if (invalid_date) ++(*report)[i].invalid_dates;
    }
    if (!normalised[i] || f.k == 0) continue;
    for (const std::string& token : m.TokensOf(f, *normalised[i], dates[i])) {
      m.ForEachPosition(i, token, [&](uint32_t p) { SetBit(filter, p); });
    }
  }

  // Hardening, in the documented order.
  if (s.hardening.xor_fold) {
    const size_t half = filter_words / 2;
    for (size_t w = 0; w < half; ++w) filter[w] ^= filter[w + half];
    filter.resize(half);
  }
  if (s.hardening.balance) {
    const size_t n = filter.size() * 64;
    std::vector<uint64_t> out(2 * filter.size(), 0);
    for (size_t i = 0; i < n; ++i) {
      const bool bit = GetBit(filter, i);
      SetBit(out, m.permutation[bit ? i : i + n]);  // the filter bit or its complement is set
    }
    filter = std::move(out);
  }
  std::memcpy(clk.data(), filter.data(), filter.size() * sizeof(uint64_t));
  if (m.blip_threshold > 0) {
    const size_t n = filter.size() * 64;
    std::vector<uint8_t> u(4 * n);
    m.random->Fill(u);
    for (size_t i = 0; i < n; ++i) {
      if (LoadU32(u.data() + 4 * i) < m.blip_threshold) clk[i / 64] ^= uint64_t{1} << (i % 64);
    }
    sodium_memzero(u.data(), u.size());
  }

  if (block_keys != nullptr) {
    block_keys->clear();
    for (const BlockingSpec& b : s.blocking) {
      std::string msg;
      AppendLengthPrefixed(&msg, b.name);
      bool complete = true;
      for (const auto& part : b.parts) {
        size_t fi = 0;
        while (s.fields[fi].name != part.field) ++fi;  // validated: the field exists
        if (!normalised[fi]) {
          complete = false;
          break;
        }
        auto c = m.BlockComponent(part, s.fields[fi], *normalised[fi], dates[fi]);
        if (!c || c->empty()) {
          complete = false;
          break;
        }
        AppendLengthPrefixed(&msg, *c);
      }
      if (!complete) continue;
      uint8_t h[32];
      crypto_generichash(h, sizeof h, reinterpret_cast<const uint8_t*>(msg.data()), msg.size(),
                         m.blocking_key.data(), m.blocking_key.size());
      uint64_t key = 0;
      for (int i = 0; i < 8; ++i) key |= static_cast<uint64_t>(h[i]) << (8 * i);
      block_keys->push_back(key);
    }
  }
}

}  // namespace passerelle::pprl
