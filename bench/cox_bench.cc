// Cox proportional hazards stratified by site, across nodes versus pooled fits, side by side.
//
//   cox_bench [--quick] [--rows N] [--covariates P] [--breslow] [--no-r]
//
// Default: 2 nodes x 500,000 rows x 10 covariates (synthetic, seeded, right-censored, times
// rounded to 0.01 so that deaths tie; Efron). Measures
//   federated:  schema round + sorted Cox data at each node + Newton rounds (node sums, hub
//               updates), in one process, the nodes one after the other;
//   pooled:     the same kernels on the pooled data with strata(site), as one node;
//   R:          coxph(Surv(time, status) ~ X + strata(site)) on the pooled data, when Rscript is on
//               PATH;
//   protocol:   the registered `cox` analysis through the real protocol: each node's table in its
//               own DuckDB file, a hub and two node agents over TLS 1.3 in this process (as
//               `passerelle sandbox`), from study submission to the result at the researcher;
// and a node's peak memory against the size of its design matrix (child processes: one node
// alone in memory, and the node's code path from its DuckDB file through the analysis).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/model_protocol.h"
#include "common/files.h"
#include "common/random.h"
#include "stats/cox.h"
#include "stats/design.h"

namespace ps = passerelle::stats;
using passerelle::bench::CurrentKb;
using passerelle::bench::OnPath;
using passerelle::bench::PeakKb;
using passerelle::bench::ResetPeak;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Check(const passerelle::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

// One node's synthetic table: covariates x1..xp, survival time and status from a proportional
// hazards model with a site-specific baseline hazard, and a site column.
ps::DataFrame MakeNode(size_t rows, size_t p, uint64_t seed, double site, double baseline) {
  passerelle::Xoshiro256 rng(seed);
  auto normal = [&rng]() {
    double u1 = rng.NextDouble(), u2 = rng.NextDouble();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  };
  std::vector<std::vector<double>> x(p, std::vector<double>(rows));
  std::vector<double> time(rows), status(rows);
  for (size_t r = 0; r < rows; ++r) {
    double eta = 0;
    for (size_t j = 0; j < p; ++j) {
      double v = normal();
      if (j > 0 && j % 4 == 0) v = 0.5 * x[j - 1][r] + 0.85 * v;
      x[j][r] = v;
      eta += (j % 2 == 0 ? 0.25 : -0.15) / (1.0 + 0.2 * j) * v;
    }
    const double t = -std::log(1.0 - rng.NextDouble()) / (baseline * std::exp(eta));
    const double c = -std::log(1.0 - rng.NextDouble()) / (0.5 * baseline);
    time[r] = std::max(0.01, std::ceil(std::min(t, c) * 100.0) / 100.0);
    status[r] = t <= c ? 1.0 : 0.0;
  }
  ps::DataFrame frame;
  Check(frame.AddColumn(ps::DataColumn::Numeric("time", std::move(time))), "frame");
  Check(frame.AddColumn(ps::DataColumn::Numeric("status", std::move(status))), "frame");
  for (size_t j = 0; j < p; ++j) {
    std::string name = std::to_string(j + 1);
    name.insert(name.begin(), 'x');
    Check(frame.AddColumn(ps::DataColumn::Numeric(std::move(name), std::move(x[j]))), "frame");
  }
  Check(frame.AddColumn(ps::DataColumn::Numeric("site", std::vector<double>(rows, site))), "frame");
  return frame;
}

std::string Formula(size_t p, bool strata_site) {
  std::string f = "Surv(time, status) ~ ";
  for (size_t j = 0; j < p; ++j) {
    f.append(j ? " + x" : "x");
    f.append(std::to_string(j + 1));
  }
  if (strata_site) f.append(" + strata(site)");
  return f;
}

ps::ModelLayout Layout(const std::string& formula,
                       const std::vector<const ps::DataFrame*>& frames) {
  auto spec = ps::CoxModelSpec(formula);
  Check(spec.status(), "formula");
  std::vector<ps::DataSchema> schemas;
  for (const auto* f : frames) {
    auto s = ps::DescribeData(*spec, *f);
    Check(s.status(), "schema");
    schemas.push_back(*s);
  }
  auto merged = ps::MergeSchemas(schemas);
  Check(merged.status(), "merge");
  auto layout = ps::LayoutModel(*spec, *merged);
  Check(layout.status(), "layout");
  return *layout;
}

struct FitTiming {
  ps::CoxResult result;
  double total = 0, prepare = 0, nodes = 0, nodes_parallel = 0, hub = 0;
  int rounds = 0;
};

FitTiming Federated(const std::vector<const ps::DataFrame*>& frames, const std::string& formula,
                    ps::CoxTies ties) {
  FitTiming t;
  const double t0 = Now();
  ps::ModelLayout layout = Layout(formula, frames);
  std::vector<ps::CoxData> data;
  for (const auto* f : frames) {
    auto d = ps::BuildCoxData(layout, *f);
    Check(d.status(), "cox data");
    data.push_back(std::move(*d));
  }
  t.prepare = Now() - t0;
  ps::CoxOptions options;
  options.ties = ties;
  auto state = ps::CoxBegin(options, layout.column_names());
  Check(state.status(), "begin");
  while (!state->done()) {
    std::vector<double> sum;
    double slowest = 0;
    for (const auto& d : data) {
      const double a = Now();
      auto part = ps::CoxLocalStep(d, state->request);
      Check(part.status(), "local step");
      if (sum.empty()) sum.assign(part->size(), 0.0);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*part)[i];
      const double dt = Now() - a;
      t.nodes += dt;
      slowest = std::max(slowest, dt);
    }
    t.nodes_parallel += slowest;
    const double h = Now();
    Check(ps::CoxCombine(*state, sum), "combine");
    t.hub += Now() - h;
    ++t.rounds;
  }
  auto r = ps::CoxFinish(*state);
  Check(r.status(), "finish");
  t.result = *r;
  t.total = Now() - t0;
  return t;
}

bool RunR(const std::vector<const ps::DataFrame*>& frames, size_t p, bool breslow, double* seconds,
          std::vector<double>* coef) {
  auto dir = passerelle::TempDir::Create("cox_bench");
  if (!dir.ok()) return false;
  const std::string bin = (dir->path() / "data.bin").string();
  const std::string script = (dir->path() / "fit.R").string();
  size_t n = 0;
  for (const auto* f : frames) n += f->rows();
  {
    // time, status, x1..xp, site: column by column.
    std::ofstream out(bin, std::ios::binary);
    for (size_t c = 0; c < p + 3; ++c) {
      for (const auto* f : frames) {
        const auto& v = f->columns()[c].numbers;
        out.write(reinterpret_cast<const char*>(v.data()),
                  static_cast<std::streamsize>(v.size() * sizeof(double)));
      }
    }
  }
  {
    std::ofstream out(script);
    out << "suppressMessages(library(survival))\n"
        << "con <- file('" << bin << "', 'rb')\n"
        << "n <- " << n << "; p <- " << p << "\n"
        << "time <- readBin(con, 'double', n); status <- readBin(con, 'double', n)\n"
        << "X <- matrix(readBin(con, 'double', n * p), n, p)\n"
        << "site <- readBin(con, 'double', n)\n"
        << "close(con)\n"
        << "t <- system.time(fit <- coxph(Surv(time, status) ~ X + strata(site), ties = '"
        << (breslow ? "breslow" : "efron") << "'))[['elapsed']]\n"
        << "cat(sprintf('%.17g', c(t, coef(fit))), sep = '\\n')\n";
  }
  const std::string cmd = "Rscript --vanilla '" + script + "'";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return false;
  std::vector<double> values;
  char line[256];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) values.push_back(std::atof(line));
  if (pclose(pipe) != 0 || values.size() != p + 1) return false;
  *seconds = values[0];
  coef->assign(values.begin() + 1, values.end());
  return true;
}

void NodeMemoryProbe(size_t rows, size_t p, ps::CoxTies ties) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid != 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return;
  }
  const long base = CurrentKb();
  ResetPeak();
  ps::DataFrame frame = MakeNode(rows, p, 21, 1, 0.1);
  ps::ModelLayout layout = Layout(Formula(p, false), {&frame});
  auto d = ps::BuildCoxData(layout, frame);
  Check(d.status(), "cox data");
  const long peak_build = PeakKb();
  frame = ps::DataFrame();
  ResetPeak();
  ps::CoxOptions options;
  options.ties = ties;
  auto r = ps::FitCox({&*d}, options);
  Check(r.status(), "fit");
  const long peak_rounds = PeakKb();
  const double x_mb = static_cast<double>(rows * p * sizeof(double)) / (1 << 20);
  std::printf(
      "node memory (one node, %zu rows): design matrix X %.1f MB; peak RSS above the process "
      "start: %.1f MB while building (table + sorted data) = %.2fx X, %.1f MB during the rounds "
      "= %.2fx X\n",
      rows, x_mb, (peak_build - base) / 1024.0, (peak_build - base) / 1024.0 / x_mb,
      (peak_rounds - base) / 1024.0, (peak_rounds - base) / 1024.0 / x_mb);
  std::fflush(stdout);
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  size_t rows = 500000, p = 10;
  bool run_r = true;
  ps::CoxTies ties = ps::CoxTies::kEfron;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      rows = 50000;
    } else if (!std::strcmp(argv[i], "--rows") && i + 1 < argc) {
      rows = std::strtoul(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--covariates") && i + 1 < argc) {
      p = std::strtoul(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--breslow")) {
      ties = ps::CoxTies::kBreslow;
    } else if (!std::strcmp(argv[i], "--no-r")) {
      run_r = false;
    } else {
      std::fprintf(stderr,
                   "usage: cox_bench [--quick] [--rows N] [--covariates P] [--breslow] "
                   "[--no-r]\n");
      return 2;
    }
  }
  const bool breslow = ties == ps::CoxTies::kBreslow;
  std::printf(
      "cox_bench: Cox PH stratified by site (%s ties), 2 nodes x %zu rows x %zu "
      "covariates\n",
      breslow ? "Breslow" : "Efron", rows, p);
  NodeMemoryProbe(rows, p, ties);

  ps::DataFrame a = MakeNode(rows, p, 21, 1, 0.1);
  ps::DataFrame b = MakeNode(rows, p, 22, 2, 0.25);
  auto dir = passerelle::TempDir::Create("cox_bench_db");
  Check(dir.status(), "temp dir");
  const std::vector<std::filesystem::path> dbs = {dir->path() / "site1.duckdb",
                                                  dir->path() / "site2.duckdb"};
  passerelle::bench::WriteDuckDb(a, dbs[0]);
  passerelle::bench::WriteDuckDb(b, dbs[1]);
  std::string rhs = Formula(p, false);
  rhs = rhs.substr(rhs.find('~'));
  const nlohmann::json analysis = {{"id", "c"},      {"type", "cox"},
                                   {"time", "time"}, {"event", "status"},
                                   {"formula", rhs}, {"ties", breslow ? "breslow" : "efron"}};
  passerelle::bench::NodeMemoryProbeThroughAnalysis(dbs[0], analysis,
                                                    static_cast<double>(rows * p * sizeof(double)));
  FitTiming fed = Federated({&a, &b}, Formula(p, false), ties);
  std::printf(
      "federated (2 nodes, in process): %.3f s  [prepare %.3f s, node sums %.3f s, hub "
      "%.4f s, %d rounds, %d iterations, %lld events]; nodes in parallel: %.3f s\n",
      fed.total, fed.prepare, fed.nodes, fed.hub, fed.rounds, fed.result.iterations,
      static_cast<long long>(fed.result.events), fed.prepare / 2 + fed.nodes_parallel + fed.hub);

  ps::DataFrame pooled;
  for (size_t c = 0; c < a.columns().size(); ++c) {
    std::vector<double> v = a.columns()[c].numbers;
    v.insert(v.end(), b.columns()[c].numbers.begin(), b.columns()[c].numbers.end());
    Check(pooled.AddColumn(ps::DataColumn::Numeric(a.columns()[c].name, std::move(v))), "pool");
  }
  FitTiming one = Federated({&pooled}, Formula(p, true), ties);
  std::printf("pooled with strata(site), same kernels (1 node): %.3f s  [%d iterations]\n",
              one.total, one.result.iterations);
  double max_diff = 0;
  for (size_t j = 0; j < p; ++j) {
    const double e = fed.result.coefficients[j].estimate;
    max_diff = std::max(max_diff, std::fabs(e - one.result.coefficients[j].estimate) /
                                      std::max(1e-12, std::fabs(e)));
  }
  std::printf("coefficients: federated vs pooled, max relative difference %.1e\n", max_diff);
  std::printf("ratio federated / pooled same kernels: %.2f\n", fed.total / one.total);

  passerelle::bench::ProtocolRun proto = passerelle::bench::RunThroughProtocol(dbs, analysis);
  double proto_diff = 0;
  for (size_t j = 0; j < p; ++j) {
    const double e = fed.result.coefficients[j].estimate;
    const double g = proto.result["coefficients"][j]["estimate"].get<double>();
    proto_diff = std::max(proto_diff, std::fabs(e - g) / std::max(1e-12, std::fabs(e)));
  }
  std::printf(
      "through the protocol (TLS hub + 2 node agents, DuckDB files, registered cox analysis): "
      "%.3f s to the result [%d rounds, %d iterations; federation start-up %.3f s not counted]; "
      "coefficients vs in-process federated: max relative difference %.1e\n",
      proto.result_s, proto.rounds, proto.result["iterations"].get<int>(), proto.start_s,
      proto_diff);
  std::printf("ratio protocol / pooled same kernels: %.2f\n", proto.result_s / one.total);

  if (!run_r) {
    std::printf("R: skipped (--no-r)\n");
  } else if (!OnPath("Rscript")) {
    std::printf("R not installed (Rscript not on PATH): no comparison with coxph\n");
  } else {
    double r_s = 0;
    std::vector<double> r_coef;
    if (RunR({&a, &b}, p, breslow, &r_s, &r_coef)) {
      double r_diff = 0;
      for (size_t j = 0; j < p; ++j) {
        const double e = fed.result.coefficients[j].estimate;
        r_diff = std::max(r_diff, std::fabs(e - r_coef[j]) / std::max(1e-12, std::fabs(e)));
      }
      std::printf(
          "R coxph with strata(site) on the pooled data: %.3f s; coefficients max "
          "relative difference %.1e\n",
          r_s, r_diff);
      std::printf("ratio R coxph / federated in process: %.1fx faster\n", r_s / fed.total);
      std::printf("ratio R coxph / through the protocol: %.1fx faster (issue: >= 10x)\n",
                  r_s / proto.result_s);
    } else {
      std::printf("R: the run failed; no comparison\n");
    }
  }
  return 0;
}
