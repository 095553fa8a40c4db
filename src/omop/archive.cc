#include "omop/archive.h"

#include <fmt/format.h>
#include <zip.h>

#include <fstream>
#include <memory>

#include "common/strings.h"

namespace passerelle::omop {
namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

bool Skipped(std::string_view name) {
  if (name.empty() || name.back() == '/') return true;  // folder entry
  if (StartsWith(name, "__MACOSX/")) return true;
  std::string_view base =
      name.substr(name.rfind('/') == std::string_view::npos ? 0 : name.rfind('/') + 1);
  return base.empty() || base[0] == '.';
}

}  // namespace

Result<std::vector<std::filesystem::path>> ExtractZip(const std::filesystem::path& zip_path,
                                                      const std::filesystem::path& dest) {
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(zip_path.c_str(), ZIP_RDONLY, &err));
  if (!archive) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    std::string why = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return Status::InvalidArgument(
        fmt::format("{}: not a readable zip archive ({})", zip_path.filename().string(), why));
  }
  std::vector<std::filesystem::path> out;
  const zip_int64_t n = zip_get_num_entries(archive.get(), 0);
  std::vector<char> buf(1 << 20);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* raw = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
    if (!raw) continue;
    std::string name = raw;
    if (Skipped(name)) continue;
    std::filesystem::path rel = std::filesystem::path(name).lexically_normal();
    if (rel.is_absolute() || StartsWith(rel.string(), "..")) {
      return Status::InvalidArgument(fmt::format("{}: entry \"{}\" points outside the archive",
                                                 zip_path.filename().string(), name));
    }
    std::filesystem::path target = dest / rel;
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
    std::unique_ptr<zip_file_t, ZipFileCloser> f(
        zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0));
    if (!f) {
      return Status::InvalidArgument(fmt::format("{}: cannot read entry \"{}\": {}",
                                                 zip_path.filename().string(), name,
                                                 zip_strerror(archive.get())));
    }
    std::ofstream o(target, std::ios::binary | std::ios::trunc);
    if (!o) return Status::IoError(fmt::format("cannot write {}", target.string()));
    for (;;) {
      zip_int64_t got = zip_fread(f.get(), buf.data(), buf.size());
      if (got < 0) {
        return Status::InvalidArgument(fmt::format("{}: entry \"{}\" is corrupt: {}",
                                                   zip_path.filename().string(), name,
                                                   zip_file_strerror(f.get())));
      }
      if (got == 0) break;
      o.write(buf.data(), got);
    }
    if (!o) return Status::IoError(fmt::format("cannot write {}", target.string()));
    out.push_back(target);
  }
  return out;
}

}  // namespace passerelle::omop
