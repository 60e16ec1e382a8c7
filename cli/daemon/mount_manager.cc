#include "cli/daemon/mount_manager.h"

#include "base/log.h"
#include "cli/daemon/mountpoint_policy.h"

namespace hoodyfs::cli {

namespace {
// What the kernel shows of a FUSE mount in mountinfo, which mount(8) hands
// back with -o remount: nothing to change.
bool IsFuseShown(const std::string& w) {
  for (const char* prefix : {"user_id=", "group_id=", "rootmode=", "max_read=", "blksize=", "fd=",
                             "fsname=", "subtype="}) {
    if (w.rfind(prefix, 0) == 0) return true;
  }
  return false;
}
}  // namespace

Result<fusefs::MountOptions> ParseMountOptions(const std::vector<std::string>& words,
                                               const fusefs::MountOptions& base) {
  fusefs::MountOptions o = base;
  for (const std::string& w : words) {
    if (w.empty()) continue;
    if (w == "ro") {
      o.read_only = true;
    } else if (w == "rw") {
      o.read_only = false;
    } else if (w == "suid" || w == "nosuid") {
      o.suid = w == "suid";
    } else if (w == "dev" || w == "nodev") {
      o.dev = w == "dev";
    } else if (w == "exec" || w == "noexec") {
      o.exec = w == "exec";
    } else if (w == "atime" || w == "relatime") {
      o.atime = fusefs::AtimeMode::kRelatime;  // "atime": the kernel's default, relatime
    } else if (w == "noatime") {
      o.atime = fusefs::AtimeMode::kNoatime;
    } else if (w == "strictatime") {
      o.atime = fusefs::AtimeMode::kStrictatime;
    } else if (w == "lazytime" || w == "nolazytime") {
      o.lazytime = w == "lazytime";
    } else if (w == "acl" || w == "noacl") {
      o.acl = w == "acl";
    } else if (w == "sync" || w == "async") {
      o.sync = w == "sync";
    } else if (w == "dirsync") {
      o.dirsync = true;
    } else if (w == "allow_other") {
      o.allow_other = true;
    } else if (w == "noallow_other") {
      o.allow_other = false;
    } else if (w == "default_permissions") {
      o.default_permissions = true;
    } else if (w == "nodefault_permissions") {
      o.default_permissions = false;
    } else if (w == "writeback_cache") {
      o.writeback_cache = true;
    } else if (w == "no_writeback_cache") {
      o.writeback_cache = false;
    } else if (w == "fuse_uring" || w == "no_fuse_uring") {
      o.fuse_uring = w == "fuse_uring" ? fusefs::MountOptions::FuseUring::kOn
                                       : fusefs::MountOptions::FuseUring::kOff;
    } else if (w.find_first_of(" \t\n") != std::string::npos) {
      return Status::InvalidArgument("mount option '" + w + "' holds white space");
    } else {
      o.extra.push_back(w);  // exec/noexec, atime options...: libfuse and the kernel decide
    }
  }
  return o;
}

MountManager::MountManager(snapshotter::Snapshotter& snap, std::function<void()> on_ended)
    : snap_(snap), on_ended_(std::move(on_ended)) {}

std::vector<std::string> MountManager::ReapEnded() {
  std::vector<std::shared_ptr<Mounted>> ended;
  {
    MutexLock l(mu_);
    for (auto it = mounts_.begin(); it != mounts_.end();) {
      if (!it->second->unmounting && it->second->session->Ended()) {
        ended.push_back(it->second);
        it = mounts_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::vector<std::string> released;
  for (const auto& m : ended) {
    Status s = m->session->Unmount();
    if (!s.ok()) {
      Log(LogLevel::kError, "releasing " + m->info.mountpoint + ": " + s.ToString());
    }
    released.push_back(m->info.mountpoint);
  }
  return released;
}

MountManager::~MountManager() { UnmountAll(); }

Result<MountInfo> MountManager::Mount(const MountRequest& request) {
  HOODY_RETURN_IF_ERROR(CheckMountpoint(request.mountpoint, snap_.store().dir()));
  return MountUnchecked(request);
}

Result<MountInfo> MountManager::MountUnchecked(const MountRequest& request) {
  if (request.mountpoint.empty() || request.mountpoint[0] != '/') {
    return Status::InvalidArgument("mountpoint '" + request.mountpoint + "' is not absolute");
  }
  HOODY_ASSIGN_OR_RETURN(fusefs::MountOptions options, ParseMountOptions(request.options));
  ReapEnded();  // a mount just unmounted from outside is no obstacle
  {
    MutexLock l(mu_);
    if (mounts_.count(request.mountpoint) > 0) {
      return Status::Exists("a hoodyfs container is mounted at " + request.mountpoint + " already");
    }
  }
  auto m = std::make_shared<Mounted>();
  m->info.mountpoint = request.mountpoint;
  m->info.container = request.container;
  std::optional<snapshotter::FileSystem> view;
  if (request.snapshot.empty()) {
    if (request.create) {
      auto existing = snap_.GetContainer(request.container);
      if (!existing.ok()) HOODY_RETURN_IF_ERROR(snap_.CreateContainer(request.container).status());
    }
    HOODY_ASSIGN_OR_RETURN(view, snap_.store().Head(request.container));
  } else {
    // Pin first, then check the snapshot still names that generation: a
    // delete between the two would otherwise leave us reading a dropped one.
    HOODY_ASSIGN_OR_RETURN(snapshotter::SnapshotInfo info,
                           snap_.GetSnapshot(request.container, request.snapshot));
    m->pin = snap_.store().PinGeneration(info.gen, "mounted at " + request.mountpoint);
    HOODY_ASSIGN_OR_RETURN(snapshotter::SnapshotInfo again,
                           snap_.GetSnapshot(request.container, info.name));
    if (again.gen != info.gen) return Status::NotFound("snapshot " + info.name + " was deleted");
    HOODY_ASSIGN_OR_RETURN(view, snap_.store().AtGeneration(info.gen));
    m->info.snapshot = info.name;
    options.read_only = true;
  }
  m->info.read_only = options.read_only;
  // /proc/self/mountinfo then tells which store serves the mount (umount
  // needs no --store), and `mount -t fuse.hoodyfs` finds its helper.
  options.extra.push_back("fsname=hoodyfs:" + request.container + "@" + snap_.store().dir());
  options.extra.push_back("subtype=hoodyfs");
  options.on_ended = on_ended_;
  HOODY_ASSIGN_OR_RETURN(m->session,
                         fusefs::Session::Mount(snap_.store(), *view, request.mountpoint, options));
  MutexLock l(mu_);
  mounts_[request.mountpoint] = m;
  return m->info;
}

Result<MountInfo> MountManager::Remount(const std::string& mountpoint,
                                        const std::vector<std::string>& options) {
  std::shared_ptr<Mounted> m;
  {
    MutexLock l(mu_);
    auto it = mounts_.find(mountpoint);
    if (it == mounts_.end()) {
      return Status::NotFound("no hoodyfs container is mounted at " + mountpoint);
    }
    m = it->second;
    if (m->unmounting) return Status::Busy(mountpoint + " is being unmounted");
  }
  std::vector<std::string> words;
  for (const std::string& w : options) {
    if (w != "remount" && !IsFuseShown(w)) words.push_back(w);
  }
  HOODY_ASSIGN_OR_RETURN(fusefs::MountOptions next,
                         ParseMountOptions(words, m->session->options()));
  if (!next.extra.empty() && next.extra.size() != m->session->options().extra.size()) {
    return Status::InvalidArgument("mount option '" + next.extra.back() +
                                   "' cannot change on remount of " + mountpoint);
  }
  HOODY_RETURN_IF_ERROR(m->session->Remount(next));
  MutexLock l(mu_);
  m->info.read_only = next.read_only;
  return m->info;
}

Status MountManager::Unmount(const std::string& mountpoint) {
  std::shared_ptr<Mounted> m;
  {
    MutexLock l(mu_);
    auto it = mounts_.find(mountpoint);
    if (it == mounts_.end()) {
      return Status::NotFound("no hoodyfs container is mounted at " + mountpoint);
    }
    m = it->second;
    if (m->unmounting) return Status::Busy(mountpoint + " is being unmounted already");
    m->unmounting = true;
  }
  const Status unmounted = m->session->Unmount();
  MutexLock l(mu_);
  m->unmounting = false;
  if (!unmounted.ok()) return unmounted;
  mounts_.erase(mountpoint);
  return Status::OK();
}

std::vector<MountInfo> MountManager::List() {
  MutexLock l(mu_);
  std::vector<MountInfo> out;
  for (const auto& [mp, m] : mounts_) out.push_back(m->info);
  return out;
}

size_t MountManager::size() {
  MutexLock l(mu_);
  return mounts_.size();
}

void MountManager::UnmountAll() {
  std::map<std::string, std::shared_ptr<Mounted>> all;
  {
    MutexLock l(mu_);
    all.swap(mounts_);
  }
  for (auto& [mp, m] : all) {
    Status s = m->session->Unmount();
    if (!s.ok()) Log(LogLevel::kError, "unmount " + mp + ": " + s.ToString());
  }
}

Status MountManager::SyncContainer(const std::string& container) {
  std::vector<std::shared_ptr<Mounted>> heads;
  {
    MutexLock l(mu_);
    for (const auto& [mp, m] : mounts_) {
      if (m->info.container == container && m->info.snapshot.empty()) heads.push_back(m);
    }
  }
  for (const auto& m : heads) HOODY_RETURN_IF_ERROR(m->session->FlushDirtyData());
  return Status::OK();
}

void MountManager::InvalidateContainer(const snapshotter::HeadChange& change) {
  std::vector<std::shared_ptr<Mounted>> heads;
  {
    MutexLock l(mu_);
    for (const auto& [mp, m] : mounts_) {
      if (m->info.container == change.container && m->info.snapshot.empty()) heads.push_back(m);
    }
  }
  for (const auto& m : heads) {
    Result<fusefs::InvalidationStats> r =
        m->session->InvalidateDifference(change.old_head, change.new_head);
    if (!r.ok()) {
      Log(LogLevel::kError, "dropping the caches of " + m->info.mountpoint +
                                " after a restore: " + r.status().ToString());
      continue;
    }
    Log(LogLevel::kDebug, "restore under " + m->info.mountpoint + ": " +
                              (r->full ? "invalidated everything: " : "invalidated ") +
                              std::to_string(r->names) + " names and " + std::to_string(r->inodes) +
                              " inodes after reading " + std::to_string(r->records_read) +
                              " change-log records");
  }
}

Status MountManager::CheckNotMounted(const std::string& container) {
  MutexLock l(mu_);
  for (const auto& [mp, m] : mounts_) {
    if (m->info.container == container) {
      return Status::Busy("container '" + container + "' is mounted at " + mp);
    }
  }
  return Status::OK();
}

snapshotter::SnapshotterHooks MountManager::Hooks() {
  snapshotter::SnapshotterHooks h;
  h.sync_container = [this](const std::string& c) { return SyncContainer(c); };
  h.after_head_change = [this](const snapshotter::HeadChange& c) { InvalidateContainer(c); };
  h.before_container_delete = [this](const std::string& c) { return CheckNotMounted(c); };
  return h;
}

}  // namespace hoodyfs::cli
