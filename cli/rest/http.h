// The HTTP vocabulary shared by the daemon's server and the client: one
// request, one response, JSON bodies. Nothing here knows hoodyfs's routes.
#pragma once

#include <map>
#include <string>

namespace hoodyfs::cli {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query string
  std::map<std::string, std::string> query;
  std::string body;
  std::string authorization;  // the Authorization header, "" when absent
};

struct HttpResponse {
  int status = 200;
  std::string body;  // JSON, or "" (204)
};

}  // namespace hoodyfs::cli
