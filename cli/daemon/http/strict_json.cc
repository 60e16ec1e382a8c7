#include "cli/daemon/http/strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace hoodyfs::cli {

using nlohmann::json;

Result<json> ParseStrictJson(std::string_view text) {
  // One set of keys per object being parsed, innermost last.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json j = json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("malformed JSON in the request body");
  if (!duplicate.empty()) {
    constexpr size_t kQuoteMax = 64;
    const std::string shown =
        duplicate.size() <= kQuoteMax ? duplicate : duplicate.substr(0, kQuoteMax) + "...";
    return Status::InvalidArgument("duplicate key '" + shown + "' in the request body");
  }
  return j;
}

}  // namespace hoodyfs::cli
