#include "privacy/byte_io.h"

#include <fmt/format.h>

#include <bit>

namespace passerelle::privacy {

void ByteWriter::U64Array(std::span<const uint64_t> v) {
  const size_t at = out_.size();
  out_.resize(at + v.size() * 8);
  if constexpr (std::endian::native == std::endian::little) {
    if (!v.empty()) std::memcpy(out_.data() + at, v.data(), v.size() * 8);
  } else {
    for (size_t i = 0; i < v.size(); ++i) {
      for (int b = 0; b < 8; ++b) out_[at + 8 * i + b] = static_cast<uint8_t>(v[i] >> (8 * b));
    }
  }
}

bool ByteReader::Need(size_t n) {
  if (!status_.ok()) return false;
  if (remaining() < n) {
    Fail(fmt::format("truncated at byte {} (needed {} more bytes, {} left)", pos_, n, remaining()));
    return false;
  }
  return true;
}

void ByteReader::Fail(std::string message) {
  if (status_.ok()) status_ = Status::InvalidArgument(what_ + ": " + message);
}

uint8_t ByteReader::U8() {
  if (!Need(1)) return 0;
  return in_[pos_++];
}

uint32_t ByteReader::U32() {
  if (!Need(4)) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in_[pos_ + i]) << (8 * i);
  pos_ += 4;
  return v;
}

uint64_t ByteReader::U64() {
  if (!Need(8)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
  pos_ += 8;
  return v;
}

void ByteReader::Raw(std::span<uint8_t> out) {
  if (!Need(out.size())) {
    std::memset(out.data(), 0, out.size());
    return;
  }
  std::memcpy(out.data(), in_.data() + pos_, out.size());
  pos_ += out.size();
}

std::vector<uint8_t> ByteReader::Blob(size_t max) {
  const uint32_t n = U32();
  if (!ok()) return {};
  if (n > max) {
    Fail(fmt::format("a field of {} bytes exceeds the limit of {}", n, max));
    return {};
  }
  if (!Need(n)) return {};
  std::vector<uint8_t> out(in_.begin() + pos_, in_.begin() + pos_ + n);
  pos_ += n;
  return out;
}

std::string ByteReader::Str(size_t max) {
  std::vector<uint8_t> b = Blob(max);
  return std::string(b.begin(), b.end());
}

std::vector<uint64_t> ByteReader::U64Array(uint64_t n) {
  if (!ok()) return {};
  if (n > remaining() / 8) {
    Fail(fmt::format("{} values announced but only {} bytes left", n, remaining()));
    return {};
  }
  std::vector<uint64_t> out(n);
  if constexpr (std::endian::native == std::endian::little) {
    if (n) std::memcpy(out.data(), in_.data() + pos_, n * 8);
    pos_ += n * 8;
  } else {
    for (auto& v : out) v = U64();
  }
  return out;
}

uint32_t ByteReader::Count(uint32_t max, size_t min_item_bytes) {
  const uint32_t n = U32();
  if (!ok()) return 0;
  if (n > max) {
    Fail(fmt::format("a count of {} exceeds the limit of {}", n, max));
    return 0;
  }
  if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
    Fail(fmt::format("a count of {} items does not fit in the {} bytes left", n, remaining()));
    return 0;
  }
  return n;
}

Status ByteReader::Finish() {
  if (!status_.ok()) return status_;
  if (remaining() != 0) {
    return Status::InvalidArgument(
        fmt::format("{}: {} unexpected bytes after the end", what_, remaining()));
  }
  return Status::Ok();
}

}  // namespace passerelle::privacy
