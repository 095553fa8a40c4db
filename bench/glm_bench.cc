// Logistic regression across nodes versus pooled fits, side by side in one run.
//
//   glm_bench [--quick] [--rows N] [--covariates P] [--no-r]
//
// Default: 2 nodes x 1,000,000 rows x 20 covariates (synthetic, seeded). Measures
//   federated:  schema round + design at each node + IRLS rounds (node sums, hub updates), in one
//               process, the nodes one after the other;
//   pooled:     the same kernels on the pooled data as one node (the issue's "same IRLS run in one
//               process on the pooled data");
//   plain:      a textbook pooled IRLS with Eigen (X'WX by a full product each iteration);
//   R:          glm(y ~ X, family = binomial) on the pooled data, when Rscript is on PATH;
//   protocol:   the registered `glm` analysis through the real protocol: each node's table in its
//               own DuckDB file, a hub and two node agents over TLS 1.3 in this process (as
//               `passerelle sandbox`), from study submission to the result at the researcher;
// and a node's peak memory against the size of its design matrix (child processes: one node
// alone in memory, and the node's code path from its DuckDB file through the analysis).
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Dense>
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
#include "stats/design.h"
#include "stats/glm.h"

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

// One node's synthetic analysis table: covariates x1..xp (normal, some correlated) and a 0/1
// outcome from a logistic model with fixed coefficients.
ps::DataFrame MakeNode(size_t rows, size_t p, uint64_t seed, double site_shift) {
  passerelle::Xoshiro256 rng(seed);
  auto normal = [&rng]() {
    double u1 = rng.NextDouble(), u2 = rng.NextDouble();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  };
  std::vector<std::vector<double>> x(p, std::vector<double>(rows));
  std::vector<double> y(rows);
  for (size_t r = 0; r < rows; ++r) {
    double eta = -0.5 + site_shift;
    for (size_t j = 0; j < p; ++j) {
      double v = normal();
      if (j > 0 && j % 5 == 0) v = 0.6 * x[j - 1][r] + 0.8 * v;
      x[j][r] = v;
      eta += (j % 2 == 0 ? 0.3 : -0.2) / (1.0 + 0.1 * j) * v;
    }
    y[r] = rng.NextDouble() < 1.0 / (1.0 + std::exp(-eta)) ? 1.0 : 0.0;
  }
  ps::DataFrame frame;
  Check(frame.AddColumn(ps::DataColumn::Numeric("y", std::move(y))), "frame");
  for (size_t j = 0; j < p; ++j) {
    std::string name = std::to_string(j + 1);
    name.insert(name.begin(), 'x');
    Check(frame.AddColumn(ps::DataColumn::Numeric(std::move(name), std::move(x[j]))), "frame");
  }
  return frame;
}

std::string Formula(size_t p) {
  std::string f = "y ~ ";
  for (size_t j = 0; j < p; ++j) {
    f.append(j ? " + x" : "x");
    f.append(std::to_string(j + 1));
  }
  return f;
}

ps::ModelSpec Spec(size_t p) {
  auto f = ps::ParseFormula(Formula(p));
  Check(f.status(), "formula");
  ps::ModelSpec spec;
  spec.formula = *f;
  return spec;
}

ps::ModelLayout Layout(const ps::ModelSpec& spec, const std::vector<const ps::DataFrame*>& frames) {
  std::vector<ps::DataSchema> schemas;
  for (const auto* f : frames) {
    auto s = ps::DescribeData(spec, *f);
    Check(s.status(), "schema");
    schemas.push_back(*s);
  }
  auto merged = ps::MergeSchemas(schemas);
  Check(merged.status(), "merge");
  auto layout = ps::LayoutModel(spec, *merged);
  Check(layout.status(), "layout");
  return *layout;
}

struct FitTiming {
  ps::GlmResult result;
  double total = 0, design = 0, nodes = 0, nodes_parallel = 0, hub = 0;
  int rounds = 0;
};

// The protocol with timers: schema round, designs, rounds.
FitTiming Federated(const std::vector<const ps::DataFrame*>& frames, size_t p) {
  FitTiming t;
  const double t0 = Now();
  ps::ModelSpec spec = Spec(p);
  ps::ModelLayout layout = Layout(spec, frames);
  std::vector<ps::Design> designs;
  for (const auto* f : frames) {
    auto d = ps::BuildDesign(layout, *f);
    Check(d.status(), "design");
    designs.push_back(std::move(*d));
  }
  t.design = Now() - t0;
  ps::GlmOptions options;
  options.family = ps::GlmFamily::kBinomial;
  auto state = ps::GlmBegin(options, layout.column_names(), layout.has_intercept, false);
  Check(state.status(), "begin");
  while (!state->done()) {
    std::vector<double> sum;
    double slowest = 0;
    for (const auto& d : designs) {
      const double a = Now();
      auto part = ps::GlmLocalStep(d, options.family, state->request);
      Check(part.status(), "local step");
      if (sum.empty()) sum.assign(part->size(), 0.0);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*part)[i];
      const double dt = Now() - a;
      t.nodes += dt;
      slowest = std::max(slowest, dt);
    }
    t.nodes_parallel += slowest;
    const double h = Now();
    Check(ps::GlmCombine(*state, sum), "combine");
    t.hub += Now() - h;
    ++t.rounds;
  }
  auto r = ps::GlmFinish(*state);
  Check(r.status(), "finish");
  t.result = *r;
  t.total = Now() - t0;
  return t;
}

// Textbook IRLS on a pooled design with Eigen: same start (R's mustart), same convergence rule.
std::vector<double> PlainIrls(const ps::Design& d, int* iterations) {
  const auto n = static_cast<Eigen::Index>(d.rows);
  const auto p = static_cast<Eigen::Index>(d.cols);
  Eigen::Map<const Eigen::MatrixXd> x(d.x.data(), n, p);
  Eigen::Map<const Eigen::VectorXd> y(d.y.data(), n);
  Eigen::VectorXd mu = (y.array() + 0.5) / 2.0;
  Eigen::VectorXd eta = (mu.array() / (1.0 - mu.array())).log();
  auto deviance = [&](const Eigen::VectorXd& m) {
    double dev = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      dev += y(i) > 0 ? -2.0 * std::log(m(i)) : -2.0 * std::log(1.0 - m(i));
    }
    return dev;
  };
  double dev_old = deviance(mu);
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(p);
  for (int it = 1; it <= 25; ++it) {
    Eigen::ArrayXd w = mu.array() * (1.0 - mu.array());
    Eigen::VectorXd z = eta.array() + (y - mu).array() / w;
    Eigen::MatrixXd wx = x.array().colwise() * w;
    Eigen::MatrixXd xtwx = wx.transpose() * x;
    Eigen::VectorXd xtwz = wx.transpose() * z;
    beta = xtwx.ldlt().solve(xtwz);
    eta = x * beta;
    mu = 1.0 / (1.0 + (-eta.array()).exp());
    const double dev = deviance(mu);
    *iterations = it;
    if (std::fabs(dev - dev_old) / (std::fabs(dev) + 0.1) < 1e-8) break;
    dev_old = dev;
  }
  return std::vector<double>(beta.data(), beta.data() + p);
}

// Runs glm in R on the pooled data; returns its elapsed time (s) and coefficients.
bool RunR(const std::vector<const ps::DataFrame*>& frames, size_t p, double* seconds,
          std::vector<double>* coef) {
  auto dir = passerelle::TempDir::Create("glm_bench");
  if (!dir.ok()) return false;
  const std::string bin = (dir->path() / "data.bin").string();
  const std::string script = (dir->path() / "fit.R").string();
  size_t n = 0;
  for (const auto* f : frames) n += f->rows();
  {
    std::ofstream out(bin, std::ios::binary);
    for (size_t c = 0; c <= p; ++c) {  // y, then x1..xp, column by column
      for (const auto* f : frames) {
        const auto& v = f->columns()[c].numbers;
        out.write(reinterpret_cast<const char*>(v.data()),
                  static_cast<std::streamsize>(v.size() * sizeof(double)));
      }
    }
  }
  {
    std::ofstream out(script);
    out << "con <- file('" << bin << "', 'rb')\n"
        << "n <- " << n << "; p <- " << p << "\n"
        << "y <- readBin(con, 'double', n)\n"
        << "X <- matrix(readBin(con, 'double', n * p), n, p)\n"
        << "close(con)\n"
        << "t <- system.time(fit <- glm(y ~ X, family = binomial()))[['elapsed']]\n"
        << "cat(sprintf('%.17g', c(t, coef(fit))), sep = '\\n')\n";
  }
  const std::string cmd = "Rscript --vanilla '" + script + "'";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return false;
  std::vector<double> values;
  char line[256];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) values.push_back(std::atof(line));
  if (pclose(pipe) != 0 || values.size() != p + 2) return false;
  *seconds = values[0];
  coef->assign(values.begin() + 1, values.end());
  return true;
}

// In a child process: one node alone (its table, its design, the rounds); prints its memory.
void NodeMemoryProbe(size_t rows, size_t p) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid != 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return;
  }
  const long base = CurrentKb();
  ResetPeak();
  ps::DataFrame frame = MakeNode(rows, p, 11, 0.0);
  ps::ModelSpec spec = Spec(p);
  ps::ModelLayout layout = Layout(spec, {&frame});
  auto d = ps::BuildDesign(layout, frame);
  Check(d.status(), "design");
  const long peak_build = PeakKb();
  frame = ps::DataFrame();  // the analysis table is not needed once X is built
  ResetPeak();
  ps::GlmOptions options;
  options.family = ps::GlmFamily::kBinomial;
  auto r = ps::FitGlm({&*d}, options);
  Check(r.status(), "fit");
  const long peak_rounds = PeakKb();
  const double x_mb = static_cast<double>(d->x.size() * sizeof(double)) / (1 << 20);
  std::printf(
      "node memory (one node, %zu rows): design matrix X %.1f MB; peak RSS above the process "
      "start: %.1f MB while building (table + X) = %.2fx X, %.1f MB during the rounds = %.2fx X\n",
      rows, x_mb, (peak_build - base) / 1024.0, (peak_build - base) / 1024.0 / x_mb,
      (peak_rounds - base) / 1024.0, (peak_rounds - base) / 1024.0 / x_mb);
  std::fflush(stdout);
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  size_t rows = 1000000, p = 20;
  bool run_r = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      rows = 100000;
    } else if (!std::strcmp(argv[i], "--rows") && i + 1 < argc) {
      rows = std::strtoul(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--covariates") && i + 1 < argc) {
      p = std::strtoul(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--no-r")) {
      run_r = false;
    } else {
      std::fprintf(stderr, "usage: glm_bench [--quick] [--rows N] [--covariates P] [--no-r]\n");
      return 2;
    }
  }
  std::printf("glm_bench: logistic regression, 2 nodes x %zu rows x %zu covariates\n", rows, p);
  NodeMemoryProbe(rows, p);

  ps::DataFrame a = MakeNode(rows, p, 11, 0.0);
  ps::DataFrame b = MakeNode(rows, p, 12, 0.3);
  auto dir = passerelle::TempDir::Create("glm_bench_db");
  Check(dir.status(), "temp dir");
  const std::vector<std::filesystem::path> dbs = {dir->path() / "site1.duckdb",
                                                  dir->path() / "site2.duckdb"};
  passerelle::bench::WriteDuckDb(a, dbs[0]);
  passerelle::bench::WriteDuckDb(b, dbs[1]);
  const nlohmann::json analysis = {
      {"id", "m"}, {"type", "glm"}, {"family", "binomial"}, {"formula", Formula(p)}};
  passerelle::bench::NodeMemoryProbeThroughAnalysis(
      dbs[0], analysis, static_cast<double>(rows * (p + 1) * sizeof(double)));
  FitTiming fed = Federated({&a, &b}, p);
  std::printf(
      "federated (2 nodes, in process): %.3f s  [designs %.3f s, node sums %.3f s, hub "
      "%.4f s, %d rounds, %d iterations]; nodes in parallel: %.3f s\n",
      fed.total, fed.design, fed.nodes, fed.hub, fed.rounds, fed.result.iterations,
      fed.design / 2 + fed.nodes_parallel + fed.hub);

  // Pooled data: the same kernels as one node, then a plain Eigen IRLS.
  ps::DataFrame pooled;
  for (size_t c = 0; c < a.columns().size(); ++c) {
    std::vector<double> v = a.columns()[c].numbers;
    v.insert(v.end(), b.columns()[c].numbers.begin(), b.columns()[c].numbers.end());
    Check(pooled.AddColumn(ps::DataColumn::Numeric(a.columns()[c].name, std::move(v))), "pool");
  }
  FitTiming one = Federated({&pooled}, p);
  std::printf("pooled, same kernels (1 node): %.3f s  [%d iterations]\n", one.total,
              one.result.iterations);
  double plain_s = 0;
  int plain_iter = 0;
  std::vector<double> plain_beta;
  {
    ps::ModelSpec spec = Spec(p);
    ps::ModelLayout layout = Layout(spec, {&pooled});
    const double t0 = Now();
    auto d = ps::BuildDesign(layout, pooled);
    Check(d.status(), "design");
    plain_beta = PlainIrls(*d, &plain_iter);
    plain_s = Now() - t0;
  }
  std::printf("pooled, plain Eigen IRLS: %.3f s  [%d iterations]\n", plain_s, plain_iter);
  double max_diff = 0;
  for (size_t j = 0; j <= p; ++j) {
    const double e = fed.result.coefficients[j].estimate;
    max_diff = std::max(max_diff, std::fabs(e - one.result.coefficients[j].estimate) /
                                      std::max(1e-12, std::fabs(e)));
    max_diff = std::max(max_diff, std::fabs(e - plain_beta[j]) / std::max(1e-12, std::fabs(e)));
  }
  std::printf("coefficients: federated vs pooled fits, max relative difference %.1e\n", max_diff);
  std::printf("ratio federated / pooled same kernels: %.2f (issue: <= 1.5)\n",
              fed.total / one.total);
  std::printf("ratio federated / plain pooled IRLS: %.2f\n", fed.total / plain_s);

  passerelle::bench::ProtocolRun proto = passerelle::bench::RunThroughProtocol(dbs, analysis);
  double proto_diff = 0;
  for (size_t j = 0; j <= p; ++j) {
    const double e = fed.result.coefficients[j].estimate;
    const double g = proto.result["coefficients"][j]["estimate"].get<double>();
    proto_diff = std::max(proto_diff, std::fabs(e - g) / std::max(1e-12, std::fabs(e)));
  }
  std::printf(
      "through the protocol (TLS hub + 2 node agents, DuckDB files, registered glm analysis): "
      "%.3f s to the result [%d rounds, %d iterations; federation start-up %.3f s not counted]; "
      "coefficients vs in-process federated: max relative difference %.1e\n",
      proto.result_s, proto.rounds, proto.result["iterations"].get<int>(), proto.start_s,
      proto_diff);
  std::printf("ratio protocol / pooled same kernels: %.2f (issue: <= 1.5)\n",
              proto.result_s / one.total);

  if (!run_r) {
    std::printf("R: skipped (--no-r)\n");
  } else if (!OnPath("Rscript")) {
    std::printf("R not installed (Rscript not on PATH): no comparison with glm\n");
  } else {
    double r_s = 0;
    std::vector<double> r_coef;
    if (RunR({&a, &b}, p, &r_s, &r_coef)) {
      double r_diff = 0;
      for (size_t j = 0; j <= p; ++j) {
        const double e = fed.result.coefficients[j].estimate;
        r_diff = std::max(r_diff, std::fabs(e - r_coef[j]) / std::max(1e-12, std::fabs(e)));
      }
      std::printf("R glm on the pooled data: %.3f s; coefficients max relative difference %.1e\n",
                  r_s, r_diff);
      std::printf("ratio R glm / federated in process: %.1fx faster\n", r_s / fed.total);
      std::printf("ratio R glm / through the protocol: %.1fx faster (issue: >= 10x)\n",
                  r_s / proto.result_s);
    } else {
      std::printf("R: the run failed; no comparison\n");
    }
  }
  return 0;
}
