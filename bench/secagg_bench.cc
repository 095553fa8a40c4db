// Secure aggregation cost (issue 8, "Performance"):
//  1. masking a 1M-value vector for 10 nodes: time per node of the masked-input round (open 9
//     sealed shares, 9 pairwise masks and 1 self-mask over 1M values), target < 100 ms; against
//     the baseline "plain copy of the vector" (what an unmasked node does), and the hub's
//     unmasking of the sum with one node dropped.
//  2. a GLM round with 20 covariates and 3 nodes: the local step (X'WX, X'Wz, deviance, n for a
//     logistic model: 20*21/2 + 20 + 2 = 232 values) plus the hub's sum, unmasked (baseline)
//     versus with the whole secure-aggregation session (keys, shares, masks, unmasking,
//     fixed-point encoding) in-process, no network. Target: at most 10% more.
//
// Usage: secagg_bench [--quick] [--nodes N] [--length L] [--rows R] [--repeat K]
// Timing: wall time (monotonic clock) and this thread's CPU time, each the median of K
// repetitions. On a shared machine the CPU time is the cost; the wall time includes waiting.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/random.h"
#include "privacy/fixed_point.h"
#include "privacy/secagg.h"

namespace {

using passerelle::DeterministicRandom;
using passerelle::Xoshiro256;
namespace sa = passerelle::privacy::secagg;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// This thread's CPU time in milliseconds.
double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename T>
T Must(passerelle::Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "secagg_bench: %s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}
void Must(const passerelle::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "secagg_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

sa::SessionConfig Config(uint32_t n, uint64_t len, uint32_t round) {
  sa::SessionConfig c;
  c.study_id = "bench";
  c.round = round;
  for (uint32_t i = 1; i <= n; ++i) c.participants.push_back(i);
  c.threshold = sa::DefaultThreshold(n);
  c.vector_length = len;
  return c;
}

// One secure-aggregation session; `drop` (0 = none) shares keys but sends no input.
struct Session {
  sa::SessionConfig config;
  std::vector<std::unique_ptr<DeterministicRandom>> rng;
  std::map<uint32_t, std::unique_ptr<sa::Client>> clients;
  std::unique_ptr<sa::Server> hub;
  std::map<uint32_t, sa::SharesForClient> forwarded;

  Session(uint32_t n, uint64_t len, uint32_t round) : config(Config(n, len, round)) {
    hub = Must(sa::Server::Create(config), "server");
    for (uint32_t u : config.participants) {
      rng.push_back(std::make_unique<DeterministicRandom>(round * 1000 + u));
      clients[u] = Must(sa::Client::Create(config, u, *rng.back()), "client");
    }
  }
  void Setup() {
    for (auto& [u, c] : clients)
      Must(hub->AddAdvertisement(Must(c->AdvertiseRound(), "adv")), "add");
    auto dir = Must(hub->CloseAdvertiseRound(), "close0");
    for (auto& [u, c] : clients) Must(hub->AddShareKeys(Must(c->ShareKeysRound(dir), "sk")), "add");
    forwarded = Must(hub->CloseShareKeysRound(), "close1");
  }
  void Mask(uint32_t u, const std::vector<uint64_t>& x) {
    Must(hub->AddMaskedInput(Must(clients[u]->MaskedInputRound(forwarded[u], x), "mask")), "add");
  }
  std::vector<uint64_t> Unmask() {
    auto u3 = Must(hub->CloseMaskedInputRound(), "close2");
    for (uint32_t u : u3.survivors) {
      Must(hub->AddUnmaskResponse(Must(clients[u]->UnmaskRound(u3), "unmask")), "add");
    }
    return Must(hub->Finish(), "finish").sum;
  }
};

void MaskingBench(uint32_t nodes, uint64_t length, int repeat) {
  std::printf("-- masking a %llu-value vector for %u nodes\n",
              static_cast<unsigned long long>(length), nodes);
  Xoshiro256 g(1);
  std::vector<uint64_t> x(length);
  for (auto& v : x) v = g();
  std::vector<double> mask_ms, mask_cpu, copy_ms, finish_ms, finish_cpu;
  for (int rep = 0; rep < repeat; ++rep) {
    Session s(nodes, length, static_cast<uint32_t>(rep));
    s.Setup();
    // Baseline: the node's plain vector copied into its message.
    auto copy_start = Clock::now();
    std::vector<uint64_t> copy(x);
    copy_ms.push_back(Ms(Clock::now() - copy_start));
    if (copy[0] != x[0]) std::abort();
    // Every node but the last masks (the last drops out after sharing keys).
    for (uint32_t u = 1; u < nodes; ++u) {
      auto t0 = Clock::now();
      const double c0 = CpuMs();
      s.Mask(u, x);
      mask_cpu.push_back(CpuMs() - c0);
      mask_ms.push_back(Ms(Clock::now() - t0));
    }
    auto f0 = Clock::now();
    const double fc0 = CpuMs();
    auto sum = s.Unmask();
    finish_cpu.push_back(CpuMs() - fc0);
    finish_ms.push_back(Ms(Clock::now() - f0));
    if (sum[0] != x[0] * (nodes - 1)) {
      std::fprintf(stderr, "secagg_bench: wrong sum\n");
      std::exit(1);
    }
  }
  const double mask = Median(mask_ms), cpu = Median(mask_cpu), copy = Median(copy_ms);
  std::printf("baseline plain copy of the vector:        %8.2f ms per node\n", copy);
  std::printf(
      "secure aggregation masked-input round:    %8.2f ms wall, %.2f ms CPU per node "
      "(target < 100 ms) %s\n",
      mask, cpu, cpu < 100 ? "OK" : "OVER");
  std::printf("ratio masked / plain copy:                %8.1f x\n", mask / copy);
  std::printf(
      "hub unmasking of the sum, 1 node dropped: %8.2f ms wall, %.2f ms CPU (%u self-masks, "
      "%u pair masks)\n",
      Median(finish_ms), Median(finish_cpu), nodes - 1, nodes - 1);
}

// One node's share of a logistic-regression IRLS round: the 232 sufficient statistics.
std::vector<double> GlmLocalStep(const std::vector<double>& X, const std::vector<double>& y,
                                 size_t p, const std::vector<double>& beta) {
  const size_t n = y.size();
  std::vector<double> out(p * (p + 1) / 2 + p + 2, 0.0);
  double* xtwx = out.data();
  double* xtwz = out.data() + p * (p + 1) / 2;
  double& deviance = out[out.size() - 2];
  out.back() = static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    const double* xi = &X[i * p];
    double eta = 0;
    for (size_t j = 0; j < p; ++j) eta += xi[j] * beta[j];
    const double mu = 1 / (1 + std::exp(-eta));
    const double w = mu * (1 - mu);
    const double z = eta + (y[i] - mu) / w;
    size_t k = 0;
    for (size_t a = 0; a < p; ++a) {
      const double wa = w * xi[a];
      for (size_t b = a; b < p; ++b) xtwx[k++] += wa * xi[b];
      xtwz[a] += wa * z;
    }
    deviance += -2 * (y[i] * std::log(mu) + (1 - y[i]) * std::log(1 - mu));
  }
  return out;
}

void GlmBench(size_t rows, int repeat) {
  const size_t p = 20, nodes = 3;
  const uint64_t len = p * (p + 1) / 2 + p + 2;
  std::printf("-- GLM round: %zu covariates (%llu values), %zu nodes, %zu rows per node\n", p,
              static_cast<unsigned long long>(len), nodes, rows);
  Xoshiro256 g(7);
  std::vector<std::vector<double>> X(nodes), y(nodes);
  std::vector<double> beta(p);
  for (auto& b : beta) b = (g.NextDouble() - 0.5) * 0.2;
  for (size_t k = 0; k < nodes; ++k) {
    X[k].resize(rows * p);
    y[k].resize(rows);
    for (size_t i = 0; i < rows; ++i) {
      X[k][i * p] = 1;
      for (size_t j = 1; j < p; ++j) X[k][i * p + j] = g.NextDouble() * 2 - 1;
      y[k][i] = g.NextDouble() < 0.3 ? 1 : 0;
    }
  }
  auto codec = Must(passerelle::privacy::FixedPointCodec::Create(
                        {.fractional_bits = 24, .max_abs = 1e9, .max_nodes = 64}),
                    "codec");
  std::vector<double> plain_ms, secure_ms, plain_cpu, secure_cpu;
  double check = 0;
  for (int rep = 0; rep < repeat; ++rep) {
    // Baseline: each node's local step, the hub's sum.
    auto t0 = Clock::now();
    const double c0 = CpuMs();
    std::vector<double> sum(len, 0.0);
    for (size_t k = 0; k < nodes; ++k) {
      auto v = GlmLocalStep(X[k], y[k], p, beta);
      for (size_t i = 0; i < len; ++i) sum[i] += v[i];
    }
    plain_cpu.push_back(CpuMs() - c0);
    plain_ms.push_back(Ms(Clock::now() - t0));
    // With secure aggregation: a fresh session per round, every message of the protocol.
    auto s0 = Clock::now();
    const double sc0 = CpuMs();
    Session s(nodes, len, static_cast<uint32_t>(rep));
    s.Setup();
    for (size_t k = 0; k < nodes; ++k) {
      auto v = GlmLocalStep(X[k], y[k], p, beta);
      s.Mask(static_cast<uint32_t>(k + 1), Must(codec.Encode(v), "encode"));
    }
    auto secure_sum = codec.Decode(s.Unmask());
    secure_cpu.push_back(CpuMs() - sc0);
    secure_ms.push_back(Ms(Clock::now() - s0));
    check = std::max(check, std::fabs(secure_sum[0] - sum[0]) / std::fabs(sum[0]));
  }
  const double plain = Median(plain_cpu), secure = Median(secure_cpu);
  std::printf("baseline unmasked round:                  %8.3f ms CPU (%.3f ms wall)\n", plain,
              Median(plain_ms));
  std::printf("round with secure aggregation:            %8.3f ms CPU (%.3f ms wall), +%.3f ms\n",
              secure, Median(secure_ms), secure - plain);
  std::printf("ratio secure / unmasked (CPU):            %8.3f (target <= 1.10) %s\n",
              secure / plain, secure / plain <= 1.10 ? "OK" : "OVER");
  std::printf("largest relative difference of the sums:  %8.1e\n", check);
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t nodes = 10;
  uint64_t length = 1000000;
  size_t rows = 100000;
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "secagg_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      length = 100000;
      rows = 10000;
      repeat = 3;
    } else if (a == "--nodes") {
      nodes = static_cast<uint32_t>(std::atoi(next()));
    } else if (a == "--length") {
      length = std::strtoull(next(), nullptr, 10);
    } else if (a == "--rows") {
      rows = std::strtoull(next(), nullptr, 10);
    } else if (a == "--repeat") {
      repeat = std::atoi(next());
    } else {
      std::fprintf(stderr,
                   "usage: secagg_bench [--quick] [--nodes N] [--length L] [--rows R] "
                   "[--repeat K]\n");
      return 2;
    }
  }
  if (nodes < 2 || length < 1 || rows < 1 || repeat < 1) {
    std::fprintf(stderr, "secagg_bench: nodes >= 2, length, rows and repeat >= 1\n");
    return 2;
  }
  MaskingBench(nodes, length, repeat);
  GlmBench(rows, repeat);
  return 0;
}
