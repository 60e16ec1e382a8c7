#include "cli/daemon/http/api_router.h"

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/api/json_codec.h"
#include "cli/api/rest_errors.h"
#include "cli/daemon/http/strict_json.h"
#include "cli/daemon/http/url.h"
#include "snapshotter/engine/names.h"
#include "snapshotter/verbs/catalog.h"

namespace hoodyfs::cli {

using nlohmann::json;

namespace {

// Invalid UTF-8 (a name quoted from a request) is replaced, never thrown on.
HttpResponse Json(int status, const json& j) {
  return HttpResponse{status, j.dump(-1, ' ', false, json::error_handler_t::replace)};
}

HttpResponse BadRequest(const std::string& message) {
  return ErrorResponse(400, "invalid_argument", message);
}

HttpResponse NoRoute(const HttpRequest& r) {
  return ErrorResponse(404, "not_found", "no such API path: " + r.method + " " + r.path);
}

HttpResponse WrongMethod(const HttpRequest& r) {
  return ErrorResponse(405, "method_not_allowed", r.method + " is not allowed on " + r.path);
}

// A request body: a JSON object with only the given fields, each at most
// once. An empty body (no bytes at all) is an empty object, which every
// route whose fields are all optional accepts (docs/api.md); a body of
// blanks is malformed JSON, not an empty one.
struct Body {
  json j = json::object();
  std::string error;  // set when the body is refused
};

Body ParseBody(const std::string& text, const std::set<std::string>& known) {
  Body b;
  if (text.empty()) return b;
  Result<json> parsed = ParseStrictJson(text);
  if (!parsed.ok()) {
    b.error = parsed.status().message();
    return b;
  }
  b.j = *std::move(parsed);
  if (!b.j.is_object()) {
    b.error = "the request body must be a JSON object";
  } else {
    for (const auto& [key, value] : b.j.items()) {
      if (known.count(key) == 0) {
        b.error = "unknown field '" + key + "' in the request body";
        break;
      }
    }
  }
  return b;
}

// Optional string field: nullopt when absent or null; error when mistyped.
std::optional<std::string> OptString(const Body& b, const char* key, std::string* error) {
  if (!b.j.contains(key) || b.j[key].is_null()) return std::nullopt;
  if (!b.j[key].is_string()) {
    *error = std::string("field '") + key + "' must be a string";
    return std::nullopt;
  }
  return b.j[key].get<std::string>();
}

// Optional true/false field: nullopt when absent; error when mistyped.
std::optional<bool> OptBool(const Body& b, const char* key, std::string* error) {
  if (!b.j.contains(key)) return std::nullopt;
  if (!b.j[key].is_boolean()) {
    *error = std::string("field '") + key + "' must be true or false";
    return std::nullopt;
  }
  return b.j[key].get<bool>();
}

// The optional "options" field of a mount request: an array of strings.
// Returns the error, or "".
std::string OptionsField(const Body& b, std::vector<std::string>* out) {
  if (!b.j.contains("options")) return "";
  if (!b.j["options"].is_array()) return "field 'options' must be an array of strings";
  for (const json& o : b.j["options"]) {
    if (!o.is_string()) return "field 'options' must be an array of strings";
    out->push_back(o.get<std::string>());
  }
  return "";
}

// "expiry": a positive whole number of days (`never_ok`: or 0/"never"/null
// meaning never, for set).
std::optional<int64_t> Expiry(const Body& b, bool never_ok, std::string* error) {
  if (!b.j.contains("expiry")) return std::nullopt;
  const json& v = b.j["expiry"];
  if (never_ok && (v.is_null() || (v.is_string() && v.get<std::string>() == "never"))) {
    return int64_t{0};
  }
  if (v.is_null()) return std::nullopt;
  if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
    *error = "field 'expiry' must be a positive whole number of days";
    return std::nullopt;
  }
  return v.get<int64_t>();
}

}  // namespace

json ToJson(const MountInfo& m) {
  json j;
  j["mountpoint"] = m.mountpoint;
  j["container"] = m.container;
  j["snapshot"] = m.snapshot.empty() ? json(nullptr) : json(m.snapshot);
  j["read_only"] = m.read_only;
  return j;
}

HttpResponse ApiRouter::Handle(const HttpRequest& r) {
  // Segments are decoded only after the split, and validated whole before
  // any route sees them (url.h says why).
  Result<std::vector<std::string>> split = SplitApiPath(r.path);
  if (!split.ok()) return BadRequest(split.status().message());
  const std::vector<std::string>& parts = *split;
  if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v1") return NoRoute(r);
  if (parts[2] == "containers") {
    return Containers(r, std::vector<std::string>(parts.begin() + 3, parts.end()));
  }
  if (parts.size() == 3 && parts[2] == "gc") {
    if (r.method != "POST") return WrongMethod(r);
    auto gc = api_.CollectGarbage();
    if (!gc.ok()) return ErrorResponse(gc.status());
    return Json(200, ToJson(*gc));
  }
  if (parts.size() == 3 && parts[2] == "ping") return Json(200, json{{"ok", true}});
  if (parts.size() == 3 && parts[2] == "scrub" && scrubs_ != nullptr) return Scrub(r);
  if (parts.size() == 5 && parts[2] == "scrub" && parts[3] == "blocks" && scrubs_ != nullptr) {
    return RepairBlock(r, parts[4]);
  }
  if (parts.size() == 3 && parts[2] == "mounts" && mounts_ != nullptr) return Mounts(r);
  if (parts.size() == 4 && parts[2] == "bisects" && bisects_ != nullptr)
    return Bisects(r, parts[3]);
  return NoRoute(r);
}

HttpResponse ApiRouter::Containers(const HttpRequest& r, const std::vector<std::string>& parts) {
  if (parts.empty()) {
    if (r.method == "GET") {
      auto list = api_.ListContainers();
      if (!list.ok()) return ErrorResponse(list.status());
      json j = json::array();
      for (const auto& c : *list) j.push_back(ToJson(c));
      return Json(200, j);
    }
    if (r.method != "POST") return WrongMethod(r);
    Body b = ParseBody(r.body, {"name"});
    std::string error = b.error;
    std::optional<std::string> name = OptString(b, "name", &error);
    if (error.empty() && !name) error = "field 'name' is required";
    if (!error.empty()) return BadRequest(error);
    auto c = api_.CreateContainer(*name);
    if (!c.ok()) return ErrorResponse(c.status());
    return Json(201, ToJson(*c));
  }
  const std::string& id = parts[0];
  if (Status s = snapshotter::ValidateContainerName(id); !s.ok()) return BadRequest(s.message());
  if (parts.size() == 1) {
    if (r.method == "GET") {
      auto list = api_.ListContainers();
      if (!list.ok()) return ErrorResponse(list.status());
      for (const auto& c : *list) {
        if (c.name == id) return Json(200, ToJson(c));
      }
      return ErrorResponse(Status::NotFound("no container named '" + id + "'"));
    }
    if (r.method != "DELETE") return WrongMethod(r);
    Status s = api_.DeleteContainer(id);
    if (!s.ok()) return ErrorResponse(s);
    return HttpResponse{204, ""};
  }
  if (parts[1] == "snapshots") {
    return Snapshots(r, id, std::vector<std::string>(parts.begin() + 2, parts.end()));
  }
  if (parts.size() == 2 && parts[1] == "copy") {
    if (r.method != "POST") return WrongMethod(r);
    // One name for the concept, "project", as the CLI's --project and every
    // container document say; the brief's "target_project_id" is accepted
    // as another spelling of it.
    Body b = ParseBody(r.body, {"name", "source_snapshot", "project", "target_project_id"});
    std::string error = b.error;
    std::optional<std::string> name = OptString(b, "name", &error);
    std::optional<std::string> source = OptString(b, "source_snapshot", &error);
    std::optional<std::string> project = OptString(b, "project", &error);
    std::optional<std::string> alias = OptString(b, "target_project_id", &error);
    if (error.empty() && project && alias) {
      error = "give 'project' or its other name 'target_project_id', not both";
    }
    if (!project) project = alias;
    if (error.empty() && !name) error = "field 'name' is required";
    if (error.empty() && !source) error = "field 'source_snapshot' is required";
    if (!error.empty()) return BadRequest(error);
    auto c = api_.CopyContainer(id, *source, *name, project.value_or(""));
    if (!c.ok()) return ErrorResponse(c.status());
    return Json(201, ToJson(*c));
  }
  if (parts.size() == 2 && parts[1] == "bisect" && bisects_ != nullptr) return Bisect(r, id);
  if (parts.size() == 2 && parts[1] == "receive") return Receive(r, id);
  if (parts.size() == 2 && parts[1] == "diff") {
    if (r.method != "GET") return WrongMethod(r);
    auto from = r.query.find("from");
    if (from == r.query.end() || from->second.empty()) {
      return BadRequest("query parameter 'from' is required");
    }
    auto to = r.query.find("to");
    auto d = api_.Diff(id, from->second, to == r.query.end() ? "" : to->second);
    if (!d.ok()) return ErrorResponse(d.status());
    return Json(200, ToJson(*d));
  }
  return NoRoute(r);
}

HttpResponse ApiRouter::Snapshots(const HttpRequest& r, const std::string& container,
                                  const std::vector<std::string>& parts) {
  if (parts.empty()) {
    if (r.method == "GET") return ListSnapshots(r, container);
    if (r.method != "POST") return WrongMethod(r);
    Body b = ParseBody(r.body, {"alias", "expiry", "sync"});
    std::string error = b.error;
    snapshotter::CreateSnapshotRequest req;
    req.alias = OptString(b, "alias", &error).value_or("");
    req.expiry_days = Expiry(b, /*never_ok=*/true, &error);
    if (req.expiry_days == 0) req.expiry_days.reset();  // "never": no expiry
    req.sync = OptBool(b, "sync", &error).value_or(true);
    if (!error.empty()) return BadRequest(error);
    auto s = api_.CreateSnapshot(container, req);
    if (!s.ok()) return ErrorResponse(s.status());
    return Json(201, ToJson(*s));
  }
  if (parts.size() == 2 && parts[1] == "send") {
    if (Status s = snapshotter::ValidatePortableName("snapshot name or alias", parts[0]); !s.ok()) {
      return BadRequest(s.message());
    }
    return Send(r, container, parts[0]);
  }
  if (parts.size() != 1) return NoRoute(r);
  const std::string& name = parts[0];
  if (Status s = snapshotter::ValidatePortableName("snapshot name or alias", name); !s.ok()) {
    return BadRequest(s.message());
  }
  if (r.method == "GET") {
    auto s = api_.GetSnapshot(container, name);
    if (!s.ok()) return ErrorResponse(s.status());
    auto exclusive = api_.ExclusiveBytes(container, name);
    if (!exclusive.ok()) return ErrorResponse(exclusive.status());
    json j = ToJson(*s);
    j["exclusive_bytes"] = *exclusive;
    return Json(200, j);
  }
  if (r.method == "PATCH") {  // restore
    Body b = ParseBody(r.body, {"discard_head"});
    std::string error = b.error;
    const bool discard = OptBool(b, "discard_head", &error).value_or(false);
    if (!error.empty()) return BadRequest(error);
    auto restored = api_.Restore(container, name, snapshotter::RestoreRequest{discard});
    if (!restored.ok()) return ErrorResponse(restored.status());
    return Json(200, ToJson(*restored));
  }
  if (r.method == "PUT") {  // set alias / expiry
    Body b = ParseBody(r.body, {"alias", "expiry"});
    std::string error = b.error;
    snapshotter::SetSnapshotRequest req;
    if (b.j.contains("alias")) {
      req.alias =
          b.j["alias"].is_null() ? std::optional<std::string>("") : OptString(b, "alias", &error);
    }
    req.expiry_days = Expiry(b, /*never_ok=*/true, &error);
    if (error.empty() && !req.alias && !req.expiry_days) {
      error = "nothing to change: give 'alias' or 'expiry'";
    }
    if (!error.empty()) return BadRequest(error);
    auto s = api_.SetSnapshot(container, name, req);
    if (!s.ok()) return ErrorResponse(s.status());
    return Json(200, ToJson(*s));
  }
  if (r.method == "DELETE") {
    Status s = api_.DeleteSnapshot(container, name);
    if (!s.ok()) return ErrorResponse(s);
    return HttpResponse{204, ""};
  }
  return WrongMethod(r);
}

// GET .../snapshots: the whole list as an array (what clients before pages
// ask for), or with ?after=NAME[@CREATED_NS] and/or ?limit=N one page as
// {"snapshots": [...], "next": NAME@CREATED_NS | null}.
HttpResponse ApiRouter::ListSnapshots(const HttpRequest& r, const std::string& container) {
  auto after = r.query.find("after");
  auto limit = r.query.find("limit");
  if (after == r.query.end() && limit == r.query.end()) {
    auto list = api_.ListSnapshots(container);
    if (!list.ok()) return ErrorResponse(list.status());
    // Element by element into one string, which the server hands on
    // without a copy: no tree of every snapshot beside its text.
    std::string body = "[";
    for (const auto& s : *list) {
      if (body.size() > 1) body += ',';
      body += ToJson(s).dump(-1, ' ', false, json::error_handler_t::replace);
    }
    body += ']';
    return HttpResponse{200, std::move(body)};
  }
  snapshotter::ListPage page;
  if (limit != r.query.end()) {
    Result<int64_t> n =
        snapshotter::catalog::ParsePageLimit("query parameter 'limit'", limit->second);
    if (!n.ok()) return BadRequest(n.status().message());
    page.limit = *n;
  }
  if (after != r.query.end()) {
    if (after->second.empty()) {
      return BadRequest("query parameter 'after' is empty: leave it out for the first page");
    }
    if (Status s =
            snapshotter::catalog::ParseListStart("query parameter 'after'", after->second).status();
        !s.ok()) {
      return BadRequest(s.message());
    }
    page.after = after->second;
  }
  auto got = api_.ListSnapshotPage(container, page);
  if (!got.ok()) return ErrorResponse(got.status());
  return Json(200, ToJson(*got));
}

bool ApiRouter::StreamsBody(const std::string& method, const std::string& raw_path) {
  if (method != "POST") return false;
  Result<std::vector<std::string>> parts = SplitApiPath(raw_path);
  return parts.ok() && parts->size() == 5 && (*parts)[0] == "api" && (*parts)[1] == "v1" &&
         (*parts)[2] == "containers" && (*parts)[4] == "receive";
}

// GET .../snapshots/{name}/send[?from=BASE]: the send stream as the body.
// What can be checked before the first byte (the container, the snapshots)
// is an error document; a failure later cuts the stream before its trailer,
// which every receiver refuses.
HttpResponse ApiRouter::Send(const HttpRequest& r, const std::string& container,
                             const std::string& name) {
  if (r.method != "GET") return WrongMethod(r);
  auto from = r.query.find("from");
  const std::string base = from == r.query.end() ? "" : from->second;
  for (const std::string& snap : {name, base}) {
    if (snap.empty()) continue;
    auto s = api_.GetSnapshot(container, snap);
    if (!s.ok()) return ErrorResponse(s.status());
  }
  HttpResponse response{200, ""};
  SnapshotApi* api = &api_;
  response.stream_body = [api, request = snapshotter::SendRequest{container, name, base}](int fd) {
    api->Send(request, fd).status().IgnoreError();
  };
  return response;
}

// POST .../receive with a send stream as the body (read as it arrives).
HttpResponse ApiRouter::Receive(const HttpRequest& r, const std::string& container) {
  if (r.method != "POST") return WrongMethod(r);
  if (r.body_fd < 0) return BadRequest("receive takes the send stream as its body");
  auto received = api_.Receive(container, r.body_fd);
  if (!received.ok()) return ErrorResponse(received.status());
  json j = ToJson(received->snapshot);
  j["incremental"] = received->incremental;
  j["stream_bytes"] = received->bytes_in;
  j["records"] = received->records;
  return Json(201, j);
}

HttpResponse ApiRouter::Mounts(const HttpRequest& r) {
  if (r.method == "GET") {
    json j = json::array();
    for (const MountInfo& m : mounts_->List()) j.push_back(ToJson(m));
    return Json(200, j);
  }
  if (r.method == "DELETE") {
    auto mp = r.query.find("mountpoint");
    if (mp == r.query.end() || mp->second.empty()) {
      return BadRequest("query parameter 'mountpoint' is required");
    }
    Status s = mounts_->Unmount(mp->second);
    if (!s.ok()) return ErrorResponse(s);
    return HttpResponse{204, ""};
  }
  if (r.method == "PATCH") {  // mount -o remount
    auto mp = r.query.find("mountpoint");
    if (mp == r.query.end() || mp->second.empty()) {
      return BadRequest("query parameter 'mountpoint' is required");
    }
    Body b = ParseBody(r.body, {"options"});
    std::string error = b.error;
    std::vector<std::string> options;
    if (error.empty()) error = OptionsField(b, &options);
    if (error.empty() && !b.j.contains("options")) error = "field 'options' is required";
    if (!error.empty()) return BadRequest(error);
    auto m = mounts_->Remount(mp->second, options);
    if (!m.ok()) return ErrorResponse(m.status());
    return Json(200, ToJson(*m));
  }
  if (r.method != "POST") return WrongMethod(r);
  Body b = ParseBody(r.body, {"container", "snapshot", "mountpoint", "options", "create"});
  std::string error = b.error;
  MountRequest req;
  req.container = OptString(b, "container", &error).value_or("");
  req.snapshot = OptString(b, "snapshot", &error).value_or("");
  req.mountpoint = OptString(b, "mountpoint", &error).value_or("");
  if (error.empty()) error = OptionsField(b, &req.options);
  if (error.empty()) req.create = OptBool(b, "create", &error).value_or(req.create);
  if (error.empty() && req.container.empty()) error = "field 'container' is required";
  if (error.empty() && req.mountpoint.empty()) error = "field 'mountpoint' is required";
  if (!error.empty()) return BadRequest(error);
  auto m = mounts_->Mount(req);
  if (!m.ok()) return ErrorResponse(m.status());
  return Json(201, ToJson(*m));
}

HttpResponse ApiRouter::Bisect(const HttpRequest& r, const std::string& container) {
  if (r.method != "POST") return WrongMethod(r);
  Body b = ParseBody(r.body, {"id", "good", "bad", "command", "chroot"});
  std::string error = b.error;
  BisectRequest req;
  req.container = container;
  req.id = OptString(b, "id", &error).value_or("");
  req.good = OptString(b, "good", &error).value_or("");
  req.bad = OptString(b, "bad", &error).value_or("");
  if (error.empty() && b.j.contains("command")) {
    if (!b.j["command"].is_array()) {
      error = "field 'command' must be an array of strings";
    } else {
      for (const json& a : b.j["command"]) {
        if (!a.is_string()) {
          error = "field 'command' must be an array of strings";
          break;
        }
        req.command.push_back(a.get<std::string>());
      }
    }
  }
  if (error.empty() && b.j.contains("chroot")) {
    if (!b.j["chroot"].is_boolean()) {
      error = "field 'chroot' must be true or false";
    } else {
      req.chroot = b.j["chroot"].get<bool>();
    }
  }
  if (error.empty() && req.good.empty()) error = "field 'good' is required";
  if (error.empty() && req.bad.empty()) error = "field 'bad' is required";
  if (error.empty() && req.command.empty()) error = "field 'command' is required";
  if (error.empty() && req.id.empty()) {
    static std::atomic<uint64_t> next{1};
    req.id = "rest" + std::to_string(next.fetch_add(1));
  }
  if (!error.empty()) return BadRequest(error);
  auto report = bisects_->Run(req);
  if (!report.ok()) return ErrorResponse(report.status());
  return Json(200, ToJson(*report));
}

HttpResponse ApiRouter::Bisects(const HttpRequest& r, const std::string& id) {
  if (r.method == "GET") {
    auto steps = bisects_->Progress(id);
    if (!steps.ok()) return ErrorResponse(steps.status());
    json j = json::array();
    for (const BisectStep& s : *steps) j.push_back(ToJson(s));
    return Json(200, json{{"id", id}, {"steps", j}});
  }
  if (r.method != "DELETE") return WrongMethod(r);
  Status s = bisects_->Cancel(id);
  if (!s.ok()) return ErrorResponse(s);
  return HttpResponse{204, ""};
}

// POST starts a scrub in the background (202 and its status), GET follows
// it (the running or last one), DELETE cancels it.
HttpResponse ApiRouter::Scrub(const HttpRequest& r) {
  if (r.method == "GET") {
    auto status = scrubs_->Current();
    if (!status.ok()) return ErrorResponse(status.status());
    return Json(200, ToJson(*status));
  }
  if (r.method == "DELETE") {
    Status s = scrubs_->Cancel();
    if (!s.ok()) return ErrorResponse(s);
    return HttpResponse{204, ""};
  }
  if (r.method != "POST") return WrongMethod(r);
  Body b = ParseBody(r.body, {"max_rate"});
  std::string error = b.error;
  ScrubRequest req;
  if (error.empty() && b.j.contains("max_rate") && !b.j["max_rate"].is_null()) {
    if (!b.j["max_rate"].is_number_unsigned() || b.j["max_rate"].get<uint64_t>() == 0) {
      error = "field 'max_rate' must be a positive whole number of bytes per second";
    } else {
      req.max_bytes_per_second = b.j["max_rate"].get<uint64_t>();
    }
  }
  if (!error.empty()) return BadRequest(error);
  auto started = scrubs_->Start(req);
  if (!started.ok()) return ErrorResponse(started.status());
  return Json(202, ToJson(*started));
}

// PUT /api/v1/scrub/blocks/N: the body is the block's 4096 bytes, found by
// the client in a replica (the daemon holds no remote's credentials); they
// are written only when they hash to the checksum the block's record holds
// (docs/api.md, "Block repair").
HttpResponse ApiRouter::RepairBlock(const HttpRequest& r, const std::string& id) {
  if (r.method != "PUT") return WrongMethod(r);
  uint64_t block = 0;
  const bool digits =
      !id.empty() && id.size() <= 20 && id.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || (id.size() == 20 && id > "18446744073709551615")) {
    return BadRequest("'" + id + "' is not a block number");
  }
  block = std::stoull(id);
  if (r.body.size() > kBlockSize) {
    return ErrorResponse(413, "too_large",
                         "block " + id + ": a body of " + std::to_string(r.body.size()) +
                             " bytes; a block repair carries exactly one block of " +
                             std::to_string(kBlockSize));
  }
  auto done = scrubs_->RepairBlock(
      block,
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(r.body.data()), r.body.size()));
  if (!done.ok()) return ErrorResponse(done.status());
  return Json(200, json{{"block", done->block}, {"result", BlockRepairResultCode(done->result)}});
}

}  // namespace hoodyfs::cli
