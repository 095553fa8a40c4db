// Import of ATLAS (OHDSI Circe) cohort-definition JSON into the native model (definition.h), so a
// cohort designed in ATLAS runs unchanged. What is imported is listed in docs/cohorts.md; any
// other construct that is set (not null, false, empty or its default) is refused with an error
// naming its JSON path, e.g. `cohort.json: PrimaryCriteria.CriteriaList[0].DrugEra: not
// supported ...`, never silently dropped.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string_view>

#include "cohort/definition.h"
#include "common/status.h"

namespace passerelle::cohort {

Result<CohortDefinition> ImportAtlasCohort(std::string_view json_text, std::string_view origin);
Result<CohortDefinition> ImportAtlasCohortJson(const nlohmann::json& json, std::string_view origin);

// Whether `json` looks like a Circe expression (has "PrimaryCriteria" or "ConceptSets").
bool LooksLikeAtlas(const nlohmann::json& json);

// Parses either format: ATLAS when it looks like ATLAS (or `force_atlas`), native otherwise.
Result<CohortDefinition> ParseAnyCohort(std::string_view json_text, std::string_view origin,
                                        bool force_atlas = false);

}  // namespace passerelle::cohort
