// JSON string escaping for code that writes JSON by hand (logs, streaming output).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace passerelle {

// Appends `s` escaped for a JSON string literal (without the surrounding quotes) to `out`.
void AppendJsonEscaped(std::string_view s, std::string& out);

}  // namespace passerelle
