// passerelle catalog publish|search|show
//
// The hub's catalog of datasets in the hub's governance state file (see commands_user.cc for
// --state, --audit-key and --token). `publish` applies the node's disclosure rules to the counts
// before they leave the description file.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/governance_cli.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/random.h"
#include "common/strings.h"
#include "governance/api_json.h"
#include "governance/catalog.h"
#include "governance/local.h"

namespace passerelle::cli {
namespace {

namespace gov = passerelle::governance;

struct CatalogArgs : HubArgs {
  std::string file, text, dataset, jurisdiction;
  std::vector<std::string> variables, concepts;
  int64_t min_cell = 10;
  int64_t round_to = 10;
  int limit = 50;
};

}  // namespace

void RegisterCatalogCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* catalog = app.add_subcommand("catalog", "The hub's catalog of datasets");
  catalog->require_subcommand(1);

  auto publish = std::make_shared<CatalogArgs>();
  CLI::App* c = catalog->add_subcommand(
      "publish", "Publish a dataset description (JSON; see docs/governance.md, \"Catalog\")");
  c->add_option("file", publish->file, "The description file")->required();
  c->add_option("--min-cell", publish->min_cell, "Counts below this are published as suppressed")
      ->capture_default_str();
  c->add_option("--round-to", publish->round_to, "Counts are rounded to a multiple of this")
      ->capture_default_str();
  AddHubArgs(c, *publish);
  OnRun(c, ctx, publish, [](const CatalogArgs& a, CliContext& cx) -> Status {
    if (a.min_cell < 1 || a.round_to < 1) {
      return Status::InvalidArgument("--min-cell and --round-to must be at least 1");
    }
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(a.file));
    auto d = gov::ParseDatasetDescription(text);
    if (!d.ok()) return d.status().WithContext(a.file);
    gov::ProtectCounts(*d, {.min_cell = a.min_cell, .round_to = a.round_to});
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::DatasetDescription stored,
                     hub.service->PublishDataset(hub.principal, *d));
    Progress(cx, fmt::format("{} published (version {})", stored.Ref(), stored.version));
    return Status::Ok();
  });

  auto search = std::make_shared<CatalogArgs>();
  c = catalog->add_subcommand("search", "Find datasets by words, variables and concepts");
  c->add_option("text", search->text, "Words, all of which must match (prefixes match)");
  c->add_option("--variable", search->variables, "A variable the dataset has (repeatable)");
  c->add_option("--concept", search->concepts, "A concept code, e.g. ICD10:E11 (repeatable)");
  c->add_option("--jurisdiction", search->jurisdiction, "FR or QC");
  c->add_option("--limit", search->limit, "At most this many")->capture_default_str();
  AddHubArgs(c, *search, true);
  AddHubHttpArgs(c, *search);
  OnRun(c, ctx, search, [](const CatalogArgs& a, CliContext& cx) -> Status {
    if (!a.url.empty()) {
      std::string target = "/v1/catalog?q=" + net::UrlEncode(a.text);
      if (!a.variables.empty()) target += "&variable=" + net::UrlEncode(Join(a.variables, ","));
      if (!a.concepts.empty()) target += "&concept=" + net::UrlEncode(Join(a.concepts, ","));
      if (!a.jurisdiction.empty()) target += "&jurisdiction=" + net::UrlEncode(a.jurisdiction);
      target += fmt::format("&limit={}", a.limit);
      ASSIGN_OR_RETURN(std::string body, HubHttp(a, "GET", target));
      if (a.json) {
        Out(body);
        return Status::Ok();
      }
      auto hits = nlohmann::json::parse(body, nullptr, false);
      if (!hits.is_array()) return Status::Internal("the hub sent a malformed catalog answer");
      for (const auto& h : hits) {
        auto text = [&](const char* k, const char* dflt) {
          return h.contains(k) && h[k].is_string() ? h[k].get<std::string>() : std::string(dflt);
        };
        Out(fmt::format("{}/{}\t{}\t{}", text("node", ""), text("name", ""),
                        text("jurisdiction", "?"), text("title", "")));
      }
      Progress(cx, fmt::format("{} dataset(s) from {}", hits.size(), a.url));
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    gov::CatalogQuery q;
    q.text = a.text;
    q.variables = a.variables;
    q.concepts = a.concepts;
    q.limit = a.limit;
    if (!a.jurisdiction.empty()) {
      ASSIGN_OR_RETURN(gov::Jurisdiction j, gov::ParseJurisdiction(a.jurisdiction));
      q.jurisdiction = j;
    }
    ASSIGN_OR_RETURN(auto hits, hub.service->SearchCatalog(hub.principal, q));
    if (a.json) {
      Out(gov::ToJsonArray(hits));
      return Status::Ok();
    }
    for (const auto& h : hits) {
      Out(fmt::format("{}/{}\t{}\t{}", h.node, h.name,
                      h.jurisdiction ? gov::JurisdictionName(*h.jurisdiction) : "?", h.title));
    }
    Progress(cx, fmt::format("{} dataset(s){}", hits.size(),
                             hub.service->catalog_uses_fts5() ? "" : " (LIKE search: no FTS5)"));
    return Status::Ok();
  });

  auto show = std::make_shared<CatalogArgs>();
  c = catalog->add_subcommand("show", "A dataset's description (JSON)");
  c->add_option("dataset", show->dataset, "node/name")->required();
  AddHubArgs(c, *show);
  AddHubHttpArgs(c, *show);
  OnRun(c, ctx, show, [](const CatalogArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::DatasetRef ref, gov::DatasetRef::Parse(a.dataset));
    if (!a.url.empty()) {
      ASSIGN_OR_RETURN(std::string body,
                       HubHttp(a, "GET",
                               fmt::format("/v1/catalog/{}/{}", net::UrlEncode(ref.node),
                                           net::UrlEncode(ref.name))));
      Out(body);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::DatasetDescription d,
                     hub.service->GetDataset(hub.principal, ref.node, ref.name));
    Out(gov::DatasetDescriptionToJson(d));
    return Status::Ok();
  });
}

}  // namespace passerelle::cli
