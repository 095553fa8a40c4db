// The jurisdiction profiles of the synthetic populations: demography, disease prevalences and
// their age/sex/comorbidity structure, the codes each jurisdiction uses, and which drugs are
// marketed when. Internal to src/omop/synth; docs/synthetic-data.md restates these numbers.
//
// Thread-safety: immutable tables; GetProfile's calibration runs once per profile under a
// static initialiser and is then read-only.
#pragma once

#include <array>
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "omop/synth/synth.h"
#include "omop/vocabulary.h"

namespace passerelle::omop::synth {

// Chronic diseases: a person has each one or not over the observation window (the profile's
// prevalence is this period prevalence among all persons generated).
enum Chronic : int {
  kObesity,
  kHypertension,
  kT2d,
  kDyslipidemia,
  kCad,
  kAfib,
  kCkd,
  kHeartFailure,
  kCopd,
  kAsthma,
  kDepression,
  kAnxiety,
  kHypothyroid,
  kOsteoarthritis,
  kOsteoporosis,
  kGout,
  kAlzheimer,
  kBreastCancer,
  kProstateCancer,
  kColonCancer,
  kLungCancer,
  kGerd,
  kParkinson,
  kEpilepsy,
  kRheumatoid,
  kPsoriasis,
  kInsomnia,
  kGlaucoma,
  kSleepApnea,
  kPvd,
  kAnemia,
  kVitaminD,
  kAlcohol,
  kSchizophrenia,
  kDiabRetinopathy,
  kDiabNeuropathy,
  kDiabNephropathy,
  kNumChronic
};

struct ChronicSpec {
  Chronic id;
  const char* key;          // code key (CodeSet) of the disease's diagnosis
  double prevalence[2];     // period prevalence among all persons: [France, Québec]
  double min_age;           // no cases below this age at observation start (years)
  double age_per_decade;    // log-odds per decade of age at observation start, around 50
  double age_quadratic;     // log-odds per squared decade
  double female;            // log-odds for women; +-99 means one sex only
  double cardiometabolic;   // loading on the latent cardiometabolic risk (standard normal)
  double smoking;           // log-odds for smokers
  double prevalent_share;   // share of cases already present when observation starts
  double reviews_per_year;  // outpatient follow-up visits per year once diagnosed
  // Comorbidity: log-odds added when the parent disease is present; a `needs` parent makes
  // the disease impossible without it (diabetic complications).
  struct Parent {
    Chronic parent;
    double log_odds;
  };
  std::array<Parent, 4> parents;  // unused slots have log_odds 0
  Chronic needs = kNumChronic;
};

const std::array<ChronicSpec, kNumChronic>& ChronicSpecs();

// A source code resolved against the shipped vocabulary.
struct CodeRef {
  int64_t source = 0;    // local source concept id; 0 when the jurisdiction has no such code
  int64_t standard = 0;  // the standard concept it maps to
  std::string code;      // the code as the source writes it (the *_source_value)
};

// The diagnosis codes of a disease or acute condition in each coding system.
struct Coded {
  CodeRef cim10;    // France, all diagnoses (PMSI/CepiDc style, no dot: "E119")
  CodeRef icd9;     // Québec physician billing (RAMQ), ICD-9-CM; source 0 when none
  CodeRef icd10ca;  // Québec hospital diagnoses (MED-ECHO), ICD-10-CA
  CodeRef icd10;    // Québec causes of death, ICD-10 (WHO); source 0 when not a cause of death
};

// A procedure's codes: France (CCAM) and Québec (CCI).
struct ProcCoded {
  CodeRef ccam;
  CodeRef cci;
};

// Look-ups of codes by key ("t2d", "ami", ...), resolved once against Vocabulary::Shipped().
class CodeSet {
 public:
  static const CodeSet& Get();
  // Not OK when a key the generator uses has no code in the vocabulary (a data bug).
  const Status& status() const { return status_; }
  // REQUIRES: status().ok() and `key` is one of the keys of profile.cc.
  const Coded& Condition(std::string_view key) const;
  const ProcCoded& Procedure(std::string_view key) const;
  // The drug product (CIP13 for France, DIN for Québec) of an ingredient; source 0 when the
  // ingredient is not marketed in that jurisdiction.
  const CodeRef& Product(Profile profile, int64_t ingredient) const;
  // A LOINC measurement or a UCUM unit as a CodeRef (source = standard = the concept).
  CodeRef Standard(int64_t concept_id) const;

  // Every condition key, in profile order.
  std::vector<std::string> ConditionKeys() const;

 private:
  CodeSet();
  Status status_;
  std::vector<std::pair<std::string, Coded>> conditions_;  // in profile order
  std::unordered_map<std::string_view, const Coded*> condition_index_;
  std::unordered_map<std::string_view, ProcCoded> procedures_;
  std::unordered_map<int64_t, std::array<CodeRef, 2>> products_;
  CodeRef none_;
};

// Demography and care patterns of one jurisdiction.
struct Demography {
  std::array<double, 20> pyramid;  // share of persons by 5-year age band at window start
  double female_young;             // share of women below 60
  double female_60;                // 60-74
  double female_75;                // 75-84
  double female_85;                // 85+
  double births_per_year;          // births per person-year (persons born inside the window)
  double immigration_per_year;     // coverage starting inside the window, per person-year
  double emigration_per_year;      // coverage ending (moving out), per person-year
  double mortality_intercept;      // log annual death probability at age 0 (Gompertz)
  double mortality_per_year;       // Gompertz slope per year of age
  double smokers;                  // share of adults who smoke(d)
};

const Demography& DemographyOf(Profile profile);

// Calibrated intercepts (log-odds) of each chronic disease for a profile: the period prevalence
// over a fixed reference sample equals the profile's prevalence.
const std::array<double, kNumChronic>& ChronicIntercepts(Profile profile);

// Marketing window of an ingredient in a jurisdiction, days since epoch (inclusive).
struct Availability {
  int32_t from = INT32_MIN;
  int32_t until = INT32_MAX;
};
Availability AvailabilityOf(Profile profile, int64_t ingredient);

// The ingredients of an ATC class (by code) that the vocabulary relates to it.
std::vector<int64_t> IngredientsOfClass(std::string_view atc_code);

// RxNorm ingredients the generator prescribes (standard concepts of the shipped vocabulary).
namespace rx {
inline constexpr int64_t kMetformin = 1503297, kEmpagliflozin = 45774751, kDapagliflozin = 44785829,
                         kCanagliflozin = 43526465, kLiraglutide = 40170911,
                         kDulaglutide = 45774435, kSemaglutide = 793143, kSitagliptin = 1580747,
                         kVildagliptin = 19122137, kSaxagliptin = 40166035, kLinagliptin = 40239216,
                         kAlogliptin = 43013884, kGliclazide = 19059796, kGlimepiride = 1597756,
                         kGlyburide = 1559684, kInsulinGlargine = 1502905, kInsulinLispro = 1550023;
inline constexpr int64_t kAtorvastatin = 1545958, kRosuvastatin = 1510813, kSimvastatin = 1539403,
                         kPravastatin = 1551860;
inline constexpr int64_t kPerindopril = 1373225, kRamipril = 1334456, kLisinopril = 1308216,
                         kIrbesartan = 1347384, kValsartan = 1308842, kCandesartan = 1351557,
                         kLosartan = 1367500, kTelmisartan = 1317640, kAmlodipine = 1332418,
                         kBisoprolol = 1338005, kMetoprolol = 1307046, kCarvedilol = 1346823,
                         kNebivolol = 1314577, kHydrochlorothiazide = 974166, kIndapamide = 978555,
                         kFurosemide = 956874, kSpironolactone = 970250;
inline constexpr int64_t kApixaban = 43013024, kRivaroxaban = 40241331, kDabigatran = 45775372,
                         kEdoxaban = 45892847, kWarfarin = 1310149, kClopidogrel = 1322184,
                         kAspirin = 1112807, kTicagrelor = 40241186;
inline constexpr int64_t kAlbuterol = 1154343, kTiotropium = 1106776, kFluticasone = 1149380,
                         kMontelukast = 1154161;
inline constexpr int64_t kSertraline = 739138, kEscitalopram = 715939, kFluoxetine = 755695,
                         kMirtazapine = 725131, kVenlafaxine = 743670, kCitalopram = 797617;
inline constexpr int64_t kLevothyroxine = 1501700, kAcetaminophen = 1125315, kIbuprofen = 1177480,
                         kAmoxicillin = 1713332, kTamoxifen = 1436678, kAnastrozole = 1348265,
                         kBicalutamide = 1344381, kLeuprolide = 1351541, kCapecitabine = 1337620,
                         kOxaliplatin = 1318011, kDonepezil = 715997, kMemantine = 701322,
                         kTramadol = 1103314, kPrednisone = 1551099, kCholecalciferol = 19095164;
}  // namespace rx

// LOINC measurements and UCUM units (standard concepts of the shipped vocabulary).
namespace lab {
inline constexpr int64_t kHba1c = 3004410, kEgfr = 40764999, kLdl = 3009966, kTotalChol = 3027114,
                         kHdl = 3007070, kTriglycerides = 3022192, kCreatinine = 3016723,
                         kGlucose = 3004501, kPotassium = 3023103, kHemoglobin = 3000963,
                         kNtProBnp = 3029187, kSystolic = 3004249, kDiastolic = 3012888,
                         kBmi = 3038553, kWeight = 3025315, kHeight = 3036277, kHeartRate = 3027018,
                         kInr = 3022217, kPsa = 3013603;
inline constexpr int64_t kPercent = 8554, kMmolL = 8753, kGL = 8636, kUmolL = 8749, kMmHg = 8876,
                         kKg = 9529, kKgM2 = 9531, kEgfrUnit = 720870, kPgMl = 8845, kPerMin = 8541,
                         kCm = 8582, kGDl = 8713, kNgMl = 8842, kRatio = 8523;
}  // namespace lab

}  // namespace passerelle::omop::synth
