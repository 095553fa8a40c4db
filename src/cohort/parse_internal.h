// Pieces of the native-format parser reused by the study-spec parser (features.cc). Internal to
// src/cohort. Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string_view>

#include "cohort/definition.h"
#include "cohort/json_util.h"

namespace passerelle::cohort::internal {

Result<EventCriteria> ParseEventJson(const Json& json, std::string_view where);
// `key` names the window in messages ("window"); `default_event_end` as for "end_window".
Result<Window> ParseWindowJson(const Json& json, std::string_view key, std::string_view where,
                               bool default_event_end);
// Domain rules and concept-set references of an event; `has_set` says whether an id exists.
Status ValidateEvent(const EventCriteria& event,
                     const std::function<bool(std::string_view)>& has_set, std::string_view where);
Result<ConceptItem> ParseConceptItemJson(const Json& json, std::string_view where);

}  // namespace passerelle::cohort::internal
