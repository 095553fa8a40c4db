#include "protocol/linkage_messages.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "protocol/codec.h"
#include "protocol/json_reader.h"
#include "protocol/messages.h"

namespace passerelle::protocol {

using nlohmann::json;

namespace {

Status ValidateNode(std::string_view id, std::string_view path) {
  bool ok = !id.empty() && id.size() <= 63;
  for (char c : id) {
    ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  if (!ok) {
    return Status::InvalidArgument(
        fmt::format("{}: \"{}\" is not a node id (1 to 63 of a-z, 0-9, '-', '_')", path,
                    id.size() > 64 ? std::string(id.substr(0, 64)) + "..." : std::string(id)));
  }
  return Status::Ok();
}

Status CheckProtocol(const json& j, std::string_view path) {
  ASSIGN_OR_RETURN(auto v, GetOptionalInt(j, "protocol", path));
  if (v && *v != kProtocolVersion) {
    return Status::InvalidArgument(
        fmt::format("{}.protocol: version {} is not supported (this build speaks {})", path, *v,
                    kProtocolVersion));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> GetNodeList(const json& j, std::string_view key,
                                             std::string_view path, size_t min_items) {
  const std::string p = JsonPath(path, key);
  ASSIGN_OR_RETURN(auto nodes, GetStringArray(j, key, path, kMaxLinkageNodes));
  if (nodes.size() < min_items) {
    return Status::InvalidArgument(fmt::format("{}: a linkage needs {} to {} nodes (got {})", p,
                                               min_items, kMaxLinkageNodes, nodes.size()));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < nodes.size(); ++i) {
    RETURN_IF_ERROR(ValidateNode(nodes[i], fmt::format("{}[{}]", p, i)));
    if (!seen.insert(nodes[i]).second) {
      return Status::InvalidArgument(
          fmt::format("{}[{}]: node \"{}\" listed twice", p, i, nodes[i]));
    }
  }
  return nodes;
}

Result<std::vector<uint8_t>> GetBytes(const json& j, std::string_view key, std::string_view path,
                                      size_t min_bytes, size_t max_bytes) {
  ASSIGN_OR_RETURN(std::string text, GetString(j, key, path));
  const std::string p = JsonPath(path, key);
  if (text.size() > (max_bytes + 2) / 3 * 4) {
    return Status::InvalidArgument(fmt::format("{}: longer than {} bytes", p, max_bytes));
  }
  auto bytes = Base64Decode(text);
  if (!bytes.ok()) return bytes.status().WithContext(p);
  if (bytes->size() < min_bytes || bytes->size() > max_bytes) {
    return Status::InvalidArgument(
        fmt::format("{}: expected {} to {} bytes, got {}", p, min_bytes, max_bytes, bytes->size()));
  }
  return bytes;
}

Result<std::map<std::string, std::vector<uint8_t>>> GetByteMap(const json& j, std::string_view key,
                                                               std::string_view path,
                                                               size_t min_bytes, size_t max_bytes) {
  const std::string p = JsonPath(path, key);
  auto it = j.find(key);
  if (it == j.end() || !it->is_object() || it->size() > kMaxLinkageNodes) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an object of at most {} nodes", p, kMaxLinkageNodes));
  }
  std::map<std::string, std::vector<uint8_t>> out;
  for (auto e = it->begin(); e != it->end(); ++e) {
    RETURN_IF_ERROR(ValidateNode(e.key(), p));
    json holder = {{"v", e.value()}};
    ASSIGN_OR_RETURN(out[e.key()],
                     GetBytes(holder, "v", fmt::format("{}.{}", p, e.key()), min_bytes, max_bytes));
  }
  return out;
}

json ByteMapToJson(const std::map<std::string, std::vector<uint8_t>>& m) {
  json o = json::object();
  for (const auto& [k, v] : m) o[k] = Base64Encode(v);
  return o;
}

}  // namespace

Status ValidateLinkageId(std::string_view id, std::string_view path) {
  bool ok = id.size() == 15 && id.substr(0, 3) == "lk-";
  for (size_t i = 3; ok && i < id.size(); ++i) {
    ok = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
  }
  if (!ok) {
    return Status::InvalidArgument(fmt::format(
        "{}: \"{}\" is not a linkage id (\"lk-\" and 12 hex digits, as the hub returned it)", path,
        id.size() > 64 ? std::string(id.substr(0, 64)) + "..." : std::string(id)));
  }
  return Status::Ok();
}

// ---- LinkageRequest / LinkageStudy ------------------------------------------------------------

json LinkageRequest::ToJson() const {
  json j = {{"schema", schema}, {"threshold", threshold}, {"nodes", nodes}};
  if (blocking != "none") j["blocking"] = blocking;
  if (min_cell) j["min_cell"] = *min_cell;
  return j;
}

Result<LinkageRequest> LinkageRequest::FromJson(const json& j, std::string_view path) {
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(
      CheckKnownKeys(j, {"schema", "threshold", "nodes", "blocking", "min_cell"}, path));
  LinkageRequest r;
  auto schema = j.find("schema");
  if (schema == j.end() || !schema->is_object()) {
    return Status::InvalidArgument(fmt::format(
        "{}.schema: expected the linkage schema as an object (docs/pprl.md; a file is inlined by "
        "the client before submitting)",
        path));
  }
  r.schema = *schema;
  ASSIGN_OR_RETURN(auto threshold, GetOptionalDouble(j, "threshold", path));
  if (threshold) {
    if (!std::isfinite(*threshold) || *threshold <= 0 || *threshold > 1) {
      return Status::InvalidArgument(
          fmt::format("{}.threshold: must be in (0, 1] (got {})", path, *threshold));
    }
    r.threshold = *threshold;
  }
  ASSIGN_OR_RETURN(r.nodes, GetNodeList(j, "nodes", path, 2));
  ASSIGN_OR_RETURN(auto blocking, GetOptionalString(j, "blocking", path));
  if (blocking) {
    if (blocking->empty() || blocking->size() > 64) {
      return Status::InvalidArgument(fmt::format("{}.blocking: 1 to 64 characters", path));
    }
    r.blocking = *blocking;
  }
  ASSIGN_OR_RETURN(r.min_cell, GetOptionalInt(j, "min_cell", path));
  if (r.min_cell && (*r.min_cell < 0 || *r.min_cell > 1'000'000)) {
    return Status::InvalidArgument(fmt::format("{}.min_cell: must be in [0, 1000000]", path));
  }
  return r;
}

bool IsLinkageStudy(const json& study) {
  if (!study.is_object()) return false;
  auto it = study.find("linkage");
  return it != study.end() && it->is_object() && it->contains("schema");
}

json LinkageStudy::ToJson() const {
  json j = {{"name", name}, {"linkage", linkage.ToJson()}};
  if (!description.empty()) j["description"] = description;
  if (project) j["project"] = *project;
  return j;
}

Result<LinkageStudy> LinkageStudy::FromJson(const json& j) {
  const std::string path = "study";
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"name", "description", "project", "linkage"}, path));
  LinkageStudy s;
  ASSIGN_OR_RETURN(s.name, GetString(j, "name", path));
  if (s.name.empty() || s.name.size() > 200) {
    return Status::InvalidArgument("study.name: must be 1 to 200 characters");
  }
  ASSIGN_OR_RETURN(auto desc, GetOptionalString(j, "description", path));
  if (desc && desc->size() > 10000) {
    return Status::InvalidArgument("study.description: too long");
  }
  if (desc) s.description = *desc;
  ASSIGN_OR_RETURN(s.project, GetOptionalString(j, "project", path));
  auto it = j.find("linkage");
  if (it == j.end()) return Status::InvalidArgument("study.linkage: missing");
  ASSIGN_OR_RETURN(s.linkage, LinkageRequest::FromJson(*it, "study.linkage"));
  return s;
}

// ---- LinkageTask ------------------------------------------------------------------------------

bool IsLinkageTask(const json& payload) {
  return payload.is_object() && payload.contains("kind") && payload["kind"] == "linkage";
}

json LinkageTask::ToJson() const {
  json j = {{"protocol", kProtocolVersion},
            {"kind", "linkage"},
            {"linkage_id", linkage_id},
            {"node", node},
            {"nodes", nodes},
            {"schema", schema}};
  if (project) j["project"] = *project;
  return j;
}

Result<LinkageTask> LinkageTask::FromJson(const json& j) {
  const std::string path = "linkage_task";
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(
      j, {"protocol", "kind", "linkage_id", "node", "nodes", "schema", "project"}, path));
  RETURN_IF_ERROR(CheckProtocol(j, path));
  ASSIGN_OR_RETURN(std::string kind, GetString(j, "kind", path));
  if (kind != "linkage") {
    return Status::InvalidArgument(fmt::format("{}.kind: expected \"linkage\"", path));
  }
  LinkageTask t;
  ASSIGN_OR_RETURN(t.linkage_id, GetString(j, "linkage_id", path));
  RETURN_IF_ERROR(ValidateLinkageId(t.linkage_id, path + ".linkage_id"));
  ASSIGN_OR_RETURN(t.node, GetString(j, "node", path));
  RETURN_IF_ERROR(ValidateNode(t.node, path + ".node"));
  ASSIGN_OR_RETURN(t.nodes, GetNodeList(j, "nodes", path, 2));
  if (std::find(t.nodes.begin(), t.nodes.end(), t.node) == t.nodes.end()) {
    return Status::InvalidArgument(fmt::format("{}.nodes: does not list the node itself", path));
  }
  auto schema = j.find("schema");
  if (schema == j.end() || !schema->is_object()) {
    return Status::InvalidArgument(path + ".schema: expected an object");
  }
  t.schema = *schema;
  ASSIGN_OR_RETURN(t.project, GetOptionalString(j, "project", path));
  return t;
}

// ---- Key agreement ----------------------------------------------------------------------------

json KeyPost::ToJson() const {
  return {{"public_key", Base64Encode(public_key)},
          {"certificate", certificate},
          {"signature", Base64Encode(signature)}};
}

namespace {
Result<KeyPost> KeyPostFromJson(const json& j, const std::string& path) {
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"public_key", "certificate", "signature"}, path));
  KeyPost k;
  ASSIGN_OR_RETURN(k.public_key, GetBytes(j, "public_key", path, kX25519KeyBytes, kX25519KeyBytes));
  ASSIGN_OR_RETURN(k.certificate, GetString(j, "certificate", path));
  if (k.certificate.empty() || k.certificate.size() > kMaxCertificateBytes) {
    return Status::InvalidArgument(
        fmt::format("{}.certificate: expected a PEM certificate of at most {} bytes", path,
                    kMaxCertificateBytes));
  }
  ASSIGN_OR_RETURN(k.signature, GetBytes(j, "signature", path, 8, kMaxSignatureBytes));
  return k;
}
}  // namespace

Result<KeyPost> KeyPost::FromJson(const json& j) { return KeyPostFromJson(j, "key"); }

json KeySet::ToJson() const {
  json k = json::object();
  for (const auto& [node, post] : keys) k[node] = post.ToJson();
  return {{"keys", std::move(k)}, {"complete", complete}};
}

Result<KeySet> KeySet::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "keys"));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"keys", "complete"}, "keys"));
  KeySet k;
  auto it = j.find("keys");
  if (it == j.end() || !it->is_object() || it->size() > kMaxLinkageNodes) {
    return Status::InvalidArgument(
        fmt::format("keys.keys: expected an object of at most {} nodes", kMaxLinkageNodes));
  }
  for (auto e = it->begin(); e != it->end(); ++e) {
    RETURN_IF_ERROR(ValidateNode(e.key(), "keys.keys"));
    ASSIGN_OR_RETURN(k.keys[e.key()], KeyPostFromJson(e.value(), "keys.keys." + e.key()));
  }
  ASSIGN_OR_RETURN(auto complete, GetOptionalBool(j, "complete", "keys"));
  k.complete = complete.value_or(false);
  return k;
}

json SealedSecrets::ToJson() const { return {{"sealed", ByteMapToJson(sealed)}}; }

Result<SealedSecrets> SealedSecrets::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "secrets"));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"sealed"}, "secrets"));
  SealedSecrets s;
  ASSIGN_OR_RETURN(s.sealed, GetByteMap(j, "sealed", "secrets", 1, kMaxSealedSecretBytes));
  if (s.sealed.empty()) return Status::InvalidArgument("secrets.sealed: empty");
  return s;
}

json SealedSecret::ToJson() const { return {{"from", from}, {"sealed", Base64Encode(sealed)}}; }

Result<SealedSecret> SealedSecret::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "secret"));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"from", "sealed"}, "secret"));
  SealedSecret s;
  ASSIGN_OR_RETURN(s.from, GetString(j, "from", "secret"));
  RETURN_IF_ERROR(ValidateNode(s.from, "secret.from"));
  ASSIGN_OR_RETURN(s.sealed, GetBytes(j, "sealed", "secret", 1, kMaxSealedSecretBytes));
  return s;
}

// ---- CLKs and matches -------------------------------------------------------------------------

json ClkUpload::ToJson() const {
  return {{"clks", Base64Encode({reinterpret_cast<const uint8_t*>(clks.data()), clks.size()})},
          {"min_cell", min_cell}};
}

Result<ClkUpload> ClkUpload::FromJson(const json& j, size_t max_bytes) {
  RETURN_IF_ERROR(RequireObject(j, "clks"));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"clks", "min_cell"}, "clks"));
  ClkUpload u;
  ASSIGN_OR_RETURN(auto bytes, GetBytes(j, "clks", "clks", 1, max_bytes));
  u.clks.assign(bytes.begin(), bytes.end());
  ASSIGN_OR_RETURN(auto min_cell, GetOptionalInt(j, "min_cell", "clks"));
  u.min_cell = min_cell.value_or(0);
  if (u.min_cell < 0 || u.min_cell > 1'000'000) {
    return Status::InvalidArgument("clks.min_cell: must be in [0, 1000000]");
  }
  return u;
}

json NodeMatches::ToJson() const {
  json j = {{"state", state}};
  if (!error.empty()) j["error"] = error;
  // Compact rows: [row, cluster, keep].
  json rows = json::array();
  for (const auto& m : matches) rows.push_back(json::array({m.row, m.cluster, m.keep}));
  j["matches"] = std::move(rows);
  return j;
}

Result<NodeMatches> NodeMatches::FromJson(const json& j) {
  const std::string path = "matches";
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"state", "error", "matches"}, path));
  NodeMatches m;
  ASSIGN_OR_RETURN(m.state, GetString(j, "state", path));
  if (m.state != "running" && m.state != "completed" && m.state != "failed") {
    return Status::InvalidArgument(
        "matches.state: expected \"running\", \"completed\" or \"failed\"");
  }
  ASSIGN_OR_RETURN(auto error, GetOptionalString(j, "error", path));
  if (error) m.error = *error;
  auto rows = j.find("matches");
  if (rows == j.end() || !rows->is_array() || rows->size() > (1u << 24)) {
    return Status::InvalidArgument("matches.matches: expected an array");
  }
  std::set<uint32_t> seen;
  for (size_t i = 0; i < rows->size(); ++i) {
    const json& r = (*rows)[i];
    if (!r.is_array() || r.size() != 3 || !r[0].is_number_unsigned() || !r[1].is_string() ||
        !r[2].is_boolean() || r[0].get<uint64_t>() > UINT32_MAX ||
        r[1].get_ref<const std::string&>().empty() ||
        r[1].get_ref<const std::string&>().size() > 64) {
      return Status::InvalidArgument(
          fmt::format("matches.matches[{}]: expected [row, \"cluster\", keep]", i));
    }
    NodeMatch nm{static_cast<uint32_t>(r[0].get<uint64_t>()), r[1].get<std::string>(),
                 r[2].get<bool>()};
    if (!seen.insert(nm.row).second) {
      return Status::InvalidArgument(fmt::format("matches.matches[{}]: row {} twice", i, nm.row));
    }
    m.matches.push_back(std::move(nm));
  }
  return m;
}

json LinkageFailure::ToJson() const { return {{"message", message}}; }

Result<LinkageFailure> LinkageFailure::FromJson(const json& j) {
  RETURN_IF_ERROR(RequireObject(j, "error"));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"message"}, "error"));
  LinkageFailure f;
  ASSIGN_OR_RETURN(f.message, GetString(j, "message", "error"));
  if (f.message.size() > 3000) {
    // Cut at a character boundary: the message is stored and served as JSON text again.
    size_t n = 3000;
    while (n > 0 && (static_cast<unsigned char>(f.message[n]) & 0xC0) == 0x80) --n;
    f.message.resize(n);
  }
  return f;
}

// ---- LinkageUse -------------------------------------------------------------------------------

json LinkageUse::ToJson() const {
  return {{"id", id}, {"deduplicate", deduplicate}, {"id_column", id_column}};
}

Result<LinkageUse> LinkageUse::FromJson(const json& j, std::string_view path) {
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"id", "deduplicate", "id_column"}, path));
  LinkageUse u;
  ASSIGN_OR_RETURN(u.id, GetString(j, "id", path));
  RETURN_IF_ERROR(ValidateLinkageId(u.id, JsonPath(path, "id")));
  ASSIGN_OR_RETURN(auto dedup, GetOptionalBool(j, "deduplicate", path));
  u.deduplicate = dedup.value_or(false);
  ASSIGN_OR_RETURN(auto col, GetOptionalString(j, "id_column", path));
  if (col) {
    RETURN_IF_ERROR(ValidateDatasetName(*col, JsonPath(path, "id_column")));
    u.id_column = *col;
  }
  return u;
}

}  // namespace passerelle::protocol
