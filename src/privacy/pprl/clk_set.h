// A set of encoded records (CLKs) with their ids and blocking keys, and its file format.
//
// In memory, CLK i occupies words()[i * words_per_clk() ...], 64-byte aligned rows; bit j of a
// CLK is bit (j % 64) of word j / 64 (equivalently bit j % 8 of byte j / 8 in the little-endian
// file). The popcount of every row is cached for the Dice kernels.
//
// File format v1 (all integers little-endian; docs/pprl.md has the table):
//   magic "PPRLCLK1" (8 bytes) | u32 version = 1 | u32 bits | u64 count | u32 flags
//   (bit 0 XOR-folded, bit 1 balanced, bit 2 BLIP) | u32 BLIP threshold (flip iff a uniform u32 is
//   below it) | 32 bytes schema fingerprint | 16 bytes key check | u16 length + id column name
//   | count * bits/8 bytes of CLKs | count * (u16 length + id bytes) | count * (u8 n + n * u64
//   blocking keys) | 32 bytes BLAKE2b-256 of everything before it.
// Readers check every length against the bytes left, so a hostile or truncated file is an error,
// never an over-read; the checksum turns silent corruption into kDataLoss.
//
// Thread-safety: a const ClkSet may be read from several threads; mutation is single-threaded.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::pprl {

// Allocator giving 64-byte aligned storage (one cache line, one AVX-512 register).
template <typename T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() = default;
  template <typename U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}  // NOLINT: allocator rebinding
  T* allocate(size_t n) {
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const CacheAlignedAllocator<U>&) const {
    return true;
  }
};
using AlignedWords = std::vector<uint64_t, CacheAlignedAllocator<uint64_t>>;

// What a CLK file says about how its CLKs were made; two sets can be compared only when these
// agree (see CheckComparable).
struct ClkHeader {
  static constexpr uint32_t kXorFolded = 1;
  static constexpr uint32_t kBalanced = 2;
  static constexpr uint32_t kBlip = 4;

  uint32_t bits = 0;            // CLK length after hardening, multiple of 64
  uint32_t flags = 0;           // kXorFolded | kBalanced | kBlip
  uint32_t blip_threshold = 0;  // flip iff a uniform u32 < this; 0 without BLIP
  std::array<uint8_t, 32> schema_fingerprint{};
  std::array<uint8_t, 16> key_check{};
  std::string id_name;  // the schema's id column, names the ids in PAIRS.csv
};

class ClkSet {
 public:
  static constexpr size_t kMaxIdBytes = 1024;
  static constexpr size_t kMaxBlockKeys = 255;

  ClkSet() = default;
  // REQUIRES: header.bits is a positive multiple of 64.
  explicit ClkSet(ClkHeader header);

  const ClkHeader& header() const { return header_; }
  size_t size() const { return ids_.size(); }
  size_t words_per_clk() const { return words_per_clk_; }
  // Row stride in words (words_per_clk rounded up to a cache line).
  size_t stride() const { return stride_; }

  const uint64_t* row(size_t i) const { return words_.data() + i * stride_; }
  std::span<const uint64_t> clk(size_t i) const { return {row(i), words_per_clk_}; }
  uint16_t popcount(size_t i) const { return popcounts_[i]; }
  const std::vector<uint16_t>& popcounts() const { return popcounts_; }
  const std::string& id(size_t i) const { return ids_[i]; }
  std::span<const uint64_t> block_keys(size_t i) const {
    return {block_keys_.data() + block_offsets_[i], block_offsets_[i + 1] - block_offsets_[i]};
  }
  bool has_block_keys() const { return !block_keys_.empty(); }

  // REQUIRES: clk.size() == words_per_clk(); id.size() <= kMaxIdBytes;
  // block_keys.size() <= kMaxBlockKeys.
  void Append(std::string id, std::span<const uint64_t> clk, std::span<const uint64_t> block_keys);
  void Reserve(size_t n);

 private:
  ClkHeader header_;
  size_t words_per_clk_ = 0;
  size_t stride_ = 0;
  AlignedWords words_;
  std::vector<uint16_t> popcounts_;
  std::vector<std::string> ids_;
  std::vector<uint64_t> block_keys_;
  std::vector<size_t> block_offsets_{0};
};

// Fails (kFailedPrecondition, saying what differs and what to do) unless both sets were made with
// the same schema, key and hardening.
Status CheckComparable(const ClkSet& a, const ClkSet& b);

// The file bytes of a set (format above), and back. Parse checks every length; `label` names the
// source in errors.
std::string SerializeClkSet(const ClkSet& set);
Result<ClkSet> ParseClkSet(std::string_view bytes, std::string_view label = "CLK file");

Status WriteClkFile(const std::filesystem::path& path, const ClkSet& set);
Result<ClkSet> ReadClkFile(const std::filesystem::path& path);

}  // namespace passerelle::pprl
