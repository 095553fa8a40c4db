#include "privacy/accountant.h"

#include <fmt/format.h>

#include <cmath>

namespace passerelle::privacy {

int64_t RhoToUnitsUp(double rho) { return static_cast<int64_t>(std::ceil(rho * kRhoUnitsPerRho)); }

int64_t RhoToUnitsDown(double budget) {
  return static_cast<int64_t>(std::floor(budget * kRhoUnitsPerRho));
}

double UnitsToRho(int64_t units) { return static_cast<double>(units) / kRhoUnitsPerRho; }

Status ValidateChargeRequest(const ChargeRequest& r) {
  if (r.node_id.empty() || r.project_id.empty() || r.release_id.empty()) {
    return Status::InvalidArgument("privacy ledger: node, project and release ids are required");
  }
  if (!std::isfinite(r.rho) || r.rho < 0 || r.rho >= 9e6) {
    return Status::InvalidArgument("privacy ledger: a release's rho must be finite and >= 0");
  }
  if (!std::isfinite(r.budget_rho) || r.budget_rho < 0 || r.budget_rho >= 9e6) {
    return Status::InvalidArgument("privacy ledger: the budget must be finite and >= 0");
  }
  return Status::Ok();
}

Status BudgetExceeded(const ChargeRequest& r, int64_t spent_units, int64_t releases) {
  const double spent = UnitsToRho(spent_units);
  const double left = std::max(0.0, UnitsToRho(RhoToUnitsDown(r.budget_rho) - spent_units));
  return Status::ResourceExhausted(fmt::format(
      "privacy budget of project {} at node {} would be exceeded: this release costs rho = {:.6g} "
      "but only {:.6g} of the budget {:.6g} is left ({:.6g} spent in {} release{}); ask for "
      "fewer releases or more noise, or ask the node's custodian about the budget",
      r.project_id, r.node_id, r.rho, left, r.budget_rho, spent, releases,
      releases == 1 ? "" : "s"));
}

BudgetBalance MakeBudgetBalance(double budget, int64_t spent_units, int64_t releases) {
  BudgetBalance b;
  b.budget_rho = budget;
  b.spent_rho = UnitsToRho(spent_units);
  b.remaining_rho = std::max(0.0, UnitsToRho(RhoToUnitsDown(budget) - spent_units));
  b.releases = releases;
  return b;
}

Result<BudgetBalance> InMemoryLedger::Charge(const ChargeRequest& r) {
  RETURN_IF_ERROR(ValidateChargeRequest(r));
  std::lock_guard lock(mu_);
  auto& list = entries_[{r.node_id, r.project_id}];
  int64_t spent = 0;
  bool seen = false;
  for (const auto& e : list) {
    spent += e.rho_units;
    if (e.release_id == r.release_id) seen = true;
  }
  const int64_t n = static_cast<int64_t>(list.size());
  if (seen) {
    BudgetBalance b = MakeBudgetBalance(r.budget_rho, spent, n);
    b.already_charged = true;
    return b;
  }
  const int64_t cost = RhoToUnitsUp(r.rho);
  if (spent + cost > RhoToUnitsDown(r.budget_rho)) return BudgetExceeded(r, spent, n);
  list.push_back({r.release_id, cost, r.description, r.time_micros});
  return MakeBudgetBalance(r.budget_rho, spent + cost, n + 1);
}

Result<BudgetBalance> InMemoryLedger::Balance(std::string_view node_id, std::string_view project_id,
                                              double budget_rho) {
  std::lock_guard lock(mu_);
  int64_t spent = 0, n = 0;
  auto it = entries_.find({std::string(node_id), std::string(project_id)});
  if (it != entries_.end()) {
    for (const auto& e : it->second) spent += e.rho_units;
    n = static_cast<int64_t>(it->second.size());
  }
  return MakeBudgetBalance(budget_rho, spent, n);
}

Result<std::vector<LedgerEntry>> InMemoryLedger::Entries(std::string_view node_id,
                                                         std::string_view project_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({std::string(node_id), std::string(project_id)});
  if (it == entries_.end()) return std::vector<LedgerEntry>{};
  return it->second;
}

}  // namespace passerelle::privacy
