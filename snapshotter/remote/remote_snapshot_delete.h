// Deleting a snapshot from a remote: its alias objects (those that still
// name it), then its manifest. Its chunks stay until a gc
// (remote/remote_gc.h) finds no manifest naming them: they may be shared
// with other snapshots, containers and hosts.
//
// Thread-safety: uses the client it is given, one thread.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "snapshotter/remote/s3_client.h"

namespace hoodyfs::remote {

struct RemoteDeleteStats {
  std::string name;                  // the snapshot's name
  std::string manifest_key;          // deleted
  std::vector<std::string> aliases;  // alias objects deleted (keys)
};

// Deletes snapshot `name_or_alias` of `container` (a name, else an alias,
// as for pull). Errors: kInvalidArgument (an empty container or name, or
// one holding '/' or being "." or ".."), kNotFound (no such snapshot in
// the remote; nothing deleted), and the client's.
Result<RemoteDeleteStats> DeleteRemoteSnapshot(S3Client& client, const std::string& container,
                                               const std::string& name_or_alias);

}  // namespace hoodyfs::remote
