#include "common/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/files.h"

namespace passerelle {
namespace {

TEST(ConfigTest, TypedGettersWithDefaults) {
  auto c = Config::Parse(R"(
[hub]
listen = "127.0.0.1:8443"
max_body = 1048576
[policy]
min_cell = 10
epsilon = 1.5
require_secure_aggregation = true
analyses = ["count", "summary"]
)",
                         "hub.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c->GetString("hub.listen", ""), "127.0.0.1:8443");
  EXPECT_EQ(*c->GetInt("hub.max_body", 0), 1048576);
  EXPECT_EQ(*c->GetInt("policy.min_cell", 5), 10);
  EXPECT_EQ(*c->GetInt("policy.absent", 5), 5);
  EXPECT_DOUBLE_EQ(*c->GetDouble("policy.epsilon", 0), 1.5);
  EXPECT_DOUBLE_EQ(*c->GetDouble("policy.min_cell", 0), 10.0);  // integers read as numbers
  EXPECT_TRUE(*c->GetBool("policy.require_secure_aggregation", false));
  auto list = c->GetStringList("policy.analyses", {});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_TRUE(c->Has("hub"));
  EXPECT_FALSE(c->Has("node"));
  EXPECT_EQ(c->TableKeys("policy").size(), 4u);
}

TEST(ConfigTest, WrongTypeNamesFileLineAndKey) {
  auto c = Config::Parse("[policy]\nmin_cell = \"ten\"\n", "node.toml");
  ASSERT_TRUE(c.ok());
  auto v = c->GetInt("policy.min_cell", 10);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "node.toml:2: \"policy.min_cell\" must be an integer (got string)");
}

TEST(ConfigTest, SyntaxErrorNamesLine) {
  auto c = Config::Parse("a = 1\nb = = 2\n", "bad.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("bad.toml:2:"), std::string::npos) << c.status().message();
}

TEST(ConfigTest, LoadFileAndMissingFile) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  auto path = dir->path() / "x.toml";
  std::ofstream(path) << "name = \"fr-1\"\nport = 0\n";
  auto c = Config::LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c->GetString("name", ""), "fr-1");
  EXPECT_EQ(c->UnknownKeys({"name"}), std::vector<std::string>{"port"});
  auto missing = Config::LoadFile(dir->path() / "none.toml");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace passerelle
