// `passerelle synth` as a user runs it: exit codes, one-line errors, the summary, and the
// database it leaves behind.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/files.h"

namespace passerelle {
namespace {

const std::string kBin = PASSERELLE_BINARY;

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

int Lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(SynthCliTest, WritesADatabaseAndSummarises) {
  auto dir = TempDir::Create("synth-cli");
  ASSERT_TRUE(dir.ok());
  const std::string out = (dir->path() / "qc.duckdb").string();
  CmdResult r = Exec("synth --profile qc --persons 300 --seed 3 --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote " + out + ": synthetic Québec population, 300 persons, seed 3"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("drug_exposure"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\r["), std::string::npos) << "no progress bar when stderr is a pipe";
  CmdResult info = Exec("db info " + out);
  ASSERT_EQ(info.code, 0) << info.out;
  EXPECT_NE(info.out.find("300 persons"), std::string::npos) << info.out;

  CmdResult again = Exec("synth --profile qc --persons 300 --out " + out);
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(Lines(again.out), 1) << again.out;
  EXPECT_NE(again.out.find("--replace"), std::string::npos) << again.out;
  EXPECT_EQ(Exec("synth --profile qc --persons 200 --replace --out " + out).code, 0);
}

TEST(SynthCliTest, BadArgumentsGiveOneClearLine) {
  auto dir = TempDir::Create("synth-cli");
  ASSERT_TRUE(dir.ok());
  const std::string out = (dir->path() / "x.duckdb").string();
  const std::pair<std::string, std::string> cases[] = {
      {"--profile uk --persons 10 --out " + out, "unknown profile \"uk\""},
      {"--profile fr --persons 0 --out " + out, "persons must be between 1"},
      {"--profile fr --persons 10 --start 2015-02-30 --out " + out, "--start"},
      {"--profile fr --persons 10 --start 2020-01-01 --end 2020-06-01 --out " + out,
       "at least 2 years"},
  };
  for (const auto& [args, message] : cases) {
    CmdResult r = Exec("synth " + args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.out;
    EXPECT_EQ(Lines(r.out), 1) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_EQ(Exec("synth --profile fr --out " + out).code, 2);  // --persons missing
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace passerelle
