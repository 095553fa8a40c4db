#include "tests/stats/shared_data.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "store/data_source.h"
#include "store/duckdb_source.h"

namespace passerelle::stats::testing {
namespace {

std::string Select(const std::string& prefix) {
  if (prefix == "CNSIM") {
    std::string s;
    for (const char* c :
         {"LAB_TSC", "LAB_TRIG", "LAB_HDL", "LAB_GLUC_ADJUSTED", "PM_BMI_CONTINUOUS", "DIS_CVA",
          "MEDI_LPD", "DIS_DIAB", "DIS_AMI", "GENDER", "PM_BMI_CATEGORICAL"}) {
      s += std::string("TRY_CAST(") + c + " AS DOUBLE) AS " + c + ", ";
    }
    return s +
           "CASE TRY_CAST(PM_BMI_CATEGORICAL AS INTEGER) WHEN 1 THEN 'low' WHEN 2 THEN 'Mid' "
           "WHEN 3 THEN 'high' END AS BMI_CAT";
  }
  // EXPAND_*: quote the dotted names.
  std::string s;
  for (const char* c : {"id", "study.id", "time.id", "starttime", "endtime", "survtime", "cens",
                        "age.60", "female", "noise.56", "pm10.16", "bmi.26"}) {
    s += std::string("TRY_CAST(\"") + c + "\" AS DOUBLE) AS \"" + c + "\", ";
  }
  return s +
         "ln(TRY_CAST(survtime AS DOUBLE)) AS LOG_SURVTIME, "
         "floor(TRY_CAST(starttime AS DOUBLE) * 2) / 2 AS START_R, "
         "ceil(TRY_CAST(endtime AS DOUBLE) * 2) / 2 AS END_R, "
         "ceil(TRY_CAST(survtime AS DOUBLE) * 4) / 4 AS SURV_R, "
         "CASE WHEN TRY_CAST(\"bmi.26\" AS DOUBLE) < -2 THEN 'lean' "
         "WHEN TRY_CAST(\"bmi.26\" AS DOUBLE) > 2 THEN 'Heavy' "
         "WHEN TRY_CAST(\"bmi.26\" AS DOUBLE) IS NOT NULL THEN 'mid' END AS BMI_GRP";
}

Result<DataFrame> ToFrame(const store::Chunk& chunk, const std::vector<std::string>& names) {
  DataFrame frame;
  for (size_t c = 0; c < chunk.columns.size(); ++c) {
    const store::ColumnVector& col = chunk.columns[c];
    if (col.type == store::ColumnType::kString) {
      std::vector<uint8_t> missing(col.size());
      for (size_t r = 0; r < col.size(); ++r) missing[r] = col.IsNull(r) ? 1 : 0;
      RETURN_IF_ERROR(frame.AddColumn(DataColumn::String(names[c], col.strings, missing)));
    } else {
      std::vector<double> v(col.size());
      for (size_t r = 0; r < col.size(); ++r) {
        if (col.IsNull(r)) {
          v[r] = std::numeric_limits<double>::quiet_NaN();
        } else if (col.type == store::ColumnType::kDouble) {
          v[r] = col.doubles[r];
        } else {
          v[r] = static_cast<double>(col.ints[r]);
        }
      }
      RETURN_IF_ERROR(frame.AddColumn(DataColumn::Numeric(names[c], std::move(v))));
    }
  }
  return frame;
}

}  // namespace

std::string SiteSelect(const std::string& prefix) { return Select(prefix); }

Result<std::vector<DataFrame>> LoadSites(const std::string& prefix, int sites) {
  ASSIGN_OR_RETURN(auto db, store::OpenDuckDb({}));
  std::vector<DataFrame> out;
  for (int i = 1; i <= sites; ++i) {
    const std::string path =
        std::string(PASSERELLE_SHARED_DATA) + "/datashield/" + prefix + std::to_string(i) + ".csv";
    const std::string sql = "SELECT " + Select(prefix) + ", " + std::to_string(i) +
                            "::DOUBLE AS site FROM read_csv('" + path +
                            "', header = true, all_varchar = true)";
    auto result = db->Query(sql);
    if (!result.ok()) return result.status();
    std::vector<std::string> names;
    for (const auto& c : (*result)->schema()) names.push_back(c.name);
    ASSIGN_OR_RETURN(store::Chunk chunk, store::ReadAll(**result));
    ASSIGN_OR_RETURN(DataFrame frame, ToFrame(chunk, names));
    out.push_back(std::move(frame));
  }
  return out;
}

DataFrame Pool(const std::vector<DataFrame>& frames) {
  DataFrame out;
  const auto& first = frames.front().columns();
  for (size_t c = 0; c < first.size(); ++c) {
    DataColumn col;
    col.name = first[c].name;
    col.is_string = first[c].is_string;
    for (const auto& f : frames) {
      const DataColumn& part = f.columns()[c];
      col.numbers.insert(col.numbers.end(), part.numbers.begin(), part.numbers.end());
      col.strings.insert(col.strings.end(), part.strings.begin(), part.strings.end());
      if (col.is_string) {
        if (part.missing.empty()) {
          col.missing.insert(col.missing.end(), part.size(), 0);
        } else {
          col.missing.insert(col.missing.end(), part.missing.begin(), part.missing.end());
        }
      }
    }
    Status st = out.AddColumn(std::move(col));
    st.PermitUncheckedError();
  }
  return out;
}

nlohmann::json LoadGolden(const std::string& name) {
  std::ifstream in(std::string(PASSERELLE_SOURCE_DIR) + "/tests/stats/golden/" + name + ".json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

double Num(const nlohmann::json& j) {
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "Inf") return std::numeric_limits<double>::infinity();
    if (s == "-Inf") return -std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
  }
  return j.get<double>();
}

std::vector<double> Nums(const nlohmann::json& j) {
  std::vector<double> out;
  for (const auto& v : j) out.push_back(Num(v));
  return out;
}

double RelErr(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return 1;
  if (a == b) return 0;
  return std::fabs(a - b) / std::fabs(b);
}

}  // namespace passerelle::stats::testing
