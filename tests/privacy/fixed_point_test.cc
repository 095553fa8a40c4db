// Fixed-point encoding in Z_2^64: exact sums, overflow bounds checked up front.
#include <gtest/gtest.h>

#include <cmath>

#include "privacy/fixed_point.h"

namespace passerelle::privacy {
namespace {

TEST(FixedPoint, SumsOfEncodingsDecodeToTheSum) {
  auto c =
      FixedPointCodec::Create({.fractional_bits = 20, .max_abs = 1e6, .max_nodes = 10}).value();
  std::vector<double> a{1.5, -2.25, 999999.0, -1e6}, b{-0.5, 0.25, 1.0, 0.0};
  auto ea = c.Encode(a).value(), eb = c.Encode(b).value();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_DOUBLE_EQ(c.DecodeOne(ea[i] + eb[i]), a[i] + b[i]);
  }
  // Rounding: within half a step.
  const double x = 0.1234567;
  EXPECT_LE(std::fabs(c.DecodeOne(c.EncodeOne(x).value()) - x), std::ldexp(1.0, -21));
}

TEST(FixedPoint, TheWorstCaseSumCannotWrap) {
  FixedPointOptions o{.fractional_bits = 24, .max_abs = 1e9, .max_nodes = 64};
  auto c = FixedPointCodec::Create(o).value();
  uint64_t sum = 0;
  for (uint32_t i = 0; i < o.max_nodes; ++i) sum += c.EncodeOne(-o.max_abs).value();
  EXPECT_DOUBLE_EQ(c.DecodeOne(sum), -o.max_abs * o.max_nodes);
}

TEST(FixedPoint, OverflowAndBadValuesAreErrors) {
  // 2^40 * 2^24 * 2^0 = 2^64 per node: a sum could wrap, so the options are refused.
  EXPECT_FALSE(FixedPointCodec::Create(
                   {.fractional_bits = 24, .max_abs = std::ldexp(1.0, 40), .max_nodes = 1})
                   .ok());
  EXPECT_FALSE(FixedPointCodec::Create(
                   {.fractional_bits = 24, .max_abs = std::ldexp(1.0, 36), .max_nodes = 10})
                   .ok());
  EXPECT_TRUE(FixedPointCodec::Create(
                  {.fractional_bits = 24, .max_abs = std::ldexp(1.0, 35), .max_nodes = 10})
                  .ok());
  EXPECT_FALSE(FixedPointCodec::Create({.fractional_bits = 53}).ok());
  EXPECT_FALSE(FixedPointCodec::Create({.max_abs = -1}).ok());
  auto c = FixedPointCodec::Create({.fractional_bits = 10, .max_abs = 100, .max_nodes = 3}).value();
  auto bad = c.Encode(std::vector<double>{1, 2, 100.5});
  EXPECT_EQ(bad.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(bad.status().message().find("element 2"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("100.5"), std::string::npos);  // never the value
  EXPECT_FALSE(c.EncodeOne(std::nan("")).ok());
  EXPECT_FALSE(c.EncodeOne(INFINITY).ok());
  EXPECT_TRUE(c.EncodeOne(-100).ok());
}

}  // namespace
}  // namespace passerelle::privacy
