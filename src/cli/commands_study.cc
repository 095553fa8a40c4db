// passerelle study submit | status | wait | result | list: the researcher's side of the hub API.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cohort/study_file.h"
#include "common/files.h"
#include "crypto/tls.h"
#include "net/client.h"
#include "protocol/codec.h"
#include "sandbox/report.h"

namespace passerelle::cli {
namespace {

using nlohmann::json;

struct StudyArgs {
  std::string hub, token, ca;
  std::string file, id;
  std::string format = "json";
  double timeout_s = 3600;
  bool wait = false;
};

struct Session {
  std::unique_ptr<net::HttpsClient> client;
  net::Headers auth;
};

Result<Session> Connect(const StudyArgs& a) {
  if (a.hub.empty()) return Status::InvalidArgument("--hub URL (or PASSERELLE_HUB) is required");
  if (a.token.empty()) {
    return Status::Unauthenticated("--token (or PASSERELLE_TOKEN) is required");
  }
  if (a.ca.empty()) {
    return Status::InvalidArgument(
        "--ca FILE (or PASSERELLE_CA): the federation CA certificate, to verify the hub");
  }
  ASSIGN_OR_RETURN(crypto::TlsMaterial m, crypto::LoadTlsMaterial(a.ca, "", ""));
  ASSIGN_OR_RETURN(auto tls, crypto::TlsContext::Client(m));
  Session s;
  ASSIGN_OR_RETURN(s.client, net::HttpsClient::Create({.base_url = a.hub}, tls));
  s.auth = {{"Authorization", "Bearer " + a.token}};
  return s;
}

Status CheckId(const std::string& id) {
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return Status::InvalidArgument(fmt::format("\"{}\" is not a study id", id));
    }
  }
  return id.empty() ? Status::InvalidArgument("a study id is required") : Status::Ok();
}

// Waits until the study finishes; its final status.
Result<json> WaitFor(Session& s, const std::string& id, double timeout_s, const CliContext& ctx) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  int64_t last_round = -1;
  for (;;) {
    double left =
        std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      return Status::DeadlineExceeded(
          fmt::format("study {} still running after {} s", id, timeout_s));
    }
    double wait = std::min(left, 20.0);
    ASSIGN_OR_RETURN(
        std::string body,
        s.client->Call("GET", fmt::format("/v1/studies/{}?wait={:.3f}", id, wait), {}, s.auth,
                       std::chrono::milliseconds(static_cast<int64_t>(wait * 1000) + 10'000)));
    json st = json::parse(body, nullptr, false);
    if (!st.is_object()) return Status::Internal("the hub sent a malformed status");
    int64_t round = st.value("round", int64_t{0});
    if (round != last_round) {
      Progress(ctx, fmt::format("study {}: {} (round {})", id, st.value("state", "?"), round));
      last_round = round;
    }
    if (st.value("state", "") != "running") return st;
  }
}

Status PrintResult(Session& s, const std::string& id, const std::string& format) {
  ASSIGN_OR_RETURN(std::string body,
                   s.client->Call("GET", "/v1/studies/" + id + "/result", {}, s.auth));
  json result = json::parse(body, nullptr, false);
  if (format == "csv") {
    std::printf("%s", sandbox::ResultToCsv(result).c_str());
  } else if (format == "text") {
    std::printf("%s", sandbox::ResultToText(result).c_str());
  } else {
    std::printf("%s\n", result.dump(2).c_str());
  }
  return Status::Ok();
}

Status RunSubmit(const StudyArgs& a, const CliContext& ctx) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(a.file));
  auto study = protocol::ParseJson(text);
  if (!study.ok()) return study.status().WithContext(a.file);
  ASSIGN_OR_RETURN(*study,
                   cohort::ResolveStudyCohort(std::move(*study),
                                              std::filesystem::path(a.file).parent_path(), a.file));
  ASSIGN_OR_RETURN(Session s, Connect(a));
  auto body = s.client->Call("POST", "/v1/studies", study->dump(), s.auth);
  if (!body.ok()) return body.status().WithContext(a.file);
  std::string id = json::parse(*body).value("id", "");
  std::printf("%s\n", id.c_str());
  if (!a.wait) return Status::Ok();
  ASSIGN_OR_RETURN(json st, WaitFor(s, id, a.timeout_s, ctx));
  if (st.value("state", "") == "failed") {
    return Status::FailedPrecondition(
        fmt::format("study {} failed: {}", id, st.value("error", "")));
  }
  return PrintResult(s, id, a.format);
}

}  // namespace

void RegisterStudyCommands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<StudyArgs>();
  CLI::App* study = app.add_subcommand("study", "Submit studies to a hub and read their results");
  study->require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("--hub", args->hub, "Hub URL, https://host:port")->envname("PASSERELLE_HUB");
    c->add_option("--token", args->token, "Bearer token")->envname("PASSERELLE_TOKEN");
    c->add_option("--ca", args->ca, "Federation CA certificate (verifies the hub)")
        ->envname("PASSERELLE_CA");
  };
  auto format = [&](CLI::App* c) {
    c->add_option("--format", args->format, "json, csv or text")
        ->check(CLI::IsMember({"json", "csv", "text"}))
        ->capture_default_str();
  };

  CLI::App* submit = study->add_subcommand("submit", "Submit a study file; prints its id");
  common(submit);
  submit->add_option("file", args->file, "Study file (JSON)")->required();
  submit->add_flag("--wait", args->wait, "Wait for the result and print it");
  submit->add_option("--timeout", args->timeout_s, "With --wait: seconds")->capture_default_str();
  format(submit);
  submit->callback([args, &ctx] { ctx.status = RunSubmit(*args, ctx); });

  CLI::App* status = study->add_subcommand("status", "Print a study's status (JSON)");
  common(status);
  status->add_option("id", args->id, "Study id")->required();
  status->callback([args, &ctx] {
    ctx.status = [&]() -> Status {
      RETURN_IF_ERROR(CheckId(args->id));
      ASSIGN_OR_RETURN(Session s, Connect(*args));
      ASSIGN_OR_RETURN(std::string body,
                       s.client->Call("GET", "/v1/studies/" + args->id, {}, s.auth));
      std::printf("%s\n", json::parse(body).dump(2).c_str());
      return Status::Ok();
    }();
  });

  CLI::App* wait = study->add_subcommand("wait", "Wait until a study finishes");
  common(wait);
  wait->add_option("id", args->id, "Study id")->required();
  wait->add_option("--timeout", args->timeout_s, "Seconds")->capture_default_str();
  wait->callback([args, &ctx] {
    ctx.status = [&]() -> Status {
      RETURN_IF_ERROR(CheckId(args->id));
      ASSIGN_OR_RETURN(Session s, Connect(*args));
      ASSIGN_OR_RETURN(json st, WaitFor(s, args->id, args->timeout_s, ctx));
      std::printf("%s\n", st.dump(2).c_str());
      if (st.value("state", "") == "failed") {
        return Status::FailedPrecondition(
            fmt::format("study {} failed: {}", args->id, st.value("error", "")));
      }
      return Status::Ok();
    }();
  });

  CLI::App* result = study->add_subcommand("result", "Print a completed study's result");
  common(result);
  result->add_option("id", args->id, "Study id")->required();
  format(result);
  result->callback([args, &ctx] {
    ctx.status = [&]() -> Status {
      RETURN_IF_ERROR(CheckId(args->id));
      ASSIGN_OR_RETURN(Session s, Connect(*args));
      return PrintResult(s, args->id, args->format);
    }();
  });

  CLI::App* list = study->add_subcommand("list", "List the hub's studies");
  common(list);
  list->callback([args, &ctx] {
    ctx.status = [&]() -> Status {
      ASSIGN_OR_RETURN(Session s, Connect(*args));
      ASSIGN_OR_RETURN(std::string body, s.client->Call("GET", "/v1/studies", {}, s.auth));
      std::printf("%s\n", json::parse(body).dump(2).c_str());
      return Status::Ok();
    }();
  });
}

}  // namespace passerelle::cli
