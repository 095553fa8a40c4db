#include "node/linkage.h"

#include <fmt/format.h>

#include <thread>

#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/cert_sign.h"
#include "crypto/hash.h"
#include "crypto/kx.h"
#include "crypto/pki.h"
#include "net/client.h"
#include "node/sql_table.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/encode_source.h"
#include "privacy/pprl/encoder.h"
#include "privacy/pprl/key.h"
#include "privacy/pprl/schema.h"
#include "protocol/codec.h"

namespace passerelle::node {

using nlohmann::json;

namespace {

constexpr std::string_view kStateSchema = R"sql(
CREATE TABLE IF NOT EXISTS linkage_matches (
  linkage_id TEXT NOT NULL,
  local_id   TEXT NOT NULL,
  cluster    TEXT NOT NULL,
  keep       INTEGER NOT NULL,
  PRIMARY KEY (linkage_id, local_id)
);
)sql";

constexpr std::string_view kSecretContext = "passerelle/pprl/v1/linkage-secret";

// Associated data of the sealed secret: binds it to this linkage and to every participant's key,
// so that a ciphertext cannot be replayed into another linkage or under substituted keys.
std::string Transcript(const protocol::LinkageTask& task, const protocol::KeySet& keys) {
  std::string t = "passerelle/pprl/v1/transcript\n" + task.linkage_id + "\n";
  for (const auto& n : task.nodes) {
    t += n + ":" + crypto::ToHex(keys.keys.at(n).public_key) + "\n";
  }
  return t;
}

class LinkageRun {
 public:
  LinkageRun(const protocol::LinkageTask& task, LinkageContext& ctx) : task_(task), ctx_(ctx) {}

  Status Run() {
    const auto& opt = ctx_.options;
    if (opt.identities.empty()) {
      return Status::FailedPrecondition(
          "this node has no identity file for record linkage (node.toml [pprl] identities)");
    }
    ASSIGN_OR_RETURN(pprl::LinkageSchema schema,
                     pprl::ParseSchema(task_.schema.dump(), "linkage schema"));
    if (!opt.approved_schemas.empty()) {
      bool approved = false;
      for (const auto& path : opt.approved_schemas) {
        ASSIGN_OR_RETURN(pprl::LinkageSchema ok, pprl::ReadSchemaFile(path));
        approved |= ok.Fingerprint() == schema.Fingerprint();
      }
      if (!approved) {
        return Status::PermissionDenied(
            "the linkage schema is not one this node's custodian approved (node.toml [pprl] "
            "schemas)");
      }
    }
    deadline_ = std::chrono::steady_clock::now() + opt.timeout;

    // 2. Ephemeral key pair.
    crypto::X25519KeyPair pair = crypto::X25519KeyPair::Generate(ctx_.random);
    ASSIGN_OR_RETURN(protocol::KeyPost kp,
                     SignEphemeralKey(ctx_.tls, task_.linkage_id, ctx_.node_id, pair.public_key));
    ASSIGN_OR_RETURN(json ignored, Call("POST", "key", kp.ToJson()));
    (void)ignored;
    protocol::KeySet keys;
    for (;;) {
      ASSIGN_OR_RETURN(json j, Call("GET", "keys", {}));
      ASSIGN_OR_RETURN(keys, protocol::KeySet::FromJson(j));
      if (keys.complete) break;
      RETURN_IF_ERROR(Pause("the other nodes' keys"));
    }
    for (const auto& n : task_.nodes) {
      if (!keys.keys.count(n)) {
        return Status::DataLoss(fmt::format("the hub's key set lacks node {}", n));
      }
    }
    if (keys.keys.at(ctx_.node_id).public_key != kp.public_key) {
      return Status::DataLoss("the hub relayed another public key for this node");
    }
    for (const auto& n : task_.nodes) {
      Status st = VerifyEphemeralKey(ctx_.tls.ca_pem, task_.linkage_id, n, keys.keys.at(n));
      if (!st.ok()) {
        return Status::Unauthenticated(fmt::format(
            "the key relayed for node {} is not signed by that node ({}): refusing the linkage", n,
            st.message()));
      }
    }
    const std::string transcript = Transcript(task_, keys);
    const auto ad = crypto::AsBytes(transcript);
    auto peer_key = [&](const std::string& n) {
      crypto::Bytes32 k{};
      const auto& pk = keys.keys.at(n).public_key;
      std::copy(pk.begin(), pk.end(), k.begin());
      return k;
    };

    // 3. The linkage secret.
    std::array<uint8_t, 32> secret{};
    const std::string& leader = task_.nodes.front();
    if (ctx_.node_id == leader) {
      ctx_.random.Fill(secret);
      protocol::SealedSecrets out;
      for (const auto& n : task_.nodes) {
        if (n == leader) continue;
        crypto::Bytes32 pk = peer_key(n);
        ASSIGN_OR_RETURN(crypto::Bytes32 shared, crypto::X25519SharedSecret(pair.secret_key, pk));
        crypto::Bytes32 k =
            crypto::DeriveKey(shared, pair.public_key, pk, crypto::AsBytes(kSecretContext));
        out.sealed[n] = crypto::AeadSeal(k, secret, ad, ctx_.random);
        crypto::SecureZero(shared);
        crypto::SecureZero(k);
      }
      ASSIGN_OR_RETURN(json ack, Call("POST", "secrets", out.ToJson()));
      (void)ack;
    } else {
      protocol::SealedSecret in;
      for (;;) {
        ASSIGN_OR_RETURN(json j, Call("GET", "secret", {}));
        if (!j.is_null()) {
          ASSIGN_OR_RETURN(in, protocol::SealedSecret::FromJson(j));
          break;
        }
        RETURN_IF_ERROR(Pause("the linkage secret from the leader"));
      }
      if (in.from != leader) return Status::DataLoss("the secret does not come from the leader");
      crypto::Bytes32 lk = peer_key(leader);
      ASSIGN_OR_RETURN(crypto::Bytes32 shared, crypto::X25519SharedSecret(pair.secret_key, lk));
      crypto::Bytes32 k =
          crypto::DeriveKey(shared, lk, pair.public_key, crypto::AsBytes(kSecretContext));
      auto opened = crypto::AeadOpen(k, in.sealed, ad);
      crypto::SecureZero(shared);
      crypto::SecureZero(k);
      if (!opened.ok() || opened->size() != secret.size()) {
        return Status::Unauthenticated(
            "the linkage secret from the leader does not open with this node's key (tampered "
            "with in transit, or keys substituted)");
      }
      std::copy(opened->begin(), opened->end(), secret.begin());
      crypto::SecureZero(*opened);
    }
    crypto::SecureZero(pair.secret_key);
    if (ctx_.options.on_secret_for_testing)
      ctx_.options.on_secret_for_testing(ctx_.node_id, secret);
    auto key = pprl::LinkageKey::FromSecret(secret);
    crypto::SecureZero(secret);
    if (!key.ok()) return key.status();

    // 4. Encode, replace ids by positions, upload.
    ASSIGN_OR_RETURN(pprl::Encoder encoder, pprl::Encoder::Create(schema, *key, &ctx_.random));
    auto encoded = pprl::EncodeCsvFile(encoder, opt.identities, opt.delimiter);
    if (!encoded.ok()) {
      return encoded.status().WithContext("encoding the identity file");
    }
    pprl::ClkSet positions(encoded->header());
    positions.Reserve(encoded->size());
    std::vector<std::string> local_ids(encoded->size());
    for (size_t i = 0; i < encoded->size(); ++i) {
      local_ids[i] = encoded->id(i);
      positions.Append(std::to_string(i), encoded->clk(i), encoded->block_keys(i));
    }
    protocol::ClkUpload up;
    up.clks = pprl::SerializeClkSet(positions);
    up.min_cell = ctx_.min_cell;
    log::Info("node {}: linkage {}: sending {} CLKs", ctx_.node_id, task_.linkage_id,
              positions.size());
    ASSIGN_OR_RETURN(json ack, Call("POST", "clks", up.ToJson()));
    (void)ack;

    // 5. Matches.
    protocol::NodeMatches matches;
    for (;;) {
      ASSIGN_OR_RETURN(json j, Call("GET", "matches", {}));
      ASSIGN_OR_RETURN(matches, protocol::NodeMatches::FromJson(j));
      if (matches.state == "failed") {
        failed_at_hub_ = true;
        return Status::Aborted("the linkage failed at the hub: " + matches.error);
      }
      if (matches.state == "completed") break;
      RETURN_IF_ERROR(Pause("the hub's matching"));
    }
    std::vector<LinkageState::Match> rows;
    rows.reserve(matches.matches.size());
    for (const auto& m : matches.matches) {
      if (m.row >= local_ids.size()) {
        return Status::DataLoss(
            fmt::format("the hub matched row {} of {}", m.row, local_ids.size()));
      }
      rows.push_back({local_ids[m.row], m.cluster, m.keep});
    }
    RETURN_IF_ERROR(ctx_.state.Record(task_.linkage_id, rows));
    log::Info("node {}: linkage {} completed: {} of {} records matched", ctx_.node_id,
              task_.linkage_id, rows.size(), local_ids.size());
    return Status::Ok();
  }

  bool failed_at_hub() const { return failed_at_hub_; }

 private:
  // JSON in and out of /v1/linkages/{id}/{step}; a 204 answer is null.
  Result<json> Call(std::string_view method, std::string_view step, const json& body) {
    const std::string target = fmt::format("/v1/linkages/{}/{}", task_.linkage_id, step);
    for (;;) {
      auto r = ctx_.client.Send(method, target, method == "POST" ? body.dump() : std::string());
      if (ctx_.stopping()) return Status::Unavailable("the node is stopping");
      if (!r.ok()) {
        // The hub is away: try again until the deadline.
        RETURN_IF_ERROR(Pause("the hub"));
        continue;
      }
      if (r->status == 204) return json();
      if (!r->ok()) return protocol::StatusFromErrorBody(r->status, r->body);
      ASSIGN_OR_RETURN(json j, protocol::ParseJson(r->body, {.max_bytes = 256u << 20}));
      return j;
    }
  }

  Status Pause(std::string_view waiting_for) {
    if (ctx_.stopping()) return Status::Unavailable("the node is stopping");
    if (std::chrono::steady_clock::now() > deadline_) {
      return Status::DeadlineExceeded(fmt::format("gave up waiting for {} after {} s", waiting_for,
                                                  ctx_.options.timeout.count() / 1000));
    }
    std::this_thread::sleep_for(ctx_.options.poll_interval);
    return Status::Ok();
  }

  const protocol::LinkageTask& task_;
  LinkageContext& ctx_;
  std::chrono::steady_clock::time_point deadline_;
  bool failed_at_hub_ = false;
};

}  // namespace

// ---- Signed ephemeral keys (crypto/cert_sign.h: the certificate's key) ----------------------

std::string EphemeralKeyMessage(std::string_view linkage_id, std::string_view node,
                                std::span<const uint8_t> public_key) {
  return fmt::format("passerelle/pprl/v1/ephemeral-key\n{}\n{}\n{}", linkage_id, node,
                     crypto::ToHex(public_key));
}

Result<protocol::KeyPost> SignEphemeralKey(const crypto::TlsMaterial& tls,
                                           std::string_view linkage_id, std::string_view node,
                                           std::span<const uint8_t> public_key) {
  const std::string msg = EphemeralKeyMessage(linkage_id, node, public_key);
  auto signature = crypto::SignWithCertificateKey(tls.key_pem, crypto::AsBytes(msg));
  if (!signature.ok()) {
    return Status::Internal("cannot sign the ephemeral key with this node's certificate key");
  }
  protocol::KeyPost post;
  post.signature = std::move(signature).value();
  post.public_key.assign(public_key.begin(), public_key.end());
  post.certificate = tls.cert_pem;
  return post;
}

Status VerifyEphemeralKey(std::string_view ca_pem, std::string_view linkage_id,
                          std::string_view node, const protocol::KeyPost& key) {
  const std::string msg = EphemeralKeyMessage(linkage_id, node, key.public_key);
  return crypto::VerifyCertificateSignature(ca_pem, key.certificate, node, crypto::AsBytes(msg),
                                            key.signature);
}

Result<LinkageNodeOptions> LoadLinkageConfig(
    const Config& config, const std::function<std::filesystem::path(const std::string&)>& resolve) {
  LinkageNodeOptions o;
  ASSIGN_OR_RETURN(std::string identities, config.GetString("pprl.identities", ""));
  o.identities = resolve(identities);
  ASSIGN_OR_RETURN(std::string delimiter, config.GetString("pprl.delimiter", ","));
  if (delimiter.size() != 1) {
    return Status::InvalidArgument(
        fmt::format("{}: pprl.delimiter must be one character", config.source()));
  }
  o.delimiter = delimiter[0];
  ASSIGN_OR_RETURN(auto schemas, config.GetStringList("pprl.schemas", {}));
  for (const auto& s : schemas) o.approved_schemas.push_back(resolve(s));
  ASSIGN_OR_RETURN(std::string state, config.GetString("pprl.state", ""));
  o.state_path = resolve(state);
  ASSIGN_OR_RETURN(double timeout, config.GetDouble("pprl.timeout_seconds", 600));
  if (timeout <= 0) {
    return Status::InvalidArgument(
        fmt::format("{}: pprl.timeout_seconds must be > 0", config.source()));
  }
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
  return o;
}

std::vector<std::string> LinkageConfigKeys() {
  return {"pprl.identities", "pprl.delimiter", "pprl.schemas", "pprl.state",
          "pprl.timeout_seconds"};
}

Result<std::unique_ptr<LinkageState>> LinkageState::Open(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open({.path = path.string()}));
  RETURN_IF_ERROR(db->Execute(kStateSchema));
  return std::unique_ptr<LinkageState>(new LinkageState(std::move(db)));
}

Status LinkageState::Record(const std::string& linkage_id, const std::vector<Match>& matches) {
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*db_));
  ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM linkage_matches WHERE linkage_id = ?"));
  del.Bind(1, linkage_id);
  RETURN_IF_ERROR(del.Run().status());
  ASSIGN_OR_RETURN(Statement ins, db_->Prepare("INSERT INTO linkage_matches VALUES (?, ?, ?, ?)"));
  for (const auto& m : matches) {
    ins.Reset();
    ins.Bind(1, linkage_id).Bind(2, m.local_id).Bind(3, m.cluster).Bind(4, m.keep ? 1 : 0);
    RETURN_IF_ERROR(ins.Run().status());
  }
  // A marker row so that a linkage with no match is still known to this node.
  ASSIGN_OR_RETURN(Statement mark,
                   db_->Prepare("INSERT OR REPLACE INTO linkage_matches VALUES (?, '', '', 1)"));
  mark.Bind(1, linkage_id);
  RETURN_IF_ERROR(mark.Run().status());
  return tx.Commit();
}

Result<std::vector<LinkageState::Match>> LinkageState::Matches(const std::string& linkage_id) {
  ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT local_id, cluster, keep FROM "
                                             "linkage_matches WHERE linkage_id = ? ORDER BY "
                                             "local_id"));
  q.Bind(1, linkage_id);
  std::vector<Match> out;
  bool known = false;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    known = true;
    if (q.ColumnText(0).empty()) continue;  // the marker
    out.push_back({q.ColumnText(0), q.ColumnText(1), q.ColumnInt(2) != 0});
  }
  if (!known) {
    return Status::NotFound(
        fmt::format("this node holds no result of linkage {} (it did not take part, or it failed)",
                    linkage_id));
  }
  return out;
}

Status RunLinkageTask(const json& payload, LinkageContext& ctx) {
  auto task = protocol::LinkageTask::FromJson(payload);
  if (!task.ok()) {
    log::Error("node {}: the hub sent an invalid linkage task: {}", ctx.node_id,
               task.status().message());
    return Status::Ok();
  }
  if (task->node != ctx.node_id) {
    log::Error("node {}: the hub sent a linkage task for node {}; ignored", ctx.node_id,
               task->node);
    return Status::Ok();
  }
  log::Info("node {}: linkage {} between {}", ctx.node_id, task->linkage_id,
            fmt::join(task->nodes, ", "));
  LinkageRun run(*task, ctx);
  Status st = run.Run();
  if (st.ok() || ctx.stopping()) return Status::Ok();
  log::Warn("node {}: linkage {} failed: {}", ctx.node_id, task->linkage_id, st.message());
  if (!run.failed_at_hub()) {
    protocol::LinkageFailure f;
    f.message = st.message();
    auto r = ctx.client.Send("POST", fmt::format("/v1/linkages/{}/error", task->linkage_id),
                             f.ToJson().dump());
    if (!r.ok() || !r->ok()) {
      log::Warn("node {}: could not report the failure of linkage {} to the hub", ctx.node_id,
                task->linkage_id);
    }
  }
  return Status::Ok();
}

// ---- Deduplication ----------------------------------------------------------------------------

namespace {

constexpr std::string_view kDedupTable = "_pl_linkage_dedup";

// The node's store seen with its temporary deduplicated table listed as a table (ListTables
// shows user tables only), so that SqlTable pushes its aggregates down to it like to any dataset.
class WithTemporaryTable final : public store::DataSource {
 public:
  explicit WithTemporaryTable(store::DataSource& s) : s_(s) {}
  const store::Dialect& dialect() const override { return s_.dialect(); }
  Status Execute(std::string_view sql) override { return s_.Execute(sql); }
  Result<std::unique_ptr<store::QueryResult>> Query(std::string_view sql) override {
    return s_.Query(sql);
  }
  Result<std::unique_ptr<store::Appender>> OpenAppender(std::string_view table) override {
    return s_.OpenAppender(table);
  }
  Status Begin() override { return s_.Begin(); }
  Status Commit() override { return s_.Commit(); }
  Status Rollback() override { return s_.Rollback(); }
  Result<std::vector<std::string>> ListTables() override {
    ASSIGN_OR_RETURN(auto tables, s_.ListTables());
    tables.emplace_back(kDedupTable);
    return tables;
  }
  Result<store::Schema> DescribeTable(std::string_view table) override {
    return s_.DescribeTable(table);
  }

 private:
  store::DataSource& s_;
};

// Owns the view of the store that its SqlTable borrows.
class DedupTable final : public analysis::AnalysisTable {
 public:
  static Result<std::unique_ptr<DedupTable>> Open(store::DataSource& source) {
    std::unique_ptr<DedupTable> t(new DedupTable(source));
    ASSIGN_OR_RETURN(t->table_, SqlTable::Open(t->view_, std::string(kDedupTable)));
    return t;
  }
  Result<int64_t> RowCount() override { return table_->RowCount(); }
  Result<std::vector<analysis::VariableInfo>> Variables() override { return table_->Variables(); }
  Result<std::vector<analysis::Moments>> NumericMoments(
      const std::vector<std::string>& variables) override {
    return table_->NumericMoments(variables);
  }
  Result<std::vector<analysis::LevelCount>> Levels(const std::string& variable,
                                                   size_t limit) override {
    return table_->Levels(variable, limit);
  }
  Result<std::vector<analysis::CellCount>> CrossCounts(const std::string& row,
                                                       const std::string& col) override {
    return table_->CrossCounts(row, col);
  }
  Result<std::vector<std::vector<double>>> ReadNumeric(
      const std::vector<std::string>& variables) override {
    return table_->ReadNumeric(variables);
  }

 private:
  explicit DedupTable(store::DataSource& source) : view_(source) {}
  WithTemporaryTable view_;
  std::unique_ptr<SqlTable> table_;
};

}  // namespace

Result<std::unique_ptr<analysis::AnalysisTable>> DeduplicatingProvider::OpenTable(
    const std::string& dataset) {
  if (!use_.deduplicate) return inner_.OpenTable(dataset);
  if (state_ == nullptr) {
    return Status::FailedPrecondition("this node keeps no linkage state");
  }
  ASSIGN_OR_RETURN(auto matches, state_->Matches(use_.id));
  std::vector<std::string> drop;
  for (const auto& m : matches) {
    if (!m.keep) drop.push_back(m.local_id);
  }
  return inner_.OpenTableExcluding(dataset, use_.id_column, drop);
}

Result<std::unique_ptr<analysis::AnalysisTable>> DataProvider::OpenTableExcluding(
    const std::string&, const std::string&, const std::vector<std::string>&) {
  return Status::FailedPrecondition("this node's data provider cannot leave out linked records");
}

Result<std::unique_ptr<analysis::AnalysisTable>> StoreDataProvider::OpenTableExcluding(
    const std::string& dataset, const std::string& id_column,
    const std::vector<std::string>& exclude) {
  ASSIGN_OR_RETURN(bool has, source_->HasTable(dataset));
  if (!has) {
    return Status::NotFound(
        fmt::format("dataset \"{}\" is not present in this node's database", dataset));
  }
  const store::Dialect& d = source_->dialect();
  // A temporary copy without the excluded rows (temporary objects live in memory, also when the
  // database is opened read-only), replaced at every task.
  const std::string temp(kDedupTable);
  std::string sql = fmt::format("CREATE OR REPLACE TEMP TABLE {} AS SELECT * FROM {}",
                                d.QuoteIdentifier(temp), d.QuoteIdentifier(dataset));
  if (!exclude.empty()) {
    sql += fmt::format(" WHERE CAST({} AS VARCHAR) NOT IN (", d.QuoteIdentifier(id_column));
    for (size_t i = 0; i < exclude.size(); ++i) {
      if (i) sql += ", ";
      sql += d.QuoteLiteral(exclude[i]);
    }
    sql += ")";
  }
  Status st = source_->Execute(sql);
  if (!st.ok()) {
    return Status::InvalidArgument(fmt::format(
        "dataset \"{}\": cannot leave out linked records by column \"{}\"", dataset, id_column));
  }
  ASSIGN_OR_RETURN(auto table, DedupTable::Open(*source_));
  return std::unique_ptr<analysis::AnalysisTable>(std::move(table));
}

}  // namespace passerelle::node
