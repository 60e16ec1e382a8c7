// How a Status crosses the REST API and back: an HTTP status plus
// {"error": {"code": "...", "message": "..."}} (docs/api.md lists the codes),
// and the same Status again on the client's side.
#pragma once

#include <string>

#include "base/status.h"
#include "cli/api/http.h"

namespace hoodyfs::cli {

HttpResponse ErrorResponse(const Status& status);
// An error response of a given HTTP status and code (400 malformed JSON,
// 401 missing token, 404 no route...).
HttpResponse ErrorResponse(int http_status, const std::string& code, const std::string& message);
// The Status an error response stands for (kIoError when it is no error
// document).
Status StatusFromResponse(const HttpResponse& response);

}  // namespace hoodyfs::cli
