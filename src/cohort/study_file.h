// Study files of OMOP studies, on the researcher's side (`passerelle study submit`, `passerelle
// sandbox`, the demo): resolves a cohort given by reference and checks "cohort", "covariates" and
// "outcome" before the study leaves, so that a mistake shows at once with its place rather than
// as a failed task at every node. (The hub never reads cohorts; each node parses them again.)
//
//   "cohort": {"file": "cohorts/t2dm.json"}   the file's definition, its path relative to the
//                                             study file's folder; an ATLAS export (detected)
//                                             becomes {"atlas": ...}
//
// Thread-safety: pure functions (they read files).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace passerelle::cohort {

// Returns `study` with its cohort reference resolved and checked; a study without "cohort" comes
// back unchanged. `origin` names the study file in errors.
Result<nlohmann::json> ResolveStudyCohort(nlohmann::json study,
                                          const std::filesystem::path& base_dir,
                                          std::string_view origin);

}  // namespace passerelle::cohort
