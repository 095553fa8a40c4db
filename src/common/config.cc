#include "common/config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>

namespace passerelle {

struct Config::Impl {
  toml::table table;
};

namespace {

std::string TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    default:
      return "date/time";
  }
}

Status WrongType(const std::string& source, std::string_view key, std::string_view want,
                 const toml::node& n) {
  return Status::InvalidArgument(fmt::format("{}:{}: \"{}\" must be {} (got {})", source,
                                             n.source().begin.line, key, want, TypeName(n)));
}

void CollectLeaves(const toml::table& t, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& [k, v] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table()) {
      CollectLeaves(*sub, key, out);
    } else {
      out.push_back(std::move(key));
    }
  }
}

}  // namespace

// Debian's toml++ is built with exceptions: parse errors arrive as toml::parse_error.
Result<Config> Config::Parse(std::string_view text, std::string source) {
  auto impl = std::make_shared<Impl>();
  try {
    impl->table = toml::parse(text, source);
  } catch (const toml::parse_error& err) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", source, err.source().begin.line,
                                               err.source().begin.column, err.description()));
  }
  return Config(std::move(impl), std::move(source));
}

Result<Config> Config::LoadFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound(fmt::format("{}: no such configuration file", path.string()));
  }
  auto impl = std::make_shared<Impl>();
  try {
    impl->table = toml::parse_file(path.string());
  } catch (const toml::parse_error& err) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", path.string(),
                                               err.source().begin.line, err.source().begin.column,
                                               err.description()));
  }
  return Config(std::move(impl), path.string());
}

bool Config::Has(std::string_view key) const {
  return static_cast<bool>(impl_->table.at_path(key));
}

Result<std::string> Config::GetString(std::string_view key, std::string fallback) const {
  auto node = impl_->table.at_path(key);
  if (!node) return fallback;
  if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
  return WrongType(source_, key, "a string", *node.node());
}

Result<int64_t> Config::GetInt(std::string_view key, int64_t fallback) const {
  auto node = impl_->table.at_path(key);
  if (!node) return fallback;
  if (node.is_integer()) return *node.value<int64_t>();
  return WrongType(source_, key, "an integer", *node.node());
}

Result<double> Config::GetDouble(std::string_view key, double fallback) const {
  auto node = impl_->table.at_path(key);
  if (!node) return fallback;
  if (node.is_floating_point() || node.is_integer()) return *node.value<double>();
  return WrongType(source_, key, "a number", *node.node());
}

Result<bool> Config::GetBool(std::string_view key, bool fallback) const {
  auto node = impl_->table.at_path(key);
  if (!node) return fallback;
  if (node.is_boolean()) return *node.value<bool>();
  return WrongType(source_, key, "true or false", *node.node());
}

Result<std::vector<std::string>> Config::GetStringList(std::string_view key,
                                                       std::vector<std::string> fallback) const {
  auto node = impl_->table.at_path(key);
  if (!node) return fallback;
  const toml::array* arr = node.as_array();
  if (!arr) return WrongType(source_, key, "an array of strings", *node.node());
  std::vector<std::string> out;
  for (const auto& el : *arr) {
    if (!el.is_string()) return WrongType(source_, key, "an array of strings", el);
    out.push_back(*el.value<std::string>());
  }
  return out;
}

std::vector<std::string> Config::TableKeys(std::string_view key) const {
  std::vector<std::string> out;
  const toml::table* t = key.empty() ? &impl_->table : impl_->table.at_path(key).as_table();
  if (!t) return out;
  for (const auto& [k, v] : *t) out.emplace_back(k.str());
  return out;
}

std::vector<std::string> Config::UnknownKeys(const std::vector<std::string>& known) const {
  std::vector<std::string> leaves;
  CollectLeaves(impl_->table, "", leaves);
  std::vector<std::string> out;
  for (auto& k : leaves) {
    if (std::find(known.begin(), known.end(), k) == known.end()) out.push_back(k);
  }
  return out;
}

}  // namespace passerelle
