#include "privacy/pprl/key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

namespace passerelle::pprl {
namespace {

constexpr std::string_view kMasterLabel = "passerelle/pprl/v1/master-key";
constexpr std::string_view kCheckLabel = "passerelle/pprl/v1/key-check";

}  // namespace

Status EnsureSodium() {
  static std::once_flag once;
  static int rc = -1;
  std::call_once(once, [] { rc = sodium_init(); });
  if (rc < 0) return Status::Internal("libsodium could not be initialised");
  return Status::Ok();
}

LinkageKey::~LinkageKey() { sodium_memzero(master_.data(), master_.size()); }

Result<LinkageKey> LinkageKey::FromSecret(std::span<const uint8_t> secret) {
  RETURN_IF_ERROR(EnsureSodium());
  if (secret.size() < kMinSecretBytes) {
    return Status::InvalidArgument(
        fmt::format("linkage key: {} bytes is too short (at least {} random bytes are needed; "
                    "`passerelle pprl keygen FILE` writes a good one)",
                    secret.size(), kMinSecretBytes));
  }
  if (secret.size() > kMaxSecretBytes) {
    return Status::InvalidArgument(fmt::format("linkage key: {} bytes is too long (at most {})",
                                               secret.size(), kMaxSecretBytes));
  }
  std::array<bool, 256> seen{};
  int distinct = 0;
  for (uint8_t b : secret) {
    if (!seen[b]) ++distinct, seen[b] = true;
  }
  if (distinct < 8) {
    return Status::InvalidArgument(
        "linkage key: the key has almost no variety (fewer than 8 distinct byte values); use "
        "random bytes (`passerelle pprl keygen FILE`)");
  }
  LinkageKey key;
  crypto_generichash(key.master_.data(), key.master_.size(), secret.data(), secret.size(),
                     reinterpret_cast<const uint8_t*>(kMasterLabel.data()), kMasterLabel.size());
  return key;
}

Result<LinkageKey> LinkageKey::ReadFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::NotFound(
        fmt::format("{}: cannot open the key file: {}", path.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(fmt::format("{}: not a regular file", path.string()));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    return Status::PermissionDenied(
        fmt::format("{}: the key file can be read by other users (mode {:o}); run `chmod 600 {}`",
                    path.string(), st.st_mode & 0777, path.string()));
  }
  if (st.st_size > static_cast<off_t>(kMaxSecretBytes)) {
    ::close(fd);
    return Status::InvalidArgument(
        fmt::format("{}: the key file is larger than {} bytes", path.string(), kMaxSecretBytes));
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  Result<LinkageKey> key = FromSecret(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  if (!key.ok()) return key.status().WithContext(path.string());
  return key;
}

Status LinkageKey::GenerateFile(const std::filesystem::path& path, RandomSource& random) {
  std::array<uint8_t, 32> bytes{};
  random.Fill(bytes);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    sodium_memzero(bytes.data(), bytes.size());
    if (err == EEXIST) {
      return Status::AlreadyExists(
          fmt::format("{}: the file exists; a key file is never overwritten", path.string()));
    }
    return Status::IoError(
        fmt::format("{}: cannot create the key file: {}", path.string(), std::strerror(err)));
  }
  size_t done = 0;
  Status st;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      st =
          Status::IoError(fmt::format("{}: write failed: {}", path.string(), std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (st.ok() && ::fsync(fd) != 0) {
    st = Status::IoError(fmt::format("{}: fsync failed: {}", path.string(), std::strerror(errno)));
  }
  ::close(fd);
  sodium_memzero(bytes.data(), bytes.size());
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

LinkageKey::Subkey LinkageKey::Derive(std::string_view label) const {
  Subkey out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const uint8_t*>(label.data()),
                     label.size(), master_.data(), master_.size());
  return out;
}

LinkageKey::Check LinkageKey::KeyCheck() const {
  const Subkey sub = Derive(kCheckLabel);
  Check out{};
  std::memcpy(out.data(), sub.data(), out.size());
  return out;
}

}  // namespace passerelle::pprl
