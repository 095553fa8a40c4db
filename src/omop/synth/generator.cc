#include "omop/synth/generator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>
#include <span>
#include <tuple>
#include <vector>

#include "common/date.h"
#include "common/random.h"
#include "omop/synth/truth.h"

namespace passerelle::omop::synth {
namespace {

constexpr int32_t kNever = std::numeric_limits<int32_t>::max();
constexpr double kDaysPerYear = 365.25;

// Type and status concepts (see concepts.tsv).
constexpr int64_t kClaim = 32810, kPharmacyClaim = 32869, kEhr = 32817, kDeathCertificate = 32815;
constexpr int64_t kPrimaryDx = 32902, kSecondaryDx = 32908;
constexpr int64_t kInpatient = 9201, kOutpatient = 9202, kEmergency = 9203;
constexpr int64_t kMale = 8507, kFemale = 8532;

double Expit(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// A person's own random stream: splitmix64 of the seed and the person index, so that a person's
// draws do not depend on any other person (and so not on threads or chunks).
uint64_t PersonSeed(uint64_t seed, int64_t index) {
  uint64_t s =
      seed ^ (static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL);
  return SplitMix64(s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  double U() { return g_.NextDouble(); }
  double U(double a, double b) { return a + (b - a) * U(); }
  // Uniform day in [a, b]. REQUIRES: a <= b.
  int32_t Day(int32_t a, int32_t b) {
    return a + static_cast<int32_t>(g_.Below(static_cast<uint64_t>(int64_t{b} - a) + 1));
  }
  bool Bern(double p) { return U() < p; }
  // Standard normal (Box-Muller, one value per call).
  double Normal() {
    double u1 = 1.0 - U();
    double u2 = U();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double Normal(double mean, double sd) { return mean + sd * Normal(); }
  double Exp(double rate) { return -std::log(1.0 - U()) / rate; }
  // Index drawn with probability proportional to weights (all >= 0, sum > 0).
  size_t Pick(std::span<const double> w) {
    double total = 0;
    for (double x : w) total += x;
    double u = U() * total;
    for (size_t i = 0; i < w.size(); ++i) {
      if (u < w[i]) return i;
      u -= w[i];
    }
    return w.size() - 1;
  }

 private:
  Xoshiro256 g_;
};

// Drug classes the model reasons about (to avoid duplicate therapy and to find statins/SGLT2i).
enum DrugClass : int {
  kMetforminClass,
  kSulfonylurea,
  kDpp4,
  kGlp1,
  kSglt2,
  kInsulinBasal,
  kInsulinRapid,
  kStatin,
  kAceArb,
  kCcb,
  kThiazide,
  kBetaBlocker,
  kLoop,
  kMra,
  kAnticoagulant,
  kAspirinClass,
  kP2y12,
  kInhaledLama,
  kInhaledSaba,
  kInhaledSteroid,
  kLeukotriene,
  kAntidepressant,
  kThyroid,
  kAnalgesic,
  kVitaminDClass,
  kAntiDementia,
  kHormoneTherapy,
  kChemo,
  kOtherClass,
};

struct Choice {
  int64_t ingredient;
  double weight[2];  // France, Québec; 0 = not used there
};

// Guideline choices within a class, with jurisdiction preferences.
// clang-format off
constexpr Choice kSulfonylureas[] = {{rx::kGliclazide, {0.7, 0.8}}, {rx::kGlimepiride, {0.3, 0.0}}, {rx::kGlyburide, {0.0, 0.2}}};
constexpr Choice kDpp4s[] = {{rx::kSitagliptin, {0.5, 0.5}}, {rx::kVildagliptin, {0.3, 0.0}}, {rx::kSaxagliptin, {0.2, 0.1}}, {rx::kLinagliptin, {0.0, 0.3}}, {rx::kAlogliptin, {0.0, 0.1}}};
constexpr Choice kGlp1s[] = {{rx::kDulaglutide, {0.5, 0.3}}, {rx::kLiraglutide, {0.3, 0.2}}, {rx::kSemaglutide, {0.2, 0.5}}};
constexpr Choice kSglt2s[] = {{rx::kDapagliflozin, {0.5, 0.3}}, {rx::kEmpagliflozin, {0.5, 0.5}}, {rx::kCanagliflozin, {0.0, 0.2}}};
constexpr Choice kStatins[] = {{rx::kAtorvastatin, {0.45, 0.5}}, {rx::kRosuvastatin, {0.25, 0.4}}, {rx::kSimvastatin, {0.2, 0.05}}, {rx::kPravastatin, {0.1, 0.05}}};
constexpr Choice kAceis[] = {{rx::kPerindopril, {0.6, 0.25}}, {rx::kRamipril, {0.4, 0.6}}, {rx::kLisinopril, {0.0, 0.15}}};
constexpr Choice kArbs[] = {{rx::kIrbesartan, {0.3, 0.2}}, {rx::kValsartan, {0.3, 0.2}}, {rx::kCandesartan, {0.2, 0.3}}, {rx::kLosartan, {0.2, 0.2}}, {rx::kTelmisartan, {0.0, 0.1}}};
constexpr Choice kThiazides[] = {{rx::kIndapamide, {0.6, 0.2}}, {rx::kHydrochlorothiazide, {0.4, 0.8}}};
constexpr Choice kBetaBlockers[] = {{rx::kBisoprolol, {0.6, 0.4}}, {rx::kNebivolol, {0.25, 0.0}}, {rx::kCarvedilol, {0.15, 0.2}}, {rx::kMetoprolol, {0.0, 0.4}}};
constexpr Choice kAnticoagulants[] = {{rx::kApixaban, {0.5, 0.45}}, {rx::kRivaroxaban, {0.35, 0.2}}, {rx::kDabigatran, {0.05, 0.05}}, {rx::kEdoxaban, {0.0, 0.1}}, {rx::kWarfarin, {0.1, 0.2}}};
constexpr Choice kP2y12s[] = {{rx::kClopidogrel, {0.5, 0.5}}, {rx::kTicagrelor, {0.5, 0.5}}};
constexpr Choice kAntidepressants[] = {{rx::kEscitalopram, {0.35, 0.25}}, {rx::kSertraline, {0.25, 0.2}}, {rx::kFluoxetine, {0.15, 0.0}}, {rx::kCitalopram, {0.0, 0.25}}, {rx::kVenlafaxine, {0.15, 0.2}}, {rx::kMirtazapine, {0.1, 0.1}}};
constexpr Choice kDementia[] = {{rx::kDonepezil, {0.7, 0.7}}, {rx::kMemantine, {0.3, 0.3}}};
// clang-format on

// Annual death multipliers of chronic diseases, and the cause-of-death key each one gives.
struct Fatal {
  Chronic disease;
  double multiplier;
  const char* cause;
};
constexpr Fatal kFatal[] = {
    {kHeartFailure, 2.5, "hf"},
    {kCkd, 1.6, "ckd5"},
    {kCopd, 1.8, "copd"},
    {kLungCancer, 6.0, "lung_ca"},
    {kColonCancer, 2.5, "colon_ca"},
    {kBreastCancer, 1.5, "breast_ca"},
    {kProstateCancer, 1.3, "prostate_ca"},
    {kAlzheimer, 2.5, "alzheimer"},
    {kT2d, 1.4, "t2d"},
    {kParkinson, 1.8, "parkinson"},
    {kAlcohol, 2.0, "cardiac_arrest"},
    {kAfib, 1.3, "cardiac_arrest"},
    {kCad, 1.4, "cardiac_arrest"},
    {kSchizophrenia, 1.8, "sepsis"},
};

// Acute conditions: key, relative frequency in children (<15), adults, elderly (65+); share
// seen in an emergency room; share admitted; a drug given (0 for none), its probability and days;
// a procedure key ("" for none).
struct Acute {
  const char* key;
  double weight[3];
  double emergency;
  double inpatient;
  int64_t drug;
  double drug_p;
  int drug_days;
  const char* procedure;
};
// clang-format off
constexpr Acute kAcute[] = {
  {"bronchitis", {1.0, 1.0, 1.0}, 0.05, 0.00, rx::kAmoxicillin, 0.4, 7, ""},
  {"pharyngitis", {2.0, 1.0, 0.4}, 0.05, 0.00, rx::kAmoxicillin, 0.4, 7, ""},
  {"sinusitis", {0.5, 1.0, 0.5}, 0.02, 0.00, rx::kAmoxicillin, 0.5, 7, ""},
  {"otitis", {3.0, 0.3, 0.2}, 0.05, 0.00, rx::kAmoxicillin, 0.7, 7, ""},
  {"uti", {0.2, 0.8, 1.0}, 0.05, 0.02, rx::kAmoxicillin, 0.3, 5, ""},
  {"gastroenteritis", {2.0, 0.8, 0.6}, 0.10, 0.01, 0, 0, 0, ""},
  {"back_pain", {0.0, 1.2, 1.0}, 0.05, 0.00, rx::kIbuprofen, 0.5, 7, ""},
  {"ankle_sprain", {0.5, 0.6, 0.2}, 0.60, 0.00, rx::kIbuprofen, 0.5, 5, ""},
  {"forearm_fx", {0.5, 0.2, 0.4}, 0.80, 0.10, rx::kAcetaminophen, 0.6, 10, ""},
  {"hip_fx", {0.0, 0.01, 0.4}, 0.30, 0.70, rx::kAcetaminophen, 0.6, 14, "hip_replacement"},
  {"influenza", {1.0, 0.6, 0.6}, 0.10, 0.03, 0, 0, 0, ""},
  {"covid", {0.3, 0.5, 0.8}, 0.10, 0.10, 0, 0, 0, ""},
  {"pneumonia", {0.3, 0.2, 0.8}, 0.20, 0.35, rx::kAmoxicillin, 0.9, 7, "chest_xray"},
  {"cellulitis", {0.2, 0.3, 0.4}, 0.10, 0.05, rx::kAmoxicillin, 0.6, 7, ""},
  {"headache", {0.3, 0.5, 0.2}, 0.20, 0.00, rx::kAcetaminophen, 0.5, 5, ""},
  {"migraine", {0.1, 0.4, 0.1}, 0.10, 0.00, rx::kIbuprofen, 0.5, 5, ""},
  {"constipation", {0.5, 0.2, 0.5}, 0.02, 0.00, 0, 0, 0, ""},
  {"zoster", {0.05, 0.2, 0.6}, 0.02, 0.00, 0, 0, 0, ""},
  {"concussion", {0.4, 0.2, 0.2}, 0.80, 0.05, 0, 0, 0, "ct_head"},
  {"appendicitis", {0.10, 0.08, 0.03}, 0.30, 1.00, 0, 0, 0, "appendectomy"},
  {"cholecystitis", {0.0, 0.06, 0.10}, 0.30, 1.00, 0, 0, 0, "cholecystectomy"},
  {"gallstone", {0.0, 0.10, 0.20}, 0.10, 0.00, 0, 0, 0, ""},
  {"syncope", {0.05, 0.10, 0.30}, 0.70, 0.10, 0, 0, 0, "ecg"},
  {"dyspnea", {0.10, 0.20, 0.40}, 0.30, 0.05, 0, 0, 0, "chest_xray"},
  {"cough", {1.0, 0.5, 0.5}, 0.02, 0.00, 0, 0, 0, ""},
  {"atopic_derm", {1.0, 0.2, 0.1}, 0.00, 0.00, 0, 0, 0, ""},
  {"rhinitis", {0.5, 0.5, 0.2}, 0.00, 0.00, 0, 0, 0, ""},
  {"sepsis", {0.02, 0.02, 0.15}, 0.50, 1.00, rx::kAmoxicillin, 0.8, 10, ""},
  {"pe", {0.0, 0.02, 0.08}, 0.50, 0.80, rx::kRivaroxaban, 0.9, 90, "chest_xray"},
  {"dvt", {0.0, 0.05, 0.15}, 0.30, 0.10, rx::kApixaban, 0.9, 90, ""},
  {"aki", {0.0, 0.01, 0.10}, 0.50, 1.00, 0, 0, 0, ""},
};
// clang-format on

// Acute episodes per person-year by age group.
constexpr double kAcuteRate[3] = {0.45, 0.20, 0.30};

struct Episode {
  int64_t ingredient;
  DrugClass cls;
  int32_t start;
  int32_t end;              // inclusive
  double hba1c_effect = 0;  // change of HbA1c (points) while on it
  int supply = 90;          // days per dispensing
};

struct PersonState {
  int64_t person_id = 0;
  bool female = false;
  int32_t birth = 0;
  CivilDate birth_civil{};
  int32_t obs_start = 0, obs_end = 0;
  int32_t first_visit = 0;  // the first contact, where prevalent diagnoses are recorded
  bool died = false;
  const char* death_cause = "";
  double age0 = 0;  // age at observation start, years
  double z = 0;
  bool smoker = false;
  std::array<bool, kNumChronic> has{};
  std::array<int32_t, kNumChronic> onset{};
  int ckd_stage = 3;
  bool oa_hip = false;
  bool hf_onset_in_hospital = false;
  std::vector<Episode> episodes;
  // T2D glycaemia: HbA1c at diagnosis (%).
  double hba1c0 = 0;
  // Measurement baselines.
  double height_cm = 0, bmi = 0, ldl = 0, hdl = 0, tg = 0, sbp = 0, egfr = 0, hb = 0;
  // Effect (1)/(3).
  bool hhf_cohort = false;
  int32_t index_review = 0;
  double index_hba1c = 0;
  int32_t hhf_date = kNever;
  // Effect (2).
  int32_t mace_date[2] = {kNever, kNever};
  bool mace_mi[2] = {false, false};
};

double AgeTerm(const ChronicSpec& s, double age) {
  double d = (age - 50.0) / 10.0;
  return s.age_per_decade * d + s.age_quadratic * d * d;
}

}  // namespace

double ChronicLinearPredictor(const ChronicSpec& spec, double age, bool female, double z,
                              bool smoker, const std::array<bool, kNumChronic>& has) {
  constexpr double kImpossible = -std::numeric_limits<double>::infinity();
  if (age < spec.min_age) return kImpossible;
  if (spec.needs != kNumChronic && !has[spec.needs]) return kImpossible;
  double lp = AgeTerm(spec, age) + spec.cardiometabolic * z + (smoker ? spec.smoking : 0.0);
  if (spec.female >= 99) {
    if (!female) return kImpossible;
  } else if (spec.female <= -99) {
    if (female) return kImpossible;
  } else if (female) {
    lp += spec.female;
  }
  for (const ChronicSpec::Parent& p : spec.parents) {
    if (p.log_odds != 0 && has[p.parent]) lp += p.log_odds;
  }
  return lp;
}

namespace {

// Demography of a person: sex, birth, start of observation, latent risks. Shared with the
// calibration sample so both follow the same distribution.
void DrawDemography(const Demography& d, int32_t start, int32_t end, Rng& rng, PersonState& p) {
  const double years = (end - start + 1) / kDaysPerYear;
  const double born_share = d.births_per_year * years / (1.0 + d.births_per_year * years);
  const double moved_in_share =
      d.immigration_per_year * years / (1.0 + d.immigration_per_year * years);
  double age;
  if (rng.Bern(born_share)) {
    p.birth = rng.Day(start, end);
    p.obs_start = p.birth;
    age = 0;
  } else {
    size_t band = rng.Pick(d.pyramid);
    age = 5.0 * static_cast<double>(band) + rng.U(0.0, 5.0);
    p.obs_start = rng.Bern(moved_in_share) ? rng.Day(start, end - 30) : start;
    p.birth = p.obs_start - static_cast<int32_t>(std::lround(age * kDaysPerYear));
  }
  double female_share = age < 60   ? d.female_young
                        : age < 75 ? d.female_60
                        : age < 85 ? d.female_75
                                   : d.female_85;
  p.female = rng.Bern(female_share);
  p.age0 = (p.obs_start - p.birth) / kDaysPerYear;
  p.z = rng.Normal();
  p.smoker = rng.Bern(d.smokers);
}

// Calibrates each disease's intercept on a fixed reference sample so that its period
// prevalence equals the profile's (Newton's method on the sample mean).
std::array<double, kNumChronic> Calibrate(Profile profile) {
  const Demography& demo = DemographyOf(profile);
  const int32_t start = DaysFromCivil(2015, 1, 1), end = DaysFromCivil(2024, 12, 31);
  constexpr int kSample = 40000;
  std::vector<PersonState> sample(kSample);
  std::vector<std::array<double, kNumChronic>> draws(kSample);
  for (int i = 0; i < kSample; ++i) {
    Rng rng(PersonSeed(0xCA11B4A7E5ULL + static_cast<int>(profile), i));
    DrawDemography(demo, start, end, rng, sample[i]);
    for (double& u : draws[i]) u = rng.U();
  }
  std::array<double, kNumChronic> alpha{};
  std::vector<double> lp(kSample);
  for (const ChronicSpec& spec : ChronicSpecs()) {
    const double target = spec.prevalence[profile == Profile::kFrance ? 0 : 1];
    for (int i = 0; i < kSample; ++i) {
      const PersonState& p = sample[i];
      lp[i] = ChronicLinearPredictor(spec, p.age0, p.female, p.z, p.smoker, p.has);
    }
    double a = std::log(target / (1 - target));
    for (int iter = 0; iter < 50; ++iter) {
      double mean = 0, slope = 0;
      for (int i = 0; i < kSample; ++i) {
        if (std::isinf(lp[i])) continue;
        double q = Expit(a + lp[i]);
        mean += q;
        slope += q * (1 - q);
      }
      mean /= kSample;
      slope /= kSample;
      if (slope <= 0) break;
      double step = (mean - target) / slope;
      a -= std::clamp(step, -2.0, 2.0);
      if (std::abs(mean - target) < 1e-7) break;
    }
    alpha[spec.id] = a;
    for (int i = 0; i < kSample; ++i) {
      sample[i].has[spec.id] = !std::isinf(lp[i]) && draws[i][spec.id] < Expit(a + lp[i]);
    }
  }
  return alpha;
}

}  // namespace

const std::array<double, kNumChronic>& ChronicIntercepts(Profile profile) {
  if (profile == Profile::kFrance) {
    static const std::array<double, kNumChronic> fr = Calibrate(Profile::kFrance);
    return fr;
  }
  static const std::array<double, kNumChronic> qc = Calibrate(Profile::kQuebec);
  return qc;
}

namespace {

// Builds one person: the model's steps in order, then the rows.
class PersonBuilder {
 public:
  PersonBuilder(const Generator& g, int64_t index, Batch& out, GenStats& stats)
      : g_(g),
        o_(g.options()),
        fr_(g.options().profile == Profile::kFrance),
        rng_(PersonSeed(g.options().seed, index)),
        out_(out),
        stats_(stats) {
    p_.person_id = index + 1;
  }

  void Run() {
    Demography();
    Diseases();
    Exit();
    Onsets();
    Baselines();
    Treatments();
    Mace();
    HeartFailureEffect();
    Emit();
  }

 private:
  // ---- model steps -------------------------------------------------------------------------

  void Demography() {
    DrawDemography(g_.demography(), o_.start_date, o_.end_date, rng_, p_);
    p_.birth_civil = CivilFromDays(p_.birth);
  }

  void Diseases() {
    for (const ChronicSpec& spec : ChronicSpecs()) {
      double lp = ChronicLinearPredictor(spec, p_.age0, p_.female, p_.z, p_.smoker, p_.has);
      double u = rng_.U();
      p_.has[spec.id] = !std::isinf(lp) && u < Expit(g_.intercepts()[spec.id] + lp);
      p_.onset[spec.id] = kNever;
    }
  }

  double AgeAt(int32_t day) const { return (day - p_.birth) / kDaysPerYear; }
  int AgeYearsAt(int32_t day) const { return CivilFromDays(day).year - p_.birth_civil.year; }

  void Exit() {
    double mult = p_.female ? 0.75 : 1.4;
    std::vector<std::pair<double, const char*>> causes;
    for (const Fatal& f : kFatal) {
      if (!p_.has[f.disease]) continue;
      mult *= f.multiplier;
      causes.emplace_back(f.multiplier - 1.0, f.cause);
    }
    int32_t death = kNever;
    for (int32_t t = p_.obs_start; t <= o_.end_date;) {
      int32_t slice_end = std::min(t + 365, o_.end_date + 1);
      double q = std::min(0.6, std::exp(g_.demography().mortality_intercept +
                                        g_.demography().mortality_per_year * AgeAt(t)) *
                                   mult);
      double frac = (slice_end - t) / 365.0;
      if (rng_.U() < 1.0 - std::pow(1.0 - q, frac)) {
        death = rng_.Day(t, slice_end - 1);
        break;
      }
      t = slice_end;
    }
    int32_t moved =
        p_.obs_start + static_cast<int32_t>(std::min(
                           1e6, rng_.Exp(g_.demography().emigration_per_year) * kDaysPerYear));
    p_.obs_end = std::min({o_.end_date, death, moved});
    if (death <= p_.obs_end && death != kNever) {
      p_.died = true;
      causes.emplace_back(1.0, "");
      std::vector<double> w;
      for (auto& c : causes) w.push_back(c.first);
      const char* cause = causes[rng_.Pick(w)].second;
      if (*cause == '\0') {
        static constexpr const char* kOther[] = {"pneumonia", "sepsis", "cardiac_arrest"};
        cause = kOther[rng_.Pick(std::array<double, 3>{0.4, 0.3, 0.3})];
      }
      p_.death_cause = cause;
    }
  }

  void Onsets() {
    p_.first_visit = rng_.Day(p_.obs_start, std::min(p_.obs_end, p_.obs_start + 90));
    for (const ChronicSpec& spec : ChronicSpecs()) {
      if (!p_.has[spec.id]) continue;
      int32_t lo = p_.obs_start;
      if (spec.needs != kNumChronic) lo = std::max(lo, p_.onset[spec.needs]);
      if (lo == p_.obs_start && rng_.Bern(spec.prevalent_share)) {
        p_.onset[spec.id] = p_.first_visit;
      } else {
        p_.onset[spec.id] = rng_.Day(lo, p_.obs_end);
      }
    }
    double u = rng_.U();
    p_.ckd_stage = u < 0.75 ? 3 : u < 0.92 ? 4 : 5;
    p_.oa_hip = rng_.Bern(0.4);
  }

  void Baselines() {
    p_.height_cm = p_.female ? rng_.Normal(163, 6.5) : rng_.Normal(176, 7);
    p_.bmi = p_.has[kObesity] ? rng_.Normal(34, 3) : std::clamp(rng_.Normal(25, 3.2), 17.0, 29.9);
    p_.ldl = std::clamp(rng_.Normal(3.1, 0.6) + (p_.has[kDyslipidemia] ? 1.2 : 0.0), 1.0, 7.5);
    p_.hdl = std::clamp(rng_.Normal(p_.female ? 1.5 : 1.25, 0.25), 0.6, 2.8);
    p_.tg = std::clamp(rng_.Normal(1.3, 0.45) + (p_.has[kT2d] ? 0.6 : 0.0), 0.4, 6.0);
    p_.sbp = rng_.Normal(118, 9) + 0.35 * std::max(0.0, p_.age0 - 40);
    p_.egfr = std::clamp(rng_.Normal(100, 9) - 0.8 * std::max(0.0, p_.age0 - 30), 60.0, 130.0);
    p_.hb = rng_.Normal(p_.female ? 13.5 : 15.0, 0.9) - (p_.has[kAnemia] ? 2.5 : 0.0);
    p_.hba1c0 = std::clamp(rng_.Normal(8.0, 0.9), 6.5, 13.0);
  }

  // Picks an ingredient of `choices` for this jurisdiction that is marketed on `day`; 0 if none.
  int64_t Choose(std::span<const Choice> choices, int32_t day) {
    std::vector<double> w;
    for (const Choice& c : choices) {
      double x = c.weight[fr_ ? 0 : 1];
      Availability a = AvailabilityOf(o_.profile, c.ingredient);
      if (day < a.from || day > a.until) x = 0;
      if (g_.codes().Product(o_.profile, c.ingredient).source == 0) x = 0;
      w.push_back(x);
    }
    double total = 0;
    for (double x : w) total += x;
    if (total <= 0) return 0;
    return choices[rng_.Pick(w)].ingredient;
  }

  bool OnClass(DrugClass cls, int32_t day) const {
    for (const Episode& e : p_.episodes) {
      if (e.cls == cls && e.start <= day && day <= e.end) return true;
    }
    return false;
  }

  // Starts therapy with `ingredient` on `start`, stopping at an annual hazard `stop_rate` (or
  // after `max_days`), within the observation period and the drug's marketing window.
  void Start(int64_t ingredient, DrugClass cls, int32_t start, double stop_rate,
             int32_t max_days = kNever, double hba1c_effect = 0, int supply = 90) {
    if (ingredient == 0 || start > p_.obs_end) return;
    Availability a = AvailabilityOf(o_.profile, ingredient);
    start = std::max({start, a.from, p_.obs_start});
    if (OnClass(cls, start)) return;
    int64_t days =
        stop_rate > 0 ? static_cast<int64_t>(rng_.Exp(stop_rate) * kDaysPerYear) : int64_t{kNever};
    days = std::min<int64_t>(days, max_days);
    int64_t end = std::min<int64_t>({start + std::max<int64_t>(days, 28) - 1, p_.obs_end, a.until});
    if (end < start) return;
    p_.episodes.push_back(
        {ingredient, cls, start, static_cast<int32_t>(end), hba1c_effect, supply});
  }

  void Treatments() {
    auto after = [&](Chronic d, int lo, int hi) { return p_.onset[d] + rng_.Day(lo, hi); };
    const bool ckd_severe_early =
        p_.has[kCkd] && p_.ckd_stage >= 4 && p_.onset[kCkd] <= p_.onset[kT2d];
    // Diabetes: metformin first, then a second line, then insulin.
    if (p_.has[kT2d]) {
      int32_t t = p_.onset[kT2d];
      if (!ckd_severe_early) {
        Start(rx::kMetformin, kMetforminClass, t + rng_.Day(0, 30), 0.10, kNever, -1.0);
      }
      double delay =
          p_.hba1c0 > 8.0 || ckd_severe_early ? rng_.U(90, 720) : rng_.Exp(0.25) * kDaysPerYear;
      int32_t t2 = t + static_cast<int32_t>(delay);
      if (t2 <= p_.obs_end) {
        const double w[4] = {fr_ ? 0.35 : 0.25, fr_ ? 0.30 : 0.15, fr_ ? 0.15 : 0.25,
                             fr_ ? 0.20 : 0.35};
        std::vector<double> ww(w, w + 4);
        if (Choose(kSglt2s, t2) == 0) ww[3] = 0;
        switch (rng_.Pick(ww)) {
          case 0:
            Start(Choose(kDpp4s, t2), kDpp4, t2, 0.15, kNever, -0.6);
            break;
          case 1:
            Start(Choose(kSulfonylureas, t2), kSulfonylurea, t2, 0.15, kNever, -0.8);
            break;
          case 2:
            Start(Choose(kGlp1s, t2), kGlp1, t2, 0.15, kNever, -1.0);
            break;
          default:
            Start(Choose(kSglt2s, t2), kSglt2, t2, 0.15, kNever, -0.6);
        }
        if (rng_.Bern(0.25)) {
          int32_t t3 = t2 + rng_.Day(365, 1800);
          Start(rx::kInsulinGlargine, kInsulinBasal, t3, 0.05, kNever, -1.0);
          if (rng_.Bern(0.3)) Start(rx::kInsulinLispro, kInsulinRapid, t3 + rng_.Day(90, 720), 0.1);
        }
      }
      if (AgeAt(t) >= 40 && rng_.Bern(0.4)) {
        int32_t ts = after(kT2d, 30, 365);
        Start(Choose(kStatins, ts), kStatin, ts, 0.20);
      }
    }
    // Hypertension: one agent, sometimes a second of another class.
    if (p_.has[kHypertension] && rng_.Bern(0.8)) {
      int32_t t = after(kHypertension, 0, 60);
      bool renal = p_.has[kT2d] || p_.has[kCkd];
      std::vector<double> w = {fr_ ? 0.35 : 0.35, fr_ ? 0.30 : 0.25, fr_ ? 0.20 : 0.15,
                               fr_ ? 0.15 : 0.25};
      if (renal) w = {0.5, 0.5, 0.0, 0.0};
      size_t first = rng_.Pick(w);
      StartAntihypertensive(first, t);
      if (rng_.Bern(0.45)) {
        w[first] = 0;
        if (w[0] + w[1] + w[2] + w[3] <= 0) w = {0, 0, 0.5, 0.5};
        if (first <= 1) w[0] = w[1] = 0;  // never an ACE inhibitor with an ARB
        if (w[0] + w[1] + w[2] + w[3] > 0) {
          size_t second = rng_.Pick(w);
          StartAntihypertensive(second, t + rng_.Day(180, 1500));
        }
      }
    }
    if (p_.has[kDyslipidemia] && rng_.Bern(0.65)) {
      int32_t t = after(kDyslipidemia, 0, 120);
      Start(Choose(kStatins, t), kStatin, t, 0.20);
    }
    if (p_.has[kCad]) {
      if (rng_.Bern(0.85)) {
        int32_t t = after(kCad, 0, 60);
        Start(Choose(kStatins, t), kStatin, t, 0.15);
      }
      if (rng_.Bern(0.7)) Start(rx::kAspirin, kAspirinClass, after(kCad, 0, 60), 0.10);
    }
    if (p_.has[kCkd] && rng_.Bern(0.6)) {
      int32_t t = after(kCkd, 0, 90);
      if (!OnClass(kAceArb, t)) StartAntihypertensive(rng_.Bern(0.5) ? 0 : 1, t);
    }
    if (p_.has[kHeartFailure]) {
      int32_t t = after(kHeartFailure, 0, 60);
      if (rng_.Bern(0.8)) Start(Choose(kBetaBlockers, t), kBetaBlocker, t, 0.10);
      if (rng_.Bern(0.7) && !OnClass(kAceArb, t)) StartAntihypertensive(rng_.Bern(0.6) ? 0 : 1, t);
      if (rng_.Bern(0.8)) Start(rx::kFurosemide, kLoop, t, 0.10);
      if (rng_.Bern(0.35)) Start(rx::kSpironolactone, kMra, t, 0.15);
    }
    if (p_.has[kAfib]) {
      int32_t t = after(kAfib, 0, 30);
      if (rng_.Bern(AgeAt(t) > 65 ? 0.85 : 0.7))
        Start(Choose(kAnticoagulants, t), kAnticoagulant, t, 0.10);
      if (rng_.Bern(0.5)) Start(Choose(kBetaBlockers, t), kBetaBlocker, t, 0.15);
    }
    if (p_.has[kCopd]) {
      int32_t t = after(kCopd, 0, 60);
      if (rng_.Bern(0.7)) Start(rx::kTiotropium, kInhaledLama, t, 0.25);
      if (rng_.Bern(0.6)) Courses(rx::kAlbuterol, kInhaledSaba, t, 1.5, 30);
    }
    if (p_.has[kAsthma]) {
      int32_t t = after(kAsthma, 0, 60);
      if (rng_.Bern(0.6)) Start(rx::kFluticasone, kInhaledSteroid, t, 0.35);
      if (rng_.Bern(0.7)) Courses(rx::kAlbuterol, kInhaledSaba, t, 1.0, 30);
      if (rng_.Bern(0.15)) Start(rx::kMontelukast, kLeukotriene, t, 0.4);
    }
    if (p_.has[kDepression] && rng_.Bern(0.65)) {
      int32_t t = after(kDepression, 0, 30);
      int32_t days = rng_.Day(180, 720);
      Start(Choose(kAntidepressants, t), kAntidepressant, t, 0, days);
    }
    if (p_.has[kAnxiety] && rng_.Bern(0.3)) {
      int32_t t = after(kAnxiety, 0, 60);
      int32_t days = rng_.Day(180, 540);
      Start(Choose(kAntidepressants, t), kAntidepressant, t, 0, days);
    }
    if (p_.has[kHypothyroid] && rng_.Bern(0.95)) {
      Start(rx::kLevothyroxine, kThyroid, after(kHypothyroid, 0, 30), 0.03);
    }
    if (p_.has[kOsteoarthritis] && rng_.Bern(0.5)) {
      int64_t drug = rng_.Bern(0.7) ? rx::kAcetaminophen : rx::kTramadol;
      Start(drug, kAnalgesic, after(kOsteoarthritis, 0, 60), 0, 30, 0, 30);
    }
    if ((p_.has[kOsteoporosis] && rng_.Bern(0.6)) || (p_.has[kVitaminD] && rng_.Bern(0.7))) {
      Chronic d = p_.has[kOsteoporosis] ? kOsteoporosis : kVitaminD;
      Start(rx::kCholecalciferol, kVitaminDClass, after(d, 0, 60), 0.5);
    }
    if (p_.has[kAlzheimer] && rng_.Bern(0.6)) {
      int32_t t = after(kAlzheimer, 0, 90);
      Start(Choose(kDementia, t), kAntiDementia, t, 0.3);
    }
    if (p_.has[kBreastCancer] && rng_.Bern(0.7)) {
      int32_t t = after(kBreastCancer, 30, 120);
      Start(AgeAt(t) < 50 ? rx::kTamoxifen : rx::kAnastrozole, kHormoneTherapy, t, 0.05, 1826);
    }
    if (p_.has[kProstateCancer] && rng_.Bern(0.35)) {
      int32_t t = after(kProstateCancer, 30, 180);
      Start(rx::kLeuprolide, kHormoneTherapy, t, 0.1);
      if (rng_.Bern(0.5)) Start(rx::kBicalutamide, kOtherClass, t, 0, 90);
    }
    if (p_.has[kColonCancer] && rng_.Bern(0.5)) {
      Start(rx::kCapecitabine, kChemo, after(kColonCancer, 30, 90), 0, 168, 0, 42);
    }
  }

  // Short courses of `days` days at `per_year` courses a year from `from` on.
  void Courses(int64_t ingredient, DrugClass cls, int32_t from, double per_year, int days) {
    for (int32_t day = from;;) {
      day += static_cast<int32_t>(rng_.Exp(per_year) * kDaysPerYear) + 1;
      if (day > p_.obs_end) break;
      Start(ingredient, cls, day, 0, days, 0, days);
    }
  }

  void StartAntihypertensive(size_t cls, int32_t t) {
    switch (cls) {
      case 0:
        Start(Choose(kAceis, t), kAceArb, t, 0.12);
        break;
      case 1:
        Start(Choose(kArbs, t), kAceArb, t, 0.12);
        break;
      case 2:
        Start(rx::kAmlodipine, kCcb, t, 0.12);
        break;
      default:
        Start(Choose(kThiazides, t), kThiazide, t, 0.15);
    }
  }

  // Effect (2): first major cardiovascular event, proportional hazards (truth::Mace).
  void Mace() {
    using M = truth::Mace;
    const int32_t entry = p_.obs_start + M::kEntryDays;
    if (entry > p_.obs_end || AgeYearsAt(entry) < 18) return;
    const double age = AgeYearsAt(entry);
    const bool t2d = p_.onset[kT2d] <= entry;
    const bool htn = p_.onset[kHypertension] <= entry;
    const bool statin = OnClass(kStatin, entry);
    const double rate =
        M::kBaseRatePerYear *
        std::exp(M::kAgePerDecade * (age - 60) / 10 + (p_.female ? 0 : M::kMale) +
                 (t2d ? M::kT2d : 0) + (htn ? M::kHtn : 0) + (statin ? M::kStatin : 0));
    int32_t from = entry;
    for (int k = 0; k < 2; ++k) {
      // The second event (a recurrence) has twice the hazard; only the first is the effect.
      double years = rng_.Exp(k == 0 ? rate : 2 * rate);
      double day = from + std::ceil(years * kDaysPerYear);
      if (day > p_.obs_end) return;
      int32_t m = static_cast<int32_t>(day);
      bool mi = rng_.Bern(M::kMiShare);
      p_.mace_date[k] = m;
      p_.mace_mi[k] = mi;
      if (rng_.Bern(M::kCaseFatality)) {
        p_.died = true;
        p_.obs_end = m;
        p_.death_cause = mi ? "ami" : "stroke";
        // Keep every disease's diagnosis inside the (now shorter) observation period, after
        // entry so that covariates at entry are unchanged.
        for (int d = 0; d < kNumChronic; ++d) {
          if (p_.has[d] && p_.onset[d] > m) p_.onset[d] = rng_.Day(entry + 1, m);
        }
        return;
      }
      // Secondary prevention.
      int32_t t = m + rng_.Day(1, 14);
      Start(Choose(kStatins, t), kStatin, t, 0.12);
      if (rng_.Bern(0.8)) Start(rx::kAspirin, kAspirinClass, t, 0.10);
      if (mi) {
        if (rng_.Bern(0.7)) Start(Choose(kP2y12s, t), kP2y12, t, 0, 365);
        if (rng_.Bern(0.6)) Start(Choose(kBetaBlockers, t), kBetaBlocker, t, 0.12);
        if (rng_.Bern(0.5)) StartAntihypertensive(0, t);
      } else if (rng_.Bern(0.5)) {
        Start(rx::kClopidogrel, kP2y12, t, 0.15);
      }
      from = m;
    }
  }

  // HbA1c (%) on `day` for a person with T2D, before measurement noise.
  double Hba1cAt(int32_t day) const {
    double h = p_.hba1c0 + 0.12 * std::max(0, day - p_.onset[kT2d]) / kDaysPerYear;
    for (const Episode& e : p_.episodes) {
      if (e.hba1c_effect != 0 && e.start <= day && day <= e.end) h += e.hba1c_effect;
    }
    return h;
  }

  double MeasuredHba1c(int32_t day) {
    return std::round(std::clamp(Hba1cAt(day) + rng_.Normal(0, 0.25), 5.0, 14.0) * 10) / 10;
  }

  // Effects (1) and (3): SGLT2 inhibitor at the index date, then one-year HHF risk.
  void HeartFailureEffect() {
    if (!g_.planted() || !p_.has[kT2d]) return;
    const int32_t index = g_.index_date();
    const int age = CivilFromDays(index).year - p_.birth_civil.year;
    if (p_.onset[kT2d] >= index - 90 || age < 18 || p_.obs_start > index - 365 ||
        p_.obs_end < index + 365) {
      return;
    }
    p_.hhf_cohort = true;
    ++stats_.hhf_cohort;
    const bool ckd = p_.has[kCkd] && p_.onset[kCkd] < index;
    // (3) Treatment at the index date depends on age and CKD only.
    using A = truth::Sglt2Assignment;
    int64_t drug = Choose(kSglt2s, index);
    bool sglt2 = drug != 0 && rng_.Bern(Expit(A::kIntercept + A::kAgePerDecade * (age - 65) / 10.0 +
                                              A::kCkd * (ckd ? 1 : 0)));
    std::erase_if(p_.episodes, [&](const Episode& e) {
      return e.cls == kSglt2 && e.start <= index && index <= e.end;
    });
    if (sglt2) {
      ++stats_.sglt2_at_index;
      Availability a = AvailabilityOf(o_.profile, drug);
      int32_t lo = std::max({p_.onset[kT2d], a.from, p_.obs_start});
      int32_t start = std::max(lo, index - rng_.Day(60, 720));
      start = std::min(start, index);
      int32_t end = std::min(p_.obs_end, index + rng_.Day(90, 1200));
      // Drop any later SGLT2 episode that the new one would overlap.
      std::erase_if(p_.episodes, [&](const Episode& e) {
        return e.cls == kSglt2 && e.start <= end && e.end >= start;
      });
      p_.episodes.push_back({drug, kSglt2, start, end, -0.6, 90});
    }
    // The HbA1c that the analysis sees: one measurement in the 90 days before the index date.
    p_.index_review = index - rng_.Day(1, 90);
    p_.index_hba1c = MeasuredHba1c(p_.index_review);
    // (1) One-year risk of hospitalisation for heart failure.
    using H = truth::Hhf;
    double lp = H::kIntercept + H::kAgePerDecade * (age - 65) / 10.0 +
                (p_.female ? H::kFemale : 0) + H::kHba1cPerPoint * (p_.index_hba1c - 7.0) +
                (ckd ? H::kCkd : 0) + (sglt2 ? H::kSglt2 : 0);
    if (rng_.Bern(Expit(lp))) {
      ++stats_.hhf_events;
      p_.hhf_date = index + rng_.Day(1, 365);
      if (!p_.has[kHeartFailure] || p_.onset[kHeartFailure] > p_.hhf_date) {
        p_.has[kHeartFailure] = true;
        p_.onset[kHeartFailure] = p_.hhf_date;
      }
    }
  }

  bool InHhfWindow(int32_t day) const {
    return p_.hhf_cohort && day > g_.index_date() && day <= g_.index_date() + 365;
  }

  // ---- rows --------------------------------------------------------------------------------

  int64_t Visit(int64_t cid, int32_t start, int32_t end) {
    end = std::min(end, p_.obs_end);
    int64_t id = out_.NextId(kVisitTable);
    const char* source = cid == kInpatient   ? (fr_ ? "PMSI-MCO" : "MED-ECHO")
                         : cid == kEmergency ? (fr_ ? "ATU" : "URG")
                                             : (fr_ ? "DCIR" : "RAMQ");
    out_.Add(kVisitTable)
        .Int(id)
        .Int(p_.person_id)
        .Int(cid)
        .Int(start)
        .Null()
        .Int(end)
        .Null()
        .Int(kClaim)
        .Null()
        .Null()
        .Str(source)
        .Rest();
    return id;
  }

  enum class Setting { kOffice, kHospital };

  void Condition(int64_t visit, int32_t day, std::string_view key, Setting setting,
                 int64_t status = 0) {
    const Coded& c = g_.codes().Condition(key);
    const CodeRef* ref = &c.cim10;
    int64_t type = kClaim;
    if (fr_) {
      if (setting == Setting::kOffice) type = kEhr;
    } else {
      ref = setting == Setting::kOffice && c.icd9.source != 0 ? &c.icd9 : &c.icd10ca;
    }
    out_.Add(kConditionTable)
        .Int(out_.NextId(kConditionTable))
        .Int(p_.person_id)
        .Int(ref->standard)
        .Int(day)
        .Null()
        .Null()
        .Null()
        .Int(type)
        .IntOr0(status)
        .Null()
        .Null()
        .IntOr0(visit)
        .Null()
        .Str(ref->code)
        .Int(ref->source)
        .Rest();
    if (o_.eras) condition_days_.emplace_back(ref->standard, day);
  }

  void Procedure(int64_t visit, int32_t day, std::string_view key) {
    const ProcCoded& c = g_.codes().Procedure(key);
    const CodeRef& ref = fr_ ? c.ccam : c.cci;
    out_.Add(kProcedureTable)
        .Int(out_.NextId(kProcedureTable))
        .Int(p_.person_id)
        .Int(ref.standard)
        .Int(day)
        .Null()
        .Null()
        .Null()
        .Int(kClaim)
        .Null()
        .Int(1)
        .Null()
        .IntOr0(visit)
        .Null()
        .Str(ref.code)
        .Int(ref.source)
        .Rest();
  }

  void Measurement(int64_t visit, int32_t day, int64_t cid, double value, int64_t unit,
                   int decimals = 1) {
    double scale = std::pow(10.0, decimals);
    out_.Add(kMeasurementTable)
        .Int(out_.NextId(kMeasurementTable))
        .Int(p_.person_id)
        .Int(cid)
        .Int(day)
        .Null()
        .Null()
        .Int(kEhr)
        .Null()
        .Dbl(std::round(value * scale) / scale)
        .Null()
        .Int(unit)
        .Null()
        .Null()
        .Null()
        .IntOr0(visit)
        .Null()
        .Str(g_.CodeOf(cid))
        .Int(cid)
        .Str(g_.CodeOf(unit))
        .Rest();
  }

  // Dispensings covering [start, end] exactly, every `supply` days.
  void Dispense(int64_t ingredient, int32_t start, int32_t end, int supply) {
    const CodeRef& product = g_.codes().Product(o_.profile, ingredient);
    if (product.source == 0) return;
    end = std::min(end, p_.obs_end);
    for (int32_t s = start; s <= end; s += supply) {
      int32_t e = std::min(end, s + supply - 1);
      out_.Add(kDrugTable)
          .Int(out_.NextId(kDrugTable))
          .Int(p_.person_id)
          .Int(ingredient)
          .Int(s)
          .Null()
          .Int(e)
          .Null()
          .Null()
          .Int(kPharmacyClaim)
          .Null()
          .Null()
          .Dbl(e - s + 1)
          .Int(e - s + 1)
          .Null()
          .Null()
          .Null()
          .Null()
          .Null()
          .Null()
          .Str(product.code)
          .Int(product.source)
          .Rest();
      if (o_.eras) drug_spans_.push_back({ingredient, s, e});
    }
  }

  // An inpatient stay: primary diagnosis, the chronic conditions present as secondary ones,
  // and procedures.
  int64_t Stay(int32_t day, int los, std::string_view primary,
               std::initializer_list<std::pair<const char*, double>> procedures = {}) {
    int64_t v = Visit(kInpatient, day, day + los);
    Condition(v, day, primary, Setting::kHospital, kPrimaryDx);
    int secondary = 0;
    static constexpr std::pair<Chronic, const char*> kSecondaries[] = {
        {kHypertension, "htn"}, {kT2d, "t2d"},   {kCkd, "ckd3"},        {kAfib, "af"},
        {kHeartFailure, "hf"},  {kCopd, "copd"}, {kObesity, "obesity"}, {kDyslipidemia, "dyslip"}};
    for (const auto& [d, key] : kSecondaries) {
      if (secondary == 3 || !p_.has[d] || p_.onset[d] > day || key == primary) continue;
      Condition(v, day, d == kCkd ? CkdKey() : key, Setting::kHospital, kSecondaryDx);
      ++secondary;
    }
    for (const auto& [proc, prob] : procedures) {
      if (rng_.Bern(prob)) Procedure(v, day, proc);
    }
    return v;
  }

  const char* CkdKey() const {
    return p_.ckd_stage == 3 ? "ckd3" : p_.ckd_stage == 4 ? "ckd4" : "ckd5";
  }

  const char* KeyOf(Chronic d) const {
    if (d == kCkd) return CkdKey();
    if (d == kOsteoarthritis) return p_.oa_hip ? "oa_hip" : "oa_knee";
    return ChronicSpecs()[d].key;
  }

  void Emit() {
    EmitPerson();
    EmitDiagnoses();
    EmitReviews();
    EmitAcute();
    EmitHospital();
    EmitEvents();
    EmitDrugs();
    if (o_.eras) EmitEras();
    if (p_.died) ++stats_.deaths;
  }

  void EmitPerson() {
    const CivilDate& b = p_.birth_civil;
    out_.Add(kPersonTable)
        .Int(p_.person_id)
        .Int(p_.female ? kFemale : kMale)
        .Int(b.year)
        .Int(b.month)
        .Int(b.day)
        .Null()
        .Int(0)
        .Int(0)
        .Null()
        .Null()
        .Null()
        .Null()
        .Str(fr_ ? (p_.female ? "2" : "1") : (p_.female ? "F" : "M"))
        .Rest();
    out_.Add(kObservationPeriodTable)
        .Int(p_.person_id)
        .Int(p_.person_id)
        .Int(p_.obs_start)
        .Int(p_.obs_end)
        .Int(kClaim);
    out_.Add(kPayerPlanPeriodTable)
        .Int(p_.person_id)
        .Int(p_.person_id)
        .Int(p_.obs_start)
        .Int(p_.obs_end)
        .Null()
        .Str(fr_ ? "CNAM" : "RAMQ")
        .Rest();
    if (p_.died) {
      const Coded& c = g_.codes().Condition(p_.death_cause);
      const CodeRef& ref = fr_ ? c.cim10 : c.icd10;
      out_.Add(kDeathTable)
          .Int(p_.person_id)
          .Int(p_.obs_end)
          .Null()
          .Int(kDeathCertificate)
          .Int(ref.standard)
          .Str(ref.code)
          .Int(ref.source);
    }
  }

  // The diagnosis of each chronic disease, on its onset date: prevalent ones together at the
  // first contact; heart failure and cancers often first found in hospital.
  void EmitDiagnoses() {
    std::map<int32_t, int64_t> outpatient;  // day -> visit
    for (const ChronicSpec& spec : ChronicSpecs()) {
      const Chronic d = spec.id;
      if (!p_.has[d]) continue;
      const int32_t day = p_.onset[d];
      if (d == kHeartFailure && day == p_.hhf_date) continue;  // the HHF stay records it
      const bool incident = day != p_.first_visit;
      if (d == kHeartFailure && incident && !InHhfWindow(day) && rng_.Bern(0.4)) {
        Stay(day, rng_.Day(3, 12), "hf", {{"echo", 0.6}});
        continue;
      }
      if (incident &&
          (d == kBreastCancer || d == kColonCancer || d == kLungCancer || d == kProstateCancer)) {
        if (d == kBreastCancer) Stay(day, rng_.Day(1, 4), KeyOf(d), {{"breast_excision", 0.9}});
        if (d == kColonCancer) Stay(day, rng_.Day(6, 14), KeyOf(d), {{"colon_resection", 0.8}});
        if (d == kLungCancer) Stay(day, rng_.Day(4, 12), KeyOf(d), {{"chest_xray", 1.0}});
        if (d == kProstateCancer) {
          int64_t v = Visit(kOutpatient, day, day);
          Condition(v, day, KeyOf(d), Setting::kOffice);
          Procedure(v, day, "prostate_biopsy");
          if (rng_.Bern(0.4) && day + 60 <= p_.obs_end) {
            int32_t surgery = day + rng_.Day(30, 60);
            Stay(surgery, rng_.Day(3, 6), KeyOf(d), {{"prostatectomy", 1.0}});
          }
        }
        continue;
      }
      auto [it, fresh] = outpatient.try_emplace(day, 0);
      if (fresh) it->second = Visit(kOutpatient, day, day);
      Condition(it->second, day, KeyOf(d), Setting::kOffice);
      if (d == kAlzheimer && rng_.Bern(0.5)) Procedure(it->second, day, "mri_brain");
      if (d == kOsteoporosis && rng_.Bern(0.7)) Procedure(it->second, day, "bone_density");
    }
  }

  // Follow-up visits of chronic patients with their measurements.
  void EmitReviews() {
    int32_t first = kNever;
    for (const ChronicSpec& s : ChronicSpecs()) {
      if (p_.has[s.id] && s.reviews_per_year > 0) first = std::min(first, p_.onset[s.id]);
    }
    if (first == kNever) return;
    int count = 0;
    bool height_done = false;
    for (int32_t day = first + rng_.Day(60, 180); day <= p_.obs_end;) {
      double rate = 0;
      Chronic main = kNumChronic;
      for (const ChronicSpec& s : ChronicSpecs()) {
        if (p_.has[s.id] && p_.onset[s.id] <= day && s.reviews_per_year > rate) {
          rate = s.reviews_per_year;
          main = s.id;
        }
      }
      if (rate == 0) rate = 0.5;
      const bool skip = p_.hhf_cohort && day >= g_.index_date() - 90 && day < g_.index_date();
      if (!skip && main != kNumChronic) {
        Review(day, main, count++, &height_done);
      }
      day += static_cast<int32_t>(365.0 / rate * rng_.U(0.85, 1.15));
    }
    if (p_.hhf_cohort) {
      int64_t v = Visit(kOutpatient, p_.index_review, p_.index_review);
      if (!fr_) Condition(v, p_.index_review, "t2d", Setting::kOffice);
      Measurement(v, p_.index_review, lab::kHba1c, p_.index_hba1c, lab::kPercent);
      BloodPressure(v, p_.index_review);
    }
  }

  bool Present(Chronic d, int32_t day) const { return p_.has[d] && p_.onset[d] <= day; }

  void BloodPressure(int64_t v, int32_t day) {
    double sbp = p_.sbp + 0.35 * (AgeAt(day) - p_.age0) + rng_.Normal(0, 8);
    if (Present(kHypertension, day)) {
      sbp += OnClass(kAceArb, day) || OnClass(kCcb, day) || OnClass(kThiazide, day) ? 12 : 28;
    }
    double dbp = 0.45 * sbp + rng_.Normal(17, 6);
    Measurement(v, day, lab::kSystolic, sbp, lab::kMmHg, 0);
    Measurement(v, day, lab::kDiastolic, dbp, lab::kMmHg, 0);
  }

  double Egfr(int32_t day) const {
    if (!Present(kCkd, day)) {
      return std::max(60.0, p_.egfr - 0.8 * std::max(0.0, AgeAt(day) - p_.age0));
    }
    return p_.ckd_stage == 3 ? 45 : p_.ckd_stage == 4 ? 22 : 10;
  }

  void Review(int32_t day, Chronic main, int count, bool* height_done) {
    int64_t v = Visit(kOutpatient, day, day);
    if (!fr_) Condition(v, day, KeyOf(main), Setting::kOffice);
    const bool annual = count % 2 == 0;
    const bool t2d = Present(kT2d, day), ckd = Present(kCkd, day), hf = Present(kHeartFailure, day);
    if (Present(kHypertension, day) || hf || ckd || t2d) BloodPressure(v, day);
    if (annual && (t2d || hf || Present(kObesity, day))) {
      double bmi = p_.bmi + rng_.Normal(0, 0.6);
      double h = p_.height_cm / 100;
      Measurement(v, day, lab::kWeight, bmi * h * h, lab::kKg);
      Measurement(v, day, lab::kBmi, bmi, lab::kKgM2);
      if (!*height_done) {
        Measurement(v, day, lab::kHeight, p_.height_cm, lab::kCm, 0);
        *height_done = true;
      }
    }
    if (t2d) {
      double h = MeasuredHba1c(day);
      Measurement(v, day, lab::kHba1c, h, lab::kPercent);
      if (annual) {
        double glucose = 1.59 * h - 2.59 + rng_.Normal(0, 0.8);  // ADAG estimated average glucose
        if (fr_) {
          Measurement(v, day, lab::kGlucose, glucose * 0.18, lab::kGL, 2);
        } else {
          Measurement(v, day, lab::kGlucose, glucose, lab::kMmolL);
        }
      }
    }
    if (annual && (t2d || ckd || hf)) {
      double egfr = std::max(5.0, Egfr(day) + rng_.Normal(0, 4));
      Measurement(v, day, lab::kEgfr, egfr, lab::kEgfrUnit, 0);
    }
    if (annual && ckd) {
      double egfr = std::max(5.0, Egfr(day) + rng_.Normal(0, 4));
      // Creatinine from eGFR by inverting CKD-EPI 2009 above the knee (kappa 0.7 women,
      // 0.9 men, in mg/dL; 88.4 umol/L per mg/dL).
      double creat = (p_.female ? 0.7 : 0.9) * 88.4 *
                     std::pow(egfr / (141.0 * std::pow(0.993, AgeAt(day))), -1.0 / 1.209);
      Measurement(v, day, lab::kCreatinine, std::clamp(creat, 30.0, 1200.0), lab::kUmolL, 0);
      Measurement(v, day, lab::kPotassium, rng_.Normal(4.6, 0.4), lab::kMmolL);
    }
    if (annual && (Present(kDyslipidemia, day) || t2d || Present(kCad, day))) {
      double ldl = p_.ldl * (OnClass(kStatin, day) ? 0.6 : 1.0) + rng_.Normal(0, 0.2);
      double total = ldl + p_.hdl + p_.tg / 2.2;
      // France reports lipids in g/L, Québec in mmol/L.
      const double unit = fr_ ? 0.3866 : 1.0;
      Measurement(v, day, lab::kLdl, ldl * unit, fr_ ? lab::kGL : lab::kMmolL, 2);
      if (count % 4 == 0) {
        Measurement(v, day, lab::kTotalChol, total * unit, fr_ ? lab::kGL : lab::kMmolL, 2);
      }
    }
    if (annual && hf) {
      Measurement(v, day, lab::kNtProBnp, std::exp(rng_.Normal(7.3, 0.6)), lab::kPgMl, 0);
    }
    if (Present(kAfib, day)) {
      Measurement(v, day, lab::kHeartRate, rng_.Normal(86, 12), lab::kPerMin, 0);
      if (OnClass(kAnticoagulant, day)) {
        for (const Episode& e : p_.episodes) {
          if (e.ingredient == rx::kWarfarin && e.start <= day && day <= e.end) {
            Measurement(v, day, lab::kInr, std::clamp(rng_.Normal(2.5, 0.5), 1.0, 5.0),
                        lab::kRatio);
          }
        }
      }
    }
    if (annual && Present(kAnemia, day)) {
      double hb = p_.hb + rng_.Normal(0, 0.5);
      if (fr_) {
        Measurement(v, day, lab::kHemoglobin, hb, lab::kGDl);
      } else {
        Measurement(v, day, lab::kHemoglobin, hb * 10, lab::kGL, 0);
      }
    }
    if (Present(kProstateCancer, day)) {
      Measurement(v, day, lab::kPsa, std::exp(rng_.Normal(1.5, 1.0)), lab::kNgMl);
    }
    if (annual && (Present(kAfib, day) || Present(kCad, day) || hf) && rng_.Bern(0.4)) {
      Procedure(v, day, "ecg");
    }
    if (annual && Present(kBreastCancer, day)) Procedure(v, day, "mammography");
    if (Present(kCkd, day) && p_.ckd_stage == 5 && rng_.Bern(0.5))
      Procedure(v, day, "hemodialysis");
  }

  void EmitAcute() {
    const int32_t covid_from = DaysFromCivil(2020, 3, 1);
    for (int32_t day = p_.obs_start;;) {
      double age = AgeAt(day);
      int group = age < 15 ? 0 : age < 65 ? 1 : 2;
      day += static_cast<int32_t>(rng_.Exp(kAcuteRate[group]) * kDaysPerYear) + 1;
      if (day > p_.obs_end) break;
      std::array<double, std::size(kAcute)> w;
      for (size_t i = 0; i < std::size(kAcute); ++i) {
        w[i] = kAcute[i].weight[group];
        if (std::string_view(kAcute[i].key) == "uti" && p_.female) w[i] *= 3;
        if (std::string_view(kAcute[i].key) == "covid" && day < covid_from) w[i] = 0;
      }
      const Acute& a = kAcute[rng_.Pick(w)];
      int64_t v;
      if (rng_.Bern(a.inpatient)) {
        v = Stay(day, rng_.Day(2, 9), a.key);
      } else {
        v = Visit(rng_.Bern(a.emergency) ? kEmergency : kOutpatient, day, day);
        Condition(v, day, a.key, Setting::kOffice);
      }
      if (*a.procedure != '\0') Procedure(v, day, a.procedure);
      if (a.drug != 0 && rng_.Bern(a.drug_p)) {
        Dispense(a.drug, day, day + a.drug_days - 1, a.drug_days);
      }
    }
  }

  // Hospital care that follows from chronic diseases.
  void EmitHospital() {
    auto events = [&](Chronic d, double per_year, auto&& fn) {
      if (!p_.has[d]) return;
      for (int32_t day = p_.onset[d];;) {
        day += static_cast<int32_t>(rng_.Exp(per_year) * kDaysPerYear) + 1;
        if (day > p_.obs_end) break;
        fn(day);
      }
    };
    events(kHeartFailure, 0.15, [&](int32_t day) {
      if (!InHhfWindow(day)) Stay(day, rng_.Day(3, 12), "hf", {{"echo", 0.5}});
    });
    events(kCopd, 0.12, [&](int32_t day) {
      if (rng_.Bern(0.4)) {
        Stay(day, rng_.Day(3, 10), "copd", {{"chest_xray", 0.8}});
      } else {
        int64_t v = Visit(kEmergency, day, day);
        Condition(v, day, "copd", Setting::kOffice);
      }
      if (rng_.Bern(0.7)) Dispense(rx::kPrednisone, day, day + 4, 5);
    });
    events(kT2d, 0.03, [&](int32_t day) {
      if (OnClass(kSulfonylurea, day) || OnClass(kInsulinBasal, day)) {
        int64_t v = Visit(kEmergency, day, day);
        Condition(v, day, "hypoglycemia", Setting::kOffice);
      }
    });
    events(kCkd, 0.05, [&](int32_t day) {
      if (p_.ckd_stage >= 4) {
        int64_t v = Visit(kEmergency, day, day);
        Condition(v, day, "hyperkalemia", Setting::kOffice);
      }
    });
    if (p_.has[kOsteoarthritis] && rng_.Bern(0.1)) {
      int32_t day = p_.onset[kOsteoarthritis] + rng_.Day(180, 2000);
      if (day <= p_.obs_end) {
        Stay(day, rng_.Day(3, 7), KeyOf(kOsteoarthritis),
             {{p_.oa_hip ? "hip_replacement" : "knee_replacement", 1.0}});
      }
    }
    if (p_.has[kAfib] && rng_.Bern(0.12)) {
      int32_t day = p_.onset[kAfib] + rng_.Day(30, 1000);
      if (day <= p_.obs_end) Stay(day, 1, "af", {{"cardioversion", 0.8}, {"ablation", 0.3}});
    }
    if (p_.has[kCad] && rng_.Bern(0.3)) {
      int32_t day = p_.onset[kCad] + rng_.Day(30, 700);
      if (day <= p_.obs_end) {
        int64_t v = Visit(kOutpatient, day, day);
        Condition(v, day, "cad", Setting::kOffice);
        Procedure(v, day, "stress_test");
      }
    }
    if (p_.has[kColonCancer] && rng_.Bern(0.5)) {
      int32_t day = p_.onset[kColonCancer] + rng_.Day(300, 500);
      if (day <= p_.obs_end) {
        int64_t v = Visit(kOutpatient, day, day);
        Condition(v, day, "colon_ca", Setting::kOffice);
        Procedure(v, day, "colonoscopy");
      }
    }
    if (p_.has[kLungCancer] && rng_.Bern(0.5)) {
      int32_t day = p_.onset[kLungCancer] + rng_.Day(30, 120);
      if (day <= p_.obs_end) {
        int64_t v = Visit(kOutpatient, day, day);
        Condition(v, day, "lung_ca", Setting::kOffice);
        Procedure(v, day, "radiotherapy");
      }
    }
  }

  // The planted events: MACE stays (effect 2) and the HHF stay (effect 1).
  void EmitEvents() {
    for (int k = 0; k < 2; ++k) {
      if (p_.mace_date[k] == kNever) continue;
      int32_t day = p_.mace_date[k];
      if (p_.mace_mi[k]) {
        Stay(day, rng_.Day(3, 8), "ami",
             {{"ecg", 1.0}, {"ptca", 0.7}, {"cabg", 0.1}, {"echo", 0.6}});
      } else {
        Stay(day, rng_.Day(5, 14), "stroke", {{"ct_head", 0.9}, {"mri_brain", 0.5}});
      }
    }
    if (p_.hhf_date != kNever && p_.hhf_date <= p_.obs_end) {
      Stay(p_.hhf_date, rng_.Day(3, 12), "hf", {{"echo", 0.6}});
    }
  }

  void EmitDrugs() {
    std::sort(p_.episodes.begin(), p_.episodes.end(), [](const Episode& a, const Episode& b) {
      return std::tie(a.start, a.ingredient) < std::tie(b.start, b.ingredient);
    });
    for (const Episode& e : p_.episodes) {
      if (e.start > p_.obs_end) continue;
      Dispense(e.ingredient, e.start, e.end, e.supply);
    }
  }

  // condition_era (30-day persistence window on start dates) and drug_era (30-day gaps
  // between exposures), as OHDSI's era scripts build them.
  void EmitEras() {
    std::sort(condition_days_.begin(), condition_days_.end());
    for (size_t i = 0; i < condition_days_.size();) {
      const int64_t cid = condition_days_[i].first;
      int32_t start = condition_days_[i].second, end = start;
      int64_t count = 0;
      size_t j = i;
      for (; j < condition_days_.size() && condition_days_[j].first == cid; ++j) {
        if (condition_days_[j].second > end + 30) {
          ConditionEra(cid, start, end, count);
          start = condition_days_[j].second;
          count = 0;
        }
        end = std::max(end, condition_days_[j].second);
        ++count;
      }
      ConditionEra(cid, start, end, count);
      i = j;
    }
    std::sort(drug_spans_.begin(), drug_spans_.end(), [](const DrugSpan& a, const DrugSpan& b) {
      return std::tie(a.ingredient, a.start, a.end) < std::tie(b.ingredient, b.start, b.end);
    });
    for (size_t i = 0; i < drug_spans_.size();) {
      const int64_t ingredient = drug_spans_[i].ingredient;
      int32_t start = drug_spans_[i].start, end = drug_spans_[i].end;
      int64_t count = 0, gaps = 0;
      size_t j = i;
      for (; j < drug_spans_.size() && drug_spans_[j].ingredient == ingredient; ++j) {
        const DrugSpan& s = drug_spans_[j];
        if (s.start > end + 30) {
          DrugEra(ingredient, start, end, count, gaps);
          start = s.start;
          end = s.end;
          count = 0;
          gaps = 0;
        } else if (s.start > end + 1) {
          gaps += s.start - end - 1;
        }
        end = std::max(end, s.end);
        ++count;
      }
      DrugEra(ingredient, start, end, count, gaps);
      i = j;
    }
  }

  void ConditionEra(int64_t cid, int32_t start, int32_t end, int64_t count) {
    out_.Add(kConditionEraTable)
        .Int(out_.NextId(kConditionEraTable))
        .Int(p_.person_id)
        .Int(cid)
        .Int(start)
        .Int(end)
        .Int(count);
  }

  void DrugEra(int64_t ingredient, int32_t start, int32_t end, int64_t count, int64_t gaps) {
    out_.Add(kDrugEraTable)
        .Int(out_.NextId(kDrugEraTable))
        .Int(p_.person_id)
        .Int(ingredient)
        .Int(start)
        .Int(end)
        .Int(count)
        .Int(gaps);
  }

  struct DrugSpan {
    int64_t ingredient;
    int32_t start, end;
  };

  const Generator& g_;
  const SynthOptions& o_;
  const bool fr_;
  Rng rng_;
  Batch& out_;
  GenStats& stats_;
  PersonState p_;
  std::vector<std::pair<int64_t, int32_t>> condition_days_;
  std::vector<DrugSpan> drug_spans_;
};

}  // namespace

Generator::Generator(const SynthOptions& options)
    : options_(options),
      demo_(DemographyOf(options.profile)),
      intercepts_(ChronicIntercepts(options.profile)),
      codes_(CodeSet::Get()) {
  planted_ = truth::PlantedIndexDate(options.start_date, options.end_date, &index_date_);
  const int64_t ids[] = {
      lab::kHba1c,         lab::kEgfr,       lab::kLdl,       lab::kTotalChol, lab::kHdl,
      lab::kTriglycerides, lab::kCreatinine, lab::kGlucose,   lab::kPotassium, lab::kHemoglobin,
      lab::kNtProBnp,      lab::kSystolic,   lab::kDiastolic, lab::kBmi,       lab::kWeight,
      lab::kHeight,        lab::kHeartRate,  lab::kInr,       lab::kPsa,       lab::kPercent,
      lab::kMmolL,         lab::kGL,         lab::kUmolL,     lab::kMmHg,      lab::kKg,
      lab::kKgM2,          lab::kEgfrUnit,   lab::kPgMl,      lab::kPerMin,    lab::kCm,
      lab::kGDl,           lab::kNgMl,       lab::kRatio};
  static_assert(std::size(ids) <= std::tuple_size_v<decltype(codes_by_id_)>);
  for (size_t i = 0; i < std::size(ids); ++i) {
    codes_by_id_[i] = {ids[i], codes_.Standard(ids[i]).code};
  }
}

const std::string& Generator::CodeOf(int64_t concept_id) const {
  for (const auto& [id, code] : codes_by_id_) {
    if (id == concept_id) return code;
  }
  static const std::string kEmpty;
  return kEmpty;
}

void Generator::Generate(int64_t index, Batch& out, GenStats& stats) const {
  PersonBuilder(*this, index, out, stats).Run();
}

}  // namespace passerelle::omop::synth
