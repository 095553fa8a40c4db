#include "privacy/pprl/clk_set.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cstring>

#include "common/files.h"
#include "privacy/pprl/key.h"

namespace passerelle::pprl {
namespace {

constexpr std::string_view kMagic = "PPRLCLK1";
constexpr uint32_t kVersion = 1;
constexpr size_t kChecksumBytes = 32;

void PutU16(std::string* out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// Bounds-checked little-endian reader over the file bytes.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  size_t left() const { return b_.size() - pos_; }
  bool Bytes(size_t n, std::string_view* out) {
    if (n > left()) return false;
    *out = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool Int(T* v) {
    if (sizeof(T) > left()) return false;
    T r = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      r |= static_cast<T>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(T);
    *v = r;
    return true;
  }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

uint16_t Popcount(std::span<const uint64_t> w) {
  uint32_t c = 0;
  for (uint64_t x : w) c += static_cast<uint32_t>(__builtin_popcountll(x));
  return static_cast<uint16_t>(c);
}

std::string Hex(std::span<const uint8_t> b) {
  std::string s;
  for (size_t i = 0; i < b.size() && i < 8; ++i) s += fmt::format("{:02x}", b[i]);
  return s;
}

}  // namespace

ClkSet::ClkSet(ClkHeader header) : header_(std::move(header)) {
  words_per_clk_ = header_.bits / 64;
  stride_ = (words_per_clk_ + 7) / 8 * 8;
}

void ClkSet::Reserve(size_t n) {
  words_.reserve(n * stride_);
  popcounts_.reserve(n);
  ids_.reserve(n);
  block_offsets_.reserve(n + 1);
}

void ClkSet::Append(std::string id, std::span<const uint64_t> clk,
                    std::span<const uint64_t> block_keys) {
  const size_t base = words_.size();
  words_.resize(base + stride_, 0);
  std::memcpy(words_.data() + base, clk.data(), words_per_clk_ * sizeof(uint64_t));
  popcounts_.push_back(Popcount(clk.first(words_per_clk_)));
  ids_.push_back(std::move(id));
  block_keys_.insert(block_keys_.end(), block_keys.begin(), block_keys.end());
  block_offsets_.push_back(block_keys_.size());
}

Status CheckComparable(const ClkSet& a, const ClkSet& b) {
  const ClkHeader& x = a.header();
  const ClkHeader& y = b.header();
  if (x.bits != y.bits) {
    return Status::FailedPrecondition(fmt::format(
        "the CLKs have different lengths ({} and {} bits); encode both files with the same schema",
        x.bits, y.bits));
  }
  if (x.flags != y.flags || x.blip_threshold != y.blip_threshold) {
    return Status::FailedPrecondition(
        "the CLKs were hardened differently; encode both files with the same schema");
  }
  if (x.schema_fingerprint != y.schema_fingerprint) {
    return Status::FailedPrecondition(fmt::format(
        "the CLKs were made with different schemas (fingerprints {}... and {}...); encode both "
        "files with the same schema",
        Hex(x.schema_fingerprint), Hex(y.schema_fingerprint)));
  }
  if (x.key_check != y.key_check) {
    return Status::FailedPrecondition(
        "the CLKs were made with different linkage keys (their key checks differ): nothing "
        "would match; encode both files with the same key");
  }
  return Status::Ok();
}

std::string SerializeClkSet(const ClkSet& set) {
  const ClkHeader& h = set.header();
  std::string out;
  const size_t clk_bytes = h.bits / 8;
  out.reserve(128 + set.size() * (clk_bytes + 24));
  out.append(kMagic);
  PutU32(&out, kVersion);
  PutU32(&out, h.bits);
  PutU64(&out, set.size());
  PutU32(&out, h.flags);
  PutU32(&out, h.blip_threshold);
  out.append(reinterpret_cast<const char*>(h.schema_fingerprint.data()),
             h.schema_fingerprint.size());
  out.append(reinterpret_cast<const char*>(h.key_check.data()), h.key_check.size());
  PutU16(&out, static_cast<uint16_t>(h.id_name.size()));
  out.append(h.id_name);
  for (size_t i = 0; i < set.size(); ++i) {
    for (uint64_t w : set.clk(i)) PutU64(&out, w);
  }
  for (size_t i = 0; i < set.size(); ++i) {
    PutU16(&out, static_cast<uint16_t>(set.id(i).size()));
    out.append(set.id(i));
  }
  for (size_t i = 0; i < set.size(); ++i) {
    const auto keys = set.block_keys(i);
    out.push_back(static_cast<char>(keys.size()));
    for (uint64_t k : keys) PutU64(&out, k);
  }
  std::array<uint8_t, kChecksumBytes> sum{};
  if (EnsureSodium().ok()) {
    crypto_generichash(sum.data(), sum.size(), reinterpret_cast<const uint8_t*>(out.data()),
                       out.size(), nullptr, 0);
  }
  out.append(reinterpret_cast<const char*>(sum.data()), sum.size());
  return out;
}

Result<ClkSet> ParseClkSet(std::string_view bytes, std::string_view label) {
  RETURN_IF_ERROR(EnsureSodium());
  auto corrupt = [&](std::string_view what) {
    return Status::DataLoss(fmt::format("{}: {}", label, what));
  };
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    return Status::InvalidArgument(fmt::format(
        "{}: not a CLK file (it does not start with \"{}\"; make one with `passerelle pprl "
        "encode`)",
        label, kMagic));
  }
  if (bytes.size() < kMagic.size() + kChecksumBytes) return corrupt("truncated");
  const std::string_view body = bytes.substr(0, bytes.size() - kChecksumBytes);
  std::array<uint8_t, kChecksumBytes> sum{};
  crypto_generichash(sum.data(), sum.size(), reinterpret_cast<const uint8_t*>(body.data()),
                     body.size(), nullptr, 0);
  if (std::memcmp(sum.data(), bytes.data() + body.size(), kChecksumBytes) != 0) {
    return corrupt("checksum mismatch (the file is truncated or damaged)");
  }
  Reader r(body.substr(kMagic.size()));
  uint32_t version = 0;
  ClkHeader h;
  uint64_t count = 0;
  uint16_t id_len = 0;
  std::string_view fp, kc, id_name;
  if (!r.Int(&version)) return corrupt("truncated header");
  if (version != kVersion) {
    return Status::InvalidArgument(
        fmt::format("{}: CLK file version {} is not supported (this program reads version {})",
                    label, version, kVersion));
  }
  if (!r.Int(&h.bits) || !r.Int(&count) || !r.Int(&h.flags) || !r.Int(&h.blip_threshold) ||
      !r.Bytes(32, &fp) || !r.Bytes(16, &kc) || !r.Int(&id_len) || !r.Bytes(id_len, &id_name)) {
    return corrupt("truncated header");
  }
  if (h.bits == 0 || h.bits % 64 != 0 || h.bits > 16384) {
    return corrupt(fmt::format("bad CLK length {} (a multiple of 64 up to 16384)", h.bits));
  }
  if ((h.flags & ~uint32_t{7}) != 0) return corrupt("unknown flags");
  std::memcpy(h.schema_fingerprint.data(), fp.data(), 32);
  std::memcpy(h.key_check.data(), kc.data(), 16);
  h.id_name = std::string(id_name);
  const size_t clk_bytes = h.bits / 8;
  // Each record takes at least clk_bytes + 2 (id length) + 1 (key count) bytes.
  if (count > r.left() / (clk_bytes + 3)) return corrupt("record count larger than the file");
  ClkSet set(h);
  set.Reserve(count);
  std::string_view clks;
  if (!r.Bytes(count * clk_bytes, &clks)) return corrupt("truncated CLKs");
  std::vector<std::string> ids(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint16_t n = 0;
    std::string_view id;
    if (!r.Int(&n) || n > ClkSet::kMaxIdBytes || !r.Bytes(n, &id)) return corrupt("bad ids");
    ids[i] = std::string(id);
  }
  std::vector<uint64_t> words(h.bits / 64);
  std::vector<uint64_t> keys;
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t n = 0;
    if (!r.Int(&n)) return corrupt("truncated blocking keys");
    keys.resize(n);
    for (auto& k : keys) {
      if (!r.Int(&k)) return corrupt("truncated blocking keys");
    }
    Reader cr(clks.substr(i * clk_bytes, clk_bytes));
    for (auto& w : words) {
      if (!cr.Int(&w)) return Status::Internal("CLK slice shorter than its length");
    }
    set.Append(std::move(ids[i]), words, keys);
  }
  if (r.left() != 0) return corrupt("unexpected bytes after the last record");
  return set;
}

Status WriteClkFile(const std::filesystem::path& path, const ClkSet& set) {
  return WriteFileAtomic(path, SerializeClkSet(set));
}

Result<ClkSet> ReadClkFile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  return ParseClkSet(bytes, path.filename().string());
}

}  // namespace passerelle::pprl
