// `passerelle pseudonymize keygen` and `passerelle ingest ... --pseudonymize`, run as a site's
// operator would.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "common/files.h"

namespace passerelle {
namespace {

const std::string kBin = PASSERELLE_BINARY;

struct CmdResult {
  int code;
  std::string out;
};

CmdResult Exec(const std::string& args) {
  FILE* p = popen((kBin + " " + args + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(PseudonymizeCli, KeygenThenIngestATableWithoutLeavingIdentifiers) {
  auto dir = TempDir::Create().value();
  const std::string key = (dir.path() / "site.key").string();
  const std::string csv = (dir.path() / "c.csv").string();
  const std::string db = (dir.path() / "n.duckdb").string();
  ASSERT_TRUE(WriteFileAtomic(csv,
                              "patient_id,visit,note,score\n"
                              "QC-HOSP-0042137,2020-02-02,patiente très anxieuse,3\n"
                              "QC-HOSP-0099881,2020-03-03,RAS,4\n")
                  .ok());
  CmdResult k = Exec("pseudonymize keygen " + key);
  ASSERT_EQ(k.code, 0) << k.out;
  struct stat sb;
  ASSERT_EQ(::stat(key.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600);
  EXPECT_EQ(Exec("pseudonymize keygen " + key).code, 1);

  CmdResult r =
      Exec("-q ingest table --name c --from " + csv + " --out " + db + " --pseudonymize " + key +
           " --id-columns patient_id --drop-columns note --shift-dates 10");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("identifiers pseudonymised"), std::string::npos) << r.out;
  auto bytes = ReadFileToString(db).value();
  EXPECT_EQ(bytes.find("QC-HOSP-0042137"), std::string::npos);
  EXPECT_EQ(bytes.find("anxieuse"), std::string::npos);

  // Companion options without a key, and a key others can read, are refused up front.
  CmdResult no_key =
      Exec("ingest table --name d --from " + csv + " --out " + db + " --id-columns x");
  EXPECT_EQ(no_key.code, 1);
  EXPECT_NE(no_key.out.find("need --pseudonymize"), std::string::npos) << no_key.out;
  ::chmod(key.c_str(), 0644);
  const std::string db2 = (dir.path() / "m.duckdb").string();
  CmdResult loose = Exec("ingest table --name c --from " + csv + " --out " + db2 +
                         " --pseudonymize " + key + " --id-columns patient_id");
  EXPECT_EQ(loose.code, 1);
  EXPECT_NE(loose.out.find("chmod 600"), std::string::npos) << loose.out;
  EXPECT_FALSE(std::filesystem::exists(db2));
}

}  // namespace
}  // namespace passerelle
