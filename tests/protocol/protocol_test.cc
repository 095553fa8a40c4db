#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "protocol/codec.h"
#include "protocol/messages.h"

namespace passerelle::protocol {
namespace {

using nlohmann::json;

TEST(CodecTest, Base64RoundTripAndRfc4648Vectors) {
  auto enc = [](std::string_view s) {
    return Base64Encode({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  auto d = Base64Decode("Zm9vYg==");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::string(d->begin(), d->end()), "foob");
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zm=v").ok());
  EXPECT_FALSE(Base64Decode("Zm9v!A==").ok());
  EXPECT_FALSE(Base64Decode("Zh==").ok());  // non-canonical trailing bits
}

TEST(CodecTest, VectorIsLittleEndianFloat64) {
  std::vector<double> v = {1.0, -2.5, 5.85192485623003};
  std::string text = EncodeVector(v);
  auto bytes = Base64Decode(text);
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 24u);
  // 1.0 = 0x3FF0000000000000, little-endian: last byte 0x3F.
  EXPECT_EQ((*bytes)[7], 0x3F);
  EXPECT_EQ((*bytes)[6], 0xF0);
  auto back = DecodeVector(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  EXPECT_FALSE(DecodeVector("AAAA").ok());  // 3 bytes
  double nan = std::nan("");
  EXPECT_FALSE(DecodeVector(EncodeVector(std::vector<double>{nan})).ok());
  EXPECT_EQ(DecodeVector(EncodeVector(std::vector<double>(10)), 5).status().code(),
            StatusCode::kOutOfRange);
}

TEST(CodecTest, JsonLimits) {
  EXPECT_TRUE(ParseJson("{\"a\":[1,2]}").ok());
  auto bad = ParseJson("{\"a\":");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("malformed JSON"), std::string::npos);
  std::string deep(100, '[');
  auto d = ParseJson(deep, {.max_depth = 32});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("nesting deeper than 32"), std::string::npos);
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseJson("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"}").ok());
  // A number beyond double's range is a 400, not an exception (found by fuzzing).
  auto overflow = ParseJson("{\"a\": 1e999}");
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().code(), StatusCode::kInvalidArgument);
  auto big = ParseJson(std::string(100, ' '), {.max_bytes = 10});
  EXPECT_EQ(big.status().code(), StatusCode::kOutOfRange);
}

TEST(MessagesTest, StudyDefinitionValidation) {
  json study = json::parse(R"({
    "name": "cnsim-descriptives", "dataset": "cnsim",
    "analyses": [{"id": "n", "type": "count"},
                 {"id": "s1", "type": "summary", "variables": ["LAB_TSC"]}]})");
  auto s = StudyDefinition::FromJson(study);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->analyses.size(), 2u);
  EXPECT_EQ(s->analyses[1].spec["variables"][0], "LAB_TSC");
  auto round = StudyDefinition::FromJson(s->ToJson());
  ASSERT_TRUE(round.ok());

  auto expect_error = [&](json j, std::string_view fragment) {
    auto r = StudyDefinition::FromJson(j);
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  };
  json j = study;
  j["datset"] = "x";
  expect_error(j, "unknown key \"datset\"");
  j = study;
  j["dataset"] = "drop table;";
  expect_error(j, "not a dataset name");
  j = study;
  j["analyses"][1]["id"] = "n";
  expect_error(j, "\"n\" is used twice");
  j = study;
  j["analyses"] = json::array();
  expect_error(j, "non-empty array");
  j = study;
  j["disclosure"] = {{"min_cell", -1}};
  expect_error(j, "study.disclosure.min_cell");
  j = study;
  j["nodes"] = {"fr", "fr"};
  expect_error(j, "listed twice");
  expect_error(json::array(), "expected an object");
}

TEST(MessagesTest, TaskAndResultRoundTrip) {
  Task t;
  t.task_id = "s1-r1-fr";
  t.study_id = "s1";
  t.round = 1;
  t.node = "fr";
  t.dataset = "cnsim";
  t.disclosure.min_cell = 20;
  TaskStep step;
  step.analysis_id = "t1";
  step.type = "table";
  step.spec = {{"id", "t1"}, {"type", "table"}};
  step.round = 1;
  step.input.params = {{"rows", {"0", "1"}}};
  step.input.values = {0.5, 2};
  t.steps.push_back(step);
  auto back = Task::FromJson(json::parse(t.ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->steps[0].input.values, step.input.values);
  EXPECT_EQ(*back->disclosure.min_cell, 20);

  TaskResult r;
  r.task_id = t.task_id;
  r.study_id = t.study_id;
  r.node = "fr";
  r.applied = {10, 10};
  r.shares.push_back({"t1", 1, {1, 2, 3}, {{"levels", {"a"}}}});
  auto rb = TaskResult::FromJson(json::parse(r.ToJson().dump()));
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->shares[0].values, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(rb->applied.min_cell, 10);

  json refused = r.ToJson();
  refused["status"] = "refused";
  auto rr = TaskResult::FromJson(refused);
  ASSERT_FALSE(rr.ok());
  EXPECT_NE(rr.status().message().find("releases nothing"), std::string::npos);
  json v2 = r.ToJson();
  v2["protocol"] = 2;
  EXPECT_NE(TaskResult::FromJson(v2).status().message().find("protocol version 2"),
            std::string::npos);
  json badvec = r.ToJson();
  badvec["shares"][0]["values"] = "%%%%";
  EXPECT_NE(TaskResult::FromJson(badvec).status().message().find("result.shares[0].values"),
            std::string::npos);
}

TEST(MessagesTest, ErrorBodyRoundTrip) {
  std::string body = ErrorBody(Status::PermissionDenied("node fr refused"));
  Status s = StatusFromErrorBody(403, body);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "node fr refused");
  EXPECT_EQ(StatusFromErrorBody(503, "garbage").code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace passerelle::protocol
