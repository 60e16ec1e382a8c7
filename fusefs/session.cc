// Session: mounting, the loop thread, unmounting, and the cache operations
// (FlushDirtyData, InvalidateDifference, InvalidateAll) run on the
// Invalidator thread.
#include "fusefs/session.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "base/log.h"
#include "base/page_cache.h"
#include "base/unique_fd.h"
#include "fusefs/backing_dev.h"
#include "fusefs/fuse_fs.h"
#include "fusefs/generation.h"
#include "fusefs/invalidator.h"
#include "fusefs/ops.h"
#include "snapshotter/engine/changes_between.h"

namespace hoodyfs::fusefs {

namespace {

// The type of the handles fuse_encode_fh makes without the parent's part.
constexpr int kFuseFileHandleType = 0x81;

// Since 6.14 a FUSE page stays under writeback until the daemon has
// answered its WRITE; before, the kernel copied it to a temporary page and
// ended the writeback at once, so only an fsync (fuse_sync_writes) saw the
// write still on its way.
bool WritebackFlagCoversTheDaemon() {
  utsname u;
  unsigned major = 0, minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%u.%u", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 14);
}

// The options for libfuse's mount. The kernel flags libfuse 3.14 has no
// words for (strictatime, lazytime) are set by a remount right after
// (KernelFlags).
std::string OptionString(const MountOptions& o, bool read_only) {
  std::string s = "fsname=hoodyfs,subtype=hoodyfs";
  if (o.allow_other) s += ",allow_other";
  if (o.default_permissions) s += ",default_permissions";
  s += o.suid ? ",suid" : ",nosuid";
  s += o.dev ? ",dev" : ",nodev";
  s += o.exec ? ",exec" : ",noexec";
  s += read_only ? ",ro" : ",rw";
  if (o.atime == AtimeMode::kNoatime) s += ",noatime";
  if (o.sync) s += ",sync";
  if (o.dirsync) s += ",dirsync";
  return s;
}

// The mount(2) flags of a mount with these options.
unsigned long KernelFlags(const MountOptions& o, bool read_only) {
  unsigned long f = 0;
  if (read_only) f |= MS_RDONLY;
  if (!o.suid) f |= MS_NOSUID;
  if (!o.dev) f |= MS_NODEV;
  if (!o.exec) f |= MS_NOEXEC;
  if (o.sync) f |= MS_SYNCHRONOUS;
  if (o.dirsync) f |= MS_DIRSYNC;
  if (o.lazytime) f |= MS_LAZYTIME;
  switch (o.atime) {
    case AtimeMode::kRelatime:
      f |= MS_RELATIME;
      break;
    case AtimeMode::kNoatime:
      f |= MS_NOATIME;
      break;
    case AtimeMode::kStrictatime:
      f |= MS_STRICTATIME;
      break;
  }
  return f;
}

// Sets the mount's flags in the kernel: mount(2) with MS_REMOUNT and no
// data. FUSE's reconfigure ignores the options of the old mount API and
// takes no part; the VFS sets the superblock's read-only, sync and
// lazytime flags and the mount's nosuid, nodev, noexec and atime flags.
Status KernelRemount(const std::string& mountpoint, const MountOptions& o, bool read_only) {
  if (::mount(nullptr, mountpoint.c_str(), nullptr, MS_REMOUNT | KernelFlags(o, read_only),
              nullptr) == 0) {
    return Status::OK();
  }
  const int err = errno;
  if (err == EBUSY) {
    return Status::Busy("cannot remount " + mountpoint + " read-only: a file is open for writing");
  }
  return FromErrno(err, "remount " + mountpoint);
}

// The FUSE connection's number in fusectl (/sys/fs/fuse/connections/N):
// the kernel's encoding of the superblock's device.
std::string ConnectionId(dev_t dev) {
  return std::to_string((uint64_t{major(dev)} << 20) | minor(dev));
}

UniqueFd OpenAbortIn(const std::string& dir, dev_t dev) {
  return UniqueFd(::open((dir + "/" + ConnectionId(dev) + "/abort").c_str(), O_WRONLY | O_CLOEXEC));
}

}  // namespace

UniqueFd OpenAbortFile(dev_t dev) {
  UniqueFd fd = OpenAbortIn("/sys/fs/fuse/connections", dev);
  if (fd.valid()) return fd;
  char dir[] = "/tmp/hoodyfs-fusectl-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return fd;
  if (::mount("fusectl", dir, "fusectl", 0, nullptr) == 0) {
    fd = OpenAbortIn(dir, dev);  // the open file outlives the private mount
    (void)::umount2(dir, MNT_DETACH);
  }
  (void)::rmdir(dir);
  return fd;
}

bool WriteAbort(const UniqueFd& abort_file) {
  return abort_file.valid() && ::write(abort_file.get(), "1", 1) == 1;
}

bool AbortConnection(dev_t dev) { return WriteAbort(OpenAbortFile(dev)); }

namespace {

// True when another mount (a bind mount) still shows the superblock `dev`,
// so unmounting ours does not end the connection.
bool OtherMountsOf(dev_t dev) {
  std::ifstream in("/proc/self/mountinfo");
  const std::string want = std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno;
    fields >> id >> parent >> devno;
    if (devno == want) return true;
  }
  return false;
}

}  // namespace

struct Session::Impl {
  std::string mountpoint;
  std::unique_ptr<FuseFs> fs;
  fuse_session* se = nullptr;
  std::thread loop;
  bool loop_exited = false;  // guarded by fs->init_mu
  dev_t dev = 0;             // the mount's superblock, once live
  std::mutex ops_mu;         // serializes FlushDirtyData, Invalidate*, Unmount
  bool mounted = false;      // guarded by ops_mu
  MountOptions current;      // guarded by ops_mu: as Remount left them
  bool frozen_view = false;  // a snapshot: never read-write
  std::unique_ptr<Invalidator> invalidator;

  // Joins the loop (it ends when the kernel closes the connection), frees
  // the libfuse session, and gives the engine back the open counts of
  // handles whose RELEASE the kernel dropped with the connection.
  void Stop() {
    invalidator.reset();
    if (loop.joinable()) loop.join();
    // The connection has ended, so the kernel has ended every ring command.
    fs->channel.StopUring();
    if (se != nullptr) {
      fuse_session_unmount(se);  // closes the device; the mount is gone already
      fuse_session_destroy(se);
      se = nullptr;
    }
    for (const std::unique_ptr<OpenFile>& handle : fs->handles.TakeAll()) {
      Status st = fs->view.Release(handle->ino);
      if (!st.ok()) {
        Log(LogLevel::kError, "release of inode " + std::to_string(handle->ino.value) +
                                  " at unmount of " + mountpoint + ": " + st.ToString());
      }
    }
  }

  // Drops the kernel's cached attributes and pages of `ino`, writing back
  // its dirty pages first. A writeback that fails (a stale handle after a
  // restore) leaves clean pages behind: `retry` drops them in a second pass.
  Status InvalInode(Ino ino, bool retry) {
    int rc = fuse_lowlevel_notify_inval_inode(se, ino.value, 0, 0);
    if (rc != 0 && rc != -ENOENT && retry)
      rc = fuse_lowlevel_notify_inval_inode(se, ino.value, 0, 0);
    if (rc == 0 || rc == -ENOENT) return Status::OK();  // ENOENT: not cached
    return FromErrno(-rc, "invalidate inode " + std::to_string(ino.value) + " of " + mountpoint)
        .WithContext("write back dirty pages");
  }

  Status InvalEntry(Ino parent, const std::string& name) {
    const int rc =
        fs->expire_only.load()
            ? fuse_lowlevel_notify_expire_entry(se, parent.value, name.data(), name.size(),
                                                FUSE_LL_EXPIRE_ONLY)
            : fuse_lowlevel_notify_inval_entry(se, parent.value, name.data(), name.size());
    if (rc == 0 || rc == -ENOENT || rc == -ENOTDIR) return Status::OK();
    return FromErrno(-rc, "invalidate entry '" + name + "' in inode " +
                              std::to_string(parent.value) + " of " + mountpoint);
  }

  // The notifications, entries first, so the next path walk asks the
  // engine; then attributes and pages. Every one is sent; the first error
  // is returned. On the invalidation thread.
  Status Send(const std::vector<std::pair<Ino, std::string>>& names,
              const std::vector<Ino>& inodes) {
    Status first = Status::OK();
    auto note = [&](Status st) {
      if (!st.ok() && first.ok()) first = std::move(st);
    };
    for (const auto& [parent, name] : names) note(InvalEntry(parent, name));
    for (Ino ino : inodes) note(InvalInode(ino, /*retry=*/true));
    return first;
  }

  // The mount's root, opened for open_by_handle_at (which refuses an O_PATH
  // descriptor), or an invalid one when the mountpoint shows another
  // superblock (a mount over it). Its OPENDIR is served by a worker; the
  // caller is the invalidation thread, never one.
  UniqueFd OwnRoot() const {
    UniqueFd root(::open(mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_NOATIME | O_CLOEXEC));
    struct stat st;
    if (root.valid() && (::fstat(root.get(), &st) != 0 || st.st_dev != dev)) root.Reset();
    return root;
  }

  // Writes back the dirty pages of `ino` and waits until the daemon has
  // answered their WRITEs, keeping its clean pages cached: an fdatasync of
  // the file through the mount, opened by its FUSE handle (fuse_fsync writes
  // back with WB_SYNC_ALL, then waits for every write in flight). Dropping
  // the pages instead (InvalInode) cost every create under a streaming
  // writer the time to drop a gigabyte of them; syncfs keeps them but does
  // not wait for the daemon (docs/design.md, "FUSE layer"). O_NOATIME: no
  // atime update, so Open keeps the cache. The FSYNC it sends is answered
  // without an engine sync (flushing_tid). False when the file cannot be
  // opened that way (no root, no CAP_DAC_READ_SEARCH, the kernel dropped the
  // inode): the caller invalidates it instead.
  Result<bool> SyncThroughMount(const UniqueFd& root, Ino ino) {
    if (!root.valid()) return false;
    // The generation the kernel holds is the one the entry replies gave
    // (generation.h); a file removed since has none to give.
    Result<snapshotter::Entry> entry = fs->view.LookupInode(ino);
    if (!entry.ok()) return false;
    // What fuse_encode_fh writes: the nodeid's high and low words, the generation.
    const uint32_t words[3] = {static_cast<uint32_t>(ino.value >> 32),
                               static_cast<uint32_t>(ino.value),
                               EntryGeneration(entry->attr, fs->inodes.Generation(ino))};
    alignas(file_handle) unsigned char buf[sizeof(file_handle) + sizeof(words)];
    auto* handle = reinterpret_cast<file_handle*>(buf);
    handle->handle_bytes = sizeof(words);
    handle->handle_type = kFuseFileHandleType;
    std::memcpy(handle->f_handle, words, sizeof(words));
    UniqueFd file(::open_by_handle_at(root.get(), handle, O_RDONLY | O_NOATIME | O_CLOEXEC));
    if (!file.valid()) return false;
    // Nothing dirty and nothing on its way: nothing to wait for. The usual
    // case without the writeback cache (only a shared mapping dirties
    // pages there), where the fsync would also wait for the inode lock,
    // which a streaming writer's write holds until the engine has taken
    // it (hundreds of milliseconds behind a commit's sync).
    static const bool flag_covers_the_daemon = WritebackFlagCoversTheDaemon();
    if (const std::optional<PageCacheState> cache = PageCacheOf(file.get());
        flag_covers_the_daemon && cache && cache->dirty == 0 && cache->writeback == 0) {
      return true;
    }
    fs->flushing_tid.store(::gettid());
    const int rc = ::fdatasync(file.get());
    const int err = errno;
    fs->flushing_tid.store(0);
    if (rc != 0) {
      return FromErrno(err, "write back inode " + std::to_string(ino.value) + " of " + mountpoint);
    }
    return true;
  }

  // Everything the kernel holds, root included; with the writeback cache
  // every held inode is replaced (InodeTable::ReplaceAll). On the
  // invalidation thread.
  Status InvalidateEverything(InvalidationStats* stats) {
    if (fs->writeback_cache.load()) fs->inodes.ReplaceAll();
    InodeTable::Known known = fs->inodes.Snapshot();
    known.inodes.push_back(kRootIno);
    stats->full = true;
    stats->names = known.names.size();
    stats->inodes = known.inodes.size();
    return Send(known.names, known.inodes);
  }

  // What the kernel holds of `changed`, plus the inodes of open handles:
  // every one was opened before the restore, its reads must reach the
  // engine (ESTALE) rather than pages, and with the writeback cache its
  // inode must be replaced so its dirty pages are dropped, never written
  // back through a handle opened since. On the invalidation thread.
  Status InvalidateKeys(const snapshotter::ChangedKeys& changed, InvalidationStats* stats) {
    InodeTable& table = fs->inodes;
    const auto held = [&](Ino ino) { return ino == kRootIno || table.Holds(ino); };
    std::vector<Ino> inodes;
    for (Ino ino : changed.inodes) {
      if (held(ino)) inodes.push_back(ino);
    }
    for (Ino ino : fs->handles.OpenInodes()) {
      if (held(ino)) inodes.push_back(ino);
    }
    std::sort(inodes.begin(), inodes.end());
    inodes.erase(std::unique(inodes.begin(), inodes.end()), inodes.end());
    // A changed name under a directory the kernel holds, whether or not the
    // table lists it (it lists at most kMaxNamesPerInode names per inode):
    // one notification too many costs a lookup in the kernel's dcache.
    std::vector<std::pair<Ino, std::string>> names;
    for (const auto& [parent, name] : changed.names) {
      if (held(parent)) names.emplace_back(parent, name);
    }
    if (fs->writeback_cache.load()) {
      // The kernel keeps a regular file's size and times as its own: the
      // changed inodes are replaced, and every name they are cached under
      // expires, so the next walk meets the new generation.
      for (Ino ino : inodes) {
        for (auto& name : table.Replace(ino)) names.push_back(std::move(name));
      }
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
    }
    stats->names = names.size();
    stats->inodes = inodes.size();
    return Send(names, inodes);
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& Session::mountpoint() const { return impl_->mountpoint; }

uint64_t Session::uring_requests() const { return impl_->fs->channel.uring_requests(); }

uint64_t Session::uring_replies_in_place() const {
  return impl_->fs->channel.uring_replies_in_place();
}

std::vector<uint64_t> Session::uring_requests_by_cpu() const {
  return impl_->fs->channel.uring_requests_by_queue();
}

bool Session::Ended() const {
  {
    std::lock_guard l(impl_->fs->init_mu);
    if (impl_->loop_exited) return true;
  }
  // umount(8) returns before the loop sees the connection go: the
  // mountpoint showing another device says so at once.
  struct stat st;
  return ::stat(impl_->mountpoint.c_str(), &st) != 0 || st.st_dev != impl_->dev;
}

Result<std::unique_ptr<Session>> Session::Mount(snapshotter::Store& store,
                                                snapshotter::FileSystem view,
                                                const std::string& mountpoint,
                                                const MountOptions& options) {
  if (options.max_threads < 2 || options.max_threads > kMaxFuseThreads) {
    return Status::InvalidArgument("max_threads " + std::to_string(options.max_threads) + " for " +
                                   mountpoint + " is outside 2.." +
                                   std::to_string(kMaxFuseThreads));
  }
  HOODY_RETURN_IF_ERROR(ClearDeadMount(mountpoint));
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0) return FromErrno(errno, "mountpoint " + mountpoint);
  if (!S_ISDIR(st.st_mode)) return Status::NotDirectory("mountpoint " + mountpoint);
  {
    UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!dev.valid()) return FromErrno(errno, "open /dev/fuse to mount " + mountpoint);
  }

  auto impl = std::make_unique<Impl>();
  impl->mountpoint = mountpoint;
  const bool read_only = options.read_only || view.read_only();
  impl->frozen_view = view.read_only();
  impl->current = options;
  impl->current.read_only = read_only;
  impl->current.on_ended = nullptr;
  impl->fs = std::make_unique<FuseFs>(store, std::move(view), options);

  std::vector<std::string> argv_s = {"hoodyfs", "-o", OptionString(options, read_only)};
  for (const std::string& extra : options.extra) {
    argv_s.push_back("-o");
    argv_s.push_back(extra);
  }
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  static const fuse_lowlevel_ops kOps = MakeLowLevelOps();
  impl->se = fuse_session_new(&args, &kOps, sizeof(kOps), impl->fs.get());
  fuse_opt_free_args(&args);
  if (impl->se == nullptr) {
    return Status::InvalidArgument("libfuse refused the options for " + mountpoint +
                                   " (it logged why on stderr)");
  }
  impl->fs->session.store(impl->se);
  // The kernel decides what INIT offers when it mounts.
  if (options.fuse_uring == MountOptions::FuseUring::kOn && !UringTransport::KernelAllows()) {
    Status allowed = UringTransport::AllowInKernel();
    Log(LogLevel::kWarning,
        allowed.ok()
            ? "FUSE over io_uring allowed in the kernel for every FUSE daemon of this "
              "host (fuse module parameter enable_uring=Y), as " +
                  mountpoint + " asked (fuse_uring)"
            : "FUSE over io_uring stays off for " + mountpoint + ": " + allowed.ToString());
  }
  const bool want_rings =
      options.fuse_uring != MountOptions::FuseUring::kOff && UringTransport::KernelAllows();
  if (fuse_session_mount(impl->se, mountpoint.c_str()) != 0) {
    fuse_session_destroy(impl->se);
    impl->se = nullptr;
    return Status::IoError("mount at " + mountpoint + " failed (libfuse logged why on stderr)");
  }

  if (!KernelChannel::Install(impl->se)) {
    Log(LogLevel::kWarning, "libfuse refused the device I/O hooks of " + mountpoint +
                                ": the kernel will ask for security.capability before every write");
  } else if (want_rings) {
    // Half as many per CPU as FUSE workers (UringTransport::Create bounds it).
    impl->fs->channel.SetUringSession(impl->se, options.max_threads / 2);
  }

  Impl* raw = impl.get();
  impl->loop = std::thread([raw] {
    // libfuse's workers inherit this name: in top, perf and gdb they read as
    // FUSE workers, not as whatever thread mounted (an HTTP connection's).
    ::pthread_setname_np(::pthread_self(), "hoodyfs-fuse");
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, raw->fs->options.max_threads);
    const int rc = fuse_session_loop_mt(raw->se, config);
    fuse_loop_cfg_destroy(config);
    if (rc != 0) {
      Log(LogLevel::kError, "FUSE loop of " + raw->mountpoint + " ended: " + std::to_string(rc));
    }
    {
      std::lock_guard l(raw->fs->init_mu);
      raw->loop_exited = true;
    }
    raw->fs->init_cv.notify_all();
    // Unmounted from outside (umount(8)) or aborted: tell the owner, which
    // then calls Unmount to finish (never from this thread: it joins it).
    if (raw->fs->options.on_ended) raw->fs->options.on_ended();
  });
  bool initialized = false;
  {
    std::unique_lock l(impl->fs->init_mu);
    impl->fs->init_cv.wait(l, [&] { return impl->fs->init_done || impl->loop_exited; });
    initialized = impl->fs->init_done;
  }
  // The kernel holds every request until it has the INIT reply, so this stat
  // returns once the mount is live, and proves the root is ours.
  struct stat root;
  Status live = Status::OK();
  if (!initialized) {
    live = Status::IoError("FUSE session at " + mountpoint + " ended before INIT");
  } else if (::stat(mountpoint.c_str(), &root) != 0) {
    live = FromErrno(errno, "stat new mount " + mountpoint);
  } else if (root.st_ino != FUSE_ROOT_ID || root.st_dev == st.st_dev) {
    live = Status::IoError("mount at " + mountpoint + " does not show the hoodyfs root");
  } else if (options.atime == AtimeMode::kStrictatime || options.lazytime) {
    live = KernelRemount(mountpoint, options, read_only);  // no libfuse words for these
  }
  if (!live.ok()) {
    (void)::umount2(mountpoint.c_str(), MNT_DETACH);
    impl->Stop();
    return live;
  }
  impl->dev = root.st_dev;
  impl->mounted = true;
  // Speed only: a daemon that may not change them serves the same requests,
  // smaller or more often (fusefs/backing_dev.h).
  if (Status ra = RaiseReadAhead(root.st_dev); !ra.ok()) {
    Log(LogLevel::kInfo, "read-ahead of " + mountpoint + " stays the kernel's: " + ra.ToString());
  }
  if (impl->fs->writeback_cache.load()) {
    if (Status dirty = LiftDirtyLimit(root.st_dev); !dirty.ok()) {
      Log(LogLevel::kInfo, "dirty-page limit of " + mountpoint +
                               " stays the kernel's strict one: " + dirty.ToString());
    }
  }
  impl->invalidator = std::make_unique<Invalidator>();
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Status Session::FlushDirtyData() {
  std::lock_guard l(impl_->ops_mu);
  if (!impl_->mounted) return Status::InvalidArgument(impl_->mountpoint + " is not mounted");
  Impl* impl = impl_.get();
  return impl->invalidator->Run([impl]() -> Status {
    const std::vector<Ino> writing = impl->fs->handles.OpenForWriting();
    if (writing.empty()) return Status::OK();
    UniqueFd root = impl->OwnRoot();
    for (Ino ino : writing) {
      // A failed writeback here is data an application thinks it wrote:
      // report it, do not retry it away.
      HOODY_ASSIGN_OR_RETURN(const bool synced, impl->SyncThroughMount(root, ino));
      if (!synced) HOODY_RETURN_IF_ERROR(impl->InvalInode(ino, /*retry=*/false));
    }
    return Status::OK();
  });
}

Status Session::InvalidateAll() {
  std::lock_guard l(impl_->ops_mu);
  if (!impl_->mounted) return Status::InvalidArgument(impl_->mountpoint + " is not mounted");
  Impl* impl = impl_.get();
  return impl->invalidator->Run([impl]() -> Status {
    InvalidationStats stats;
    return impl->InvalidateEverything(&stats);
  });
}

Result<InvalidationStats> Session::InvalidateDifference(GenId old_head, GenId new_head) {
  // The budget is read before the walk: what the kernel holds changes
  // meanwhile, but only by what the mount serves in the few milliseconds
  // the walk takes.
  const InodeTable& table = impl_->fs->inodes;
  const uint64_t held = table.inode_count() + table.name_count();
  const uint64_t budget =
      std::max(kMinChangeLogRecordBudget, held * kChangeLogRecordsPerInvalidation);
  Result<std::optional<snapshotter::ChangedKeys>> changed =
      snapshotter::ChangedBetween(impl_->fs->store, old_head, new_head, budget);
  if (!changed.ok()) {
    // Coherence first: without the difference, drop everything.
    Log(LogLevel::kWarning, "reading what a restore changed under " + impl_->mountpoint + ": " +
                                changed.status().ToString() + "; invalidating everything");
  }
  std::lock_guard l(impl_->ops_mu);
  if (!impl_->mounted) return Status::InvalidArgument(impl_->mountpoint + " is not mounted");
  Impl* impl = impl_.get();
  InvalidationStats stats;
  Status st = impl->invalidator->Run([&]() -> Status {
    if (!changed.ok() || !changed->has_value()) return impl->InvalidateEverything(&stats);
    stats.records_read = (*changed)->records_read;
    return impl->InvalidateKeys(**changed, &stats);
  });
  if (changed.ok() && !changed->has_value()) stats.records_read = budget + 1;
  HOODY_RETURN_IF_ERROR(st);
  return stats;
}

Status Session::Unmount() {
  std::lock_guard l(impl_->ops_mu);
  if (!impl_->mounted) return Status::OK();
  const std::string& mp = impl_->mountpoint;
  // Opened while the connection is still ours: once it is gone its number
  // can be reused at once by another mount (any process's), which an abort
  // by number would then hit. The open file stays tied to ours. (Unmounted
  // from outside and already ended: nothing to abort, and the number may
  // be someone else's by now.)
  bool ended;
  {
    std::lock_guard i(impl_->fs->init_mu);
    ended = impl_->loop_exited;
  }
  const UniqueFd abort_file = ended ? UniqueFd() : OpenAbortFile(impl_->dev);
  if (::umount2(mp.c_str(), UMOUNT_NOFOLLOW) != 0) {
    const int err = errno;
    if (err == EBUSY) {
      return Status::Busy("cannot unmount " + mp +
                          ": busy (open files, a working directory, or a mount below it)");
    }
    // EINVAL: no longer a mount point (unmounted from outside): finish.
    if (err != EINVAL) return FromErrno(err, "unmount " + mp);
  }
  impl_->mounted = false;
  // A copy of the mount can keep the connection, and so the loop, alive:
  // a bind mount here, or any process that copied this mount namespace
  // while the mount existed (unshare -m, a service's PrivateTmp=), which
  // /proc/self/mountinfo cannot show. Unmounting ends the connection: such
  // copies become dead mounts (ENOTCONN) rather than keep Unmount waiting
  // for processes elsewhere to exit. When ours was the last mount the
  // connection is gone already and the abort finds nothing.
  if (!WriteAbort(abort_file) && OtherMountsOf(impl_->dev)) {
    Log(LogLevel::kWarning, mp + " is still mounted elsewhere; waiting for it to go");
  }
  impl_->Stop();
  return Status::OK();
}

MountOptions Session::options() const {
  std::lock_guard l(impl_->ops_mu);
  return impl_->current;
}

Status Session::Remount(const MountOptions& next) {
  std::lock_guard l(impl_->ops_mu);
  const std::string& mp = impl_->mountpoint;
  if (!impl_->mounted) return Status::InvalidArgument(mp + " is not mounted");
  const MountOptions& now = impl_->current;
  const auto fixed = [&](bool same, const char* what) {
    return same ? Status::OK()
                : Status::InvalidArgument(std::string(what) + " cannot change on remount of " + mp +
                                          ": unmount and mount again");
  };
  HOODY_RETURN_IF_ERROR(fixed(next.allow_other == now.allow_other, "allow_other"));
  HOODY_RETURN_IF_ERROR(
      fixed(next.default_permissions == now.default_permissions, "default_permissions"));
  HOODY_RETURN_IF_ERROR(fixed(next.writeback_cache == now.writeback_cache, "writeback_cache"));
  HOODY_RETURN_IF_ERROR(fixed(next.fuse_uring == now.fuse_uring, "fuse_uring"));
  HOODY_RETURN_IF_ERROR(fixed(next.acl == now.acl, "acl/noacl"));
  if (impl_->frozen_view && !next.read_only) {
    return Status::ReadOnly(mp + " shows a snapshot, which is read-only");
  }
  FuseFs& fs = *impl_->fs;
  // Read-write: the daemon first, so the kernel never lets through a
  // change the daemon would refuse; read-only: the kernel first (it
  // refuses while a file is open for writing, and writes dirty pages back).
  if (!next.read_only) fs.read_only.store(false);
  if (Status st = KernelRemount(mp, next, next.read_only); !st.ok()) {
    fs.read_only.store(now.read_only);
    return st;
  }
  fs.read_only.store(next.read_only);
  fs.sync.store(next.sync);
  fs.dirsync.store(next.dirsync);
  fs.atime.store(next.atime);
  impl_->current = next;
  impl_->current.on_ended = nullptr;
  Log(LogLevel::kInfo, "remounted " + mp + (next.read_only ? " read-only" : " read-write"));
  return Status::OK();
}

Session::~Session() {
  Status st = Unmount();
  if (st.ok()) return;
  Log(LogLevel::kWarning, st.ToString() + "; detaching it and aborting its connection");
  std::lock_guard l(impl_->ops_mu);
  const UniqueFd abort_file = OpenAbortFile(impl_->dev);  // before: see Unmount
  (void)::umount2(impl_->mountpoint.c_str(), MNT_DETACH);
  impl_->mounted = false;
  if (WriteAbort(abort_file)) {
    impl_->Stop();
    return;
  }
  // The loop cannot be stopped: leave it (and the state it uses) running
  // rather than free memory under it.
  Log(LogLevel::kError,
      "could not abort the FUSE connection of " + impl_->mountpoint + "; leaking its session");
  impl_->invalidator.reset();
  impl_->loop.detach();
  (void)impl_.release();
}

bool IsDeadMount(const std::string& path) {
  struct statfs st;
  if (::statfs(path.c_str(), &st) == 0) return false;
  // ECONNABORTED or ECANCELED: a request that met the dead daemon's rings
  // while the kernel tore them down (FUSE over io_uring; which of the two
  // depends on how far the teardown got); later ones get ENOTCONN.
  return errno == ENOTCONN || errno == ECONNABORTED || errno == ECANCELED;
}

Status ClearDeadMount(const std::string& mountpoint) {
  if (!IsDeadMount(mountpoint)) return Status::OK();
  if (::umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
    return FromErrno(errno, "clear dead mount at " + mountpoint);
  }
  Log(LogLevel::kInfo, "cleared the dead mount at " + mountpoint);
  return Status::OK();
}

}  // namespace hoodyfs::fusefs
