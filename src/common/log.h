// Logging: one process-wide logger on stderr, human-readable by default or one JSON object per
// line (`--log-format json`) for machines. Call sites format with fmt; spdlog stays out of this
// header so that it is cheap to include everywhere.
//
// Privacy rule: never log row-level data (a value of a patient's record). Log counts, names of
// tables and columns, ids of studies and nodes.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <fmt/format.h>

#include <string_view>

#include "common/status.h"

namespace passerelle::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kText, kJson };

struct LogOptions {
  Level level = Level::kInfo;
  Format format = Format::kText;
};

// Configures the process-wide logger; may be called again to reconfigure.
void Init(const LogOptions& options);

// "trace|debug|info|warn|error|off" and "text|json".
Result<Level> ParseLevel(std::string_view name);
Result<Format> ParseFormat(std::string_view name);

bool Enabled(Level level);
void Write(Level level, std::string_view message);

template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kError)) Write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace passerelle::log
