#include "common/log.h"

#include <gtest/gtest.h>

#include "common/json_escape.h"

namespace passerelle {
namespace {

TEST(LogTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(*log::ParseLevel("debug"), log::Level::kDebug);
  EXPECT_EQ(*log::ParseFormat("json"), log::Format::kJson);
  EXPECT_FALSE(log::ParseLevel("loud").ok());
  EXPECT_FALSE(log::ParseFormat("xml").ok());
}

TEST(LogTest, JsonLinesAreOneObjectPerLine) {
  testing::internal::CaptureStderr();
  log::Init({log::Level::kInfo, log::Format::kJson});
  log::Info("ingested {} rows into \"{}\"\n(done)", 3, "person");
  log::Debug("hidden");
  std::string out = testing::internal::GetCapturedStderr();
  log::Init({});
  EXPECT_NE(out.find(R"x("level":"info","msg":"ingested 3 rows into \"person\"\n(done)"})x"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST(LogTest, EscapesControlCharacters) {
  std::string out;
  AppendJsonEscaped(std::string("a\x01\tb", 4), out);
  EXPECT_EQ(out, "a\\u0001\\tb");
}

}  // namespace
}  // namespace passerelle
