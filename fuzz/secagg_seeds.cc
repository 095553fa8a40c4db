// Writes the seed corpora of secagg_message_fuzz and fingerprint_fuzz (run by hand after a
// change of the encodings: `build/fuzz/secagg_seeds fuzz/corpus`). Deterministic.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "privacy/differencing.h"
#include "privacy/secagg.h"

namespace secagg = passerelle::privacy::secagg;

static void Write(const std::filesystem::path& p, uint8_t type, const std::vector<uint8_t>& b) {
  std::ofstream out(p, std::ios::binary);
  out.put(static_cast<char>(type));
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "secagg_message");
  std::filesystem::create_directories(dir / "fingerprint");
  secagg::SessionConfig c;
  c.study_id = "st-seed";
  c.round = 1;
  c.participants = {1, 2, 3};
  c.threshold = 2;
  c.vector_length = 4;
  passerelle::DeterministicRandom r1(1), r2(2), r3(3);
  auto a = secagg::Client::Create(c, 1, r1).value();
  auto b = secagg::Client::Create(c, 2, r2).value();
  auto d = secagg::Client::Create(c, 3, r3).value();
  auto server = secagg::Server::Create(c).value();
  const passerelle::crypto::Bytes32 zero{};  // the fuzz target's session
  auto adv_a = a->AdvertiseRound().value();
  auto adv_b = b->AdvertiseRound().value();
  auto adv_d = d->AdvertiseRound().value();
  for (auto* m : {&adv_a, &adv_b, &adv_d}) (void)server->AddAdvertisement(*m);
  auto u1 = server->CloseAdvertiseRound().value();
  auto sk_a = a->ShareKeysRound(u1).value();
  auto sk_b = b->ShareKeysRound(u1).value();
  auto sk_d = d->ShareKeysRound(u1).value();
  for (auto* m : {&sk_a, &sk_b, &sk_d}) (void)server->AddShareKeys(*m);
  auto u2 = server->CloseShareKeysRound().value();
  std::vector<uint64_t> x = {1, 2, 3, 4};
  auto mi_a = a->MaskedInputRound(u2.at(1), x).value();
  auto mi_b = b->MaskedInputRound(u2.at(2), x).value();
  (void)server->AddMaskedInput(mi_a);
  (void)server->AddMaskedInput(mi_b);
  auto u3 = server->CloseMaskedInputRound().value();
  auto um_a = a->UnmaskRound(u3).value();
  Write(dir / "secagg_message" / "advertise.bin", 0, secagg::Encode(zero, adv_a));
  Write(dir / "secagg_message" / "directory.bin", 1, secagg::Encode(zero, u1));
  Write(dir / "secagg_message" / "share_keys.bin", 2, secagg::Encode(zero, sk_a));
  Write(dir / "secagg_message" / "shares_for_client.bin", 3, secagg::Encode(zero, u2.at(1)));
  Write(dir / "secagg_message" / "masked_input.bin", 4, secagg::Encode(zero, mi_a));
  Write(dir / "secagg_message" / "survivors.bin", 5, secagg::Encode(zero, u3));
  Write(dir / "secagg_message" / "survivor_signature.bin", 6,
        secagg::Encode(zero, secagg::SurvivorSignature{2, {}}));
  Write(dir / "secagg_message" / "unmask.bin", 7, secagg::Encode(zero, um_a));
  passerelle::crypto::Bytes32 key{};
  key[0] = 7;
  std::vector<int64_t> ids = {1, 2, 3, 5, 8, 13, 21};
  auto fp = passerelle::privacy::PopulationFingerprint::Build(key, ids, 256).value();
  std::vector<uint8_t> bytes = fp.Serialize();
  std::ofstream(dir / "fingerprint" / "seven.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  std::printf("seeds written under %s\n", dir.c_str());
  return 0;
}
