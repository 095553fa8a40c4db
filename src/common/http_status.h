// The Status an HTTP error answer stands for: its HTTP status maps to a StatusCode, and a protocol
// v1 error body ({"error": {"code": "...", "message": "..."}}) refines the code and gives the
// message. Shared by the HTTPS client (net) and the protocol's decoders, which may not include
// each other. Thread-safety: pure function.
#pragma once

#include <string_view>

#include "common/status.h"

namespace passerelle {

// `fallback_prefix` starts the message when the body carries none ("HTTP 503" by default).
Status StatusFromHttpError(int http_status, std::string_view body,
                           std::string_view fallback_prefix = "HTTP");

}  // namespace passerelle
