#include "privacy/pprl/schema.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/files.h"
#include "privacy/pprl/key.h"

namespace passerelle::pprl {
namespace {

using Json = nlohmann::json;

Status UnknownKeys(const Json& obj, std::initializer_list<std::string_view> allowed,
                   std::string_view where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (std::string_view a : allowed)
        list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", a);
      return Status::InvalidArgument(
          fmt::format("{}: unknown key \"{}\" (expected one of {})", where, it.key(), list));
    }
  }
  return Status::Ok();
}

Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view where,
                              std::string fallback, bool required = false) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) {
      return Status::InvalidArgument(fmt::format("{}: \"{}\" is required", where, key));
    }
    return fallback;
  }
  if (!it->is_string()) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" must be a string", where, key));
  }
  return it->get<std::string>();
}

Result<double> GetNumber(const Json& obj, std::string_view key, std::string_view where,
                         double fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (!it->is_number()) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" must be a number", where, key));
  }
  return it->get<double>();
}

Result<int> GetInt(const Json& obj, std::string_view key, std::string_view where, int fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (!it->is_number_integer()) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" must be an integer", where, key));
  }
  const auto v = it->get<int64_t>();
  if (v < -1000000 || v > 1000000) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" is out of range", where, key));
  }
  return static_cast<int>(v);
}

Result<bool> GetBool(const Json& obj, std::string_view key, std::string_view where, bool fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (!it->is_boolean()) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" must be true or false", where, key));
  }
  return it->get<bool>();
}

std::string_view FieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kName:
      return "name";
    case FieldType::kText:
      return "text";
    case FieldType::kCode:
      return "code";
    case FieldType::kDate:
      return "date";
  }
  return "?";
}

std::string_view TokenizerName(Tokenizer t) {
  switch (t) {
    case Tokenizer::kBigrams:
      return "bigrams";
    case Tokenizer::kUnigrams:
      return "unigrams";
    case Tokenizer::kExact:
      return "exact";
    case Tokenizer::kDateParts:
      return "date_parts";
  }
  return "?";
}

std::string_view TransformName(BlockTransform t) {
  switch (t) {
    case BlockTransform::kExact:
      return "exact";
    case BlockTransform::kSoundex:
      return "soundex";
    case BlockTransform::kPrefix:
      return "prefix";
    case BlockTransform::kYear:
      return "year";
  }
  return "?";
}

Result<FieldSpec> ParseField(const Json& j, int default_k, std::string_view where) {
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: must be an object", where));
  RETURN_IF_ERROR(UnknownKeys(
      j, {"name", "column", "type", "tokens", "k", "weight", "formats", "domain"}, where));
  FieldSpec f;
  ASSIGN_OR_RETURN(f.name, GetString(j, "name", where, "", true));
  ASSIGN_OR_RETURN(f.column, GetString(j, "column", where, f.name));
  ASSIGN_OR_RETURN(f.domain, GetString(j, "domain", where, f.name));
  ASSIGN_OR_RETURN(std::string type, GetString(j, "type", where, "text"));
  if (type == "name") {
    f.type = FieldType::kName;
  } else if (type == "text") {
    f.type = FieldType::kText;
  } else if (type == "code") {
    f.type = FieldType::kCode;
  } else if (type == "date") {
    f.type = FieldType::kDate;
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}: \"type\" must be \"name\", \"text\", \"code\" or \"date\" (got \"{}\")", where, type));
  }
  ASSIGN_OR_RETURN(
      std::string tokens,
      GetString(j, "tokens", where, f.type == FieldType::kDate ? "date_parts" : "bigrams"));
  if (tokens == "bigrams") {
    f.tokens = Tokenizer::kBigrams;
  } else if (tokens == "unigrams") {
    f.tokens = Tokenizer::kUnigrams;
  } else if (tokens == "exact") {
    f.tokens = Tokenizer::kExact;
  } else if (tokens == "date_parts") {
    f.tokens = Tokenizer::kDateParts;
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}: \"tokens\" must be \"bigrams\", \"unigrams\", \"exact\" or \"date_parts\" (got "
        "\"{}\")",
        where, tokens));
  }
  if (j.contains("k") && j.contains("weight")) {
    return Status::InvalidArgument(fmt::format("{}: give \"k\" or \"weight\", not both", where));
  }
  ASSIGN_OR_RETURN(double weight, GetNumber(j, "weight", where, 1.0));
  if (!(weight >= 0) || weight > 100) {
    return Status::InvalidArgument(fmt::format("{}: \"weight\" must be in [0, 100]", where));
  }
  ASSIGN_OR_RETURN(f.k, GetInt(j, "k", where, static_cast<int>(std::lround(weight * default_k))));
  if (auto it = j.find("formats"); it != j.end()) {
    if (!it->is_array()) {
      return Status::InvalidArgument(fmt::format("{}: \"formats\" must be an array", where));
    }
    for (const Json& e : *it) {
      if (!e.is_string()) {
        return Status::InvalidArgument(
            fmt::format("{}: \"formats\" must hold strings such as \"%d/%m/%Y\"", where));
      }
      f.date_formats.push_back(e.get<std::string>());
    }
  }
  return f;
}

Result<BlockingSpec> ParseBlocking(const Json& j, std::string_view where) {
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: must be an object", where));
  RETURN_IF_ERROR(UnknownKeys(j, {"name", "parts"}, where));
  BlockingSpec b;
  ASSIGN_OR_RETURN(b.name, GetString(j, "name", where, "", true));
  auto it = j.find("parts");
  if (it == j.end() || !it->is_array() || it->empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: \"parts\" must be a non-empty array of {{\"field\", \"transform\"}}", where));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& p = (*it)[i];
    const std::string pw = fmt::format("{} part {}", where, i + 1);
    if (!p.is_object()) return Status::InvalidArgument(pw + ": must be an object");
    RETURN_IF_ERROR(UnknownKeys(p, {"field", "transform"}, pw));
    BlockingSpec::Part part;
    ASSIGN_OR_RETURN(part.field, GetString(p, "field", pw, "", true));
    ASSIGN_OR_RETURN(std::string tr, GetString(p, "transform", pw, "exact"));
    if (tr == "exact") {
      part.transform = BlockTransform::kExact;
    } else if (tr == "soundex") {
      part.transform = BlockTransform::kSoundex;
    } else if (tr == "year") {
      part.transform = BlockTransform::kYear;
    } else if (tr.rfind("prefix:", 0) == 0) {
      part.transform = BlockTransform::kPrefix;
      const std::string n = tr.substr(7);
      part.prefix = 0;
      for (char c : n) {
        if (c < '0' || c > '9' || part.prefix > 1000) {
          part.prefix = 0;
          break;
        }
        part.prefix = part.prefix * 10 + (c - '0');
      }
      if (part.prefix < 1 || part.prefix > 64) {
        return Status::InvalidArgument(
            fmt::format("{}: \"prefix:N\" needs N in 1..64 (got \"{}\")", pw, tr));
      }
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: \"transform\" must be \"exact\", \"soundex\", \"year\" or \"prefix:N\" (got "
          "\"{}\")",
          pw, tr));
    }
    b.parts.push_back(std::move(part));
  }
  return b;
}

}  // namespace

int LinkageSchema::OutputBits() const {
  int out = bits;
  if (hardening.xor_fold) out /= 2;
  if (hardening.balance) out *= 2;
  return out;
}

Status LinkageSchema::Validate() const {
  if (id_column.empty()) return Status::InvalidArgument("\"id\" (the id column) is required");
  if (id_column.size() > 256) return Status::InvalidArgument("\"id\" is longer than 256 bytes");
  if (blocking.size() > 255) {
    return Status::InvalidArgument("at most 255 blocking keys (\"blocking\") are allowed");
  }
  if (bits < kMinBits || bits > kMaxBits || bits % 64 != 0) {
    return Status::InvalidArgument(fmt::format(
        "clk.bits must be a multiple of 64 in [{}, {}] (got {})", kMinBits, kMaxBits, bits));
  }
  if (hardening.xor_fold && bits % 128 != 0) {
    return Status::InvalidArgument(
        fmt::format("clk.bits must be a multiple of 128 with XOR folding (got {})", bits));
  }
  if (OutputBits() > kMaxBits) {
    return Status::InvalidArgument(
        fmt::format("the hardened CLK would have {} bits, more than {}", OutputBits(), kMaxBits));
  }
  if (!(hardening.blip_flip_probability >= 0.0 && hardening.blip_flip_probability < 0.5)) {
    return Status::InvalidArgument(
        fmt::format("clk.hardening.blip_flip_probability must be in [0, 0.5) (got {})",
                    hardening.blip_flip_probability));
  }
  if (default_k < 1 || default_k > kMaxK) {
    return Status::InvalidArgument(fmt::format("clk.k must be in [1, {}]", kMaxK));
  }
  if (fields.empty()) return Status::InvalidArgument("\"fields\" must list at least one field");
  std::set<std::string> names;
  int encoded = 0;
  for (const FieldSpec& f : fields) {
    if (f.name.empty()) return Status::InvalidArgument("a field has an empty name");

    if (!names.insert(f.name).second) {
      return Status::InvalidArgument(fmt::format("field \"{}\" is listed twice", f.name));
    }
    if (f.column == id_column) {
      return Status::InvalidArgument(
          fmt::format("field \"{}\": the id column is not an identifying field", f.name));
    }
    if (f.k < 0 || f.k > kMaxK) {
      return Status::InvalidArgument(
          fmt::format("field \"{}\": k must be in [0, {}] (got {})", f.name, kMaxK, f.k));
    }
    if (f.tokens == Tokenizer::kDateParts && f.type != FieldType::kDate) {
      return Status::InvalidArgument(
          fmt::format("field \"{}\": \"date_parts\" tokens need \"type\": \"date\"", f.name));
    }
    if (!f.date_formats.empty() && f.type != FieldType::kDate) {
      return Status::InvalidArgument(
          fmt::format("field \"{}\": \"formats\" is only for dates", f.name));
    }
    for (const std::string& fmt_text : f.date_formats) {
      if (fmt_text.find("%Y") == std::string::npos) {
        return Status::InvalidArgument(
            fmt::format("field \"{}\": date format \"{}\" has no %Y", f.name, fmt_text));
      }
    }
    if (f.k > 0) ++encoded;
  }
  if (encoded == 0) return Status::InvalidArgument("every field has k = 0: nothing to encode");
  std::set<std::string> bnames;
  for (const BlockingSpec& b : blocking) {
    if (!bnames.insert(b.name).second || b.name.empty()) {
      return Status::InvalidArgument(
          fmt::format("blocking key \"{}\" is unnamed or listed twice", b.name));
    }
    for (const auto& p : b.parts) {
      const FieldSpec* f = nullptr;
      for (const FieldSpec& cand : fields) {
        if (cand.name == p.field) f = &cand;
      }
      if (f == nullptr) {
        return Status::InvalidArgument(fmt::format(
            "blocking key \"{}\": \"{}\" is not a field of the schema", b.name, p.field));
      }
      if (p.transform == BlockTransform::kYear && f->type != FieldType::kDate) {
        return Status::InvalidArgument(fmt::format(
            "blocking key \"{}\": \"year\" needs a date field (\"{}\" is not)", b.name, p.field));
      }
    }
  }
  return Status::Ok();
}

std::array<uint8_t, 32> LinkageSchema::Fingerprint() const {
  // One line per item; every string is length-prefixed so that no two schemas collide.
  std::string d = fmt::format(
      "passerelle-pprl-schema-v1\nbits={} hash={} fold={} balance={} "
      "blip={:.17g}\n",
      bits, hash == HashFunction::kBlake2b ? "blake2b" : "hmac-sha256", hardening.xor_fold,
      hardening.balance, hardening.blip_flip_probability);
  auto str = [](std::string_view s) { return fmt::format("{}:{}", s.size(), s); };
  for (const FieldSpec& f : fields) {
    d += fmt::format("field {} domain={} type={} tokens={} k={}", str(f.name), str(f.HashDomain()),
                     FieldTypeName(f.type), TokenizerName(f.tokens), f.k);
    for (const std::string& x : f.date_formats) d += " fmt=" + str(x);
    d += "\n";
  }
  for (const BlockingSpec& b : blocking) {
    d += "block " + str(b.name);
    for (const auto& p : b.parts) {
      d += fmt::format(" {}/{}/{}", str(p.field), TransformName(p.transform), p.prefix);
    }
    d += "\n";
  }
  std::array<uint8_t, 32> out{};
  if (!EnsureSodium().ok()) return out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const uint8_t*>(d.data()), d.size(),
                     nullptr, 0);
  return out;
}

Result<LinkageSchema> ParseSchema(std::string_view json_text, std::string_view label) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(
        fmt::format("{}: not valid JSON (at byte {})", label, static_cast<size_t>(e.byte)));
  }
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: must be an object", label));
  const std::string where(label);
  RETURN_IF_ERROR(UnknownKeys(j, {"version", "id", "clk", "fields", "blocking", "comment"}, where));
  ASSIGN_OR_RETURN(int version, GetInt(j, "version", where, 1));
  if (version != 1) {
    return Status::InvalidArgument(fmt::format(
        "{}: \"version\" {} is not supported (this program reads version 1)", label, version));
  }
  LinkageSchema s;
  ASSIGN_OR_RETURN(s.id_column, GetString(j, "id", where, "", true));
  if (auto it = j.find("clk"); it != j.end()) {
    const std::string cw = where + ": clk";
    if (!it->is_object()) return Status::InvalidArgument(cw + ": must be an object");
    RETURN_IF_ERROR(UnknownKeys(*it, {"bits", "hash", "k", "hardening"}, cw));
    ASSIGN_OR_RETURN(s.bits, GetInt(*it, "bits", cw, s.bits));
    ASSIGN_OR_RETURN(s.default_k, GetInt(*it, "k", cw, s.default_k));
    ASSIGN_OR_RETURN(std::string hash, GetString(*it, "hash", cw, "blake2b"));
    if (hash == "blake2b") {
      s.hash = HashFunction::kBlake2b;
    } else if (hash == "hmac-sha256") {
      s.hash = HashFunction::kHmacSha256;
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: \"hash\" must be \"blake2b\" or \"hmac-sha256\" (got \"{}\")", cw, hash));
    }
    if (auto h = it->find("hardening"); h != it->end()) {
      const std::string hw = cw + ".hardening";
      if (!h->is_object()) return Status::InvalidArgument(hw + ": must be an object");
      RETURN_IF_ERROR(UnknownKeys(*h, {"xor_fold", "balance", "blip_flip_probability"}, hw));
      ASSIGN_OR_RETURN(s.hardening.xor_fold, GetBool(*h, "xor_fold", hw, false));
      ASSIGN_OR_RETURN(s.hardening.balance, GetBool(*h, "balance", hw, false));
      ASSIGN_OR_RETURN(s.hardening.blip_flip_probability,
                       GetNumber(*h, "blip_flip_probability", hw, 0.0));
    }
  }
  if (s.default_k < 1 || s.default_k > LinkageSchema::kMaxK) {
    return Status::InvalidArgument(
        fmt::format("{}: clk.k must be in [1, {}]", label, LinkageSchema::kMaxK));
  }
  auto fields = j.find("fields");
  if (fields == j.end() || !fields->is_array()) {
    return Status::InvalidArgument(fmt::format("{}: \"fields\" must be an array", label));
  }
  for (size_t i = 0; i < fields->size(); ++i) {
    ASSIGN_OR_RETURN(FieldSpec f, ParseField((*fields)[i], s.default_k,
                                             fmt::format("{}: field {}", label, i + 1)));
    s.fields.push_back(std::move(f));
  }
  if (auto b = j.find("blocking"); b != j.end()) {
    if (!b->is_array()) {
      return Status::InvalidArgument(fmt::format("{}: \"blocking\" must be an array", label));
    }
    for (size_t i = 0; i < b->size(); ++i) {
      ASSIGN_OR_RETURN(BlockingSpec spec,
                       ParseBlocking((*b)[i], fmt::format("{}: blocking {}", label, i + 1)));
      s.blocking.push_back(std::move(spec));
    }
  }
  Status st = s.Validate();
  if (!st.ok()) return st.WithContext(label);
  return s;
}

Result<LinkageSchema> ReadSchemaFile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseSchema(text, path.filename().string());
}

}  // namespace passerelle::pprl
