#include "hub/linkage.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <numeric>
#include <set>

#include "common/log.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/match.h"
#include "privacy/pprl/schema.h"
#include "protocol/messages.h"

namespace passerelle::hub {

using nlohmann::json;

namespace {

// Created idempotently: these tables are independent of the study engine's numbered migrations.
constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS linkages (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  definition   TEXT NOT NULL,          -- the linkage study file (schema, threshold, nodes)
  submitted_by TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
  error        TEXT,
  result       TEXT,                   -- the researcher's counts, when completed
  created_at   INTEGER NOT NULL,       -- microseconds since the epoch
  deadline     INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS linkage_members (
  linkage_id  TEXT NOT NULL REFERENCES linkages(id),
  node        TEXT NOT NULL,
  rank        INTEGER NOT NULL,        -- position in the request's nodes; 0 = leader
  state       TEXT NOT NULL CHECK (state IN
                ('invited', 'dispatched', 'keyed', 'uploaded', 'failed')),
  key_post    TEXT,                    -- KeyPost JSON: ephemeral X25519 public key, signed
  sealed      BLOB,                    -- the linkage secret sealed to this node by the leader
  clks        BLOB,                    -- the node's CLK set; erased once matched
  min_cell    INTEGER,
  records     INTEGER,
  matches     TEXT,                    -- NodeMatches JSON (row positions, cluster ids)
  PRIMARY KEY (linkage_id, node)
);
CREATE INDEX IF NOT EXISTS linkage_members_by_node ON linkage_members(node, state);
)sql";

std::string NewId(RandomSource& random, std::string_view prefix) {
  std::array<uint8_t, 6> b{};
  random.Fill(b);
  std::string id(prefix);
  for (uint8_t x : b) id += fmt::format("{:02x}", x);
  return id;
}

struct Member {
  std::string node;
  int rank = 0;
  std::string state;
  std::optional<protocol::KeyPost> key;
  std::optional<std::vector<uint8_t>> sealed;
  bool has_clks = false;
  int64_t min_cell = 0;
};

// Union-find over all records of all nodes.
struct DisjointSets {
  std::vector<uint32_t> parent;
  explicit DisjointSets(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0u); }
  uint32_t Find(uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void Union(uint32_t a, uint32_t b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

}  // namespace

struct LinkageService::Impl {
  SqliteDb& db;
  Clock& clock;
  RandomSource& random;
  LinkageOptions options;

  Impl(SqliteDb& d, Clock& c, RandomSource& r, LinkageOptions o)
      : db(d), clock(c), random(r), options(std::move(o)) {}

  Result<protocol::LinkageStudy> Load(const std::string& id, std::string* state) {
    ASSIGN_OR_RETURN(Statement q,
                     db.Prepare("SELECT definition, state FROM linkages WHERE id = ?"));
    q.Bind(1, id);
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) return Status::NotFound(fmt::format("no linkage \"{}\" at this hub", id));
    json def = json::parse(q.ColumnText(0), nullptr, false);
    if (state) *state = q.ColumnText(1);
    auto study = protocol::LinkageStudy::FromJson(def);
    if (!study.ok()) {
      return Status::DataLoss(
          fmt::format("hub state: linkage {}: {}", id, study.status().message()));
    }
    return study;
  }

  Result<std::vector<Member>> Members(const std::string& id) {
    ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT node, rank, state, key_post, sealed, "
                                             "clks IS NOT NULL, min_cell FROM linkage_members "
                                             "WHERE linkage_id = ? ORDER BY rank"));
    q.Bind(1, id);
    std::vector<Member> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool has, q.Step());
      if (!has) break;
      Member m;
      m.node = q.ColumnText(0);
      m.rank = static_cast<int>(q.ColumnInt(1));
      m.state = q.ColumnText(2);
      if (!q.IsNull(3)) {
        auto key = protocol::KeyPost::FromJson(json::parse(q.ColumnText(3), nullptr, false));
        if (!key.ok()) return Status::DataLoss("hub state: malformed linkage key");
        m.key = std::move(key).value();
      }
      if (!q.IsNull(4)) m.sealed = q.ColumnBlob(4);
      m.has_clks = q.ColumnInt(5) != 0;
      m.min_cell = q.IsNull(6) ? 0 : q.ColumnInt(6);
      out.push_back(std::move(m));
    }
    return out;
  }

  Status Fail(const std::string& id, const std::string& error) {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
    ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE linkages SET state = 'failed', error = ?, "
                                              "updated_at = ? WHERE id = ? AND state = "
                                              "'running'"));
    up.Bind(1, error).Bind(2, clock.NowMicros()).Bind(3, id);
    RETURN_IF_ERROR(up.Run().status());
    ASSIGN_OR_RETURN(Statement er,
                     db.Prepare("UPDATE linkage_members SET clks = NULL WHERE linkage_id = ?"));
    er.Bind(1, id);
    RETURN_IF_ERROR(er.Run().status());
    RETURN_IF_ERROR(tx.Commit());
    log::Warn("hub: linkage {} failed: {}", id, error);
    return Status::Ok();
  }

  // Matches every pair of nodes, merges clusters, stores the results and erases the CLK sets.
  Status MatchAll(const std::string& id, const protocol::LinkageStudy& study,
                  const std::vector<Member>& members) {
    std::vector<pprl::ClkSet> sets;
    int64_t min_cell = study.linkage.min_cell.value_or(0);
    for (const auto& m : members) {
      ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT clks FROM linkage_members WHERE "
                                               "linkage_id = ? AND node = ?"));
      q.Bind(1, id).Bind(2, m.node);
      ASSIGN_OR_RETURN(bool has, q.Step());
      if (!has) return Status::DataLoss("hub state: linkage member vanished");
      std::vector<uint8_t> blob = q.ColumnBlob(0);
      ASSIGN_OR_RETURN(pprl::ClkSet set,
                       pprl::ParseClkSet({reinterpret_cast<const char*>(blob.data()), blob.size()},
                                         "CLKs of node " + m.node));
      sets.push_back(std::move(set));
      min_cell = std::max(min_cell, m.min_cell);
    }
    for (size_t i = 1; i < sets.size(); ++i) {
      Status st = pprl::CheckComparable(sets[0], sets[i]);
      if (!st.ok()) {
        return Status::FailedPrecondition(fmt::format(
            "the CLKs of nodes {} and {} cannot be compared (different linkage key or schema: "
            "the key agreement went wrong): {}",
            members[0].node, members[i].node, st.message()));
      }
    }
    pprl::MatchOptions mo;
    mo.threshold = study.linkage.threshold;
    mo.threads = options.match_threads;
    ASSIGN_OR_RETURN(mo.blocking, pprl::ParseBlockingOptions(study.linkage.blocking));
    std::vector<size_t> offset(sets.size() + 1, 0);
    for (size_t i = 0; i < sets.size(); ++i) offset[i + 1] = offset[i] + sets[i].size();
    DisjointSets ds(offset.back());
    std::vector<std::vector<int64_t>> overlap(sets.size(), std::vector<int64_t>(sets.size(), 0));
    uint64_t comparisons = 0;
    for (size_t i = 0; i < sets.size(); ++i) {
      for (size_t j = i + 1; j < sets.size(); ++j) {
        ASSIGN_OR_RETURN(pprl::MatchResult r, pprl::Match(sets[i], sets[j], mo));
        comparisons += r.stats.comparisons;
        overlap[i][j] = static_cast<int64_t>(r.pairs.size());
        for (const auto& p : r.pairs) {
          ds.Union(static_cast<uint32_t>(offset[i] + p.a), static_cast<uint32_t>(offset[j] + p.b));
        }
      }
    }
    // Clusters: roots with members at two nodes or more.
    std::map<uint32_t, std::vector<std::pair<size_t, uint32_t>>> clusters;  // root -> (node, row)
    for (size_t n = 0; n < sets.size(); ++n) {
      for (uint32_t r = 0; r < sets[n].size(); ++r) {
        clusters[ds.Find(static_cast<uint32_t>(offset[n] + r))].push_back({n, r});
      }
    }
    std::vector<protocol::NodeMatches> per_node(sets.size());
    std::vector<int64_t> matched(sets.size(), 0);
    int64_t linked = 0;
    int64_t union_count = 0;
    for (const auto& [root, recs] : clusters) {
      (void)root;
      ++union_count;
      if (recs.size() < 2) continue;
      ++linked;
      const std::string cluster = NewId(random, "c-");
      size_t top = recs.front().first;
      for (const auto& rec : recs) top = std::min(top, rec.first);
      for (const auto& [n, r] : recs) {
        per_node[n].matches.push_back({r, cluster, n == top});
        ++matched[n];
      }
    }
    // Counts for the researcher, with suppression.
    json suppressed = json::array();
    auto count = [&](int64_t c, const std::string& what) -> json {
      if (c > 0 && c < min_cell) {
        suppressed.push_back(
            {{"count", what}, {"reason", fmt::format("below min_cell ({})", min_cell)}});
        return nullptr;
      }
      return c;
    };
    json result = {{"linkage_id", id},
                   {"threshold", study.linkage.threshold},
                   {"min_cell", min_cell},
                   {"comparisons", comparisons}};
    json nodes = json::array();
    for (size_t n = 0; n < sets.size(); ++n) {
      nodes.push_back(
          {{"node", members[n].node},
           {"rank", members[n].rank},
           {"records", count(static_cast<int64_t>(sets[n].size()), members[n].node + ".records")},
           {"matched", count(matched[n], members[n].node + ".matched")}});
    }
    result["nodes"] = std::move(nodes);
    json pairs = json::array();
    for (size_t i = 0; i < sets.size(); ++i) {
      for (size_t j = i + 1; j < sets.size(); ++j) {
        pairs.push_back(
            {{"nodes", {members[i].node, members[j].node}},
             {"overlap", count(overlap[i][j],
                               fmt::format("overlap {}-{}", members[i].node, members[j].node))}});
      }
    }
    result["pairs"] = std::move(pairs);
    result["linked_persons"] = count(linked, "linked_persons");
    if (suppressed.empty()) {
      result["union"] = union_count;
    } else {
      result["union"] = nullptr;
      suppressed.push_back({{"count", "union"},
                            {"reason", "secondary: another count of this linkage is suppressed"}});
    }
    result["suppressed"] = std::move(suppressed);

    {
      ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
      ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE linkage_members SET matches = ?, clks = "
                                                "NULL WHERE linkage_id = ? AND node = ?"));
      for (size_t n = 0; n < sets.size(); ++n) {
        per_node[n].state = "completed";
        up.Reset();
        up.Bind(1, per_node[n].ToJson().dump()).Bind(2, id).Bind(3, members[n].node);
        RETURN_IF_ERROR(up.Run().status());
      }
      ASSIGN_OR_RETURN(Statement done, db.Prepare("UPDATE linkages SET state = 'completed', "
                                                  "result = ?, updated_at = ? WHERE id = ?"));
      done.Bind(1, result.dump()).Bind(2, clock.NowMicros()).Bind(3, id);
      RETURN_IF_ERROR(done.Run().status());
      RETURN_IF_ERROR(tx.Commit());
    }
    // The CLK pages were overwritten (secure_delete); fold the WAL so that old frames go too.
    RETURN_IF_ERROR(db.Execute("PRAGMA wal_checkpoint(TRUNCATE)"));
    log::Info("hub: linkage {} matched: {} comparisons, {} linked persons", id, comparisons,
              linked);
    return Status::Ok();
  }
};

LinkageService::LinkageService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LinkageService::~LinkageService() = default;

Result<std::unique_ptr<LinkageService>> LinkageService::Open(SqliteDb& db, Clock& clock,
                                                             RandomSource& random,
                                                             LinkageOptions options) {
  RETURN_IF_ERROR(db.Execute("PRAGMA secure_delete = ON"));
  RETURN_IF_ERROR(db.Execute(kSchema));
  std::sort(options.nodes.begin(), options.nodes.end());
  return std::unique_ptr<LinkageService>(
      new LinkageService(std::make_unique<Impl>(db, clock, random, std::move(options))));
}

bool LinkageService::IsLinkageId(std::string_view id) { return id.substr(0, 3) == "lk-"; }

Result<std::string> LinkageService::Submit(const json& body, const Principal& who) {
  ASSIGN_OR_RETURN(protocol::LinkageStudy study, protocol::LinkageStudy::FromJson(body));
  ASSIGN_OR_RETURN(pprl::LinkageSchema schema,
                   pprl::ParseSchema(study.linkage.schema.dump(), "study.linkage.schema"));
  (void)schema;
  auto blocking = pprl::ParseBlockingOptions(study.linkage.blocking);
  if (!blocking.ok()) return blocking.status().WithContext("study.linkage.blocking");
  const auto& fed = impl_->options.nodes;
  for (size_t i = 0; i < study.linkage.nodes.size(); ++i) {
    if (!std::binary_search(fed.begin(), fed.end(), study.linkage.nodes[i])) {
      return Status::InvalidArgument(
          fmt::format("study.linkage.nodes[{}]: \"{}\" is not a node of this federation "
                      "(nodes: {})",
                      i, study.linkage.nodes[i], fmt::join(fed, ", ")));
    }
  }
  const std::string id = NewId(impl_->random, "lk-");
  const int64_t now = impl_->clock.NowMicros();
  const int64_t deadline =
      now + std::chrono::duration_cast<std::chrono::microseconds>(impl_->options.timeout).count();
  {
    SqliteDb& db = impl_->db;
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
    ASSIGN_OR_RETURN(Statement ins,
                     db.Prepare("INSERT INTO linkages(id, name, definition, submitted_by, state, "
                                "created_at, deadline, updated_at) VALUES (?, ?, ?, ?, "
                                "'running', ?, ?, ?)"));
    ins.Bind(1, id).Bind(2, study.name).Bind(3, study.ToJson().dump()).Bind(4, who.subject);
    ins.Bind(5, now).Bind(6, deadline).Bind(7, now);
    RETURN_IF_ERROR(ins.Run().status());
    ASSIGN_OR_RETURN(Statement mem, db.Prepare("INSERT INTO linkage_members(linkage_id, node, "
                                               "rank, state) VALUES (?, ?, ?, 'invited')"));
    for (size_t i = 0; i < study.linkage.nodes.size(); ++i) {
      mem.Reset();
      mem.Bind(1, id).Bind(2, study.linkage.nodes[i]).Bind(3, static_cast<int64_t>(i));
      RETURN_IF_ERROR(mem.Run().status());
    }
    RETURN_IF_ERROR(tx.Commit());
  }
  log::Info("hub: linkage {} \"{}\" submitted by {} between {}", id, study.name, who.subject,
            fmt::join(study.linkage.nodes, ", "));
  if (on_tasks_) on_tasks_(study.linkage.nodes);
  return id;
}

Result<json> LinkageService::StudyStatus(const std::string& id) {
  std::string state;
  ASSIGN_OR_RETURN(protocol::LinkageStudy study, impl_->Load(id, &state));
  ASSIGN_OR_RETURN(auto members, impl_->Members(id));
  json j = {{"id", id}, {"kind", "linkage"}, {"name", study.name}, {"state", state}};
  ASSIGN_OR_RETURN(Statement q, impl_->db.Prepare("SELECT error FROM linkages WHERE id = ?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (has && !q.IsNull(0)) j["error"] = q.ColumnText(0);
  json nodes = json::array();
  for (const auto& m : members) nodes.push_back({{"node", m.node}, {"state", m.state}});
  j["nodes"] = std::move(nodes);
  return j;
}

Result<std::string> LinkageService::StudyProject(const std::string& id) {
  ASSIGN_OR_RETURN(protocol::LinkageStudy study, impl_->Load(id, nullptr));
  return study.project.value_or("");
}

Result<bool> LinkageService::IsFinished(const std::string& id) {
  std::string state;
  ASSIGN_OR_RETURN(auto study, impl_->Load(id, &state));
  (void)study;
  return state != "running";
}

Result<json> LinkageService::StudyResult(const std::string& id) {
  ASSIGN_OR_RETURN(Statement q,
                   impl_->db.Prepare("SELECT state, result, error FROM linkages WHERE id = ?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return Status::NotFound(fmt::format("no linkage \"{}\" at this hub", id));
  const std::string state = q.ColumnText(0);
  if (state != "completed") {
    return Status::FailedPrecondition(fmt::format(
        "linkage {} is {}{}", id, state,
        state == "failed" ? ": " + q.ColumnOptionalText(2).value_or("") : "; no result yet"));
  }
  return json::parse(q.ColumnText(1));
}

Status LinkageService::CheckUse(const json& study) {
  if (!study.is_object() || !study.contains("linkage")) return Status::Ok();
  ASSIGN_OR_RETURN(protocol::LinkageUse use,
                   protocol::LinkageUse::FromJson(study["linkage"], "study.linkage"));
  std::string state;
  auto loaded = impl_->Load(use.id, &state);
  if (!loaded.ok()) return loaded.status().WithContext("study.linkage.id");
  if (state != "completed") {
    return Status::FailedPrecondition(
        fmt::format("study.linkage.id: linkage {} is {}, not completed", use.id, state));
  }
  const auto& linked = loaded->linkage.nodes;
  std::vector<std::string> nodes;
  if (study.contains("nodes") && study["nodes"].is_array()) {
    for (const auto& n : study["nodes"]) {
      if (n.is_string()) nodes.push_back(n.get<std::string>());
    }
  } else {
    nodes = impl_->options.nodes;
  }
  for (const auto& n : nodes) {
    if (std::find(linked.begin(), linked.end(), n) == linked.end()) {
      return Status::InvalidArgument(fmt::format(
          "study.linkage.id: node {} of the study did not take part in linkage {} (its nodes: "
          "{}); list the study's nodes",
          n, use.id, fmt::join(linked, ", ")));
    }
  }
  return Status::Ok();
}

Result<std::optional<std::string>> LinkageService::NextTaskPayload(const std::string& node) {
  SqliteDb& db = impl_->db;
  {
    // Every poll asks; almost always there is no linkage work. This read uses the index alone
    // (two equality lookups: for `state IN (...)` SQLite builds a temporary table on every run),
    // where the ordered join below needs a sorter even when it finds nothing.
    ASSIGN_OR_RETURN(Statement any,
                     db.Prepare("SELECT 1 FROM linkage_members WHERE node = ?1 AND state = "
                                "'invited' UNION ALL SELECT 1 FROM linkage_members WHERE node = "
                                "?1 AND state = 'dispatched' LIMIT 1"));
    any.Bind(1, node);
    ASSIGN_OR_RETURN(bool has_any, any.Step());
    if (!has_any) return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(Statement q,
                   db.Prepare("SELECT m.linkage_id FROM linkage_members m JOIN linkages l ON "
                              "l.id = m.linkage_id WHERE m.node = ? AND m.state IN ('invited', "
                              "'dispatched') AND l.state = 'running' ORDER BY l.created_at, l.id "
                              "LIMIT 1"));
  q.Bind(1, node);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return std::optional<std::string>();
  const std::string id = q.ColumnText(0);
  q.Reset();
  ASSIGN_OR_RETURN(protocol::LinkageStudy study, impl_->Load(id, nullptr));
  protocol::LinkageTask t;
  t.linkage_id = id;
  t.node = node;
  t.nodes = study.linkage.nodes;
  t.schema = study.linkage.schema;
  t.project = study.project;
  ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE linkage_members SET state = 'dispatched' "
                                            "WHERE linkage_id = ? AND node = ? AND state = "
                                            "'invited'"));
  up.Bind(1, id).Bind(2, node);
  RETURN_IF_ERROR(up.Run().status());
  return std::optional<std::string>(t.ToJson().dump());
}

Result<LinkageService::Reply> LinkageService::HandleNode(const std::string& node,
                                                         std::string_view method,
                                                         const std::string& id,
                                                         std::string_view step, const json& body) {
  RETURN_IF_ERROR(protocol::ValidateLinkageId(id, "linkage id"));
  std::string state;
  ASSIGN_OR_RETURN(protocol::LinkageStudy study, impl_->Load(id, &state));
  ASSIGN_OR_RETURN(std::vector<Member> members, impl_->Members(id));
  auto me =
      std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.node == node; });
  if (me == members.end()) {
    return Status::PermissionDenied(
        fmt::format("node {} does not take part in linkage {}", node, id));
  }
  SqliteDb& db = impl_->db;
  const bool post = method == "POST";
  if ((post || step != "matches") && state != "running") {
    return Status::FailedPrecondition(fmt::format("linkage {} is {}", id, state));
  }
  if (step == "key" && post) {
    ASSIGN_OR_RETURN(protocol::KeyPost k, protocol::KeyPost::FromJson(body));
    if (me->key) {
      if (*me->key == k) return Reply{200, {{"accepted", true}}};
      return Status::AlreadyExists(
          fmt::format("node {} already posted another key for linkage {}", node, id));
    }
    ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE linkage_members SET key_post = ?, state = "
                                              "'keyed' WHERE linkage_id = ? AND node = ?"));
    up.Bind(1, k.ToJson().dump()).Bind(2, id).Bind(3, node);
    RETURN_IF_ERROR(up.Run().status());
    return Reply{200, {{"accepted", true}}};
  }
  if (step == "keys" && !post) {
    protocol::KeySet ks;
    ks.complete = true;
    for (const auto& m : members) {
      if (m.key) {
        ks.keys[m.node] = *m.key;
      } else {
        ks.complete = false;
      }
    }
    return Reply{200, ks.ToJson()};
  }
  if (step == "secrets" && post) {
    if (me->rank != 0) {
      return Status::PermissionDenied(
          fmt::format("only the leader ({}) distributes the linkage secret", members[0].node));
    }
    ASSIGN_OR_RETURN(protocol::SealedSecrets s, protocol::SealedSecrets::FromJson(body));
    for (const auto& m : members) {
      if (!m.key) {
        return Status::FailedPrecondition(
            fmt::format("node {} has not posted its key yet", m.node));
      }
      if (m.rank == 0) continue;
      if (!s.sealed.count(m.node)) {
        return Status::InvalidArgument(fmt::format("secrets.sealed: no entry for {}", m.node));
      }
    }
    if (s.sealed.size() != members.size() - 1) {
      return Status::InvalidArgument(
          "secrets.sealed: one entry per other participant, and nothing else");
    }
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
    for (const auto& [to, sealed] : s.sealed) {
      auto m = std::find_if(members.begin(), members.end(),
                            [&, t = to](const Member& x) { return x.node == t; });
      if (m->sealed && *m->sealed != sealed) {
        return Status::AlreadyExists("the linkage secret was distributed already");
      }
      ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE linkage_members SET sealed = ? WHERE "
                                                "linkage_id = ? AND node = ?"));
      up.BindBlob(1, sealed).Bind(2, id).Bind(3, to);
      RETURN_IF_ERROR(up.Run().status());
    }
    RETURN_IF_ERROR(tx.Commit());
    return Reply{200, {{"accepted", true}}};
  }
  if (step == "secret" && !post) {
    if (me->rank == 0) {
      return Status::InvalidArgument("the leader draws the secret; it has none to fetch");
    }
    if (!me->sealed) return Reply{204, {}};
    protocol::SealedSecret s;
    s.from = members[0].node;
    s.sealed = *me->sealed;
    return Reply{200, s.ToJson()};
  }
  if (step == "clks" && post) {
    ASSIGN_OR_RETURN(protocol::ClkUpload u,
                     protocol::ClkUpload::FromJson(body, impl_->options.max_clk_bytes));
    ASSIGN_OR_RETURN(pprl::ClkSet set, pprl::ParseClkSet(u.clks, "clks"));
    ASSIGN_OR_RETURN(pprl::LinkageSchema schema,
                     pprl::ParseSchema(study.linkage.schema.dump(), "linkage schema"));
    if (set.header().schema_fingerprint != schema.Fingerprint()) {
      return Status::InvalidArgument(
          "clks: the CLKs were not made with this linkage's schema (fingerprints differ)");
    }
    for (size_t i = 0; i < set.size(); ++i) {
      if (set.id(i) != std::to_string(i)) {
        return Status::InvalidArgument(fmt::format(
            "clks: record {} has an id other than its position: nodes send positions, never "
            "local identifiers",
            i));
      }
    }
    if (me->has_clks || me->state == "uploaded") {
      return Status::AlreadyExists(fmt::format("node {} already sent its CLKs", node));
    }
    ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE linkage_members SET clks = ?, min_cell = ?, "
                                              "records = ?, state = 'uploaded' WHERE linkage_id "
                                              "= ? AND node = ?"));
    up.BindBlob(1, {reinterpret_cast<const uint8_t*>(u.clks.data()), u.clks.size()});
    up.Bind(2, u.min_cell).Bind(3, static_cast<int64_t>(set.size())).Bind(4, id).Bind(5, node);
    RETURN_IF_ERROR(up.Run().status());
    ASSIGN_OR_RETURN(members, impl_->Members(id));
    bool all = std::all_of(members.begin(), members.end(),
                           [](const Member& m) { return m.state == "uploaded"; });
    if (all) {
      Status st = impl_->MatchAll(id, study, members);
      if (!st.ok()) RETURN_IF_ERROR(impl_->Fail(id, st.message()));
    }
    return Reply{200, {{"accepted", true}}};
  }
  if (step == "matches" && !post) {
    protocol::NodeMatches m;
    m.state = state;
    if (state == "failed") {
      ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT error FROM linkages WHERE id = ?"));
      q.Bind(1, id);
      ASSIGN_OR_RETURN(bool has, q.Step());
      if (has) m.error = q.ColumnOptionalText(0).value_or("");
    } else if (state == "completed") {
      ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT matches FROM linkage_members WHERE "
                                               "linkage_id = ? AND node = ?"));
      q.Bind(1, id).Bind(2, node);
      ASSIGN_OR_RETURN(bool has, q.Step());
      if (has && !q.IsNull(0)) return Reply{200, json::parse(q.ColumnText(0))};
    }
    return Reply{200, m.ToJson()};
  }
  if (step == "error" && post) {
    ASSIGN_OR_RETURN(protocol::LinkageFailure f, protocol::LinkageFailure::FromJson(body));
    ASSIGN_OR_RETURN(Statement up, db.Prepare("UPDATE linkage_members SET state = 'failed' "
                                              "WHERE linkage_id = ? AND node = ?"));
    up.Bind(1, id).Bind(2, node);
    RETURN_IF_ERROR(up.Run().status());
    RETURN_IF_ERROR(impl_->Fail(id, fmt::format("node {}: {}", node, f.message)));
    return Reply{200, {{"accepted", true}}};
  }
  return Status::NotFound(fmt::format("no linkage step {} {}", method, step));
}

Result<int> LinkageService::CheckDeadlines() {
  ASSIGN_OR_RETURN(Statement q, impl_->db.Prepare("SELECT id FROM linkages WHERE state = "
                                                  "'running' AND deadline < ?"));
  q.Bind(1, impl_->clock.NowMicros());
  std::vector<std::string> late;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    late.push_back(q.ColumnText(0));
  }
  q.Reset();
  for (const auto& id : late) {
    ASSIGN_OR_RETURN(auto members, impl_->Members(id));
    std::vector<std::string> waiting;
    for (const auto& m : members) {
      if (m.state != "uploaded") waiting.push_back(m.node);
    }
    RETURN_IF_ERROR(
        impl_->Fail(id, fmt::format("timed out waiting for node(s) {}", fmt::join(waiting, ", "))));
  }
  return static_cast<int>(late.size());
}

Result<std::optional<protocol::LinkageUse>> StudyLinkageUse(SqliteDb& db,
                                                            const std::string& study_id) {
  ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT definition FROM studies WHERE id = ?"));
  q.Bind(1, study_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return std::optional<protocol::LinkageUse>();
  json def = json::parse(q.ColumnText(0), nullptr, false);
  if (!def.is_object() || !def.contains("linkage")) return std::optional<protocol::LinkageUse>();
  ASSIGN_OR_RETURN(protocol::LinkageUse use,
                   protocol::LinkageUse::FromJson(def["linkage"], "study.linkage"));
  return std::optional<protocol::LinkageUse>(std::move(use));
}

}  // namespace passerelle::hub
