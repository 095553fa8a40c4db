#include "privacy/secure_round.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>

#include "crypto/hash.h"
#include "privacy/byte_io.h"

namespace passerelle::privacy {

namespace {

FixedPointOptions RoundFixedPoint(uint32_t n) {
  FixedPointOptions f;
  f.fractional_bits = kRoundFractionalBits;
  f.max_nodes = std::max<uint32_t>(n, 1);
  const int width = std::bit_width(f.max_nodes);
  f.max_abs = std::ldexp(1.0, 60 - static_cast<int>(kRoundFractionalBits) - width);
  return f;
}

}  // namespace

Result<SecureRoundParams> MakeSecureRound(const std::string& study_id, uint32_t round,
                                          const std::vector<std::string>& nodes,
                                          uint64_t vector_length) {
  SecureRoundParams p;
  p.indices = secagg::AssignIndices(nodes);
  p.config.study_id = study_id;
  p.config.round = round;
  for (const auto& [node, index] : p.indices) p.config.participants.push_back(index);
  p.config.threshold = secagg::DefaultThreshold(static_cast<uint32_t>(p.indices.size()));
  p.config.vector_length = vector_length;
  RETURN_IF_ERROR(secagg::ValidateConfig(p.config));
  p.fixed = RoundFixedPoint(static_cast<uint32_t>(p.indices.size()));
  ASSIGN_OR_RETURN(auto codec, FixedPointCodec::Create(p.fixed));
  (void)codec;
  return p;
}

nlohmann::json SecureRoundToJson(const SecureRoundParams& p) {
  nlohmann::json participants = nlohmann::json::object();
  for (const auto& [node, index] : p.indices) participants[node] = index;
  return {{"participants", participants},
          {"threshold", p.config.threshold},
          {"vector_length", p.config.vector_length},
          {"fractional_bits", p.fixed.fractional_bits},
          {"max_abs", p.fixed.max_abs}};
}

Result<SecureRoundParams> SecureRoundFromJson(const std::string& study_id, uint32_t round,
                                              const nlohmann::json& j) {
  const char* path = "task.secagg.session";
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: expected an object", path));
  for (const auto& [key, value] : j.items()) {
    if (key != "participants" && key != "threshold" && key != "vector_length" &&
        key != "fractional_bits" && key != "max_abs") {
      return Status::InvalidArgument(fmt::format("{}: unknown key \"{}\"", path, key));
    }
  }
  auto parts = j.find("participants");
  if (parts == j.end() || !parts->is_object() || parts->empty() ||
      parts->size() > secagg::kMaxParticipants) {
    return Status::InvalidArgument(
        fmt::format("{}.participants: expected a non-empty object", path));
  }
  std::vector<std::string> nodes;
  for (const auto& [node, index] : parts->items()) nodes.push_back(node);
  auto vl = j.find("vector_length");
  if (vl == j.end() || !vl->is_number_unsigned()) {
    return Status::InvalidArgument(
        fmt::format("{}.vector_length: expected a positive integer", path));
  }
  ASSIGN_OR_RETURN(SecureRoundParams p,
                   MakeSecureRound(study_id, round, nodes, vl->get<uint64_t>()));
  for (const auto& [node, index] : parts->items()) {
    if (!index.is_number_unsigned() || index.get<uint64_t>() != p.indices.at(node)) {
      return Status::InvalidArgument(
          fmt::format("{}.participants.{}: the index must be the node's rank in sorted order ({})",
                      path, node, p.indices.at(node)));
    }
  }
  auto t = j.find("threshold");
  if (t == j.end() || !t->is_number_unsigned() || t->get<uint64_t>() != p.config.threshold) {
    return Status::InvalidArgument(fmt::format("{}.threshold: must be {} for {} nodes", path,
                                               p.config.threshold, nodes.size()));
  }
  auto fb = j.find("fractional_bits");
  auto ma = j.find("max_abs");
  if (fb == j.end() || !fb->is_number_unsigned() ||
      fb->get<uint64_t>() != p.fixed.fractional_bits || ma == j.end() || !ma->is_number() ||
      ma->get<double>() != p.fixed.max_abs) {
    return Status::InvalidArgument(
        fmt::format("{}: fractional_bits and max_abs must be {} and {} for {} nodes", path,
                    p.fixed.fractional_bits, p.fixed.max_abs, nodes.size()));
  }
  return p;
}

// ---- Signed advertisements -------------------------------------------------------------------

namespace {
constexpr size_t kMaxAdvertBytes = 1024;
constexpr size_t kMaxCertificateBytes = 16384;
constexpr size_t kMaxSignatureBytes = 512;
constexpr size_t kMaxDirectoryBytes = 1024 * secagg::kMaxParticipants;
}  // namespace

std::string AdvertisementMessage(std::string_view node, std::span<const uint8_t> advert) {
  return fmt::format("passerelle/secagg/v1/advertise\n{}\n{}", node, crypto::ToHex(advert));
}

std::vector<uint8_t> EncodeSignedAdvert(std::span<const uint8_t> advert,
                                        const AdvertAttestation& a) {
  ByteWriter w;
  w.Blob(advert);
  w.Str(a.certificate);
  w.Blob(a.signature);
  return w.Take();
}

Result<SignedAdvert> DecodeSignedAdvert(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "signed advertisement");
  SignedAdvert out;
  out.advert = r.Blob(kMaxAdvertBytes);
  out.attestation.certificate = r.Str(kMaxCertificateBytes);
  out.attestation.signature = r.Blob(kMaxSignatureBytes);
  RETURN_IF_ERROR(r.Finish());
  return out;
}

std::vector<uint8_t> EncodeSignedDirectory(
    std::span<const uint8_t> directory, const std::map<uint32_t, AdvertAttestation>& attestations) {
  ByteWriter w;
  w.Blob(directory);
  w.U32(static_cast<uint32_t>(attestations.size()));
  for (const auto& [sender, a] : attestations) {
    w.U32(sender);
    w.Str(a.certificate);
    w.Blob(a.signature);
  }
  return w.Take();
}

Result<SignedDirectory> DecodeSignedDirectory(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "signed key directory");
  SignedDirectory out;
  out.directory = r.Blob(kMaxDirectoryBytes);
  const uint32_t n = r.Count(secagg::kMaxParticipants, 12);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    const uint32_t sender = r.U32();
    AdvertAttestation a;
    a.certificate = r.Str(kMaxCertificateBytes);
    a.signature = r.Blob(kMaxSignatureBytes);
    if (r.ok() && !out.attestations.emplace(sender, std::move(a)).second) {
      r.Fail("a sender is listed twice");
    }
  }
  RETURN_IF_ERROR(r.Finish());
  return out;
}

}  // namespace passerelle::privacy
