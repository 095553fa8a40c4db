// Helpers of glm_bench and cox_bench for their "through the real protocol" part: each node's
// synthetic table written to its own DuckDB file, a LocalFederation (TLS 1.3 hub and node agents
// in this process, as `passerelle sandbox` runs them) timed from study submission to result, and
// a node-only memory probe that runs the node's code path (SqlTable over the DuckDB file, the
// registered analysis's rounds) in a child process.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "bench/bench_util.h"
#include "node/sql_table.h"
#include "sandbox/sandbox.h"
#include "stats/data_frame.h"
#include "store/data_source.h"
#include "store/duckdb_source.h"

namespace passerelle::bench {

inline void CheckOk(const Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

// Writes `frame` (numeric columns) as table "d" of a new DuckDB file.
inline void WriteDuckDb(const stats::DataFrame& frame, const std::filesystem::path& path) {
  auto db = store::OpenDuckDb({.path = path.string()});
  CheckOk(db.status(), "open duckdb");
  std::string ddl = "CREATE TABLE d (";
  for (size_t c = 0; c < frame.columns().size(); ++c) {
    ddl += (c ? ", \"" : "\"") + frame.columns()[c].name + "\" DOUBLE";
  }
  CheckOk((*db)->Execute(ddl + ")"), "create table");
  auto app = (*db)->OpenAppender("d");
  CheckOk(app.status(), "appender");
  const size_t block = 1 << 16;
  for (size_t start = 0; start < frame.rows(); start += block) {
    const size_t n = std::min(block, frame.rows() - start);
    store::Chunk chunk;
    for (const auto& col : frame.columns()) {
      store::ColumnVector v(store::ColumnType::kDouble);
      v.Reserve(n);
      for (size_t i = 0; i < n; ++i) v.AppendDouble(col.numbers[start + i]);
      chunk.columns.push_back(std::move(v));
    }
    CheckOk((*app)->AppendChunk(chunk), "append");
  }
  CheckOk((*app)->Close(), "close appender");
}

struct ProtocolRun {
  double start_s = 0;   // PKI, hub, node agents up
  double result_s = 0;  // study submitted -> result at the researcher
  int rounds = 0;
  nlohmann::json result;  // the analysis's result
};

// One study with one analysis on a fresh federation of one node per DuckDB file.
inline ProtocolRun RunThroughProtocol(const std::vector<std::filesystem::path>& dbs,
                                      const nlohmann::json& analysis) {
  ProtocolRun run;
  std::vector<sandbox::SandboxNode> nodes;
  for (size_t i = 0; i < dbs.size(); ++i) {
    nodes.push_back({"site" + std::to_string(i + 1), dbs[i], nullptr});
  }
  sandbox::FederationOptions options;
  options.task_timeout = std::chrono::minutes(10);
  const double t0 = NowSeconds();
  auto fed = sandbox::LocalFederation::Start(options, nodes);
  CheckOk(fed.status(), "federation");
  run.start_s = NowSeconds() - t0;
  nlohmann::json study = {
      {"name", "bench"}, {"dataset", "d"}, {"analyses", nlohmann::json::array({analysis})}};
  const double t1 = NowSeconds();
  auto id = (*fed)->Submit(study);
  CheckOk(id.status(), "submit");
  auto result = (*fed)->Wait(*id, std::chrono::minutes(30));
  CheckOk(result.status(), "study");
  run.result_s = NowSeconds() - t1;
  run.result = (*result)["analyses"][analysis["id"].get<std::string>()];
  run.rounds = result->value("rounds", 0);
  (*fed)->Stop();
  return run;
}

// In a child process: the node's code path alone on one DuckDB file (SqlTable, the registered
// analysis's rounds; the hub's combine in the same process is negligible). Prints the peak
// resident memory above the process's start against `design_bytes`.
inline void NodeMemoryProbeThroughAnalysis(const std::filesystem::path& db_path,
                                           const nlohmann::json& analysis, double design_bytes) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid != 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return;
  }
  const long base = CurrentKb();
  ResetPeak();
  long peak = 0;
  {
    auto db = store::OpenDuckDb({.path = db_path.string(), .read_only = true});
    CheckOk(db.status(), "open duckdb");
    auto table = node::SqlTable::Open(**db, "d");
    CheckOk(table.status(), "table");
    const analysis::Registry& reg = analysis::BuiltinRegistry();
    auto spec = reg.ParseSpec(analysis, "bench");
    CheckOk(spec.status(), "spec");
    const analysis::Analysis* a = reg.Find((*spec)->type);
    nlohmann::json state;
    auto input = a->Begin(**spec, state);
    CheckOk(input.status(), "begin");
    analysis::RoundInput in = *input;
    std::string timings;
    for (int round = 0;; ++round) {
      const double t0 = NowSeconds();
      auto share = analysis::ComputeShare(*a, **table, **spec, round, in, {});
      CheckOk(share.status(), "local step");
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%s%.3f", timings.empty() ? "" : " ", NowSeconds() - t0);
      timings += buf;
      auto out = a->Combine(**spec, round, in, share->values, {share->meta}, state);
      CheckOk(out.status(), "combine");
      if (!out->next) break;
      in = *out->next;
    }
    std::printf("node code path alone, seconds per round (schema, fit rounds): %s\n",
                timings.c_str());
    peak = PeakKb();
    {
      // After the peak is taken: the store's share of the first fit round: reading the columns
      // (complete cases).
      auto vars = (*table)->Variables();
      CheckOk(vars.status(), "variables");
      std::vector<std::string> names;
      for (const auto& v : *vars) names.push_back(v.name);
      const double t0 = NowSeconds();
      auto cols = (*table)->ReadColumns(names, {.complete_cases = true});
      CheckOk(cols.status(), "read");
      std::printf("node reads its %zu columns from DuckDB in %.3f s\n", names.size(),
                  NowSeconds() - t0);
    }
  }
  const double mb = design_bytes / (1 << 20);
  std::printf(
      "node memory through the node's code path (DuckDB file -> SqlTable -> analysis rounds): "
      "design matrix %.1f MB; peak RSS above the process start %.1f MB = %.2fx (issue: <= 3x)\n",
      mb, (peak - base) / 1024.0, (peak - base) / 1024.0 / mb);
  std::fflush(stdout);
  _exit(0);
}

}  // namespace passerelle::bench
