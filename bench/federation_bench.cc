// federation_bench: the protocol's own cost.
//
// 1. Baseline: a plain HTTPS request round trip on loopback (TLS 1.3, kept-alive connection, the
//    same Beast/Asio stack), median of many.
// 2. Rounds: a study of R rounds of a trivial analysis ("bench_rounds", registered here the way
//    any analysis plugs into the registry) on 2 and on 10 nodes in one process over loopback TLS.
//    Per round, the hub records dispatch (tasks created) to combined result; we report the median
//    and p90, rounds per second, and the ratio to the baseline and to DataSHIELD/Opal's 170-360 ms
//    per call (its own CI profiles).
// 3. Long polls: 200 simulated nodes (coroutines on one thread, each with its own certificate and
//    TLS connection) long-poll a real hub process; studies on all 200 nodes measure task dispatch
//    (submit -> each node holds its task), p50/p99, and the hub's resident memory (VmHWM). Targets:
//    p99 < 50 ms, RSS < 200 MB. Wall time depends on the machine's load, so the bench also
//    reports the hub's own CPU time (from /proc/PID/task/*/schedstat, nanoseconds): per study, and
//    within the dispatch window (submit -> the last node holds its task) per dispatched task; and
//    the simulator's CPU in that window (when it is near the window's length, the simulator, not
//    the hub, is what the latency measures). The load average is printed beside the figures.
//
// Usage: federation_bench [--quick] [--only=baseline,rounds,polls] [--pollers=N] [--studies=N]
//                         [--rounds=N] [--perf-hub=FILE]
//   --perf-hub=FILE records the hub process with `perf record --call-graph dwarf` during the
//   measured long-poll studies (for profiling; perf must be installed).
// GCC 12 needs <utility> before Asio's awaitable.hpp (see ARCHITECTURE.md).
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/builtin.h"
#include "bench_util.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/random.h"
#include "crypto/pki.h"
#include "crypto/tls.h"
#include "governance/demo.h"
#include "governance/governance.h"
#include "net/client.h"
#include "net/server.h"
#include "node/executor.h"
#include "protocol/messages.h"
#include "sandbox/sandbox.h"

extern char** environ;

namespace passerelle {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A trivial analysis of `rounds` rounds: each node sends [1], the hub asks again until the last
// round. It exists only in this benchmark's registry.
class BenchRoundsSpec final : public analysis::AnalysisSpec {
 public:
  int rounds = 1;
  json ToJson() const override { return {{"id", id}, {"type", type}, {"rounds", rounds}}; }
};

class BenchRounds final : public analysis::Analysis {
 public:
  std::string_view type() const override { return "bench_rounds"; }
  std::string_view description() const override { return "benchmark: N trivial rounds"; }
  Result<std::unique_ptr<analysis::AnalysisSpec>> ParseSpec(const json& j,
                                                            std::string_view path) const override {
    auto s = std::make_unique<BenchRoundsSpec>();
    RETURN_IF_ERROR(analysis::ParseCommonFields(j, path, {"id", "type", "rounds"}, *s));
    s->rounds = j.value("rounds", 1);
    return std::unique_ptr<analysis::AnalysisSpec>(std::move(s));
  }
  Result<size_t> ShareLength(const analysis::AnalysisSpec&, int,
                             const analysis::RoundInput&) const override {
    return size_t{1};
  }
  Result<analysis::NodeShare> LocalStep(analysis::AnalysisTable&, const analysis::AnalysisSpec&,
                                        int, const analysis::RoundInput&,
                                        const analysis::Thresholds&) const override {
    analysis::NodeShare s;
    s.values = {1.0};
    return s;
  }
  Status Disclose(const analysis::AnalysisSpec&, int, const analysis::RoundInput&,
                  const analysis::Thresholds&, analysis::NodeShare&) const override {
    return Status::Ok();
  }
  Result<analysis::CombineOutcome> Combine(const analysis::AnalysisSpec& spec, int round,
                                           const analysis::RoundInput&,
                                           const std::vector<double>& sum, const std::vector<json>&,
                                           json&) const override {
    analysis::CombineOutcome out;
    if (round + 1 < static_cast<const BenchRoundsSpec&>(spec).rounds) {
      out.next = analysis::RoundInput{};
    } else {
      out.result = {{"rounds", round + 1}, {"nodes", sum[0]}};
    }
    return out;
  }
};

analysis::MemoryTable TinyTable() {
  analysis::MemoryTable t;
  analysis::MemoryTable::NumericColumn x;
  for (int i = 0; i < 100; ++i) x.push_back(i);
  t.AddNumeric("x", x);
  return t;
}

// 1. Plain HTTPS round trip on loopback.
double BaselineMedianMs(int n) {
  auto ca = crypto::CreateCa({});
  auto hub = crypto::IssueCertificate(*ca, crypto::CertRole::kHub, "localhost", {});
  auto stls = crypto::TlsContext::Server({ca->cert_pem, hub->cert_pem, hub->key_pem},
                                         crypto::ClientCertMode::kOptional);
  auto server = net::HttpsServer::Create({}, *stls, [](net::HttpRequest&&, net::Responder r) {
    r.Send(net::HttpResponse::Json(200, "{\"status\":\"ok\"}"));
  });
  (*server)->Start();
  auto ctls = crypto::TlsContext::Client({ca->cert_pem, "", ""});
  auto client = net::HttpsClient::Create(
      {.base_url = "https://127.0.0.1:" + std::to_string((*server)->port())}, *ctls);
  std::vector<double> t;
  for (int i = 0; i < n + 20; ++i) {
    auto start = Clock::now();
    auto r = (*client)->Send("GET", "/v1/health");
    if (!r.ok()) {
      std::fprintf(stderr, "baseline request failed: %s\n", r.status().message().c_str());
      break;
    }
    if (i >= 20) t.push_back(Ms(Clock::now() - start));  // skip the handshake and warm-up
  }
  (*server)->Stop();
  return Percentile(t, 0.5);
}

struct RoundStats {
  double median_ms = 0, p90_ms = 0, rounds_per_s = 0;
  double cpu_ms_per_round = 0;  // this process (hub and nodes), all threads
};

// CPU time (user + system) of this process, all threads, in milliseconds.
double SelfCpuMs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

// 2. R rounds on `nodes` in-process nodes.
Result<RoundStats> MeasureRounds(int nodes, int rounds, const analysis::Registry& registry) {
  auto provider = std::make_shared<node::MemoryDataProvider>();
  provider->Add("t", TinyTable());
  std::vector<sandbox::SandboxNode> list;
  for (int i = 0; i < nodes; ++i) list.push_back({"n" + std::to_string(i), {}, provider});
  sandbox::FederationOptions opts;
  opts.policy.analyses.push_back("bench_rounds");
  ASSIGN_OR_RETURN(auto fed, sandbox::LocalFederation::Start(opts, list, registry));
  json study = {{"name", "bench"},
                {"dataset", "t"},
                {"analyses", {{{"id", "r"}, {"type", "bench_rounds"}, {"rounds", rounds}}}}};
  // Warm-up: connections established, caches filled.
  json warm = study;
  warm["analyses"][0]["rounds"] = 5;
  ASSIGN_OR_RETURN(std::string wid, fed->Submit(warm));
  RETURN_IF_ERROR(fed->Wait(wid, std::chrono::seconds(60)).status());
  auto start = Clock::now();
  const double cpu0 = SelfCpuMs();
  ASSIGN_OR_RETURN(std::string id, fed->Submit(study));
  ASSIGN_OR_RETURN(json result, fed->Wait(id, std::chrono::seconds(600)));
  double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_ms = SelfCpuMs() - cpu0;
  ASSIGN_OR_RETURN(json status, fed->StudyStatus(id));
  fed->Stop();
  if (result["analyses"]["r"]["rounds"] != rounds || result["analyses"]["r"]["nodes"] != nodes) {
    return Status::Internal("bench_rounds returned a wrong result: " + result.dump());
  }
  std::vector<double> lat;
  for (const auto& r : status["rounds"]) lat.push_back(r["latency_ms"].get<double>());
  return RoundStats{Percentile(lat, 0.5), Percentile(lat, 0.9), rounds / total_s, cpu_ms / rounds};
}

// 3. Many long-polling nodes against a hub process.
struct PollStats {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double hub_cpu_ms_per_study = 0;
  // Within the dispatch windows: hub CPU per dispatched task, the windows' wall time and the
  // simulator thread's CPU, summed over studies.
  double hub_cpu_ms_per_dispatch = 0, window_ms = 0, hub_window_cpu_ms = 0, sim_window_cpu_ms = 0;
  int64_t rss_kb = 0, hwm_kb = 0;
  size_t samples = 0;
};

int64_t ProcStatusKb(pid_t pid, const char* key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::strlen(key) + 1));
  }
  return -1;
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// CPU time a task (thread) has spent running, in milliseconds, from its schedstat (nanoseconds;
// /proc/PID/stat's ticks are 10 ms, too coarse for one dispatch).
double TaskCpuMs(const std::string& task_dir) {
  std::ifstream f(task_dir + "/schedstat");
  double ns = 0;
  f >> ns;
  return ns / 1e6;
}

// CPU time of every thread of a process, in milliseconds.
double ProcCpuMs(pid_t pid) {
  double total = 0;
  std::error_code ec;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    total += TaskCpuMs(t.path().string());
  }
  return total;
}

// CPU time of the calling thread, in milliseconds.
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  f >> a >> b >> c;
  return fmt::format("load {:.2f} {:.2f} {:.2f} on {} CPUs", a, b, c,
                     std::thread::hardware_concurrency());
}

// A node that long-polls and answers every task at once with a count share.
asio::awaitable<void> SimulatedNode(asio::io_context& ioc, asio::ssl::context& ctx, uint16_t port,
                                    std::string name, std::atomic<bool>& stop,
                                    std::function<void(Clock::time_point)> on_task) {
  using asio::redirect_error;
  using asio::use_awaitable;
  while (!stop) {
    beast::error_code ec;
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    co_await beast::get_lowest_layer(stream).async_connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
        redirect_error(use_awaitable, ec));
    if (!ec) {
      beast::get_lowest_layer(stream).socket().set_option(asio::ip::tcp::no_delay(true), ec);
      co_await stream.async_handshake(asio::ssl::stream_base::client,
                                      redirect_error(use_awaitable, ec));
    }
    beast::flat_buffer buffer;
    while (!ec && !stop) {
      http::request<http::string_body> poll{http::verb::get, "/v1/tasks/next?wait=20", 11};
      poll.set(http::field::host, "localhost");
      co_await http::async_write(stream, poll, redirect_error(use_awaitable, ec));
      http::response<http::string_body> res;
      if (!ec) co_await http::async_read(stream, buffer, res, redirect_error(use_awaitable, ec));
      if (ec || res.result_int() != 200) continue;
      on_task(Clock::now());
      auto task = protocol::Task::FromJson(json::parse(res.body()));
      if (!task.ok()) break;
      protocol::TaskResult r;
      r.task_id = task->task_id;
      r.study_id = task->study_id;
      r.round = task->round;
      r.node = name;
      r.applied = {10, 10};
      for (const auto& st : task->steps) r.shares.push_back({st.analysis_id, st.round, {100, 0}});
      http::request<http::string_body> post{http::verb::post,
                                            "/v1/tasks/" + task->task_id + "/result", 11};
      post.set(http::field::host, "localhost");
      post.set("Idempotency-Key", task->task_id);
      post.set(http::field::content_type, "application/json");
      post.body() = r.ToJson().dump();
      post.prepare_payload();
      co_await http::async_write(stream, post, redirect_error(use_awaitable, ec));
      http::response<http::string_body> ack;
      if (!ec) co_await http::async_read(stream, buffer, ack, redirect_error(use_awaitable, ec));
    }
    if (!stop) {
      asio::steady_timer t(ioc, std::chrono::milliseconds(100));
      co_await t.async_wait(redirect_error(use_awaitable, ec));
    }
  }
}

// Starts `perf record --call-graph dwarf` on `pid` writing `file`; returns perf's pid (-1 when it
// cannot start).
pid_t StartPerf(pid_t pid, const std::string& file) {
  std::string p = std::to_string(pid);
  std::vector<std::string> args = {"perf", "record", "--call-graph", "dwarf,16384", "-F", "1000",
                                   "-p",   p,        "-o",           file};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t perf_pid = -1;
  if (posix_spawnp(&perf_pid, "perf", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // perf attaches
  return perf_pid;
}

Result<PollStats> MeasureLongPolls(int n_nodes, int studies, const std::string& perf_file) {
  ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("passerelle-bench"));
  ASSIGN_OR_RETURN(auto ca, crypto::CreateCa({}));
  ASSIGN_OR_RETURN(auto hub_cert,
                   crypto::IssueCertificate(ca, crypto::CertRole::kHub, "localhost", {}));
  RETURN_IF_ERROR(WriteFileAtomic(dir.path() / "ca.crt", ca.cert_pem));
  RETURN_IF_ERROR(WriteFileAtomic(dir.path() / "hub.crt", hub_cert.cert_pem));
  RETURN_IF_ERROR(WriteFileAtomic(dir.path() / "hub.key", hub_cert.key_pem));
  std::vector<std::string> names;
  std::vector<crypto::KeyAndCert> certs;
  for (int i = 0; i < n_nodes; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "n%03d", i);
    names.push_back(name);
    ASSIGN_OR_RETURN(auto c, crypto::IssueCertificate(ca, crypto::CertRole::kNode, name, {}));
    certs.push_back(std::move(c));
  }
  // The hub's governance: the simulated nodes registered, an active project, alice's token.
  std::string token;
  {
    namespace gov = passerelle::governance;
    RETURN_IF_ERROR(gov::WriteAuditKeyFiles(gov::AuditKey::Generate(SystemRandom::Default()),
                                            dir.path() / "hub-audit.key"));
    gov::GovernanceOptions go;
    go.path = dir.path() / "hub-governance.sqlite";
    ASSIGN_OR_RETURN(gov::AuditKey key, gov::ReadAuditKeyFile(dir.path() / "hub-audit.key"));
    ASSIGN_OR_RETURN(auto service,
                     gov::GovernanceService::Open(go, std::move(key), SystemClock::Default(),
                                                  SystemRandom::Default()));
    std::vector<gov::DemoNode> demo;
    for (const auto& n : names) demo.push_back({n, gov::Jurisdiction::kFR, {"t"}});
    ASSIGN_OR_RETURN(auto g,
                     gov::SetUpDemoGovernance(*service, demo, SystemClock::Default().TodayDays()));
    token = g.tokens.at("alice");
  }
  {
    std::ofstream f(dir.path() / "hub.toml");
    f << "[hub]\nlisten = \"127.0.0.1:0\"\nstate = \"hub.sqlite\"\nport_file = \"hub.port\"\n"
      << "task_timeout_seconds = 120\nnodes = [";
    for (size_t i = 0; i < names.size(); ++i) f << (i ? ", " : "") << '"' << names[i] << '"';
    f << "]\n[tls]\nca = \"ca.crt\"\ncert = \"hub.crt\"\nkey = \"hub.key\"\n"
      << "[governance]\nstate = \"hub-governance.sqlite\"\naudit_key = \"hub-audit.key\"\n";
  }
  std::string binary = PASSERELLE_BINARY;
  std::string config = (dir.path() / "hub.toml").string();
  std::string log_path = (dir.path() / "hub.log").string();
  std::vector<char*> argv = {binary.data(),
                             const_cast<char*>("--log-level"),
                             const_cast<char*>("warn"),
                             const_cast<char*>("hub"),
                             const_cast<char*>("--config"),
                             config.data(),
                             nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT, 0644);
  pid_t hub_pid = -1;
  if (posix_spawn(&hub_pid, binary.c_str(), &fa, nullptr, argv.data(), environ) != 0) {
    return Status::Internal("cannot start " + binary);
  }
  posix_spawn_file_actions_destroy(&fa);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGTERM);
      int st;
      waitpid(pid, &st, 0);
    }
  } reaper{hub_pid};
  auto port_file = dir.path() / "hub.port";
  for (int i = 0; i < 500 && !std::filesystem::exists(port_file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSIGN_OR_RETURN(std::string port, ReadFileToString(port_file));
  const std::string url = "https://127.0.0.1:" + port;

  // The simulated nodes: one coroutine each (its own certificate and TLS connection), all on one
  // thread, so that the simulator itself costs little next to the hub it measures.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Clock::time_point> recv_times;
  // The dispatch window of the current study ends when the last node holds its task.
  double window_end_hub_cpu = 0, window_end_sim_cpu = 0;
  Clock::time_point window_end;
  asio::io_context ioc{1};
  std::vector<std::unique_ptr<asio::ssl::context>> contexts;
  for (int i = 0; i < n_nodes; ++i) {
    auto tls = crypto::TlsContext::Client({ca.cert_pem, certs[i].cert_pem, certs[i].key_pem});
    if (!tls.ok()) return tls.status();
    contexts.push_back(std::make_unique<asio::ssl::context>(tls->NewReference()));
    asio::co_spawn(
        ioc,
        SimulatedNode(ioc, *contexts.back(), static_cast<uint16_t>(std::stoi(port)), names[i], stop,
                      [&](Clock::time_point t) {
                        std::lock_guard<std::mutex> lock(mu);
                        recv_times.push_back(t);
                        if (recv_times.size() == static_cast<size_t>(n_nodes)) {
                          window_end = t;
                          window_end_sim_cpu = ThreadCpuMs();
                          window_end_hub_cpu = ProcCpuMs(hub_pid);
                        }
                      }),
        asio::detached);
  }
  std::thread sim([&] { ioc.run(); });
  clockid_t sim_clock{};
  pthread_getcpuclockid(sim.native_handle(), &sim_clock);
  auto sim_cpu_ms = [&] {
    timespec ts{};
    clock_gettime(sim_clock, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  };
  auto ctls = crypto::TlsContext::Client({ca.cert_pem, "", ""});
  ASSIGN_OR_RETURN(auto researcher, net::HttpsClient::Create({.base_url = url}, *ctls));
  net::Headers auth = {{"Authorization", "Bearer " + token}};
  const json study = {{"name", "poll"},
                      {"dataset", "t"},
                      {"project", "demo-project"},
                      {"analyses", {{{"id", "n"}, {"type", "count"}}}}};
  PollStats stats;
  std::vector<double> dispatch;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  double cpu0 = 0;
  pid_t perf_pid = -1;
  for (int s = 0; s <= studies; ++s) {  // study 0 is the warm-up
    if (s == 1) {
      cpu0 = ProcCpuMs(hub_pid);
      if (!perf_file.empty()) perf_pid = StartPerf(hub_pid, perf_file);
    }
    double hub_cpu_start = 0, sim_cpu_start = 0;
    Clock::time_point t0;
    {
      std::lock_guard<std::mutex> lock(mu);
      recv_times.clear();
      hub_cpu_start = ProcCpuMs(hub_pid);
      sim_cpu_start = sim_cpu_ms();
      t0 = Clock::now();
    }
    ASSIGN_OR_RETURN(std::string body, researcher->Call("POST", "/v1/studies", study.dump(), auth));
    std::string id = json::parse(body)["id"];
    for (;;) {
      ASSIGN_OR_RETURN(std::string st,
                       researcher->Call("GET", "/v1/studies/" + id + "?wait=20", {}, auth));
      std::string state = json::parse(st)["state"];
      if (state == "failed") return Status::Internal("bench study failed: " + st);
      if (state == "completed") break;
    }
    if (s == 0) continue;
    std::lock_guard<std::mutex> lock(mu);
    if (recv_times.size() != static_cast<size_t>(n_nodes)) {
      return Status::Internal(fmt::format("study {}: {} of {} nodes received their task", id,
                                          recv_times.size(), n_nodes));
    }
    for (auto t : recv_times) dispatch.push_back(Ms(t - t0));
    stats.window_ms += Ms(window_end - t0);
    stats.hub_window_cpu_ms += window_end_hub_cpu - hub_cpu_start;
    stats.sim_window_cpu_ms += window_end_sim_cpu - sim_cpu_start;
  }
  stats.hub_cpu_ms_per_study = (ProcCpuMs(hub_pid) - cpu0) / studies;
  stats.hub_cpu_ms_per_dispatch = stats.hub_window_cpu_ms / (studies * n_nodes);
  stats.window_ms /= studies;
  stats.hub_window_cpu_ms /= studies;
  stats.sim_window_cpu_ms /= studies;
  if (perf_pid > 0) {
    ::kill(perf_pid, SIGINT);
    int st;
    waitpid(perf_pid, &st, 0);
  }
  stats.rss_kb = ProcStatusKb(hub_pid, "VmRSS:");
  stats.hwm_kb = ProcStatusKb(hub_pid, "VmHWM:");
  stop = true;
  ::kill(hub_pid, SIGTERM);
  sim.join();
  stats.samples = dispatch.size();
  stats.p50_ms = Percentile(dispatch, 0.5);
  stats.p99_ms = Percentile(dispatch, 0.99);
  stats.max_ms = Percentile(dispatch, 1.0);
  return stats;
}

int Main(int argc, char** argv) {
  const bool quick = std::find_if(argv + 1, argv + argc, [](const char* a) {
                       return std::string(a) == "--quick";
                     }) != argv + argc;
  log::Init({.level = log::Level::kWarn});
  const std::string only = bench::Flag(argc, argv, "only", "baseline,rounds,polls");
  auto want = [&](const char* part) { return only.find(part) != std::string::npos; };
  const int baseline_n = quick ? 200 : 1000;
  const int rounds = std::stoi(bench::Flag(argc, argv, "rounds", quick ? "50" : "200"));
  const int pollers = std::stoi(bench::Flag(argc, argv, "pollers", quick ? "50" : "200"));
  const int poll_studies = std::stoi(bench::Flag(argc, argv, "studies", quick ? "3" : "10"));
  const std::string perf_file = bench::Flag(argc, argv, "perf-hub", "");

  double base = 0;
  if (want("baseline") || want("rounds") || want("polls")) {
    base = BaselineMedianMs(baseline_n);
    std::printf(
        "baseline: plain HTTPS request round trip on loopback (TLS 1.3, keep-alive): "
        "median %.3f ms over %d requests [%s]\n",
        base, baseline_n, LoadAverage().c_str());
  }

  auto registry = analysis::MakeBuiltinRegistry();
  if (!registry->Register(std::make_unique<BenchRounds>()).ok()) return 1;
  bool ok = true;
  for (int nodes : {2, 10}) {
    if (!want("rounds")) break;
    auto s = MeasureRounds(nodes, rounds, *registry);
    if (!s.ok()) {
      std::fprintf(stderr, "rounds with %d nodes: %s\n", nodes, s.status().message().c_str());
      return 1;
    }
    std::printf(
        "rounds, %2d nodes: median %.2f ms (p90 %.2f ms) dispatch to combined result, %.0f "
        "rounds/s over %d rounds; CPU %.2f ms per round (hub and nodes, one process); %.1fx the "
        "baseline request; DataSHIELD/Opal 170-360 ms per call is %.0f-%.0fx slower; target < 5 "
        "ms: %s [%s]\n",
        nodes, s->median_ms, s->p90_ms, s->rounds_per_s, rounds, s->cpu_ms_per_round,
        s->median_ms / base, 170 / s->median_ms, 360 / s->median_ms,
        s->median_ms < 5 ? "met" : "NOT met", LoadAverage().c_str());
    ok &= s->median_ms < 5;
  }
  if (want("polls")) {
    auto p = MeasureLongPolls(pollers, poll_studies, perf_file);
    if (!p.ok()) {
      std::fprintf(stderr, "long polls: %s\n", p.status().message().c_str());
      return 1;
    }
    std::printf(
        "long polls, %d nodes on one hub process: task dispatch p50 %.1f ms, p99 %.1f ms, max "
        "%.1f ms (%zu dispatches over %d studies; target p99 < 50 ms: %s) [%s]\n"
        "  dispatch window (submit -> last node holds its task) %.1f ms: hub CPU %.1f ms "
        "(%.3f ms per dispatched task), simulator CPU %.1f ms\n"
        "  hub CPU %.1f ms per %d-node study (submit, dispatch, %d results, combine); hub RSS "
        "%.1f MB, peak %.1f MB (target < 200 MB: %s)\n",
        pollers, p->p50_ms, p->p99_ms, p->max_ms, p->samples, poll_studies,
        p->p99_ms < 50 ? "met" : "NOT met", LoadAverage().c_str(), p->window_ms,
        p->hub_window_cpu_ms, p->hub_cpu_ms_per_dispatch, p->sim_window_cpu_ms,
        p->hub_cpu_ms_per_study, pollers, pollers, p->rss_kb / 1024.0, p->hwm_kb / 1024.0,
        p->hwm_kb < 200 * 1024 ? "met" : "NOT met");
    ok &= p->p99_ms < 50 && p->hwm_kb < 200 * 1024;
    std::printf("p99 dispatch / baseline request: %.1fx\n", p->p99_ms / base);
  }
  std::printf("all targets met: %s\n", ok ? "yes" : "no");
  return 0;
}

}  // namespace
}  // namespace passerelle

int main(int argc, char** argv) { return passerelle::Main(argc, argv); }
