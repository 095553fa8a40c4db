// passerelle pprl keygen | encode | match | info — privacy-preserving record linkage
// (docs/pprl.md).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>

#include "cli/commands.h"
#include "common/random.h"
#include "privacy/pprl/encode_source.h"
#include "privacy/pprl/encoder.h"
#include "privacy/pprl/key.h"
#include "privacy/pprl/match.h"
#include "privacy/pprl/schema.h"

namespace passerelle::cli {
namespace {

struct EncodeArgs {
  std::string schema, key, in, out, delimiter = ",";
};

struct MatchArgs {
  std::string a, b, out, blocking = "none", kernel = "auto";
  double threshold = 0.8;
  int threads = 0;
  bool all_candidates = false;
};

Status RunKeygen(const std::string& path) {
  RETURN_IF_ERROR(pprl::EnsureSodium());
  RETURN_IF_ERROR(pprl::LinkageKey::GenerateFile(path, SystemRandom::Default()));
  std::printf(
      "wrote a new 32-byte linkage key to %s (mode 0600); share it only with the other "
      "encoding sites, never with the linkage unit\n",
      path.c_str());
  return Status::Ok();
}

Status RunEncode(const EncodeArgs& a, const CliContext& ctx) {
  if (a.delimiter.size() != 1) return Status::InvalidArgument("--delimiter must be one character");
  ASSIGN_OR_RETURN(pprl::LinkageSchema schema, pprl::ReadSchemaFile(a.schema));
  ASSIGN_OR_RETURN(pprl::LinkageKey key, pprl::LinkageKey::ReadFile(a.key));
  // BLIP's bit flips come from the kernel's CSPRNG.
  ASSIGN_OR_RETURN(pprl::Encoder encoder,
                   pprl::Encoder::Create(schema, key, &SystemRandom::Default()));
  Progress(ctx, fmt::format("encoding {} with {} fields into {}-bit CLKs", a.in,
                            schema.fields.size(), encoder.output_bits()));
  pprl::EncodeReport report;
  ASSIGN_OR_RETURN(pprl::ClkSet set, pprl::EncodeCsvFile(encoder, a.in, a.delimiter[0], &report));
  RETURN_IF_ERROR(pprl::WriteClkFile(a.out, set));
  std::printf("encoded %zu records into %d-bit CLKs: %s\n", set.size(), encoder.output_bits(),
              a.out.c_str());
  std::string missing;
  for (const auto& f : report.fields) {
    if (f.missing > 0) missing += fmt::format(" {} {}", f.name, f.missing);
  }
  if (!missing.empty()) std::printf("missing values:%s\n", missing.c_str());
  for (const auto& f : report.fields) {
    if (f.invalid_dates > 0) {
      std::printf("%s: %zu values are not calendar dates (encoded as written)\n", f.name.c_str(),
                  f.invalid_dates);
    }
  }
  return Status::Ok();
}

Status RunMatch(const MatchArgs& m, const CliContext& ctx) {
  pprl::MatchOptions opts;
  opts.threshold = m.threshold;
  opts.threads = m.threads;
  opts.one_to_one = !m.all_candidates;
  ASSIGN_OR_RETURN(opts.kernel, pprl::ParseDiceKernel(m.kernel));
  ASSIGN_OR_RETURN(opts.blocking, pprl::ParseBlockingOptions(m.blocking));
  ASSIGN_OR_RETURN(pprl::ClkSet a, pprl::ReadClkFile(m.a));
  ASSIGN_OR_RETURN(pprl::ClkSet b, pprl::ReadClkFile(m.b));
  Progress(ctx,
           fmt::format("matching {} x {} CLKs of {} bits", a.size(), b.size(), a.header().bits));
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(pprl::MatchResult r, pprl::Match(a, b, opts));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RETURN_IF_ERROR(pprl::WritePairsCsv(m.out, a, b, r.pairs));
  std::printf(
      "compared %llu pairs (%s kernel, %d threads, %.2f s); %llu candidates >= %.3f; %zu %s "
      "written to %s\n",
      static_cast<unsigned long long>(r.stats.comparisons),
      std::string(pprl::DiceKernelName(r.stats.kernel)).c_str(), r.stats.threads, secs,
      static_cast<unsigned long long>(r.stats.candidates), m.threshold, r.pairs.size(),
      opts.one_to_one ? "one-to-one pairs" : "candidate pairs", m.out.c_str());
  return Status::Ok();
}

Status RunInfo(const std::string& path) {
  ASSIGN_OR_RETURN(pprl::ClkSet set, pprl::ReadClkFile(path));
  const pprl::ClkHeader& h = set.header();
  std::string hardening;
  if (h.flags & pprl::ClkHeader::kXorFolded) hardening += " xor-folded";
  if (h.flags & pprl::ClkHeader::kBalanced) hardening += " balanced";
  if (h.flags & pprl::ClkHeader::kBlip) {
    hardening += fmt::format(" BLIP(p={:.4f})", h.blip_threshold / 4294967296.0);
  }
  std::string fp, kc;
  for (size_t i = 0; i < 8; ++i) fp += fmt::format("{:02x}", h.schema_fingerprint[i]);
  for (uint8_t x : h.key_check) kc += fmt::format("{:02x}", x);
  double mean = 0;
  for (size_t i = 0; i < set.size(); ++i) mean += set.popcount(i);
  if (set.size() > 0) mean /= static_cast<double>(set.size());
  std::printf(
      "%s: %zu CLKs of %u bits (mean %.1f bits set), id column \"%s\", hardening:%s, blocking "
      "keys: %s\nschema fingerprint %s..., key check %s\n",
      path.c_str(), set.size(), h.bits, mean, h.id_name.c_str(),
      hardening.empty() ? " none" : hardening.c_str(), set.has_block_keys() ? "yes" : "no",
      fp.c_str(), kc.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterPprlCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* pprl = app.add_subcommand(
      "pprl",
      "Privacy-preserving record linkage: encode identities into keyed Bloom-filter CLKs, "
      "match CLKs without seeing identities");
  pprl->require_subcommand(1);

  auto key_path = std::make_shared<std::string>();
  CLI::App* keygen =
      pprl->add_subcommand("keygen", "Write a new random linkage key file (32 bytes, mode 0600)");
  keygen->add_option("KEYFILE", *key_path, "Key file to create (never overwritten)")->required();
  keygen->callback([key_path, &ctx] { ctx.status = RunKeygen(*key_path); });

  auto enc = std::make_shared<EncodeArgs>();
  CLI::App* encode = pprl->add_subcommand(
      "encode", "Encode the persons of a CSV file into CLKs with a schema and a linkage key");
  encode->add_option("--schema", enc->schema, "Linkage schema (JSON)")->required();
  encode->add_option("--key", enc->key, "Linkage key file (>= 32 random bytes, mode 0600)")
      ->required();
  encode->add_option("--in", enc->in, "Persons CSV file with a header line")->required();
  encode->add_option("--out", enc->out, "CLK file to write")->required();
  encode->add_option("--delimiter", enc->delimiter, "CSV field delimiter")->capture_default_str();
  encode->callback([enc, &ctx] { ctx.status = RunEncode(*enc, ctx); });

  auto mat = std::make_shared<MatchArgs>();
  CLI::App* match = pprl->add_subcommand(
      "match", "Match two CLK files: Dice similarity, optional blocking, one-to-one pairs");
  match->add_option("--a", mat->a, "CLK file of the first party")->required();
  match->add_option("--b", mat->b, "CLK file of the second party")->required();
  match->add_option("--out", mat->out, "PAIRS.csv to write (id in A, id in B, score)")->required();
  match->add_option("--threshold", mat->threshold, "Dice similarity a pair must reach, in (0, 1]")
      ->capture_default_str();
  match
      ->add_option("--blocking", mat->blocking,
                   "none, keys (the schema's blocking keys), lsh or lsh:TABLES:BITS")
      ->capture_default_str();
  match->add_option("--threads", mat->threads, "Worker threads (0 = every core)")
      ->capture_default_str();
  match->add_option("--kernel", mat->kernel, "auto, portable, popcnt, avx2 or avx512")
      ->capture_default_str();
  match->add_flag("--all-candidates", mat->all_candidates,
                  "Write every pair above the threshold instead of the one-to-one assignment");
  match->callback([mat, &ctx] { ctx.status = RunMatch(*mat, ctx); });

  auto info_path = std::make_shared<std::string>();
  CLI::App* info = pprl->add_subcommand("info", "Describe a CLK file (counts and settings only)");
  info->add_option("CLKS", *info_path, "CLK file")->required();
  info->callback([info_path, &ctx] { ctx.status = RunInfo(*info_path); });
}

}  // namespace passerelle::cli
