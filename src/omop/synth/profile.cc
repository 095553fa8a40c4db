#include "omop/synth/profile.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/date.h"

namespace passerelle::omop::synth {
namespace {

using P = ChronicSpec::Parent;
constexpr P kNone{kNumChronic, 0};

// Period prevalences are targets for the synthetic populations, set near published figures for
// diagnosed disease (Santé publique France / CNAM cartography for France, INSPQ surveillance for
// Québec), not estimates. Age, sex and comorbidity log-odds shape who has the disease.
// clang-format off
const std::array<ChronicSpec, kNumChronic> kSpecs = {{
  // id, key, {FR, QC}, min_age, age/decade, age^2, female, cardiomet, smoking, prevalent share,
  // reviews/year, parents, requires
  {kObesity, "obesity", {0.100, 0.130}, 5, 0.25, -0.08, 0.05, 1.0, 0.0, 0.8, 0, {{kNone, kNone, kNone, kNone}}},
  {kHypertension, "htn", {0.180, 0.200}, 18, 0.90, -0.08, -0.10, 0.8, 0.1, 0.75, 1, {{{kObesity, 0.8}, kNone, kNone, kNone}}},
  {kT2d, "t2d", {0.055, 0.075}, 18, 0.75, -0.10, -0.35, 1.0, 0.1, 0.7, 2, {{{kObesity, 1.3}, {kHypertension, 0.5}, kNone, kNone}}},
  {kDyslipidemia, "dyslip", {0.140, 0.180}, 20, 0.70, -0.10, -0.10, 0.7, 0.1, 0.7, 0.5, {{{kObesity, 0.3}, {kT2d, 0.6}, kNone, kNone}}},
  {kCad, "cad", {0.035, 0.040}, 35, 0.90, -0.06, -0.90, 0.6, 0.6, 0.7, 1, {{{kHypertension, 0.6}, {kT2d, 0.5}, {kDyslipidemia, 0.6}, kNone}}},
  {kAfib, "af", {0.022, 0.025}, 40, 1.00, -0.05, -0.40, 0.3, 0.1, 0.6, 1, {{{kHypertension, 0.5}, {kObesity, 0.3}, kNone, kNone}}},
  {kCkd, "ckd3", {0.030, 0.035}, 30, 1.00, -0.05, 0.00, 0.4, 0.2, 0.6, 2, {{{kHypertension, 0.8}, {kT2d, 1.0}, kNone, kNone}}},
  {kHeartFailure, "hf", {0.018, 0.020}, 40, 1.00, -0.05, -0.30, 0.4, 0.3, 0.5, 2, {{{kHypertension, 0.6}, {kCad, 1.2}, {kAfib, 1.0}, {kT2d, 0.4}}}},
  {kCopd, "copd", {0.045, 0.065}, 40, 0.70, -0.08, -0.20, 0.1, 2.2, 0.7, 1, {{kNone, kNone, kNone, kNone}}},
  {kAsthma, "asthma", {0.060, 0.085}, 0, -0.10, 0.00, 0.20, 0.1, 0.3, 0.8, 0.5, {{kNone, kNone, kNone, kNone}}},
  {kDepression, "depression", {0.080, 0.095}, 12, 0.10, -0.05, 0.60, 0.1, 0.3, 0.4, 1, {{kNone, kNone, kNone, kNone}}},
  {kAnxiety, "anxiety", {0.050, 0.070}, 10, 0.00, -0.05, 0.60, 0.0, 0.2, 0.5, 0, {{kNone, kNone, kNone, kNone}}},
  {kHypothyroid, "hypothyroid", {0.040, 0.045}, 15, 0.40, -0.05, 1.40, 0.1, 0.0, 0.8, 0.5, {{kNone, kNone, kNone, kNone}}},
  {kOsteoarthritis, "oa_knee", {0.080, 0.090}, 35, 0.90, -0.10, 0.30, 0.4, 0.0, 0.7, 0, {{{kObesity, 0.6}, kNone, kNone, kNone}}},
  {kOsteoporosis, "osteoporosis", {0.030, 0.030}, 45, 1.00, -0.05, 1.50, -0.2, 0.3, 0.6, 0, {{kNone, kNone, kNone, kNone}}},
  {kGout, "gout", {0.010, 0.012}, 25, 0.50, -0.05, -1.20, 0.5, 0.0, 0.6, 0, {{{kHypertension, 0.5}, {kCkd, 0.8}, {kObesity, 0.5}, kNone}}},
  {kAlzheimer, "alzheimer", {0.012, 0.012}, 60, 1.60, 0.00, 0.30, 0.0, 0.0, 0.6, 1, {{kNone, kNone, kNone, kNone}}},
  {kBreastCancer, "breast_ca", {0.012, 0.011}, 30, 0.50, -0.10, 99, 0.1, 0.0, 0.5, 1, {{kNone, kNone, kNone, kNone}}},
  {kProstateCancer, "prostate_ca", {0.010, 0.010}, 45, 1.20, -0.10, -99, 0.0, 0.0, 0.5, 1, {{kNone, kNone, kNone, kNone}}},
  {kColonCancer, "colon_ca", {0.005, 0.005}, 40, 0.90, -0.05, -0.30, 0.2, 0.3, 0.4, 1, {{kNone, kNone, kNone, kNone}}},
  {kLungCancer, "lung_ca", {0.004, 0.005}, 40, 0.80, -0.08, -0.40, 0.0, 2.2, 0.3, 1, {{kNone, kNone, kNone, kNone}}},
  {kGerd, "gerd", {0.050, 0.070}, 18, 0.30, -0.05, 0.10, 0.3, 0.2, 0.7, 0, {{{kObesity, 0.5}, kNone, kNone, kNone}}},
  {kParkinson, "parkinson", {0.003, 0.003}, 50, 1.30, 0.00, -0.40, 0.0, 0.0, 0.7, 1, {{kNone, kNone, kNone, kNone}}},
  {kEpilepsy, "epilepsy", {0.007, 0.007}, 0, 0.00, 0.00, -0.10, 0.0, 0.0, 0.9, 0.5, {{kNone, kNone, kNone, kNone}}},
  {kRheumatoid, "ra", {0.006, 0.007}, 20, 0.50, -0.10, 1.00, 0.0, 0.3, 0.8, 0.5, {{kNone, kNone, kNone, kNone}}},
  {kPsoriasis, "psoriasis", {0.020, 0.020}, 10, 0.10, -0.05, 0.00, 0.2, 0.3, 0.8, 0, {{kNone, kNone, kNone, kNone}}},
  {kInsomnia, "insomnia", {0.030, 0.040}, 18, 0.30, 0.00, 0.40, 0.0, 0.0, 0.5, 0, {{kNone, kNone, kNone, kNone}}},
  {kGlaucoma, "glaucoma", {0.015, 0.015}, 40, 1.00, -0.05, 0.00, 0.1, 0.0, 0.8, 0, {{kNone, kNone, kNone, kNone}}},
  {kSleepApnea, "osa", {0.020, 0.030}, 25, 0.40, -0.10, -0.80, 0.5, 0.0, 0.6, 0, {{{kObesity, 1.5}, kNone, kNone, kNone}}},
  {kPvd, "pvd", {0.012, 0.012}, 45, 1.00, -0.05, -0.60, 0.5, 1.2, 0.6, 0.5, {{{kT2d, 0.8}, kNone, kNone, kNone}}},
  {kAnemia, "anemia", {0.020, 0.020}, 0, 0.30, 0.05, 0.60, 0.0, 0.0, 0.4, 0, {{{kCkd, 1.2}, kNone, kNone, kNone}}},
  {kVitaminD, "vitd", {0.020, 0.030}, 18, 0.30, 0.00, 0.50, 0.2, 0.0, 0.5, 0, {{kNone, kNone, kNone, kNone}}},
  {kAlcohol, "alcohol", {0.015, 0.020}, 18, 0.20, -0.10, -1.00, 0.0, 1.0, 0.6, 0.5, {{kNone, kNone, kNone, kNone}}},
  {kSchizophrenia, "schizophrenia", {0.004, 0.005}, 15, -0.10, -0.05, -0.50, 0.2, 0.8, 0.9, 1, {{kNone, kNone, kNone, kNone}}},
  {kDiabRetinopathy, "diab_retino", {0.007, 0.009}, 30, 0.30, 0.00, 0.00, 0.3, 0.0, 0.4, 0, {{kNone, kNone, kNone, kNone}}, kT2d},
  {kDiabNeuropathy, "diab_neuro", {0.006, 0.008}, 30, 0.30, 0.00, 0.00, 0.3, 0.0, 0.4, 0, {{kNone, kNone, kNone, kNone}}, kT2d},
  {kDiabNephropathy, "diab_nephro", {0.006, 0.008}, 30, 0.30, 0.00, 0.00, 0.3, 0.0, 0.4, 0, {{{kCkd, 1.5}, kNone, kNone, kNone}}, kT2d},
}};

// Population pyramids by 5-year band (0-4 ... 95-99), % of persons: rounded approximations of
// INSEE's 2020 estimates for France and the Institut de la statistique du Québec's for Québec.
const Demography kFrance = {
  {5.6, 6.0, 6.2, 6.1, 5.6, 5.6, 5.9, 6.2, 6.2, 6.7, 6.6, 6.5, 6.1, 5.8, 5.1, 3.4, 2.9, 2.0, 1.0, 0.3},
  0.500, 0.530, 0.580, 0.680,
  0.0107, 0.0040, 0.0030,
  -10.65, 0.0865,
  0.28,
};
const Demography kQuebec = {
  {5.1, 5.5, 5.3, 5.0, 5.9, 6.5, 6.6, 6.7, 6.6, 6.0, 6.4, 7.3, 7.2, 6.4, 5.2, 3.7, 2.5, 1.6, 0.8, 0.2},
  0.495, 0.515, 0.560, 0.660,
  0.0098, 0.0060, 0.0040,
  -10.75, 0.0865,
  0.18,
};
// clang-format on

struct ConditionKeyCodes {
  const char* key;
  const char* cim10;
  const char* icd9;  // "" when RAMQ billing has no such code
  const char* icd10ca;
  const char* icd10;  // "" when not coded as a cause of death
};

// The codes of every condition the generator records, by key. Must agree with
// src/omop/vocab/source_codes.tsv (checked when CodeSet is built, and by the tests).
// clang-format off
constexpr ConditionKeyCodes kConditionCodes[] = {
  {"htn", "I10", "401.9", "I10", ""},
  {"t2d", "E119", "250.00", "E11.9", "E11.9"},
  {"dyslip", "E785", "272.4", "E78.5", ""},
  {"obesity", "E669", "278.00", "E66.9", ""},
  {"ckd3", "N183", "585.9", "N18.3", ""},
  {"ckd4", "N184", "585.9", "N18.4", ""},
  {"ckd5", "N185", "585.6", "N18.5", "N18.5"},
  {"hf", "I509", "428.0", "I50.9", "I50.9"},
  {"af", "I489", "427.31", "I48.9", ""},
  {"copd", "J449", "496", "J44.9", "J44.9"},
  {"asthma", "J459", "493.90", "J45.9", ""},
  {"depression", "F329", "311", "F32.9", ""},
  {"anxiety", "F419", "300.00", "F41.9", ""},
  {"hypothyroid", "E039", "244.9", "E03.9", ""},
  {"oa_knee", "M179", "715.36", "M17.9", ""},
  {"oa_hip", "M169", "715.35", "M16.9", ""},
  {"osteoporosis", "M819", "733.00", "M81.9", ""},
  {"gout", "M109", "274.9", "M10.9", ""},
  {"alzheimer", "G309", "331.0", "G30.9", "G30.9"},
  {"breast_ca", "C509", "174.9", "C50.9", "C50.9"},
  {"prostate_ca", "C61", "185", "C61", "C61"},
  {"colon_ca", "C189", "153.9", "C18.9", "C18.9"},
  {"lung_ca", "C349", "162.9", "C34.9", "C34.9"},
  {"cad", "I251", "414.00", "I25.1", ""},
  {"gerd", "K219", "530.81", "K21.9", ""},
  {"parkinson", "G20", "332.0", "G20", "G20"},
  {"epilepsy", "G409", "345.90", "G40.9", ""},
  {"ra", "M069", "714.0", "M06.9", ""},
  {"psoriasis", "L400", "696.1", "L40.0", ""},
  {"insomnia", "G470", "780.52", "G47.0", ""},
  {"glaucoma", "H409", "365.9", "H40.9", ""},
  {"osa", "G473", "327.23", "G47.3", ""},
  {"pvd", "I739", "443.9", "I73.9", ""},
  {"anemia", "D649", "285.9", "D64.9", ""},
  {"vitd", "E559", "268.9", "E55.9", ""},
  {"alcohol", "F102", "303.90", "F10.2", ""},
  {"schizophrenia", "F209", "295.90", "F20.9", ""},
  {"diab_retino", "E113", "362.01", "E11.3", ""},
  {"diab_neuro", "E114", "250.60", "E11.4", ""},
  {"diab_nephro", "E112", "250.40", "E11.2", ""},
  {"ami", "I219", "410.90", "I21.9", "I21.9"},
  {"old_mi", "I252", "412", "I25.2", ""},
  {"stroke", "I639", "434.91", "I63.9", "I63.9"},
  {"bronchitis", "J209", "466.0", "J20.9", ""},
  {"pharyngitis", "J029", "462", "J02.9", ""},
  {"sinusitis", "J019", "461.9", "J01.9", ""},
  {"otitis", "H669", "382.9", "H66.9", ""},
  {"uti", "N390", "599.0", "N39.0", ""},
  {"gastroenteritis", "A09", "558.9", "A09.9", ""},
  {"back_pain", "M545", "724.2", "M54.5", ""},
  {"ankle_sprain", "S934", "845.00", "S93.4", ""},
  {"forearm_fx", "S529", "813.80", "S52.9", ""},
  {"hip_fx", "S720", "820.8", "S72.0", ""},
  {"influenza", "J111", "487.1", "J11.1", ""},
  {"covid", "U071", "", "U07.1", ""},
  {"pneumonia", "J189", "486", "J18.9", "J18.9"},
  {"cellulitis", "L039", "682.9", "L03.9", ""},
  {"headache", "R51", "784.0", "R51", ""},
  {"migraine", "G439", "346.90", "G43.9", ""},
  {"constipation", "K590", "564.00", "K59.0", ""},
  {"zoster", "B029", "053.9", "B02.9", ""},
  {"concussion", "S060", "850.0", "S06.0", ""},
  {"appendicitis", "K37", "541", "K37", ""},
  {"cholecystitis", "K810", "575.0", "K81.0", ""},
  {"gallstone", "K802", "574.20", "K80.2", ""},
  {"syncope", "R55", "780.2", "R55", ""},
  {"dyspnea", "R060", "786.05", "R06.0", ""},
  {"cough", "R05", "786.2", "R05", ""},
  {"atopic_derm", "L209", "691.8", "L20.9", ""},
  {"rhinitis", "J303", "477.9", "J30.3", ""},
  {"sepsis", "A419", "038.9", "A41.9", "A41.9"},
  {"pe", "I269", "415.19", "I26.9", ""},
  {"dvt", "I802", "453.40", "I80.2", ""},
  {"aki", "N179", "584.9", "N17.9", ""},
  {"hypoglycemia", "E162", "251.2", "E16.2", ""},
  {"hyperkalemia", "E875", "276.7", "E87.5", ""},
  {"cardiac_arrest", "I469", "427.5", "I46.9", "I46.9"},
};

// Procedures: key, CCAM code, CCI code (see source_codes.tsv: most are synthetic placeholders).
constexpr const char* kProcedureCodes[][3] = {
  {"ptca", "XSYN001", "9.SY.01"}, {"cabg", "XSYN002", "9.SY.02"},
  {"hemodialysis", "XSYN003", "9.SY.03"}, {"colonoscopy", "XSYN004", "9.SY.04"},
  {"mammography", "XSYN005", "9.SY.05"}, {"hip_replacement", "XSYN006", "9.SY.06"},
  {"knee_replacement", "XSYN007", "9.SY.07"}, {"ecg", "DEQP003", "9.SY.08"},
  {"echo", "DZQM006", "9.SY.09"}, {"appendectomy", "XSYN010", "9.SY.10"},
  {"cholecystectomy", "XSYN011", "9.SY.11"}, {"prostatectomy", "XSYN012", "9.SY.12"},
  {"ct_head", "XSYN013", "9.SY.13"}, {"mri_brain", "XSYN014", "9.SY.14"},
  {"chest_xray", "XSYN015", "9.SY.15"}, {"stress_test", "XSYN016", "9.SY.16"},
  {"bone_density", "XSYN017", "9.SY.17"}, {"prostate_biopsy", "XSYN018", "9.SY.18"},
  {"breast_excision", "XSYN019", "9.SY.19"}, {"colon_resection", "XSYN020", "9.SY.20"},
  {"cardioversion", "XSYN021", "9.SY.21"}, {"ablation", "XSYN022", "9.SY.22"},
  {"radiotherapy", "XSYN023", "9.SY.23"}, {"intubation", "XSYN024", "9.SY.24"},
};
// clang-format on

}  // namespace

const std::array<ChronicSpec, kNumChronic>& ChronicSpecs() { return kSpecs; }

const Demography& DemographyOf(Profile profile) {
  return profile == Profile::kFrance ? kFrance : kQuebec;
}

CodeSet::CodeSet() {
  const Vocabulary& v = Vocabulary::Shipped();
  if (!v.status().ok()) {
    status_ = v.status();
    return;
  }
  auto resolve = [&](std::string_view vocab, std::string_view code, CodeRef* out) {
    if (code.empty()) return;
    out->source = v.SourceConceptId(vocab, code);
    out->standard = v.MapsTo(out->source);
    out->code = std::string(code);
    if (out->source == 0 || out->standard == 0) {
      status_ = Status::Internal(
          fmt::format("shipped vocabulary: no mapped {} code \"{}\"", vocab, code));
    }
  };
  for (const ConditionKeyCodes& c : kConditionCodes) {
    Coded coded;
    resolve("CIM10", c.cim10, &coded.cim10);
    resolve("ICD9CM", c.icd9, &coded.icd9);
    resolve("ICD10CA", c.icd10ca, &coded.icd10ca);
    resolve("ICD10", c.icd10, &coded.icd10);
    conditions_.emplace_back(c.key, std::move(coded));
  }
  for (const auto& p : kProcedureCodes) {
    ProcCoded coded;
    resolve("CCAM", p[1], &coded.ccam);
    resolve("CCI", p[2], &coded.cci);
    procedures_.emplace(p[0], std::move(coded));
  }
  for (const VocabConcept& c : v.concepts()) {
    if (c.domain != "Drug" || c.standard != "S") continue;
    std::array<CodeRef, 2> refs;
    const char* vocabs[2] = {"CIP13", "DIN"};
    for (int j = 0; j < 2; ++j) {
      std::vector<int64_t> products = v.SourceConceptsFor(vocabs[j], c.id);
      if (!products.empty()) {
        refs[j] = {products.front(), c.id, v.Find(products.front())->code};
      }
    }
    products_.emplace(c.id, std::move(refs));
  }
  for (const auto& [k, c] : conditions_) condition_index_.emplace(k, &c);
}

const CodeSet& CodeSet::Get() {
  static const CodeSet codes;
  return codes;
}

const Coded& CodeSet::Condition(std::string_view key) const {
  auto it = condition_index_.find(key);
  if (it != condition_index_.end()) return *it->second;
  static const Coded kMissing;
  return kMissing;
}

const ProcCoded& CodeSet::Procedure(std::string_view key) const {
  auto it = procedures_.find(key);
  if (it != procedures_.end()) return it->second;
  static const ProcCoded kMissing;
  return kMissing;
}

const CodeRef& CodeSet::Product(Profile profile, int64_t ingredient) const {
  auto it = products_.find(ingredient);
  if (it == products_.end()) return none_;
  return it->second[profile == Profile::kFrance ? 0 : 1];
}

CodeRef CodeSet::Standard(int64_t concept_id) const {
  const VocabConcept* c = Vocabulary::Shipped().Find(concept_id);
  return {concept_id, concept_id, c != nullptr ? c->code : std::string()};
}

std::vector<std::string> CodeSet::ConditionKeys() const {
  std::vector<std::string> keys;
  for (const auto& [k, c] : conditions_) keys.push_back(k);
  return keys;
}

Availability AvailabilityOf(Profile profile, int64_t ingredient) {
  // Approximate dates when reimbursement started or ended; see docs/synthetic-data.md.
  if (profile == Profile::kFrance) {
    switch (ingredient) {
      case rx::kDapagliflozin:
      case rx::kEmpagliflozin:
        return {DaysFromCivil(2020, 4, 1), INT32_MAX};
      case rx::kSemaglutide:
        return {DaysFromCivil(2019, 1, 1), INT32_MAX};
      case rx::kDonepezil:
      case rx::kMemantine:
        return {INT32_MIN, DaysFromCivil(2018, 7, 31)};
      default:
        return {};
    }
  }
  switch (ingredient) {
    case rx::kSemaglutide:
      return {DaysFromCivil(2018, 6, 1), INT32_MAX};
    default:
      return {};
  }
}

std::vector<int64_t> IngredientsOfClass(std::string_view atc_code) {
  const Vocabulary& v = Vocabulary::Shipped();
  int64_t cls = v.SourceConceptId("ATC", atc_code);
  std::vector<int64_t> out;
  for (int64_t d : v.Descendants(cls)) {
    const VocabConcept* c = v.Find(d);
    if (c != nullptr && c->standard == "S" && c->domain == "Drug") out.push_back(d);
  }
  return out;
}

}  // namespace passerelle::omop::synth
