// The governance CLI against a hub's API (--hub URL --token T --ca FILE): a researcher applies, a
// committee member decides, a researcher's decision is refused by the hub, a researcher searches
// the catalog. The hub runs in-process on loopback; the CLI is the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "common/files.h"
#include "hub_fixture.h"
#include "world.h"

namespace passerelle::governance::testing {
namespace {

struct CmdResult {
  int code;
  std::string out;
  std::string err;
};

class CliHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.Populate();
    harness_ = std::make_unique<HubHarness>(world_.gov(), world_.clock(), random_,
                                            std::vector<std::string>{"fr-node", "qc-node"});
    ca_ = (harness_->dir() / "ca.crt").string();
    ASSERT_TRUE(WriteFileAtomic(ca_, harness_->ca().cert_pem).ok());
  }

  // Runs the CLI as `who` against the hub.
  CmdResult As(const std::string& who, const std::string& args) {
    std::string err_path = (harness_->dir() / "stderr.txt").string();
    std::string cmd = std::string(PASSERELLE_BINARY) + " " + args + " --hub " + harness_->url() +
                      " --ca " + ca_ + " --token " + world_.token(who) + " 2>" + err_path;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out,
            ReadFileToString(err_path).value_or("")};
  }

  World world_;
  DeterministicRandom random_{5};
  std::unique_ptr<HubHarness> harness_;
  std::string ca_;
};

TEST_F(CliHttpTest, ApplyDecideAndRefusedDecisionOverHttp) {
  world_.SetDate("2025-04-01");
  CmdResult r =
      As("alice",
         "project apply --call joint-2025 --id proj-a --title 'Complications of diabetes' "
         "--axis ai-applications --summary 'A model for clinicians' --member bruno "
         "--dataset fr-node/diabetes --dataset qc-node/diabetes --legal-basis 'GDPR 6.1.e' "
         "--pia-done --pia-reference PIA-1");
  ASSERT_EQ(r.code, 0) << r.err;
  auto app = world_.gov().GetApplication(world_.op(), "proj-a");
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_EQ(app->input.lead, "alice");  // the token's user, from /v1/whoami
  EXPECT_EQ(app->input.datasets.size(), 2u);

  r = As("fanny", "project review proj-a --score 8 --comment good");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(world_.gov().SubmitReview(world_.As("quentin"), "proj-a", 7, "bon").ok());
  world_.SetDate("2025-05-02");
  r = As("fanny", "call ranking joint-2025");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("proj-a"), std::string::npos) << r.out;
  EXPECT_NE(As("alice", "call ranking joint-2025").code, 0);  // researchers do not see rankings
  r = As("admin", "call select joint-2025 proj-a");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(world_.gov().GetProject(world_.op(), "proj-a").ok());
  world_.SetDate("2025-05-10");
  r = As("alice", "project dsa proj-a --reference DSA-7");
  ASSERT_EQ(r.code, 0) << r.err;

  // A researcher cannot approve: the hub refuses, the CLI fails and says so.
  r = As("alice", "project decide proj-a --jurisdiction FR --approve");
  EXPECT_NE(r.code, 0);
  EXPECT_FALSE(r.err.empty());
  // A French committee member cannot decide for Québec.
  r = As("fanny", "project decide proj-a --jurisdiction QC --approve");
  EXPECT_NE(r.code, 0);
  auto p = world_.gov().GetProject(world_.op(), "proj-a");
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->state, ProjectState::kApproved);

  r = As("fanny", "project decide proj-a --jurisdiction FR --approve --comment FR-1");
  ASSERT_EQ(r.code, 0) << r.err;
  r = As("quentin", "project decide proj-a --jurisdiction QC --approve --comment QC-1 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"approved\""), std::string::npos) << r.out;
  p = world_.gov().GetProject(world_.op(), "proj-a");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, ProjectState::kApproved);

  // A member reads it; the catalog search finds the datasets by variable.
  r = As("bruno", "project show proj-a");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("proj-a"), std::string::npos);
  r = As("alice", "catalog search --variable hba1c");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("fr-node/diabetes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("qc-node/diabetes"), std::string::npos) << r.out;

  // A revoked-looking token (unknown) is refused.
  std::string cmd = std::string(PASSERELLE_BINARY) + " project list --hub " + harness_->url() +
                    " --ca " + ca_ + " --token not-a-token >/dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace passerelle::governance::testing
