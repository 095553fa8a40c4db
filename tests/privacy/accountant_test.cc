// The zCDP ledger: budget exhaustion with a useful refusal, idempotent retries, and a SQLite
// ledger that a restart does not reset (and that refuses edits).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/files.h"
#include "privacy/accountant.h"
#include "privacy/sqlite_state.h"

namespace passerelle::privacy {
namespace {

ChargeRequest Req(std::string release, double rho, double budget = 1.0,
                  std::string project = "P-2025-007") {
  ChargeRequest r;
  r.node_id = "fr-aphp";
  r.project_id = std::move(project);
  r.release_id = std::move(release);
  r.rho = rho;
  r.budget_rho = budget;
  r.description = "discrete Gaussian, L2 sensitivity 1, sigma^2 5";
  r.time_micros = 1;
  return r;
}

void ExerciseLedger(PrivacyLedger& ledger) {
  for (int i = 0; i < 10; ++i) {
    auto b = ledger.Charge(Req("study-1/round-" + std::to_string(i), 0.1));
    ASSERT_TRUE(b.ok()) << i << ": " << b.status().ToString();
    EXPECT_EQ(b->releases, i + 1);
  }
  auto bal = ledger.Balance("fr-aphp", "P-2025-007", 1.0).value();
  EXPECT_NEAR(bal.spent_rho, 1.0, 1e-12);
  EXPECT_NEAR(bal.remaining_rho, 0.0, 1e-12);
  auto refused = ledger.Charge(Req("study-2/round-0", 0.01));
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("only 0 of the budget 1 is left"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("10 releases"), std::string::npos);
  // A retry of a release already charged costs nothing and is not refused.
  auto retry = ledger.Charge(Req("study-1/round-3", 0.1));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->already_charged);
  EXPECT_EQ(retry->releases, 10);
  // Other projects have their own budgets.
  EXPECT_TRUE(ledger.Charge(Req("x", 0.5, 1.0, "P-other")).ok());
  EXPECT_EQ(ledger.Entries("fr-aphp", "P-2025-007").value().size(), 10u);
}

TEST(Accountant, InMemoryLedgerEnforcesTheBudget) {
  InMemoryLedger ledger;
  ExerciseLedger(ledger);
}

TEST(Accountant, RefusalSaysWhatIsLeft) {
  InMemoryLedger ledger;
  ASSERT_TRUE(ledger.Charge(Req("a", 0.7)).ok());
  auto r = ledger.Charge(Req("b", 0.5));
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("costs rho = 0.5 but only 0.3 of the budget 1 is left"),
            std::string::npos)
      << r.status().message();
  // Nothing was recorded for the refused release; a smaller one still fits.
  EXPECT_TRUE(ledger.Charge(Req("c", 0.3)).ok());
  EXPECT_FALSE(ledger.Charge(Req("d", -1)).ok());
  EXPECT_FALSE(ledger.Charge(Req("", 0.1)).ok());
}

TEST(Accountant, SqliteLedgerEnforcesTheBudget) {
  auto dir = TempDir::Create().value();
  auto s = SqlitePrivacyState::Open(dir.path() / "state.db");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ExerciseLedger(**s);
}

TEST(Accountant, RestartDoesNotResetTheLedger) {
  auto dir = TempDir::Create().value();
  const auto path = dir.path() / "node-state.db";
  {
    auto s = SqlitePrivacyState::Open(path).value();
    ASSERT_TRUE(s->Charge(Req("s1", 0.6)).ok());
    ASSERT_TRUE(s->Charge(Req("s2", 0.3)).ok());
  }  // the node stops
  {
    auto s = SqlitePrivacyState::Open(path).value();  // and starts again
    auto bal = s->Balance("fr-aphp", "P-2025-007", 1.0).value();
    EXPECT_NEAR(bal.spent_rho, 0.9, 1e-12);
    EXPECT_EQ(bal.releases, 2);
    EXPECT_EQ(s->Charge(Req("s3", 0.2)).status().code(), StatusCode::kResourceExhausted);
    EXPECT_TRUE(s->Charge(Req("s2", 0.3)).value().already_charged);
    auto entries = s->Entries("fr-aphp", "P-2025-007").value();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].release_id, "s1");
  }
  // Editing the ledger behind the node's back is refused by the database itself.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM privacy_ledger", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE privacy_ledger SET rho_units = 0", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = SqlitePrivacyState::Open(path).value();
  EXPECT_NEAR(s->Balance("fr-aphp", "P-2025-007", 1.0).value().spent_rho, 0.9, 1e-12);
}

TEST(Accountant, TwoProcessesSharingTheFileCannotOverspend) {
  auto dir = TempDir::Create().value();
  const auto path = dir.path() / "shared.db";
  auto a = SqlitePrivacyState::Open(path).value();
  auto b = SqlitePrivacyState::Open(path).value();
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    PrivacyLedger& l = (i % 2) ? static_cast<PrivacyLedger&>(*a) : *b;
    ok += l.Charge(Req(std::string("release-").append(std::to_string(i)), 0.15)).ok();
  }
  EXPECT_EQ(ok, 6);  // 6 * 0.15 = 0.9 <= 1 < 7 * 0.15
}

TEST(Accountant, UnitsRoundConservatively) {
  EXPECT_EQ(RhoToUnitsUp(0.1), 100000000000);
  EXPECT_EQ(RhoToUnitsUp(1e-13), 1);  // never free
  EXPECT_EQ(RhoToUnitsDown(1.0), 1000000000000);
  EXPECT_EQ(RhoToUnitsUp(0), 0);
}

}  // namespace
}  // namespace passerelle::privacy
