// Fuzzes the wire messages of protocol v1 the hub and the nodes accept from the network:
// ParseJson (size and nesting limits) then StudyDefinition, Task and TaskResult FromJson. A
// message that validates must survive its own round trip: FromJson(ToJson(x)) validates again and
// serialises to the same text (the hub stores and re-sends what it accepted).
//
// Input: the first byte picks the message kind (0: study, 1: task, 2: result, other: all three);
// the rest is the JSON text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/codec.h"
#include "protocol/messages.h"

namespace {

template <typename Message>
void Check(const nlohmann::json& j) {
  auto m = Message::FromJson(j);
  if (!m.ok()) return;
  const std::string text = m->ToJson().dump();
  auto again = Message::FromJson(nlohmann::json::parse(text));
  if (!again.ok() || again->ToJson().dump() != text) std::abort();  // round trip broken
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t kind = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto j = passerelle::protocol::ParseJson(text, {.max_bytes = 1u << 20, .max_depth = 32});
  if (!j.ok()) return 0;
  using passerelle::protocol::StudyDefinition;
  using passerelle::protocol::Task;
  using passerelle::protocol::TaskResult;
  if (kind == '0' || kind > '2') Check<StudyDefinition>(*j);
  if (kind == '1' || kind > '2') Check<Task>(*j);
  if (kind == '2' || kind > '2') Check<TaskResult>(*j);
  return 0;
}
