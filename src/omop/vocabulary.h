// The OMOP vocabulary subset shipped with Passerelle: the standard concepts (SNOMED conditions,
// RxNorm ingredients, LOINC measurements, SNOMED/CPT4 procedures, visits, genders, units, type
// and status concepts) with their real OMOP concept ids, the French and Québec source codes
// (CIM-10, ICD-10-CA, ICD-9-CM, ICD-10, ATC, CIP13, DIN, CCAM, CCI) as local concepts, each
// mapped to its standard concept ("Maps to"), and a curated "Is a" hierarchy from which
// concept_ancestor is derived. The data lives in src/omop/vocab/*.tsv, embedded at build time;
// docs/synthetic-data.md says where each id was checked and which codes are synthetic.
//
// Local (site-defined) concept ids follow OMOP's convention for custom concepts (> 2000000000):
//   2000000000 + 10000000 * rank of the vocabulary in kLocalVocabularies + rank of the code
//   within its vocabulary in source_codes.tsv (1-based). Appending codes keeps ids stable.
//
// Thread-safety: Shipped() is built once on first use and immutable afterwards; safe from any
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::omop {

struct VocabConcept {
  int64_t id = 0;
  std::string name;
  std::string domain;
  std::string vocabulary;
  std::string concept_class;
  std::string standard;  // "S" standard, "C" classification, "" source (non-standard)
  std::string code;
};

struct VocabAncestor {
  int64_t ancestor = 0;
  int64_t descendant = 0;
  int min_levels = 0;
  int max_levels = 0;
};

// Vocabularies whose concepts get local ids, in rank order (rank = index + 1).
inline constexpr std::string_view kLocalVocabularies[] = {
    "CIM10", "ICD10CA", "ICD9CM", "ICD10", "ATC", "CIP13", "DIN", "CCAM", "CCI"};
inline constexpr int64_t kLocalConceptBase = 2000000000;

class Vocabulary {
 public:
  // The subset compiled into the binary. Its data was checked by the tests; if the embedded
  // files ever fail to parse, status() says why and every look-up misses.
  static const Vocabulary& Shipped();

  // Builds a vocabulary from TSV texts in the formats of src/omop/vocab/*.tsv.
  static Result<Vocabulary> Parse(std::string_view concepts_tsv, std::string_view source_codes_tsv,
                                  std::string_view hierarchy_tsv);

  const Status& status() const { return status_; }
  const std::vector<VocabConcept>& concepts() const { return concepts_; }
  // Null when absent.
  const VocabConcept* Find(int64_t id) const;
  // The local concept id of a source or classification code; 0 when absent.
  int64_t SourceConceptId(std::string_view vocabulary, std::string_view code) const;
  // The standard concept a source concept maps to; a standard concept maps to itself; 0 when
  // there is no mapping.
  int64_t MapsTo(int64_t concept_id) const;
  // Source concepts of `vocabulary` that map to `standard_id`, in file order.
  std::vector<int64_t> SourceConceptsFor(std::string_view vocabulary, int64_t standard_id) const;
  // Every (source, standard) "Maps to" pair, standard self-maps excluded.
  const std::vector<std::pair<int64_t, int64_t>>& maps_to() const { return maps_to_; }
  // concept_ancestor rows: the transitive closure of the hierarchy plus a self row (level 0) for
  // every standard and classification concept.
  const std::vector<VocabAncestor>& ancestors() const { return ancestors_; }
  bool IsDescendantOf(int64_t descendant, int64_t ancestor) const;
  // All descendants of `ancestor`, itself included, sorted.
  std::vector<int64_t> Descendants(int64_t ancestor) const;

 private:
  Status status_;
  std::vector<VocabConcept> concepts_;
  std::unordered_map<int64_t, size_t> index_;
  std::unordered_map<std::string, int64_t> by_code_;  // "VOCAB\tcode" -> id
  std::unordered_map<int64_t, int64_t> map_;          // source -> standard
  std::vector<std::pair<int64_t, int64_t>> maps_to_;
  std::vector<VocabAncestor> ancestors_;
};

// Fills the vocabulary tables of a CDM (concept, concept_relationship, concept_ancestor,
// vocabulary, domain, concept_class, relationship), which must exist and be empty.
// REQUIRES: vocab.status().ok().
Status WriteVocabularyTables(const Vocabulary& vocab, store::DataSource& source);

}  // namespace passerelle::omop
