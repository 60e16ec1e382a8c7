#include "snapshotter/remote/remote_snapshot_delete.h"

#include "snapshotter/remote/manifest.h"

namespace hoodyfs::remote {
namespace {

// A key component: curl would resolve "..", and a '/' would reach into
// another container's or the chunks' keys.
Status CheckComponent(const char* what, const std::string& s) {
  if (s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos ||
      s.find('\0') != std::string::npos) {
    return Status::InvalidArgument(std::string(what) + " '" + s +
                                   "': must be non-empty, not '.' or '..', without '/'");
  }
  return Status::OK();
}

}  // namespace

Result<RemoteDeleteStats> DeleteRemoteSnapshot(S3Client& client, const std::string& container,
                                               const std::string& name_or_alias) {
  HOODY_RETURN_IF_ERROR(CheckComponent("container", container));
  HOODY_RETURN_IF_ERROR(CheckComponent("snapshot", name_or_alias));
  RemoteDeleteStats stats;
  stats.name = name_or_alias;
  HOODY_ASSIGN_OR_RETURN(bool by_name, client.Exists(ManifestKey(container, name_or_alias)));
  if (!by_name) {
    Result<std::string> name = client.Get(AliasKey(container, name_or_alias));
    if (!name.ok() && name.status().code() != Code::kNotFound) return name.status();
    bool found = false;
    if (name.ok() && CheckComponent("snapshot", *name).ok()) {
      HOODY_ASSIGN_OR_RETURN(found, client.Exists(ManifestKey(container, *name)));
    }
    if (!found) {
      return Status::NotFound("remote holds no snapshot " + name_or_alias + " of container " +
                              container);
    }
    stats.name = *name;
  }
  stats.manifest_key = ManifestKey(container, stats.name);
  // Aliases first: no alias is left naming a deleted manifest, should this
  // stop half-way.
  const std::string alias_prefix = AliasKey(container, "");
  HOODY_ASSIGN_OR_RETURN(std::vector<S3Object> aliases, client.ListAll(alias_prefix));
  for (const S3Object& alias : aliases) {
    Result<std::string> target = client.Get(alias.key);
    if (!target.ok() && target.status().code() == Code::kNotFound) continue;
    if (!target.ok()) return target.status();
    if (*target != stats.name) continue;
    HOODY_RETURN_IF_ERROR(client.Delete(alias.key));
    stats.aliases.push_back(alias.key);
  }
  HOODY_RETURN_IF_ERROR(client.Delete(stats.manifest_key));
  return stats;
}

}  // namespace hoodyfs::remote
