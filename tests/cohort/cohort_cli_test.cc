// `passerelle cohort count | sql` run as a data steward would, on a small CDM file.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "cdm_fixture.h"
#include "common/files.h"

namespace passerelle::cohort {
namespace {

struct CmdResult {
  int code;
  std::string out;  // stdout and stderr together
};

CmdResult Exec(const std::string& args) {
  std::string cmd = std::string(PASSERELLE_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

constexpr const char* kCohort = R"({
  "concept_sets": [{"id": "a", "concepts": [100]}, {"id": "d", "concepts": [200]}],
  "entry": {"events": [{"domain": "condition", "concept_set": "a"}]},
  "inclusion_rules": [{"name": "treated", "criteria": [
    {"event": {"domain": "drug", "concept_set": "d"}, "window": {"start": -30, "end": 30}}]}]
})";

TEST(CohortCliTest, CountBySqlAndErrors) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  std::string db = (dir->path() / "site.duckdb").string();
  std::string cohort = (dir->path() / "c.json").string();
  std::ofstream(cohort) << kCohort;
  {
    fixtures::CdmFixture f(db);
    for (int p = 1; p <= 3; ++p) {
      f.Observed(p, 1960, "2009-01-01", "2015-12-31");
      f.Condition(p, 100, "2012-01-01");
    }
    f.Drug(1, 200, "2012-01-10", "2012-01-10");
    f.Close();
  }
  CmdResult r = Exec("-q cohort count --db " + db + " --cohort " + cohort + " --by-rule");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rule 1: treated"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cohort: 1 persons, 1 periods"), std::string::npos) << r.out;
  r = Exec("-q cohort count --json --db " + db + " --cohort " + cohort);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"persons\": 3"), std::string::npos) << r.out;

  r = Exec("cohort sql --dialect postgres --cohort " + cohort);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("DROP TABLE IF EXISTS pg_temp."), std::string::npos);
  EXPECT_NE(r.out.find("CREATE TEMPORARY TABLE \"_pc_cohort\""), std::string::npos);

  r = Exec("cohort sql --dialect oracle --cohort " + cohort);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--dialect must be duckdb or postgres"), std::string::npos) << r.out;
  std::string bad = (dir->path() / "bad.json").string();
  std::ofstream(bad) << R"({"entry": {"events": [{"domain": "condition", "window": {}}]}})";
  r = Exec("cohort count --db " + db + " --cohort " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bad.json: entry event 1: unknown key \"window\""), std::string::npos)
      << r.out;
  r = Exec("cohort count --db " + (dir->path() / "none.duckdb").string() + " --cohort " + cohort);
  EXPECT_EQ(r.code, 1) << r.out;
}

// A researcher's OMOP study file whose cohort is a file next to it, rehearsed with `passerelle
// sandbox` on a French and a Québec synthetic CDM made with `passerelle synth`.
TEST(CohortCliTest, SandboxRunsAnOmopStudyWithACohortFile) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const std::string d = dir->path().string();
  for (const char* p : {"fr", "qc"}) {
    CmdResult r = Exec(std::string("-q synth --profile ") + p + " --persons 1500 --seed 5 --out " +
                       d + "/" + p + ".duckdb");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  std::ofstream(d + "/t2dm.json") << std::ifstream(std::string(PASSERELLE_SOURCE_DIR) +
                                                   "/examples/cohorts/t2dm_new_users.json")
                                         .rdbuf();
  std::ofstream(d + "/study.json") << R"({
    "name": "T2D new users",
    "cohort": {"file": "t2dm.json"},
    "covariates": [{"type": "age"}, {"type": "sex"}],
    "analyses": [{"id": "n", "type": "count"},
                 {"id": "t1", "type": "table1", "by": "site", "categorical": ["sex"],
                  "continuous": ["age"]}]})";
  CmdResult r = Exec("-q sandbox --study " + d + "/study.json --node fr=" + d +
                     "/fr.duckdb --node qc=" + d + "/qc.duckdb");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"dataset\": \"omop\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"by\": \"site\""), std::string::npos) << r.out;
  // A mistake in the cohort shows before anything is sent, with its file and place.
  std::ofstream(d + "/study.json") << R"({"name": "x", "cohort": {"file": "t2dm.json"},
    "covariates": [{"type": "agee"}], "analyses": [{"id": "n", "type": "count"}]})";
  r = Exec("-q sandbox --study " + d + "/study.json --node fr=" + d + "/fr.duckdb");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("study.json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("agee"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace passerelle::cohort
