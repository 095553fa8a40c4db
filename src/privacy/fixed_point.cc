#include "privacy/fixed_point.h"

#include <fmt/format.h>

#include <cmath>

namespace passerelle::privacy {

Result<FixedPointCodec> FixedPointCodec::Create(const FixedPointOptions& o) {
  if (o.fractional_bits > 52) {
    return Status::InvalidArgument(
        fmt::format("fixed point: fractional_bits must be at most 52 (got {})", o.fractional_bits));
  }
  if (!(o.max_abs > 0) || !std::isfinite(o.max_abs)) {
    return Status::InvalidArgument("fixed point: max_abs must be a positive finite number");
  }
  if (o.max_nodes < 1) return Status::InvalidArgument("fixed point: max_nodes must be >= 1");
  const double scale = std::ldexp(1.0, static_cast<int>(o.fractional_bits));
  // max_nodes * (max_abs * 2^f + 1/2) < 2^63, evaluated in long double with a safety margin of
  // one part in 2^20 for rounding of the product itself.
  const long double bound = static_cast<long double>(o.max_nodes) *
                            (static_cast<long double>(o.max_abs) * scale + 0.5L) *
                            (1.0L + std::ldexp(1.0L, -20));
  if (bound >= std::ldexp(1.0L, 63)) {
    return Status::InvalidArgument(fmt::format(
        "fixed point: max_nodes ({}) x max_abs ({}) x 2^{} reaches 2^63: a sum could overflow; "
        "lower fractional_bits or max_abs",
        o.max_nodes, o.max_abs, o.fractional_bits));
  }
  return FixedPointCodec(o, scale);
}

Result<uint64_t> FixedPointCodec::EncodeOne(double x) const {
  if (!std::isfinite(x)) return Status::InvalidArgument("fixed point: value is NaN or infinite");
  if (std::fabs(x) > options_.max_abs) {
    return Status::OutOfRange(
        fmt::format("fixed point: a value exceeds the declared bound max_abs = {} in magnitude",
                    options_.max_abs));
  }
  // |x * 2^f| < 2^63 / max_nodes by Create's check, so llround cannot overflow.
  const long long r = std::llround(x * scale_);
  return static_cast<uint64_t>(static_cast<int64_t>(r));
}

Result<std::vector<uint64_t>> FixedPointCodec::Encode(std::span<const double> values) const {
  std::vector<uint64_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    Result<uint64_t> e = EncodeOne(values[i]);
    if (!e.ok()) return e.status().WithContext(fmt::format("element {}", i));
    out[i] = *e;
  }
  return out;
}

double FixedPointCodec::DecodeOne(uint64_t v) const {
  return static_cast<double>(static_cast<int64_t>(v)) / scale_;
}

std::vector<double> FixedPointCodec::Decode(std::span<const uint64_t> values) const {
  std::vector<double> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = DecodeOne(values[i]);
  return out;
}

}  // namespace passerelle::privacy
