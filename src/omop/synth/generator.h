// The person-level model of the synthetic populations: one call generates every record of one
// person (person, observation period, visits, diagnoses, drugs, procedures, measurements, death,
// eras) into a Batch, from a random stream seeded by (seed, person index) alone.
//
// Thread-safety: a Generator is immutable after construction; Generate may run concurrently on
// different batches.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "omop/synth/batch.h"
#include "omop/synth/profile.h"
#include "omop/synth/synth.h"

namespace passerelle::omop::synth {

struct GenStats {
  int64_t deaths = 0;
  int64_t hhf_cohort = 0;
  int64_t hhf_events = 0;
  int64_t sglt2_at_index = 0;
  void Add(const GenStats& o) {
    deaths += o.deaths;
    hhf_cohort += o.hhf_cohort;
    hhf_events += o.hhf_events;
    sglt2_at_index += o.sglt2_at_index;
  }
};

class Generator {
 public:
  // REQUIRES: ValidateOptions(options).ok() and CodeSet::Get().status().ok().
  explicit Generator(const SynthOptions& options);

  // Appends person `index`'s records (person_id = index + 1) to `out`.
  void Generate(int64_t index, Batch& out, GenStats& stats) const;

  bool planted() const { return planted_; }
  int32_t index_date() const { return index_date_; }
  const SynthOptions& options() const { return options_; }
  const Demography& demography() const { return demo_; }
  const std::array<double, kNumChronic>& intercepts() const { return intercepts_; }
  const CodeSet& codes() const { return codes_; }
  // The LOINC or UCUM code of a measurement or unit concept.
  const std::string& CodeOf(int64_t concept_id) const;

 private:
  SynthOptions options_;
  const Demography& demo_;
  const std::array<double, kNumChronic>& intercepts_;
  const CodeSet& codes_;
  bool planted_ = false;
  int32_t index_date_ = 0;
  // LOINC and UCUM codes of the measurements, by concept id.
  std::array<std::pair<int64_t, std::string>, 40> codes_by_id_;
};

// The log-odds of chronic disease `d` for a person, without the intercept; -infinity when the
// person cannot have it (age, sex, missing prerequisite). Shared by generation and calibration.
double ChronicLinearPredictor(const ChronicSpec& spec, double age, bool female, double z,
                              bool smoker, const std::array<bool, kNumChronic>& has);

}  // namespace passerelle::omop::synth
