#include "omop/vocabulary.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "common/date.h"
#include "common/strings.h"
#include "omop/cdm.h"

namespace passerelle::omop {

// Defined in the build folder's vocabulary_data.cc, generated from src/omop/vocab/*.tsv.
namespace vocab_data {
extern const std::string_view kConceptsTsv;
extern const std::string_view kSourceCodesTsv;
extern const std::string_view kHierarchyTsv;
}  // namespace vocab_data

namespace {

struct Line {
  int number;
  std::vector<std::string> fields;
};

// Non-comment, non-blank lines split on tabs.
std::vector<Line> TsvLines(std::string_view text) {
  std::vector<Line> out;
  int number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    ++number;
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    out.push_back({number, Split(line, '\t')});
  }
  return out;
}

Result<int64_t> ParseId(std::string_view file, int line, std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return Status::InvalidArgument(
        fmt::format("{}: line {}: \"{}\" is not a concept id", file, line, text));
  }
  return v;
}

std::string CodeKey(std::string_view vocabulary, std::string_view code) {
  std::string k(vocabulary);
  k += '\t';
  k += code;
  return k;
}

int LocalRank(std::string_view vocabulary) {
  for (size_t i = 0; i < std::size(kLocalVocabularies); ++i) {
    if (kLocalVocabularies[i] == vocabulary) return static_cast<int>(i) + 1;
  }
  return 0;
}

}  // namespace

const Vocabulary& Vocabulary::Shipped() {
  static const Vocabulary vocab = [] {
    Result<Vocabulary> v =
        Parse(vocab_data::kConceptsTsv, vocab_data::kSourceCodesTsv, vocab_data::kHierarchyTsv);
    if (v.ok()) return std::move(v).value();
    Vocabulary broken;
    broken.status_ = v.status();
    return broken;
  }();
  return vocab;
}

Result<Vocabulary> Vocabulary::Parse(std::string_view concepts_tsv,
                                     std::string_view source_codes_tsv,
                                     std::string_view hierarchy_tsv) {
  Vocabulary v;
  auto add = [&v](VocabConcept c, std::string_view file, int line) -> Status {
    if (v.index_.count(c.id)) {
      return Status::InvalidArgument(
          fmt::format("{}: line {}: concept id {} appears twice", file, line, c.id));
    }
    v.index_[c.id] = v.concepts_.size();
    v.concepts_.push_back(std::move(c));
    return Status::Ok();
  };
  for (const Line& l : TsvLines(concepts_tsv)) {
    if (l.fields.size() != 7) {
      return Status::InvalidArgument(fmt::format("concepts.tsv: line {}: expected 7 fields, got {}",
                                                 l.number, l.fields.size()));
    }
    ASSIGN_OR_RETURN(int64_t id, ParseId("concepts.tsv", l.number, l.fields[0]));
    RETURN_IF_ERROR(
        add({id, l.fields[1], l.fields[2], l.fields[3], l.fields[4], l.fields[5], l.fields[6]},
            "concepts.tsv", l.number));
  }
  std::map<std::string, int64_t> next_rank;
  std::vector<std::pair<int64_t, int64_t>> pending_maps;
  for (const Line& l : TsvLines(source_codes_tsv)) {
    if (l.fields.size() != 7) {
      return Status::InvalidArgument(fmt::format(
          "source_codes.tsv: line {}: expected 7 fields, got {}", l.number, l.fields.size()));
    }
    const std::string& vocab = l.fields[0];
    int rank = LocalRank(vocab);
    if (rank == 0) {
      return Status::InvalidArgument(fmt::format(
          "source_codes.tsv: line {}: vocabulary \"{}\" is not one of the local vocabularies",
          l.number, vocab));
    }
    int64_t id = kLocalConceptBase + int64_t{10000000} * rank + (++next_rank[vocab]);
    std::string key = CodeKey(vocab, l.fields[1]);
    if (v.by_code_.count(key)) {
      return Status::InvalidArgument(
          fmt::format("source_codes.tsv: line {}: {} code {} twice", l.number, vocab, l.fields[1]));
    }
    v.by_code_[key] = id;
    RETURN_IF_ERROR(
        add({id, l.fields[2], l.fields[3], vocab, l.fields[4], l.fields[5], l.fields[1]},
            "source_codes.tsv", l.number));
    if (!l.fields[6].empty()) {
      ASSIGN_OR_RETURN(int64_t target, ParseId("source_codes.tsv", l.number, l.fields[6]));
      pending_maps.emplace_back(id, target);
    } else if (l.fields[5] != "C") {
      return Status::InvalidArgument(fmt::format(
          "source_codes.tsv: line {}: a source code needs a maps_to concept", l.number));
    }
  }
  for (auto [src, target] : pending_maps) {
    const VocabConcept* t = v.Find(target);
    if (t == nullptr || t->standard != "S") {
      return Status::InvalidArgument(fmt::format(
          "source_codes.tsv: {} {} maps to {}, which is not a standard concept of concepts.tsv",
          v.Find(src)->vocabulary, v.Find(src)->code, target));
    }
    v.map_[src] = target;
    v.maps_to_.emplace_back(src, target);
  }
  // Hierarchy: parents per child.
  std::map<int64_t, std::vector<int64_t>> parents;
  for (const Line& l : TsvLines(hierarchy_tsv)) {
    if (l.fields.size() != 2) {
      return Status::InvalidArgument(
          fmt::format("hierarchy.tsv: line {}: expected 2 fields", l.number));
    }
    int64_t ids[2];
    for (int i = 0; i < 2; ++i) {
      const std::string& ref = l.fields[i];
      size_t colon = ref.find(':');
      if (colon != std::string::npos) {
        ids[i] = v.SourceConceptId(ref.substr(0, colon), ref.substr(colon + 1));
      } else {
        ASSIGN_OR_RETURN(ids[i], ParseId("hierarchy.tsv", l.number, ref));
      }
      const VocabConcept* c = v.Find(ids[i]);
      if (c == nullptr || c->standard.empty()) {
        return Status::InvalidArgument(fmt::format(
            "hierarchy.tsv: line {}: \"{}\" is not a standard or classification concept", l.number,
            ref));
      }
    }
    parents[ids[0]].push_back(ids[1]);
  }
  // Closure with min/max levels; the hierarchy is a small DAG, so memoised recursion is enough.
  std::map<int64_t, std::map<int64_t, std::pair<int, int>>> memo;
  std::set<int64_t> visiting;
  std::function<Status(int64_t)> visit = [&](int64_t node) -> Status {
    if (memo.count(node)) return Status::Ok();
    if (!visiting.insert(node).second) {
      return Status::InvalidArgument(fmt::format("hierarchy.tsv: a cycle passes {}", node));
    }
    std::map<int64_t, std::pair<int, int>> anc;
    auto merge = [&anc](int64_t a, int level) {
      auto it = anc.find(a);
      if (it == anc.end()) {
        anc[a] = {level, level};
      } else {
        it->second.first = std::min(it->second.first, level);
        it->second.second = std::max(it->second.second, level);
      }
    };
    for (int64_t p : parents[node]) {
      RETURN_IF_ERROR(visit(p));
      merge(p, 1);
      for (const auto& [a, lv] : memo[p]) {
        merge(a, lv.first + 1);
        merge(a, lv.second + 1);
      }
    }
    visiting.erase(node);
    memo[node] = std::move(anc);
    return Status::Ok();
  };
  for (const VocabConcept& c : v.concepts_) {
    if (c.standard.empty()) continue;
    RETURN_IF_ERROR(visit(c.id));
    v.ancestors_.push_back({c.id, c.id, 0, 0});
    for (const auto& [a, lv] : memo[c.id]) v.ancestors_.push_back({a, c.id, lv.first, lv.second});
  }
  return v;
}

const VocabConcept* Vocabulary::Find(int64_t id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &concepts_[it->second];
}

int64_t Vocabulary::SourceConceptId(std::string_view vocabulary, std::string_view code) const {
  auto it = by_code_.find(CodeKey(vocabulary, code));
  return it == by_code_.end() ? 0 : it->second;
}

int64_t Vocabulary::MapsTo(int64_t concept_id) const {
  auto it = map_.find(concept_id);
  if (it != map_.end()) return it->second;
  const VocabConcept* c = Find(concept_id);
  return c != nullptr && c->standard == "S" ? concept_id : 0;
}

std::vector<int64_t> Vocabulary::SourceConceptsFor(std::string_view vocabulary,
                                                   int64_t standard_id) const {
  std::vector<int64_t> out;
  for (auto [src, target] : maps_to_) {
    if (target == standard_id && Find(src)->vocabulary == vocabulary) out.push_back(src);
  }
  return out;
}

bool Vocabulary::IsDescendantOf(int64_t descendant, int64_t ancestor) const {
  for (const VocabAncestor& a : ancestors_) {
    if (a.descendant == descendant && a.ancestor == ancestor) return true;
  }
  return false;
}

std::vector<int64_t> Vocabulary::Descendants(int64_t ancestor) const {
  std::vector<int64_t> out;
  for (const VocabAncestor& a : ancestors_) {
    if (a.ancestor == ancestor) out.push_back(a.descendant);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// A chunk for one CDM table, filled a row at a time (for the small vocabulary tables).
class RowWriter {
 public:
  explicit RowWriter(std::string_view table) : table_(FindCdmTable(table)) {
    for (const CdmColumn& c : table_->columns) {
      store::ColumnType t = store::ColumnType::kInt64;
      if (c.type == CdmType::kVarchar) t = store::ColumnType::kString;
      if (c.type == CdmType::kNumeric) t = store::ColumnType::kDouble;
      if (c.type == CdmType::kDate) t = store::ColumnType::kDate;
      if (c.type == CdmType::kTimestamp) t = store::ColumnType::kTimestamp;
      chunk_.columns.emplace_back(t);
    }
  }
  RowWriter& Int(int64_t v) {
    chunk_.columns[col_++].AppendInt(v);
    return *this;
  }
  RowWriter& Str(std::string_view v) {
    if (v.empty()) {
      chunk_.columns[col_++].AppendNull();
    } else {
      chunk_.columns[col_++].AppendString(std::string(v));
    }
    return *this;
  }
  // Ends the row (REQUIRES: every column was given a value).
  void End() { col_ = 0; }
  Status Write(store::DataSource& source) {
    ASSIGN_OR_RETURN(auto app, source.OpenAppender(table_->name));
    RETURN_IF_ERROR(app->AppendChunk(chunk_));
    return app->Close();
  }

 private:
  const CdmTable* table_;
  store::Chunk chunk_;
  size_t col_ = 0;
};

std::string_view VocabularyName(std::string_view id) {
  static const std::map<std::string_view, std::string_view> names = {
      {"SNOMED", "Systematic Nomenclature of Medicine - Clinical Terms (IHTSDO)"},
      {"RxNorm", "RxNorm (NLM)"},
      {"LOINC", "Logical Observation Identifiers Names and Codes (Regenstrief Institute)"},
      {"CPT4", "Current Procedural Terminology version 4 (AMA)"},
      {"UCUM", "Unified Code for Units of Measure (Regenstrief Institute)"},
      {"Visit", "OMOP Visit"},
      {"Gender", "OMOP Gender"},
      {"Type Concept", "OMOP Type Concept"},
      {"Condition Status", "OMOP Condition Status"},
      {"None", "OMOP Standardized Vocabularies"},
      {"CIM10", "CIM-10, French modification of ICD-10 (ATIH), local ids"},
      {"ICD10CA", "ICD-10-CA, Canadian modification of ICD-10 (CIHI), local ids"},
      {"ICD9CM", "ICD-9-CM diagnosis codes as billed to RAMQ, local ids"},
      {"ICD10", "ICD-10 (WHO), causes of death, local ids"},
      {"ATC", "WHO Anatomical Therapeutic Chemical classification, local ids"},
      {"CIP13", "French drug product codes (CIP13), synthetic products, local ids"},
      {"DIN", "Canadian Drug Identification Numbers, synthetic products, local ids"},
      {"CCAM", "Classification commune des actes medicaux, local ids"},
      {"CCI", "Canadian Classification of Health Interventions, synthetic codes, local ids"},
  };
  auto it = names.find(id);
  return it == names.end() ? id : it->second;
}

}  // namespace

Status WriteVocabularyTables(const Vocabulary& vocab, store::DataSource& source) {
  if (!vocab.status().ok()) return vocab.status();
  const int64_t valid_start = 0;                          // 1970-01-01
  const int64_t valid_end = DaysFromCivil(2099, 12, 31);  // OMOP's "still valid"
  RowWriter concept_row("concept"), rel("concept_relationship"), anc("concept_ancestor"),
      voc("vocabulary"), dom("domain"), cls("concept_class"), relationship("relationship");
  std::set<std::string> vocabularies, domains, classes;
  for (const VocabConcept& c : vocab.concepts()) {
    concept_row.Int(c.id)
        .Str(c.name)
        .Str(c.domain)
        .Str(c.vocabulary)
        .Str(c.concept_class)
        .Str(c.standard)
        .Str(c.code)
        .Int(valid_start)
        .Int(valid_end)
        .Str("")
        .End();
    vocabularies.insert(c.vocabulary);
    domains.insert(c.domain);
    classes.insert(c.concept_class);
    if (c.standard == "S") {
      rel.Int(c.id).Int(c.id).Str("Maps to").Int(valid_start).Int(valid_end).Str("").End();
    }
  }
  for (auto [src, target] : vocab.maps_to()) {
    rel.Int(src).Int(target).Str("Maps to").Int(valid_start).Int(valid_end).Str("").End();
    rel.Int(target).Int(src).Str("Mapped from").Int(valid_start).Int(valid_end).Str("").End();
  }
  for (const VocabAncestor& a : vocab.ancestors()) {
    anc.Int(a.ancestor).Int(a.descendant).Int(a.min_levels).Int(a.max_levels).End();
    if (a.max_levels == 1 && a.min_levels == 1) {
      rel.Int(a.descendant).Int(a.ancestor).Str("Is a").Int(valid_start).Int(valid_end).Str("");
      rel.End();
      rel.Int(a.ancestor).Int(a.descendant).Str("Subsumes").Int(valid_start).Int(valid_end);
      rel.Str("").End();
    }
  }
  for (const std::string& v : vocabularies) {
    voc.Str(v).Str(VocabularyName(v)).Str("").Str("passerelle-subset-1").Int(0).End();
  }
  for (const std::string& d : domains) dom.Str(d).Str(d).Int(0).End();
  for (const std::string& c : classes) cls.Str(c).Str(c).Int(0).End();
  relationship.Str("Maps to").Str("Non-standard to Standard map (OMOP)").Str("0").Str("0");
  relationship.Str("Mapped from").Int(0).End();
  relationship.Str("Mapped from").Str("Standard to Non-standard map (OMOP)").Str("0").Str("0");
  relationship.Str("Maps to").Int(0).End();
  relationship.Str("Is a").Str("Is a").Str("1").Str("1").Str("Subsumes").Int(0).End();
  relationship.Str("Subsumes").Str("Subsumes").Str("1").Str("1").Str("Is a").Int(0).End();
  for (RowWriter* w : {&concept_row, &rel, &anc, &voc, &dom, &cls, &relationship}) {
    RETURN_IF_ERROR(w->Write(source));
  }
  return Status::Ok();
}

}  // namespace passerelle::omop
