// Fixed-point encoding of real values into the ring Z_2^64, where secure aggregation sums.
//
// A real x is encoded as round(x * 2^f) (round half away from zero) written in two's complement
// as a uint64; f = fractional_bits. Sums of encodings modulo 2^64 decode to the sum of the
// encoded values as long as the true sum stays in [-2^63, 2^63). The codec guarantees that by
// construction: every value must satisfy |x| <= max_abs, and the parameters must satisfy
//     max_nodes * (max_abs * 2^f + 1/2) < 2^63,
// so that no sum of at most max_nodes encoded values can wrap. A value past max_abs, NaN or an
// infinity is an error (kOutOfRange / kInvalidArgument) naming its position, never its value.
//
// Precision: each encoded value is within 2^-(f+1) of x; a sum of n values within n * 2^-(f+1).
// Decoding converts int64 to double, exact up to 2^53 * 2^-f in magnitude.
// Defaults (f = 24, max_abs = 2^30, max_nodes = 64): resolution 6e-8, values up to 1.07e9.
//
// Thread-safety: a FixedPointCodec is immutable after Create and may be shared.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace passerelle::privacy {

struct FixedPointOptions {
  // Bits after the binary point (part of the study's wire format). 0..52.
  uint32_t fractional_bits = 24;
  // Largest |value| a node may encode (part of the study's wire format).
  double max_abs = 1073741824.0;  // 2^30
  // Largest number of nodes whose encodings may be summed.
  uint32_t max_nodes = 64;
};

class FixedPointCodec {
 public:
  // Checks the options, including the no-overflow condition above.
  static Result<FixedPointCodec> Create(const FixedPointOptions& options);

  const FixedPointOptions& options() const { return options_; }
  double scale() const { return scale_; }

  Result<uint64_t> EncodeOne(double x) const;
  Result<std::vector<uint64_t>> Encode(std::span<const double> values) const;
  // Decodes a sum (or a single encoding): as int64, divided by 2^f.
  double DecodeOne(uint64_t v) const;
  std::vector<double> Decode(std::span<const uint64_t> values) const;

 private:
  explicit FixedPointCodec(const FixedPointOptions& o, double scale) : options_(o), scale_(scale) {}
  FixedPointOptions options_;
  double scale_;  // 2^f
};

}  // namespace passerelle::privacy
