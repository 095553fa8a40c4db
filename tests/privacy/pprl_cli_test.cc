// `passerelle pprl keygen | encode | match | info` run as a user would, on the FEBRL files.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "common/files.h"

namespace passerelle {
namespace {

const std::string kBin = PASSERELLE_BINARY;
const std::string kData = PASSERELLE_SHARED_DATA;
const std::string kSchema = std::string(PASSERELLE_SOURCE_DIR) + "/examples/pprl/febrl-schema.json";

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

class PprlCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = std::make_unique<TempDir>(TempDir::Create().value()); }
  std::string P(const std::string& name) { return (dir_->path() / name).string(); }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(PprlCliTest, KeygenEncodeMatchOnFebrl) {
  CmdResult k = Exec("pprl keygen " + P("link.key"));
  ASSERT_EQ(k.code, 0) << k.out;
  struct stat st {};
  ASSERT_EQ(::stat(P("link.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Exec("pprl keygen " + P("link.key")).code, 1);  // never overwritten

  for (const char* side : {"a", "b"}) {
    CmdResult e =
        Exec("-q pprl encode --schema " + kSchema + " --key " + P("link.key") + " --in " + kData +
             "/febrl/dataset4" + side + ".csv --out " + P(std::string(side) + ".clk"));
    ASSERT_EQ(e.code, 0) << e.out;
    EXPECT_NE(e.out.find("encoded 5000 records into 1024-bit CLKs"), std::string::npos) << e.out;
  }
  CmdResult info = Exec("pprl info " + P("a.clk"));
  ASSERT_EQ(info.code, 0) << info.out;
  EXPECT_NE(info.out.find("5000 CLKs of 1024 bits"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("id column \"rec_id\""), std::string::npos) << info.out;

  CmdResult m = Exec("-q pprl match --a " + P("a.clk") + " --b " + P("b.clk") +
                     " --threshold 0.8 --out " + P("pairs.csv"));
  ASSERT_EQ(m.code, 0) << m.out;
  std::ifstream in(P("pairs.csv"));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "a_rec_id,b_rec_id,score");
  size_t rows = 0, right = 0;
  while (std::getline(in, line)) {
    ++rows;
    // rec-N-org,rec-N-dup-0,score
    const std::string a = line.substr(0, line.find(','));
    const std::string b = line.substr(a.size() + 1, line.find(',', a.size() + 1) - a.size() - 1);
    const double score = std::stod(line.substr(line.rfind(',') + 1));
    EXPECT_GE(score, 0.8);
    right += a.substr(0, a.rfind("-org")) + "-" == b.substr(0, b.find("-dup")) + "-";
  }
  EXPECT_GE(rows, 4960u);
  EXPECT_EQ(right, rows);

  // Blocking and a forced portable kernel give a subset / the same pairs.
  CmdResult mb = Exec("-q pprl match --a " + P("a.clk") + " --b " + P("b.clk") +
                      " --blocking keys --out " + P("blocked.csv"));
  ASSERT_EQ(mb.code, 0) << mb.out;
  EXPECT_NE(mb.out.find("compared 2"), std::string::npos) << mb.out;  // ~297k pairs, not 25M
}

TEST_F(PprlCliTest, ErrorsAreClear) {
  ASSERT_EQ(Exec("pprl keygen " + P("k1")).code, 0);
  ASSERT_EQ(Exec("pprl keygen " + P("k2")).code, 0);
  // A schema naming a column the file lacks.
  ASSERT_TRUE(
      WriteFileAtomic(P("s.json"), R"({"id": "rec_id", "fields": [{"name": "nom"}]})").ok());
  CmdResult e = Exec("pprl encode --schema " + P("s.json") + " --key " + P("k1") + " --in " +
                     kData + "/febrl/dataset4a.csv --out " + P("x.clk"));
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.out.find("column \"nom\" is not a column"), std::string::npos) << e.out;
  // A key others can read.
  ::chmod(P("k1").c_str(), 0644);
  e = Exec("pprl encode --schema " + kSchema + " --key " + P("k1") + " --in " + kData +
           "/febrl/dataset4a.csv --out " + P("x.clk"));
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.out.find("chmod 600"), std::string::npos) << e.out;
  ::chmod(P("k1").c_str(), 0600);
  // Files encoded with different keys are not compared.
  const std::string small = P("small.csv");
  ASSERT_TRUE(WriteFileAtomic(small,
                              "rec_id,given_name,surname,street_number,address_1,address_2,"
                              "suburb,postcode,state,date_of_birth\n"
                              "r1,Hélène,Côté,12,rue St-Denis,,Montréal,H2X 1Y4,qc,19800312\n")
                  .ok());
  ASSERT_EQ(Exec("-q pprl encode --schema " + kSchema + " --key " + P("k1") + " --in " + small +
                 " --out " + P("s1.clk"))
                .code,
            0);
  ASSERT_EQ(Exec("-q pprl encode --schema " + kSchema + " --key " + P("k2") + " --in " + small +
                 " --out " + P("s2.clk"))
                .code,
            0);
  CmdResult m =
      Exec("pprl match --a " + P("s1.clk") + " --b " + P("s2.clk") + " --out " + P("p.csv"));
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.out.find("different linkage keys"), std::string::npos) << m.out;
  // Not a CLK file; a bad threshold; a bad blocking spec.
  m = Exec("pprl match --a " + small + " --b " + P("s2.clk") + " --out " + P("p.csv"));
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.out.find("not a CLK file"), std::string::npos) << m.out;
  m = Exec("pprl match --a " + P("s1.clk") + " --b " + P("s1.clk") + " --threshold 1.5 --out " +
           P("p.csv"));
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.out.find("(0, 1]"), std::string::npos) << m.out;
  m = Exec("pprl match --a " + P("s1.clk") + " --b " + P("s1.clk") + " --blocking x --out " +
           P("p.csv"));
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.out.find("--blocking"), std::string::npos) << m.out;
  // No identifying value ever reaches a message.
  EXPECT_EQ(m.out.find("Côté"), std::string::npos);
}

}  // namespace
}  // namespace passerelle
