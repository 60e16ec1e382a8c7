// ApiRouter: the REST API (docs/api.md) on top of a SnapshotApi and the
// daemon's mounts. Pure request -> response: the HTTP server, the token
// check and the threads are the caller's.
//
// Bodies are strict: malformed JSON, a field of the wrong type and an
// unknown field are 400 naming the problem (a copy's "project" may also be
// given by the brief's name for it, "target_project_id").
//
// Thread-safety: Handle may be called from many threads at once; what it
// calls must be (SnapshotApi over a Snapshotter is).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/api/bisect_types.h"
#include "cli/api/http.h"
#include "cli/api/mount_api.h"
#include "cli/api/scrub_api.h"
#include "cli/api/snapshot_api.h"

namespace hoodyfs::cli {

class ApiRouter {
 public:
  // `mounts`, `bisects` and `scrubs` may be null (no mount, bisect or
  // scrub routes).
  ApiRouter(SnapshotApi& api, MountService* mounts, BisectService* bisects = nullptr,
            ScrubService* scrubs = nullptr)
      : api_(api), mounts_(mounts), bisects_(bisects), scrubs_(scrubs) {}

  HttpResponse Handle(const HttpRequest& request);
  // Whether a request's body is a stream for the server to pass on as it
  // arrives (ServeOptions::streamed_body): POST .../receive.
  static bool StreamsBody(const std::string& method, const std::string& raw_path);

 private:
  HttpResponse Containers(const HttpRequest& r, const std::vector<std::string>& parts);
  HttpResponse Snapshots(const HttpRequest& r, const std::string& container,
                         const std::vector<std::string>& parts);
  HttpResponse ListSnapshots(const HttpRequest& r, const std::string& container);
  HttpResponse Mounts(const HttpRequest& r);
  HttpResponse Send(const HttpRequest& r, const std::string& container, const std::string& name);
  HttpResponse Receive(const HttpRequest& r, const std::string& container);
  HttpResponse Bisect(const HttpRequest& r, const std::string& container);
  HttpResponse Bisects(const HttpRequest& r, const std::string& id);
  HttpResponse Scrub(const HttpRequest& r);
  HttpResponse RepairBlock(const HttpRequest& r, const std::string& id);

  SnapshotApi& api_;
  MountService* mounts_;
  BisectService* bisects_;
  ScrubService* scrubs_;
};

// {"mountpoint": ..., "container": ..., "snapshot": ... | null, "read_only": ...}
nlohmann::json ToJson(const MountInfo& info);

}  // namespace hoodyfs::cli
