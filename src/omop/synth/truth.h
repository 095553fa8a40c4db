// The effects planted in the synthetic populations, with their true parameters: the ground
// truth that federated models are checked against. docs/synthetic-data.md states the same
// numbers and how to rebuild each analysis from the CDM; tests use these constants.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/date.h"

namespace passerelle::omop::synth::truth {

// Concepts the analyses use (standard concepts of the shipped vocabulary).
inline constexpr int64_t kT2dConcept = 201826;           // Type 2 diabetes mellitus
inline constexpr int64_t kCkdConcept = 46271022;         // Chronic kidney disease (+ descendants)
inline constexpr int64_t kHeartFailureConcept = 316139;  // Heart failure (+ descendants)
inline constexpr int64_t kHypertensionConcept = 316866;  // Hypertensive disorder (+ descendants)
inline constexpr int64_t kAmiConcept = 312327;           // Acute myocardial infarction
inline constexpr int64_t kStrokeConcept = 443454;        // Cerebral infarction
inline constexpr int64_t kHba1cConcept = 3004410;        // Hemoglobin A1c (LOINC 4548-4), in %
inline constexpr int64_t kInpatientVisit = 9201;
inline constexpr int64_t kPrimaryDiagnosis = 32902;  // condition_status_concept_id
// Drug classes (ATC 4th level, local classification concepts: use concept_ancestor).
inline constexpr const char* kSglt2AtcCode = "A10BK";
inline constexpr const char* kStatinAtcCode = "C10AA";

// (1) One-year risk of hospitalisation for heart failure (HHF) among adults with type 2 diabetes.
//
// Cohort: persons with a T2D diagnosis (condition 201826) dated before the index date minus 90
// days, aged >= 18 at the index date (age = index year - year_of_birth), observed from 365 days
// before to 365 days after the index date (one observation period covers both).
// Covariates at the index date:
//   age     index year - year_of_birth
//   female  gender_concept_id = 8532
//   hba1c   value of the last HbA1c measurement (3004410) before the index date (there is one in
//           the 90 days before it for every cohort member), in %
//   ckd     a condition record of CKD (descendants of 46271022) dated before the index date
//   sglt2   a drug_exposure of an SGLT2 inhibitor (descendants of ATC A10BK) with
//           start <= index <= end
// Outcome: an inpatient visit (9201) with heart failure (descendants of 316139) as primary
// diagnosis (condition_status_concept_id 32902) starting in [index + 1, index + 365].
//   logit P(HHF) = kIntercept + kAgePerDecade * (age - 65) / 10 + kFemale * female
//                  + kHba1cPerPoint * (hba1c - 7) + kCkd * ckd + kSglt2 * sglt2
struct Hhf {
  static constexpr double kIntercept = -3.2;
  static constexpr double kAgePerDecade = 0.45;
  static constexpr double kFemale = -0.30;
  static constexpr double kHba1cPerPoint = 0.25;
  static constexpr double kCkd = 0.90;
  static constexpr double kSglt2 = -0.50;  // odds ratio exp(-0.5) = 0.61
};

// (3) Confounded treatment assignment, in the same cohort at the same index date: who is on an
// SGLT2 inhibitor at the index date (where SGLT2 inhibitors are marketed then; in France from
// 2020-04-01) follows
//   logit P(sglt2) = kIntercept + kAgePerDecade * (age - 65) / 10 + kCkd * ckd
// Older patients and patients with CKD are treated more often, and both have a higher risk of
// HHF, so the naive (unadjusted) odds ratio of HHF for SGLT2 use is biased towards harm: it lies
// above the one adjusted for the propensity score (age and CKD).
struct Sglt2Assignment {
  static constexpr double kIntercept = -1.0;
  static constexpr double kAgePerDecade = 0.30;
  static constexpr double kCkd = 2.0;
};

// (2) Time to first major cardiovascular event (MACE: an inpatient stay with acute myocardial
// infarction 312327 or cerebral infarction 443454 as primary diagnosis), proportional hazards
// with a constant baseline hazard (exponential model).
//
// Entry: observation_period_start_date + kEntryDays, for persons aged >= 18 at entry (age =
// entry year - year_of_birth) still observed then. No MACE is recorded before entry. Follow-up
// ends at the first MACE or at the end of the observation period (death, move, end of window).
// Covariates fixed at entry:
//   age     entry year - year_of_birth
//   male    gender_concept_id = 8507
//   t2d     a T2D condition record dated on or before entry
//   htn     a hypertension record (descendants of 316866) dated on or before entry
//   statin  a drug_exposure of a statin (descendants of ATC C10AA) with start <= entry <= end
//           (intention to treat: starting a statin later does not change the hazard)
//   hazard per year = kBaseRatePerYear * exp(kAgePerDecade * (age - 60) / 10 + kMale * male
//                     + kT2d * t2d + kHtn * htn + kStatin * statin)
struct Mace {
  static constexpr int32_t kEntryDays = 180;
  static constexpr double kBaseRatePerYear = 0.006;
  static constexpr double kAgePerDecade = 0.55;
  static constexpr double kMale = 0.45;
  static constexpr double kT2d = 0.55;
  static constexpr double kHtn = 0.40;
  static constexpr double kStatinHazardRatio = 0.70;
  static inline const double kStatin = std::log(kStatinHazardRatio);
  static constexpr double kMiShare = 0.55;       // share of first events that are MIs
  static constexpr double kCaseFatality = 0.10;  // deaths on the day of the event
};

// Effect (1)'s index date for a window: 1 January two years before the window's last year
// (2022-01-01 for the default 2015..2024 window). The effects are planted only when the window
// holds a full year on each side of it (PlantedIndexDate returns false otherwise).
inline bool PlantedIndexDate(int32_t start_date, int32_t end_date, int32_t* index_date) {
  const int year = CivilFromDays(end_date).year - 2;
  *index_date = DaysFromCivil(year, 1, 1);
  return *index_date - 365 >= start_date && *index_date + 365 <= end_date;
}

}  // namespace passerelle::omop::synth::truth
