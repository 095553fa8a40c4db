// Runs the real `passerelle` binary through the governance commands as an operator, researchers,
// a committee member and a custodian would, and checks exit codes, rules and the audit files.
// Dates are chosen around today with wide margins (the binary reads the system clock), so the
// outcomes do not depend on the day the test runs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/clock.h"
#include "common/date.h"
#include "common/files.h"
#include "common/strings.h"

namespace passerelle {
namespace {

const std::string kBin = PASSERELLE_BINARY;

struct CmdResult {
  int code;
  std::string out;  // stdout
  std::string err;  // stderr
};

class GovernanceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("passerelle-gov-cli");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
    today_ = SystemClock::Default().TodayDays();
  }
  std::string P(const std::string& name) const { return (dir_->path() / name).string(); }
  std::string Date(int offset) const { return FormatDate(today_ + offset); }

  CmdResult Exec(const std::string& args) {
    std::string err_path = P("stderr.txt");
    std::string cmd = "cd " + dir_->path().string() + " && " + kBin + " " + args + " 2>" + err_path;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int status = pclose(p);
    std::string err = ReadFileToString(err_path).value_or("");
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err};
  }
  // Runs and expects success; returns stdout without its last newline.
  std::string Ok(const std::string& args) {
    CmdResult r = Exec(args);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.err << r.out;
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  // Runs and expects failure naming the rule (or the words).
  void Fails(const std::string& args, const std::string& words) {
    CmdResult r = Exec(args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.err << r.out;
    EXPECT_NE(r.err.find(words), std::string::npos) << args << "\n" << r.err;
  }

  std::unique_ptr<TempDir> dir_;
  int32_t today_ = 0;
  const std::string hub_ = "--state hub.sqlite --audit-key hub.key";
};

TEST_F(GovernanceCliTest, HubNodeAndAuditCommands) {
  // Keys: private 0600, public beside it.
  std::string hub_pub = Ok("audit keygen --out hub.key");
  EXPECT_EQ(hub_pub.rfind("ed25519:", 0), 0u);
  struct stat sb;
  ASSERT_EQ(::stat(P("hub.key").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  Fails("audit keygen --out hub.key", "never overwritten");

  // Organisations, nodes, users. Without the key nothing changes.
  Fails("org add hdh --name HDH --jurisdiction FR --state hub.sqlite", "[rule: audit_key]");
  Ok("org add hdh --name 'Health Data Hub' --jurisdiction FR " + hub_);
  Ok("org add frqs --name FRQS --jurisdiction QC " + hub_);
  Fails("org add x --name X --jurisdiction BE " + hub_, "FR or QC");
  Ok("org add-node fr-node --org hdh " + hub_);
  Ok("org add-node qc-node --org frqs " + hub_);
  std::string alice = Ok("-q user add alice --org hdh --role researcher " + hub_);
  std::string bruno = Ok("-q user add bruno --org frqs --role researcher " + hub_);
  std::string fanny = Ok("-q user add fanny --org hdh --role committee:FR " + hub_);
  EXPECT_EQ(alice.rfind("psl_", 0), 0u) << alice;
  EXPECT_EQ(Ok("user whoami --state hub.sqlite --token " + alice), "alice\tresearcher");
  Fails("user add eve --org hdh --role researcher " + hub_ + " --token " + alice, "[rule: role]");
  std::string users = Ok("user list --state hub.sqlite");
  EXPECT_NE(users.find("fanny\thdh\tcommittee:FR"), std::string::npos) << users;

  // The catalog: counts protected on the way in; search by words and variables.
  {
    std::ofstream f(P("fr.json"));
    f << R"({"node": "fr-node", "name": "diabetes", "title": "Type 2 diabetes cohort",
      "persons": 12345, "tables": [{"name": "t", "rows": 7,
      "variables": [{"name": "hba1c", "concepts": ["LOINC:4548-4"]}]}]})";
  }
  {
    std::ofstream f(P("qc.json"));
    f << R"({"node": "qc-node", "name": "diabetes", "title": "Diabète de type 2"})";
  }
  Ok("catalog publish fr.json " + hub_);
  Ok("catalog publish qc.json " + hub_);
  std::string shown = Ok("catalog show fr-node/diabetes --state hub.sqlite");
  EXPECT_NE(shown.find("\"persons\":12350"), std::string::npos) << shown;
  EXPECT_NE(shown.find("\"rows\":\"suppressed\""), std::string::npos) << shown;
  std::string found = Ok("-q catalog search diabete --state hub.sqlite");
  EXPECT_NE(found.find("fr-node/diabetes"), std::string::npos);
  EXPECT_NE(found.find("qc-node/diabetes"), std::string::npos);
  EXPECT_EQ(Ok("-q catalog search --variable hba1c --state hub.sqlite"),
            "fr-node/diabetes\tFR\tType 2 diabetes cohort");

  // A call open around today; an application; the rules speak through the exit status.
  Ok("call create joint --title 'Joint call' --opens " + Date(-5) + " --closes " + Date(5) + " " +
     hub_);
  std::string apply =
      "project apply --call joint --id proj-a --title T --axis ai-applications "
      "--summary S --dataset fr-node/diabetes --dataset qc-node/diabetes "
      "--legal-basis 'GDPR 6.1.e' " +
      hub_ + " --token " + alice;
  Fails(apply + " --member bruno", "[rule: pia_required]");
  Fails(apply + " --pia-done", "[rule: joint_team]");
  Ok(apply + " --member bruno --pia-done");
  Fails("project review proj-a --score 8 " + hub_ + " --token " + bruno, "[rule: role]");
  Ok("project review proj-a --score 8 " + hub_ + " --token " + fanny);
  Fails("call select joint proj-a " + hub_, "[rule: selection_before_deadline]");
  Fails("project check proj-a --state hub.sqlite", "project proj-a does not exist");

  // A node's custodian: nothing runs until approved, then only inside the node's window.
  Ok("audit keygen --out node.key");
  std::string node = "--state node.sqlite --node fr-node";
  Fails("node check proj-a " + node, "[rule: node_approval]");
  Ok("node approve proj-a " + node + " --audit-key node.key --by custfr --from " + Date(-10) +
     " --until " + Date(10) + " --dataset diabetes");
  EXPECT_NE(Ok("node check proj-a --state node.sqlite").find("may run"), std::string::npos);
  Fails("node check proj-a --state node.sqlite --on " + Date(11), "[rule: node_approval]");
  Fails("node check proj-a --state node.sqlite --dataset cancer", "[rule: node_dataset]");
  Ok("node revoke proj-a --state node.sqlite --audit-key node.key --by custfr --reason paused");
  Fails("node check proj-a --state node.sqlite", "revoked the approval (paused)");
  EXPECT_NE(Ok("node approvals --state node.sqlite").find("revoked"), std::string::npos);

  // Audit: export, verify, detect an edit, reconcile.
  Ok("audit export --state hub.sqlite --audit-key hub.key --out hub.log");
  Ok("audit export --state node.sqlite --audit-key node.key --out node.log");
  // 2 organisations, 2 nodes, 3 users and their tokens, 2 datasets, the call, the application
  // and its review: 15 signed entries; the refused operations left none.
  std::string verified = Ok("audit verify hub.log --key hub.key.pub");
  EXPECT_EQ(verified.rfind("ok: 15 entries written by hub", 0), 0u) << verified;
  EXPECT_NE(Ok("audit verify hub.log --list --key " + hub_pub).find("application.submit"),
            std::string::npos);
  Ok("audit verify node.log --key node.key.pub");
  Fails("audit verify node.log --key hub.key.pub", "signed by");
  std::string reconciled =
      Ok("audit reconcile --node node.log --hub hub.log --node-key "
         "node.key.pub --hub-key hub.key.pub");
  EXPECT_NE(reconciled.find("ok: node fr-node"), std::string::npos) << reconciled;
  std::string log = ReadFileToString(P("hub.log")).value();
  size_t at = log.find("\"actor\":\"alice\"");
  ASSERT_NE(at, std::string::npos);
  log.replace(at, 15, "\"actor\":\"eve\"");
  ASSERT_TRUE(WriteFileAtomic(P("hub.log"), log).ok());
  Fails("audit verify hub.log --key hub.key.pub", "was edited");
}

TEST_F(GovernanceCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Exec("project decide proj-a").code, 2);  // --jurisdiction missing
  EXPECT_EQ(Exec("audit verify").code, 2);
  EXPECT_EQ(Exec("node approve p --state n.sqlite").code, 2);  // --audit-key missing
  CmdResult help = Exec("--help");
  EXPECT_EQ(help.code, 0);
  for (const char* cmd : {"org", "user", "call", "project", "node", "catalog", "audit"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace passerelle
