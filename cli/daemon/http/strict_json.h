// JSON parsing for text that comes from outside (REST request bodies): the
// same as nlohmann::json::parse, except that an object holding the same
// key twice is refused. nlohmann keeps the last of duplicate keys, so
// `{"expiry": 7, "expiry": 0}` would mean whatever the last parser in a
// chain of proxies decided; RFC 8259 leaves it undefined, so we refuse it.
//
// Thread-safety: a pure function.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace hoodyfs::cli {

// Errors: kInvalidArgument ("malformed JSON ..." or "duplicate key 'K' ...").
Result<nlohmann::json> ParseStrictJson(std::string_view text);

}  // namespace hoodyfs::cli
