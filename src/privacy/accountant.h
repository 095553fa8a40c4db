// The privacy-budget ledger and accountant: one zCDP budget per (node, project), set by the
// node's policy; every release is charged before it leaves the node; a release that would go
// past the budget is refused with a message saying what is left. Costs compose additively
// (zCDP composition, Bun and Steinke 2016, Lemma 2.3).
//
// Amounts are kept as integers in units of 1e-12 rho: a charge is rounded up, a budget down, so
// accumulated rounding can never let a release through that exact arithmetic would refuse.
//
// A ledger is append-only: nothing removes or lowers a charge, and charging the same release_id
// twice (a retried task) charges it once. Implementations: InMemoryLedger (tests, demo) and
// SqlitePrivacyState (sqlite_state.h), which survives restarts.
//
// Thread-safety: implementations are thread-safe (InMemoryLedger with a mutex, SQLite with
// transactions).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "common/status.h"

namespace passerelle::privacy {

inline constexpr double kRhoUnitsPerRho = 1e12;

// Smallest number of units >= rho. (The formulas that produce rho are accurate to a few ulps,
// far below one unit.) REQUIRES: 0 <= rho < 9e6.
int64_t RhoToUnitsUp(double rho);
// Largest number of units <= budget.
int64_t RhoToUnitsDown(double budget);
double UnitsToRho(int64_t units);

struct ChargeRequest {
  std::string node_id;
  std::string project_id;
  std::string release_id;   // unique per release (study, round, analysis); the idempotency key
  double rho = 0;           // zCDP cost of the release, >= 0
  double budget_rho = 0;    // the node policy's budget for this project
  std::string description;  // mechanism and parameters, for the audit and the result
  int64_t time_micros = 0;  // when (from the node's Clock)
};

struct LedgerEntry {
  std::string release_id;
  int64_t rho_units = 0;
  std::string description;
  int64_t time_micros = 0;
};

struct BudgetBalance {
  double budget_rho = 0;
  double spent_rho = 0;
  double remaining_rho = 0;  // max(0, budget - spent)
  int64_t releases = 0;
  bool already_charged = false;  // the release_id was charged before (a retry)
};

// The refusal a ledger returns when `cost_units` does not fit (kResourceExhausted).
Status BudgetExceeded(const ChargeRequest& request, int64_t spent_units, int64_t releases);
// The balance after `releases` charges summing to `spent_units`.
BudgetBalance MakeBudgetBalance(double budget_rho, int64_t spent_units, int64_t releases);
// Checks a request's fields (ids present, rho finite and >= 0, budget >= 0).
Status ValidateChargeRequest(const ChargeRequest& request);

class PrivacyLedger {
 public:
  virtual ~PrivacyLedger() = default;
  // Atomically: if the release was already charged, returns the balance (already_charged);
  // else if spent + rho <= budget, records the charge and returns the new balance; else refuses
  // with kResourceExhausted and records nothing.
  virtual Result<BudgetBalance> Charge(const ChargeRequest& request) = 0;
  virtual Result<BudgetBalance> Balance(std::string_view node_id, std::string_view project_id,
                                        double budget_rho) = 0;
  virtual Result<std::vector<LedgerEntry>> Entries(std::string_view node_id,
                                                   std::string_view project_id) = 0;
};

class InMemoryLedger final : public PrivacyLedger {
 public:
  Result<BudgetBalance> Charge(const ChargeRequest& request) override;
  Result<BudgetBalance> Balance(std::string_view node_id, std::string_view project_id,
                                double budget_rho) override;
  Result<std::vector<LedgerEntry>> Entries(std::string_view node_id,
                                           std::string_view project_id) override;

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::vector<LedgerEntry>> entries_;
};

}  // namespace passerelle::privacy
