#include "omop/cdm.h"

#include "common/strings.h"

namespace passerelle::omop {
namespace {

// One line per table: "<name> <category> <column>:<type>[!] ...", where the type is I (integer),
// N (numeric), S (varchar/text), D (date) or T (datetime), and "!" marks a required column.
// Transcribed from the OMOP CDM 5.4 specification.
constexpr std::string_view kSpec =
    "person clinical person_id:I! gender_concept_id:I! year_of_birth:I! month_of_birth:I "
    "day_of_birth:I birth_datetime:T race_concept_id:I! ethnicity_concept_id:I! location_id:I "
    "provider_id:I care_site_id:I person_source_value:S gender_source_value:S "
    "gender_source_concept_id:I race_source_value:S race_source_concept_id:I "
    "ethnicity_source_value:S ethnicity_source_concept_id:I\n"
    "observation_period clinical observation_period_id:I! person_id:I! "
    "observation_period_start_date:D! observation_period_end_date:D! "
    "period_type_concept_id:I!\n"
    "visit_occurrence clinical visit_occurrence_id:I! person_id:I! visit_concept_id:I! "
    "visit_start_date:D! visit_start_datetime:T visit_end_date:D! visit_end_datetime:T "
    "visit_type_concept_id:I! provider_id:I care_site_id:I visit_source_value:S "
    "visit_source_concept_id:I admitted_from_concept_id:I admitted_from_source_value:S "
    "discharged_to_concept_id:I discharged_to_source_value:S preceding_visit_occurrence_id:I\n"
    "visit_detail clinical visit_detail_id:I! person_id:I! visit_detail_concept_id:I! "
    "visit_detail_start_date:D! visit_detail_start_datetime:T visit_detail_end_date:D! "
    "visit_detail_end_datetime:T visit_detail_type_concept_id:I! provider_id:I care_site_id:I "
    "visit_detail_source_value:S visit_detail_source_concept_id:I admitted_from_concept_id:I "
    "admitted_from_source_value:S discharged_to_source_value:S discharged_to_concept_id:I "
    "preceding_visit_detail_id:I parent_visit_detail_id:I visit_occurrence_id:I!\n"
    "condition_occurrence clinical condition_occurrence_id:I! person_id:I! "
    "condition_concept_id:I! condition_start_date:D! condition_start_datetime:T "
    "condition_end_date:D condition_end_datetime:T condition_type_concept_id:I! "
    "condition_status_concept_id:I stop_reason:S provider_id:I visit_occurrence_id:I "
    "visit_detail_id:I condition_source_value:S condition_source_concept_id:I "
    "condition_status_source_value:S\n"
    "drug_exposure clinical drug_exposure_id:I! person_id:I! drug_concept_id:I! "
    "drug_exposure_start_date:D! drug_exposure_start_datetime:T drug_exposure_end_date:D! "
    "drug_exposure_end_datetime:T verbatim_end_date:D drug_type_concept_id:I! stop_reason:S "
    "refills:I quantity:N days_supply:I sig:S route_concept_id:I lot_number:S provider_id:I "
    "visit_occurrence_id:I visit_detail_id:I drug_source_value:S drug_source_concept_id:I "
    "route_source_value:S dose_unit_source_value:S\n"
    "procedure_occurrence clinical procedure_occurrence_id:I! person_id:I! "
    "procedure_concept_id:I! procedure_date:D! procedure_datetime:T procedure_end_date:D "
    "procedure_end_datetime:T procedure_type_concept_id:I! modifier_concept_id:I quantity:I "
    "provider_id:I visit_occurrence_id:I visit_detail_id:I procedure_source_value:S "
    "procedure_source_concept_id:I modifier_source_value:S\n"
    "device_exposure clinical device_exposure_id:I! person_id:I! device_concept_id:I! "
    "device_exposure_start_date:D! device_exposure_start_datetime:T "
    "device_exposure_end_date:D device_exposure_end_datetime:T device_type_concept_id:I! "
    "unique_device_id:S production_id:S quantity:I provider_id:I visit_occurrence_id:I "
    "visit_detail_id:I device_source_value:S device_source_concept_id:I unit_concept_id:I "
    "unit_source_value:S unit_source_concept_id:I\n"
    "measurement clinical measurement_id:I! person_id:I! measurement_concept_id:I! "
    "measurement_date:D! measurement_datetime:T measurement_time:S "
    "measurement_type_concept_id:I! operator_concept_id:I value_as_number:N "
    "value_as_concept_id:I unit_concept_id:I range_low:N range_high:N provider_id:I "
    "visit_occurrence_id:I visit_detail_id:I measurement_source_value:S "
    "measurement_source_concept_id:I unit_source_value:S unit_source_concept_id:I "
    "value_source_value:S measurement_event_id:I meas_event_field_concept_id:I\n"
    "observation clinical observation_id:I! person_id:I! observation_concept_id:I! "
    "observation_date:D! observation_datetime:T observation_type_concept_id:I! "
    "value_as_number:N value_as_string:S value_as_concept_id:I qualifier_concept_id:I "
    "unit_concept_id:I provider_id:I visit_occurrence_id:I visit_detail_id:I "
    "observation_source_value:S observation_source_concept_id:I unit_source_value:S "
    "qualifier_source_value:S value_source_value:S observation_event_id:I "
    "obs_event_field_concept_id:I\n"
    "death clinical person_id:I! death_date:D! death_datetime:T death_type_concept_id:I "
    "cause_concept_id:I cause_source_value:S cause_source_concept_id:I\n"
    "note clinical note_id:I! person_id:I! note_date:D! note_datetime:T "
    "note_type_concept_id:I! note_class_concept_id:I! note_title:S note_text:S! "
    "encoding_concept_id:I! language_concept_id:I! provider_id:I visit_occurrence_id:I "
    "visit_detail_id:I note_source_value:S note_event_id:I note_event_field_concept_id:I\n"
    "note_nlp clinical note_nlp_id:I! note_id:I! section_concept_id:I snippet:S offset:S "
    "lexical_variant:S! note_nlp_concept_id:I note_nlp_source_concept_id:I nlp_system:S "
    "nlp_date:D! nlp_datetime:T term_exists:S term_temporal:S term_modifiers:S\n"
    "specimen clinical specimen_id:I! person_id:I! specimen_concept_id:I! "
    "specimen_type_concept_id:I! specimen_date:D! specimen_datetime:T quantity:N "
    "unit_concept_id:I anatomic_site_concept_id:I disease_status_concept_id:I "
    "specimen_source_id:S specimen_source_value:S unit_source_value:S "
    "anatomic_site_source_value:S disease_status_source_value:S\n"
    "fact_relationship clinical domain_concept_id_1:I! fact_id_1:I! domain_concept_id_2:I! "
    "fact_id_2:I! relationship_concept_id:I!\n"
    "location health_system location_id:I! address_1:S address_2:S city:S state:S zip:S "
    "county:S location_source_value:S country_concept_id:I country_source_value:S latitude:N "
    "longitude:N\n"
    "care_site health_system care_site_id:I! care_site_name:S place_of_service_concept_id:I "
    "location_id:I care_site_source_value:S place_of_service_source_value:S\n"
    "provider health_system provider_id:I! provider_name:S npi:S dea:S specialty_concept_id:I "
    "care_site_id:I year_of_birth:I gender_concept_id:I provider_source_value:S "
    "specialty_source_value:S specialty_source_concept_id:I gender_source_value:S "
    "gender_source_concept_id:I\n"
    "payer_plan_period economics payer_plan_period_id:I! person_id:I! "
    "payer_plan_period_start_date:D! payer_plan_period_end_date:D! payer_concept_id:I "
    "payer_source_value:S payer_source_concept_id:I plan_concept_id:I plan_source_value:S "
    "plan_source_concept_id:I sponsor_concept_id:I sponsor_source_value:S "
    "sponsor_source_concept_id:I family_source_value:S stop_reason_concept_id:I "
    "stop_reason_source_value:S stop_reason_source_concept_id:I\n"
    "cost economics cost_id:I! cost_event_id:I! cost_domain_id:S! cost_type_concept_id:I! "
    "currency_concept_id:I total_charge:N total_cost:N total_paid:N paid_by_payer:N "
    "paid_by_patient:N paid_patient_copay:N paid_patient_coinsurance:N "
    "paid_patient_deductible:N paid_by_primary:N paid_ingredient_cost:N paid_dispensing_fee:N "
    "payer_plan_period_id:I amount_allowed:N revenue_code_concept_id:I "
    "revenue_code_source_value:S drg_concept_id:I drg_source_value:S\n"
    "drug_era derived drug_era_id:I! person_id:I! drug_concept_id:I! drug_era_start_date:D! "
    "drug_era_end_date:D! drug_exposure_count:I gap_days:I\n"
    "dose_era derived dose_era_id:I! person_id:I! drug_concept_id:I! unit_concept_id:I! "
    "dose_value:N! dose_era_start_date:D! dose_era_end_date:D!\n"
    "condition_era derived condition_era_id:I! person_id:I! condition_concept_id:I! "
    "condition_era_start_date:D! condition_era_end_date:D! condition_occurrence_count:I\n"
    "episode derived episode_id:I! person_id:I! episode_concept_id:I! episode_start_date:D! "
    "episode_start_datetime:T episode_end_date:D episode_end_datetime:T episode_parent_id:I "
    "episode_number:I episode_object_concept_id:I! episode_type_concept_id:I! "
    "episode_source_value:S episode_source_concept_id:I\n"
    "episode_event derived episode_id:I! event_id:I! episode_event_field_concept_id:I!\n"
    "metadata metadata metadata_id:I! metadata_concept_id:I! metadata_type_concept_id:I! "
    "name:S! value_as_string:S value_as_concept_id:I value_as_number:N metadata_date:D "
    "metadata_datetime:T\n"
    "cdm_source metadata cdm_source_name:S! cdm_source_abbreviation:S! cdm_holder:S! "
    "source_description:S source_documentation_reference:S cdm_etl_reference:S "
    "source_release_date:D! cdm_release_date:D! cdm_version:S cdm_version_concept_id:I! "
    "vocabulary_version:S!\n"
    "concept vocabulary concept_id:I! concept_name:S! domain_id:S! vocabulary_id:S! "
    "concept_class_id:S! standard_concept:S concept_code:S! valid_start_date:D! "
    "valid_end_date:D! invalid_reason:S\n"
    "vocabulary vocabulary vocabulary_id:S! vocabulary_name:S! vocabulary_reference:S "
    "vocabulary_version:S vocabulary_concept_id:I!\n"
    "domain vocabulary domain_id:S! domain_name:S! domain_concept_id:I!\n"
    "concept_class vocabulary concept_class_id:S! concept_class_name:S! "
    "concept_class_concept_id:I!\n"
    "concept_relationship vocabulary concept_id_1:I! concept_id_2:I! relationship_id:S! "
    "valid_start_date:D! valid_end_date:D! invalid_reason:S\n"
    "relationship vocabulary relationship_id:S! relationship_name:S! is_hierarchical:S! "
    "defines_ancestry:S! reverse_relationship_id:S! relationship_concept_id:I!\n"
    "concept_synonym vocabulary concept_id:I! concept_synonym_name:S! language_concept_id:I!\n"
    "concept_ancestor vocabulary ancestor_concept_id:I! descendant_concept_id:I! "
    "min_levels_of_separation:I! max_levels_of_separation:I!\n"
    "source_to_concept_map vocabulary source_code:S! source_concept_id:I! "
    "source_vocabulary_id:S! source_code_description:S target_concept_id:I! "
    "target_vocabulary_id:S! valid_start_date:D! valid_end_date:D! invalid_reason:S\n"
    "drug_strength vocabulary drug_concept_id:I! ingredient_concept_id:I! amount_value:N "
    "amount_unit_concept_id:I numerator_value:N numerator_unit_concept_id:I "
    "denominator_value:N denominator_unit_concept_id:I box_size:I valid_start_date:D! "
    "valid_end_date:D! invalid_reason:S\n"
    "cohort results cohort_definition_id:I! subject_id:I! cohort_start_date:D! "
    "cohort_end_date:D!\n"
    "cohort_definition results cohort_definition_id:I! cohort_definition_name:S! "
    "cohort_definition_description:S definition_type_concept_id:I! cohort_definition_syntax:S "
    "subject_concept_id:I! cohort_initiation_date:D\n";

// Event tables: the date an event happens on, and its end date where there is one.
struct EventDates {
  std::string_view table, start, end;
};
constexpr EventDates kEventDates[] = {
    {"visit_occurrence", "visit_start_date", "visit_end_date"},
    {"visit_detail", "visit_detail_start_date", "visit_detail_end_date"},
    {"condition_occurrence", "condition_start_date", "condition_end_date"},
    {"drug_exposure", "drug_exposure_start_date", "drug_exposure_end_date"},
    {"procedure_occurrence", "procedure_date", "procedure_end_date"},
    {"device_exposure", "device_exposure_start_date", "device_exposure_end_date"},
    {"measurement", "measurement_date", ""},
    {"observation", "observation_date", ""},
    {"death", "death_date", ""},
    {"note", "note_date", ""},
    {"specimen", "specimen_date", ""},
    {"episode", "episode_start_date", "episode_end_date"},
    {"drug_era", "drug_era_start_date", "drug_era_end_date"},
    {"dose_era", "dose_era_start_date", "dose_era_end_date"},
    {"condition_era", "condition_era_start_date", "condition_era_end_date"},
    {"observation_period", "observation_period_start_date", "observation_period_end_date"},
    {"payer_plan_period", "payer_plan_period_start_date", "payer_plan_period_end_date"},
};

std::vector<CdmTable> Build() {
  std::vector<CdmTable> tables;
  for (const std::string& line : Split(kSpec, '\n')) {
    if (Trim(line).empty()) continue;
    std::vector<std::string> words = Split(Trim(line), ' ');
    CdmTable t;
    t.name = words[0];
    t.category = words[1];
    for (size_t i = 2; i < words.size(); ++i) {
      const std::string& w = words[i];
      size_t colon = w.find(':');
      CdmColumn c;
      c.name = w.substr(0, colon);
      c.required = w.back() == '!';
      switch (w[colon + 1]) {
        case 'I':
          c.type = CdmType::kInteger;
          break;
        case 'N':
          c.type = CdmType::kNumeric;
          break;
        case 'S':
          c.type = CdmType::kVarchar;
          break;
        case 'D':
          c.type = CdmType::kDate;
          break;
        default:
          c.type = CdmType::kTimestamp;
          break;
      }
      t.columns.push_back(std::move(c));
    }
    for (const auto& e : kEventDates) {
      if (e.table == t.name) {
        t.start_date = e.start;
        t.end_date = e.end;
      }
    }
    tables.push_back(std::move(t));
  }
  return tables;
}

}  // namespace

const CdmColumn* CdmTable::FindColumn(std::string_view column) const {
  for (const auto& c : columns) {
    if (EqualsIgnoreCase(c.name, column)) return &c;
  }
  return nullptr;
}

const std::vector<CdmTable>& CdmTables() {
  static const std::vector<CdmTable> tables = Build();
  return tables;
}

const CdmTable* FindCdmTable(std::string_view name) {
  for (const auto& t : CdmTables()) {
    if (EqualsIgnoreCase(t.name, name)) return &t;
  }
  return nullptr;
}

std::string_view SqlType(CdmType type, const store::Dialect& dialect) {
  switch (type) {
    case CdmType::kInteger:
      return "BIGINT";
    case CdmType::kNumeric:
      return dialect.kind() == store::DialectKind::kDuckDb ? "DOUBLE" : "DOUBLE PRECISION";
    case CdmType::kVarchar:
      return dialect.kind() == store::DialectKind::kDuckDb ? "VARCHAR" : "TEXT";
    case CdmType::kDate:
      return "DATE";
    case CdmType::kTimestamp:
      return "TIMESTAMP";
  }
  return "VARCHAR";
}

std::string CreateTableSql(const CdmTable& table, const store::Dialect& dialect) {
  std::string sql = "CREATE TABLE " + dialect.QuoteIdentifier(table.name) + " (";
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (i) sql += ", ";
    sql += dialect.QuoteIdentifier(table.columns[i].name);
    sql += ' ';
    sql += SqlType(table.columns[i].type, dialect);
  }
  sql += ")";
  return sql;
}

}  // namespace passerelle::omop
