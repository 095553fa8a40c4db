#include "privacy/differencing.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "privacy/byte_io.h"

namespace passerelle::privacy {
namespace {

constexpr uint8_t kMagic[4] = {'P', 'F', 'P', '1'};
constexpr uint32_t kMaxCells = 1u << 24;

// A 64-bit finaliser (splitmix64's): the keys are already keyed-hash outputs, so this only has
// to spread them over cells, not resist an adversary.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t CheckOf(uint64_t key) { return Mix(key ^ 0x5bd1e9955bd1e995ULL); }

uint32_t CellOf(uint64_t key, uint32_t j, uint32_t cells) {
  const uint32_t part = cells / PopulationFingerprint::kHashes;
  return j * part + static_cast<uint32_t>(Mix(key + 0x632be59bd9b4e019ULL * (j + 1)) % part);
}

uint64_t KeyId(const crypto::Bytes32& key) {
  crypto::Bytes32 h = crypto::Blake2b256(crypto::AsBytes("passerelle population key id"), key);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(h[i]) << (8 * i);
  return v;
}

uint64_t HashId(const crypto::Bytes32& key, std::span<const uint8_t> id, uint8_t kind) {
  std::vector<uint8_t> msg;
  msg.reserve(id.size() + 1);
  msg.push_back(kind);
  msg.insert(msg.end(), id.begin(), id.end());
  crypto::Bytes32 h = crypto::Blake2b256(msg, key);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(h[i]) << (8 * i);
  return v;
}

Status CheckCells(uint32_t cells) {
  if (cells < PopulationFingerprint::kHashes * 4 || cells > kMaxCells ||
      cells % PopulationFingerprint::kHashes != 0) {
    return Status::InvalidArgument(fmt::format(
        "population fingerprint: cells must be a multiple of {} between 16 and {} (got {})",
        PopulationFingerprint::kHashes, kMaxCells, cells));
  }
  return Status::Ok();
}

}  // namespace

uint32_t PopulationFingerprint::DefaultCells(int64_t min_rows) {
  const int64_t want = std::max<int64_t>(256, 64 * std::max<int64_t>(min_rows, 1));
  const int64_t capped = std::min<int64_t>(want, kMaxCells);
  return static_cast<uint32_t>(capped - capped % kHashes);
}

Result<PopulationFingerprint> PopulationFingerprint::Empty(const crypto::Bytes32& key,
                                                           uint32_t cells) {
  RETURN_IF_ERROR(CheckCells(cells));
  PopulationFingerprint f;
  f.key_id_ = KeyId(key);
  f.count_.assign(cells, 0);
  f.key_xor_.assign(cells, 0);
  f.check_xor_.assign(cells, 0);
  return f;
}

void PopulationFingerprint::Insert(uint64_t key) {
  const uint64_t check = CheckOf(key);
  for (uint32_t j = 0; j < kHashes; ++j) {
    const uint32_t c = CellOf(key, j, cells());
    count_[c] += 1;
    key_xor_[c] ^= key;
    check_xor_[c] ^= check;
  }
  ++population_;
}

Result<PopulationFingerprint> PopulationFingerprint::Build(const crypto::Bytes32& key,
                                                           std::span<const int64_t> person_ids,
                                                           uint32_t cells) {
  ASSIGN_OR_RETURN(PopulationFingerprint f, Empty(key, cells));
  std::vector<int64_t> ids(person_ids.begin(), person_ids.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (int64_t id : ids) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(static_cast<uint64_t>(id) >> (8 * i));
    f.Insert(HashId(key, b, 'i'));
  }
  return f;
}

Result<PopulationFingerprint> PopulationFingerprint::BuildFromStrings(
    const crypto::Bytes32& key, std::span<const std::string> person_ids, uint32_t cells) {
  ASSIGN_OR_RETURN(PopulationFingerprint f, Empty(key, cells));
  std::vector<std::string> ids(person_ids.begin(), person_ids.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (const auto& id : ids) f.Insert(HashId(key, crypto::AsBytes(id), 's'));
  return f;
}

std::vector<uint8_t> PopulationFingerprint::Serialize() const {
  ByteWriter w;
  w.Raw(kMagic);
  w.U32(cells());
  w.U64(key_id_);
  w.I64(population_);
  for (uint32_t c = 0; c < cells(); ++c) {
    w.U32(static_cast<uint32_t>(count_[c]));
    w.U64(key_xor_[c]);
    w.U64(check_xor_[c]);
  }
  return w.Take();
}

Result<PopulationFingerprint> PopulationFingerprint::Parse(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "population fingerprint");
  std::array<uint8_t, 4> magic;
  r.Raw(magic);
  if (r.ok() && !std::equal(magic.begin(), magic.end(), kMagic)) r.Fail("not a PFP1 fingerprint");
  const uint32_t cells = r.U32();
  RETURN_IF_ERROR(r.status());
  RETURN_IF_ERROR(CheckCells(cells));
  if (r.remaining() != 16 + static_cast<size_t>(cells) * 20) {
    return Status::InvalidArgument("population fingerprint: size does not match its cell count");
  }
  PopulationFingerprint f;
  f.key_id_ = r.U64();
  f.population_ = r.I64();
  f.count_.resize(cells);
  f.key_xor_.resize(cells);
  f.check_xor_.resize(cells);
  for (uint32_t c = 0; c < cells; ++c) {
    f.count_[c] = static_cast<int32_t>(r.U32());
    f.key_xor_[c] = r.U64();
    f.check_xor_[c] = r.U64();
  }
  RETURN_IF_ERROR(r.Finish());
  return f;
}

Result<PopulationDifference> ComparePopulations(const PopulationFingerprint& a,
                                                const PopulationFingerprint& b) {
  if (a.cells() != b.cells() || a.key_id_ != b.key_id_) {
    return Status::InvalidArgument(
        "population fingerprints made with different sizes or keys cannot be compared");
  }
  const uint32_t n = a.cells();
  std::vector<int64_t> count(n);
  std::vector<uint64_t> key(n), check(n);
  for (uint32_t c = 0; c < n; ++c) {
    count[c] = static_cast<int64_t>(a.count_[c]) - b.count_[c];
    key[c] = a.key_xor_[c] ^ b.key_xor_[c];
    check[c] = a.check_xor_[c] ^ b.check_xor_[c];
  }
  auto pure = [&](uint32_t c) {
    return (count[c] == 1 || count[c] == -1) && check[c] == CheckOf(key[c]);
  };
  PopulationDifference out;
  std::deque<uint32_t> queue;
  for (uint32_t c = 0; c < n; ++c) {
    if (pure(c)) queue.push_back(c);
  }
  while (!queue.empty()) {
    const uint32_t c = queue.front();
    queue.pop_front();
    if (!pure(c)) continue;
    const uint64_t k = key[c];
    const int64_t sign = count[c];
    (sign > 0 ? out.only_first : out.only_second) += 1;
    const uint64_t ck = CheckOf(k);
    for (uint32_t j = 0; j < PopulationFingerprint::kHashes; ++j) {
      const uint32_t d = CellOf(k, j, n);
      count[d] -= sign;
      key[d] ^= k;
      check[d] ^= ck;
      if (pure(d)) queue.push_back(d);
    }
  }
  out.decoded = true;
  for (uint32_t c = 0; c < n; ++c) {
    if (count[c] != 0 || key[c] != 0 || check[c] != 0) {
      out.decoded = false;
      break;
    }
  }
  // A decoded difference must also agree with the two population sizes.
  if (out.decoded && out.only_first - out.only_second != a.population() - b.population()) {
    out.decoded = false;
  }
  return out;
}

Result<std::vector<StoredFingerprint>> InMemoryFingerprintStore::Recent(std::string_view node_id,
                                                                        std::string_view project_id,
                                                                        size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<StoredFingerprint> out;
  auto it = by_project_.find({std::string(node_id), std::string(project_id)});
  if (it == by_project_.end()) return out;
  for (auto r = it->second.rbegin(); r != it->second.rend() && out.size() < limit; ++r) {
    out.push_back(*r);
  }
  return out;
}

Status InMemoryFingerprintStore::Add(std::string_view node_id, std::string_view project_id,
                                     const StoredFingerprint& fingerprint, size_t keep) {
  std::lock_guard lock(mu_);
  auto& list = by_project_[{std::string(node_id), std::string(project_id)}];
  list.push_back(fingerprint);
  if (list.size() > keep) list.erase(list.begin(), list.end() - static_cast<ptrdiff_t>(keep));
  return Status::Ok();
}

Status DifferencingGuard::CheckAndRecord(std::string_view node_id, std::string_view project_id,
                                         std::string_view study_id,
                                         const PopulationFingerprint& population,
                                         int64_t time_micros) {
  if (options_.min_rows < 1) {
    return Status::InvalidArgument("differencing defence: min_rows must be >= 1");
  }
  ASSIGN_OR_RETURN(std::vector<StoredFingerprint> earlier,
                   store_.Recent(node_id, project_id, options_.keep_per_project));
  for (const auto& e : earlier) {
    // Populations whose sizes differ by min_rows or more cannot be closer than that.
    ASSIGN_OR_RETURN(PopulationFingerprint f, PopulationFingerprint::Parse(e.fingerprint));
    if (std::llabs(f.population() - population.population()) >= options_.min_rows) continue;
    Result<PopulationDifference> d = ComparePopulations(population, f);
    if (!d.ok()) {
      return d.status().WithContext(
          fmt::format("differencing defence: comparing with study {}", e.study_id));
    }
    if (d->decoded && d->total() > 0 && d->total() < options_.min_rows) {
      return Status::PermissionDenied(fmt::format(
          "differencing defence: the population of study {} differs from that of earlier study "
          "{} of project {} by fewer than {} persons; the node refuses it (the difference of the "
          "two results would describe those few persons)",
          study_id, e.study_id, project_id, options_.min_rows));
    }
  }
  StoredFingerprint mine{std::string(study_id), population.Serialize(), time_micros};
  return store_.Add(node_id, project_id, mine, options_.keep_per_project);
}

}  // namespace passerelle::privacy
