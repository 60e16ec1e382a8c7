#include "cli/api/rest_errors.h"

#include <nlohmann/json.hpp>

namespace hoodyfs::cli {

namespace {
struct Mapping {
  Code code;
  int http;
  const char* name;
};
constexpr Mapping kMappings[] = {
    {Code::kInvalidArgument, 400, "invalid_argument"},
    {Code::kNameTooLong, 400, "invalid_argument"},
    {Code::kInvalidArgument, 413, "too_large"},  // only ever sent by the server itself
    {Code::kPermission, 403, "permission_denied"},
    {Code::kNotFound, 404, "not_found"},
    {Code::kExists, 409, "conflict"},
    {Code::kBusy, 409, "busy"},
    {Code::kReadOnly, 409, "read_only"},
    {Code::kNoSpace, 507, "no_space"},
    {Code::kCorruption, 500, "corruption"},
    {Code::kIoError, 500, "io_error"},
};
}  // namespace

HttpResponse ErrorResponse(int http_status, const std::string& code, const std::string& message) {
  // A message may quote what a client sent: never echo more than this.
  constexpr size_t kMessageBytesMax = 1024;
  nlohmann::json j;
  j["error"]["code"] = code;
  j["error"]["message"] = message.size() <= kMessageBytesMax
                              ? message
                              : message.substr(0, kMessageBytesMax) + "... (" +
                                    std::to_string(message.size() - kMessageBytesMax) +
                                    " more bytes)";
  // Replace, not throw on, invalid UTF-8 a client put in what is quoted.
  return HttpResponse{http_status,
                      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

HttpResponse ErrorResponse(const Status& status) {
  for (const Mapping& m : kMappings) {
    if (m.code == status.code()) return ErrorResponse(m.http, m.name, status.message());
  }
  return ErrorResponse(500, "internal", status.message());
}

Status StatusFromResponse(const HttpResponse& response) {
  const nlohmann::json j = nlohmann::json::parse(response.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    return Status::IoError("the daemon answered HTTP " + std::to_string(response.status) +
                           " without an error document");
  }
  const std::string code = j["error"].value("code", "");
  const std::string message = j["error"].value("message", "(no message)");
  if (code == "unauthorized") return Status::Permission(message);
  for (const Mapping& m : kMappings) {
    if (code == m.name) return Status(m.code, message);
  }
  return Status::IoError(message);
}

}  // namespace hoodyfs::cli
