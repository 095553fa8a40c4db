// Helpers shared by the benchmark programs: timing, medians, peak memory.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace passerelle::bench {

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Peak resident set size of this process, in MiB.
inline double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

namespace internal {
inline long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + key.size());
  }
  return -1;
}
}  // namespace internal

// Peak (VmHWM) and current (VmRSS) resident memory of this process in kB, -1 when unknown.
inline long PeakKb() { return internal::StatusKb("VmHWM"); }
inline long CurrentKb() { return internal::StatusKb("VmRSS"); }
// Resets the peak so that PeakKb() measures from now on (Linux: clear_refs 5).
inline void ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

// Whether `program` can be run from PATH (e.g. Rscript for side-by-side baselines).
inline bool OnPath(const char* program) {
  std::string cmd = std::string("command -v ") + program + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Value of "--name=value" or "--name value" in argv, or `fallback`.
inline std::string Flag(int argc, char** argv, const std::string& name,
                        const std::string& fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--" + name && i + 1 < argc) return argv[i + 1];
    if (a.rfind("--" + name + "=", 0) == 0) return a.substr(name.size() + 3);
  }
  return fallback;
}

}  // namespace passerelle::bench
