// Runs the real `passerelle` binary as a user would, and checks exit codes and messages.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/files.h"

namespace passerelle {
namespace {

const std::string kBin = PASSERELLE_BINARY;
const std::string kData = PASSERELLE_SHARED_DATA;

struct CmdResult {
  int code;
  std::string out;  // stdout and stderr together
};

CmdResult Exec(const std::string& args) {
  std::string cmd = kBin + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
  }
  std::string P(const std::string& name) { return (dir_->path() / name).string(); }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Exec("").code, 2);
  EXPECT_EQ(Exec("no-such-command").code, 2);
  EXPECT_EQ(Exec("ingest table --name x").code, 2);
  EXPECT_EQ(Exec("--log-format xml db info x").code, 2);
  CmdResult help = Exec("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("ingest"), std::string::npos);
}

TEST_F(CliTest, IngestTableThenDbInfoJson) {
  CmdResult r = Exec("-q ingest table --name cnsim --from " + kData +
                     "/datashield/CNSIM1.csv --out " + P("n.duckdb"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2163 rows, 11 columns"), std::string::npos) << r.out;
  CmdResult info = Exec("db info --json " + P("n.duckdb"));
  ASSERT_EQ(info.code, 0) << info.out;
  EXPECT_NE(info.out.find("\"omop\": null"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("\"rows\": 2163"), std::string::npos);
}

TEST_F(CliTest, IngestOmopZip) {
  CmdResult r = Exec("-q ingest omop --from " + kData + "/eunomia/Synthea27Nj_5.4.zip --out " +
                     P("e.duckdb"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("28 persons"), std::string::npos) << r.out;
  CmdResult info = Exec("db info " + P("e.duckdb"));
  EXPECT_NE(info.out.find("OMOP CDM 5.4: 28 persons"), std::string::npos) << info.out;
}

TEST_F(CliTest, BadInputIsOneClearLineAndNoDatabaseIsLeftBehind) {
  CmdResult missing = Exec("ingest omop --from " + P("absent") + " --out " + P("x.duckdb"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "passerelle: error: " + P("absent") + ": no such file or folder\n");
  EXPECT_FALSE(std::filesystem::exists(P("x.duckdb")));

  std::ofstream(P("bad.zip")) << "not a zip";
  CmdResult zip = Exec("-q ingest omop --from " + P("bad.zip") + " --out " + P("x.duckdb"));
  EXPECT_EQ(zip.code, 1);
  EXPECT_EQ(zip.out.rfind("passerelle: error: bad.zip: not a readable zip archive", 0), 0u)
      << zip.out;
  EXPECT_FALSE(std::filesystem::exists(P("x.duckdb")));

  CmdResult nodb = Exec("db info " + P("none.duckdb"));
  EXPECT_EQ(nodb.code, 1);
  EXPECT_EQ(nodb.out, "passerelle: error: " + P("none.duckdb") + ": no such database file\n");
}

TEST_F(CliTest, JsonLogFormat) {
  CmdResult r = Exec("--log-format json --log-level debug db info " + P("none.duckdb"));
  EXPECT_EQ(r.code, 1);
}

}  // namespace
}  // namespace passerelle
