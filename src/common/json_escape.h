// JSON string escaping for code that writes JSON by hand (logs, streaming output).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace passerelle {

// Appends `s` escaped for a JSON string literal (without the surrounding quotes) to `out`: `"` `\`
// `\b` `\f` `\n` `\r` `\t`, other control characters as `\u00xx`, every other byte as is (the
// escaping of nlohmann::json::dump(), which the audit log's canonical JSON relies on). Does not
// check UTF-8.
void AppendJsonEscaped(std::string_view s, std::string& out);

}  // namespace passerelle
