// Little-endian binary writer and bounds-checked reader for the privacy layer's wire and state
// formats (secure aggregation messages, population fingerprints). The reader never reads past
// its input: a short or malformed input sets a sticky error that the caller checks once.
//
// Thread-safety: a writer or reader belongs to one thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::privacy {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Raw(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // uint32 length, then the bytes.
  void Blob(std::span<const uint8_t> b) {
    U32(static_cast<uint32_t>(b.size()));
    Raw(b);
  }
  void Str(std::string_view s) {
    Blob(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  void U64Array(std::span<const uint64_t> v);  // raw little-endian values, no length
  std::vector<uint8_t>& bytes() { return out_; }
  std::vector<uint8_t> Take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

class ByteReader {
 public:
  // `what` names the input in error messages ("secure aggregation message").
  ByteReader(std::span<const uint8_t> in, std::string what) : in_(in), what_(std::move(what)) {}

  uint8_t U8();
  uint32_t U32();
  uint64_t U64();
  int64_t I64() { return static_cast<int64_t>(U64()); }
  void Raw(std::span<uint8_t> out);
  // A Blob of at most `max` bytes.
  std::vector<uint8_t> Blob(size_t max);
  std::string Str(size_t max);
  // `n` little-endian uint64 values; fails without allocating when fewer bytes remain.
  std::vector<uint64_t> U64Array(uint64_t n);
  // A count of at most `max` items of at least `min_item_bytes` each (checked against what
  // remains, so a hostile count cannot make the caller allocate).
  uint32_t Count(uint32_t max, size_t min_item_bytes);

  size_t remaining() const { return in_.size() - pos_; }
  bool ok() const { return status_.ok(); }
  void Fail(std::string message);
  // The sticky error, or an error when bytes remain unread.
  Status Finish();
  const Status& status() const { return status_; }

 private:
  bool Need(size_t n);
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  std::string what_;
  Status status_;
};

}  // namespace passerelle::privacy
