#include "cli/hoodyfs_command.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ostream>

#include "cli/api_opener.h"
#include "cli/command_line.h"
#include "cli/daemon_commands.h"
#include "cli/exit_codes.h"
#include "cli/fsck_command.h"
#include "cli/human.h"
#include "cli/progress.h"
#include "cli/scrub_command.h"
#include "cli/store_path.h"
#include "snapshotter/transfer/tree_export.h"
#include "snapshotter/transfer/tree_import.h"
#include "snapshotter/verbs/catalog.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

namespace {
constexpr char kProgram[] = "hoodyfs";

struct Args {
  std::string store;
  std::string container;
  bool create = false;
  bool replace = false;
  std::string path;
  std::string snapshot;
};

// "2.3 s" since t0.
std::string Elapsed(std::chrono::steady_clock::time_point t0) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

std::string Summary(uint64_t files, uint64_t dirs, uint64_t links, uint64_t specials,
                    uint64_t hardlinks, uint64_t bytes) {
  return std::to_string(files + dirs + links + specials + hardlinks) + " entries (" +
         std::to_string(files) + " files, " + std::to_string(dirs) + " directories, " +
         std::to_string(links) + " symlinks, " + std::to_string(specials) + " special, " +
         std::to_string(hardlinks) + " hard links; " + HumanBytes(bytes) + " of data)";
}

// "pre-import-YYYYMMDD-HHMMSS", UTC: the alias of the snapshot an import
// into an existing container goes back to when it fails.
std::string PreImportAlias() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return "pre-import-" + snapshotter::catalog::UtcStamp(int64_t{now.tv_sec} * 1'000'000'000);
}

// Puts the container back as it was before a failed import: a container
// the import created goes; an existing one is restored to the snapshot
// taken before. Either way the import's blocks are collected.
Status UndoImport(snapshotter::Snapshotter& snap, const std::string& container, bool created,
                  const std::string& before) {
  if (created) {
    HOODY_RETURN_IF_ERROR(snap.DeleteContainer(container));
  } else {
    snapshotter::RestoreRequest restore;
    restore.discard_head = true;
    HOODY_RETURN_IF_ERROR(snap.Restore(container, before, restore).status());
    HOODY_RETURN_IF_ERROR(snap.DeleteSnapshot(container, before));
  }
  return snap.CollectGarbage(snapshotter::ImplicitCollection()).status();
}

// `hoodyfs import`: the source is checked before anything changes, and an
// import that fails part way is undone, so a refused import changes
// nothing (the container as it was, or no container when --create made it).
// A killed import leaves the container as far as it got, and, for an
// existing container, the snapshot aliased pre-import-TIME to go back to.
Status Import(const Args& a, const std::string& store, std::ostream& out) {
  if (a.path != "-") {
    struct stat st;
    if (::stat(a.path.c_str(), &st) != 0) {
      return FromErrno(errno, "import source " + a.path);
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("import source " + a.path + " is not a directory");
    }
  } else if (a.replace) {
    return Status::InvalidArgument(
        "--replace needs a directory SOURCE: a tar stream cannot say which names it leaves out "
        "until it ends");
  }
  HOODY_RETURN_IF_ERROR(CheckNoDaemon(store));
  HOODY_ASSIGN_OR_RETURN(auto snap,
                         snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions()));
  if (a.create) HOODY_RETURN_IF_ERROR(snap->CreateContainer(a.container).status());
  HOODY_ASSIGN_OR_RETURN(snapshotter::FileSystem fs, snap->store().Head(a.container));
  Progress progress;
  snapshotter::ImportOptions options;
  options.replace = a.replace;
  std::string before;  // the snapshot to go back to (an existing container)
  if (!a.create) {
    // Taken once the import is about to change something: a source that
    // fails before that (no tar stream at all) leaves not even a snapshot.
    options.before_first_change = [&]() -> Status {
      snapshotter::CreateSnapshotRequest request;
      request.alias = PreImportAlias();
      request.expiry_days = 7;
      auto taken = snap->CreateSnapshot(a.container, request);
      if (!taken.ok() && taken.status().code() == Code::kExists) {
        request.alias.clear();  // two imports in one second: the name will do
        taken = snap->CreateSnapshot(a.container, request);
      }
      HOODY_RETURN_IF_ERROR(taken.status());
      before = taken->name;
      return Status::OK();
    };
  }
  options.progress = [&](const snapshotter::ImportProgress& p) {
    progress.Update("importing: " + std::to_string(p.stats.files) + " files, " +
                    HumanBytes(p.stats.bytes) + "  " + std::string(p.path));
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto stats = a.path == "-" ? snapshotter::ImportTar(fs, STDIN_FILENO, options)
                             : snapshotter::ImportTree(fs, a.path, options);
  progress.Done();
  if (!stats.ok()) {
    Status undone = a.create || !before.empty() ? UndoImport(*snap, a.container, a.create, before)
                                                : Status::OK();
    if (!undone.ok()) {
      return stats.status().WithContext(
          "import stopped, and undoing it failed too (" + undone.ToString() + "): " +
          (a.create ? "delete container " + a.container
                    : "restore " + a.container + " to snapshot " + before) +
          " by hand");
    }
    return Status(stats.status().code(),
                  stats.status().message() + "; nothing was imported: " +
                      (a.create ? "the container was not created" : "the container is as it was"),
                  stats.status().ErrnoValue());
  }
  if (!before.empty()) {
    // The import stands: the snapshot it could go back to is not needed.
    HOODY_RETURN_IF_ERROR(snap->DeleteSnapshot(a.container, before));
  }
  HOODY_RETURN_IF_ERROR(snap->store().Flush());
  out << "imported "
      << Summary(stats->files, stats->directories, stats->symlinks, stats->specials,
                 stats->hardlinks, stats->bytes)
      << " into " << a.container;
  if (a.replace) {
    out << "; " << stats->unchanged << " entries unchanged, " << stats->removed << " names removed";
  }
  out << " in " << Elapsed(t0) << "\n";
  return Status::OK();
}

// `hoodyfs compact`: the metadata file shrunk offline (LMDB never shrinks
// its file; the pages deletes free serve later metadata only).
Status Compact(const std::string& store, std::ostream& out) {
  HOODY_RETURN_IF_ERROR(CheckNoDaemon(store));
  const auto t0 = std::chrono::steady_clock::now();
  HOODY_ASSIGN_OR_RETURN(index::KvStore::CompactResult r,
                         snapshotter::Store::CompactMetadata(store));
  const uint64_t freed = r.bytes_before > r.bytes_after ? r.bytes_before - r.bytes_after : 0;
  out << "metadata file " << HumanBytes(r.bytes_before) << " -> " << HumanBytes(r.bytes_after)
      << ": " << HumanBytes(freed) << " given back to the host in " << Elapsed(t0) << "\n";
  return Status::OK();
}

// `hoodyfs export`: the head, or a snapshot held by a pin while it is read.
Status Export(const Args& a, const std::string& store, std::ostream& out) {
  HOODY_RETURN_IF_ERROR(CheckNoDaemon(store));
  HOODY_ASSIGN_OR_RETURN(auto snap,
                         snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions()));
  std::optional<snapshotter::FileSystem> fs;
  snapshotter::Store::Pin pin;
  if (a.snapshot.empty()) {
    HOODY_ASSIGN_OR_RETURN(fs, snap->store().Head(a.container));
  } else {
    HOODY_ASSIGN_OR_RETURN(snapshotter::SnapshotInfo info,
                           snap->GetSnapshot(a.container, a.snapshot));
    pin = snap->store().PinGeneration(info.gen, "export");
    HOODY_ASSIGN_OR_RETURN(fs, snap->store().AtGeneration(info.gen));
  }
  Progress progress;
  snapshotter::ExportOptions options;
  options.progress = [&](const snapshotter::ExportProgress& p) {
    progress.Update("exporting: " + std::to_string(p.stats.files) + " files, " +
                    HumanBytes(p.stats.bytes) + "  " + std::string(p.path));
  };
  const auto t0 = std::chrono::steady_clock::now();
  Result<snapshotter::ExportStats> stats = Status::Corruption("unset");
  if (a.path == "-") {
    // A reader that goes away fails the export with EPIPE, not SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    stats = snapshotter::ExportTar(*fs, STDOUT_FILENO, options);
  } else {
    stats = snapshotter::ExportTree(*fs, a.path, options);
  }
  progress.Done();
  if (!stats.ok()) return stats.status();
  if (a.path != "-") {
    out << "exported "
        << Summary(stats->files, stats->directories, stats->symlinks, stats->specials,
                   stats->hardlinks, stats->bytes)
        << " to " << a.path << " in " << Elapsed(t0) << "\n";
  }
  if (!stats->damaged_files.empty()) {
    // The error message goes to stderr, so a tar stream on stdout stays clean.
    std::string names;
    for (const std::string& f : stats->damaged_files) names += "\n  /" + f;
    return Status::Corruption(
        "exported everything, but " +
        (stats->damaged_files.size() == 1
             ? std::string("1 file holds")
             : std::to_string(stats->damaged_files.size()) + " files hold") +
        " damaged blocks (checksum mismatch), written as zeros; hoodyfs fsck --data lists "
        "the blocks:" +
        names);
  }
  return Status::OK();
}
}  // namespace

int RunHoodyfsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"hoodyfs: copy-on-write storage for whole container disks. Reference: docs/cli.md.",
               kProgram};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(kProgram) + " " + HOODYFS_VERSION);
  app.fallthrough();
  app.set_help_all_flag("--help-all", "help for every command");
  app.footer(
      "Store: --store DIR, else $HOODYFS_STORE, else /var/lib/hoodyfs.\n"
      "mount asks the store's daemon, starting one (hoodyfs serve --exit-when-idle, logging to "
      "STORE/daemon.log) when none runs; it returns once the mount is live. Container roots "
      "mount with allow_other, default_permissions, suid, dev; -o adds or overrides (ro, nosuid, "
      "nodev, writeback_cache, fuse_uring, ...). As mount.fuse.hoodyfs it is mount(8)'s helper: "
      "mount -t fuse.hoodyfs CONTAINER@STORE DIR.\n"
      "import and export carry modes, owners, ns times, xattrs and ACLs, hard links, devices, "
      "holes; - is a tar stream on stdin or stdout.\n" +
      std::string(kExitCodesHelp) + "\nReference: docs/cli.md, docs/operations.md.");
  Args a;
  app.add_option("--store", a.store,
                 "store directory (default: $HOODYFS_STORE, else /var/lib/hoodyfs)");
  CLI::App* init = app.add_subcommand("init", "create an empty store");
  CLI::App* fsck = app.add_subcommand("fsck", "check the store's consistency (read-only)");
  bool fsck_data = false;
  fsck->add_flag("--data", fsck_data,
                 "also read every data block in use against its checksum, and name the files "
                 "each damaged block belongs to (as scrub, offline)");
  ScrubArgs scrub_args;
  CLI::App* scrub = AddScrubSubcommand(app, &scrub_args);
  CLI::App* compact = app.add_subcommand(
      "compact",
      "shrink the store's metadata file to what it holds, giving the host back the room that "
      "deleted files and snapshots left inside it (the store must not be in use)");
  ServeArgs serve_args;
  CLI::App* serve = app.add_subcommand(
      "serve", "run the store's daemon in the foreground: mounts, REST API, collection");
  serve->add_option("--listen", serve_args.listen,
                    "also serve the REST API on 127.0.0.1:PORT (needs --token-file)");
  serve->add_option("--token-file", serve_args.token_file,
                    "file holding the bearer token TCP clients must send");
  serve->add_flag("--exit-when-idle", serve_args.exit_when_idle,
                  "stop once the last mount is unmounted (how `mount` starts it)");
  serve->add_option("--ready-fd", serve_args.ready_fd, "write one byte here once serving")
      ->group("");  // internal
  serve->add_option("--gc-interval", serve_args.gc_interval_s,
                    "seconds between expiry and collection passes (default 60)");
  MountArgs mount_args;
  CLI::App* mount = app.add_subcommand(
      "mount", "mount a container's head (or a snapshot, read-only) at MOUNTPOINT");
  mount->add_option("-c,--container", mount_args.container, "container name")->required();
  mount->add_flag("--create", mount_args.create, "create the container first");
  mount->add_option("--snapshot", mount_args.snapshot,
                    "mount this snapshot (name or alias) read-only instead of the head");
  mount->add_option(
      "-o", mount_args.options,
      "mount options, comma-separated: ro, nosuid, nodev, writeback_cache, fuse_uring, ...");
  mount->add_flag("-f,--foreground", mount_args.foreground,
                  "serve in this process until unmounted");
  mount->add_option("MOUNTPOINT", mount_args.mountpoint, "an existing directory")->required();
  std::string umount_point;
  CLI::App* umount = app.add_subcommand("umount", "unmount a hoodyfs mount");
  umount->add_option("MOUNTPOINT", umount_point, "where it is mounted")->required();
  CLI::App* import = app.add_subcommand(
      "import", "copy a host directory tree, or a tar stream on stdin (-), into a container");
  import->add_option("-c,--container", a.container, "container name")->required();
  import->add_flag("--create", a.create, "create the container first");
  import->add_flag("--replace", a.replace,
                   "make the container's tree equal to SOURCE (a directory), as rsync -a -H "
                   "--delete: entries that match (type, size and mtime) are kept and go on sharing "
                   "their blocks with snapshots, what differs is replaced, names SOURCE lacks are "
                   "removed; all or nothing like any import");
  import->add_option("SOURCE", a.path, "a directory, or - for a tar stream on stdin")->required();
  CLI::App* exp = app.add_subcommand(
      "export", "write a container's head or a snapshot to a directory, or a tar stream (-)");
  exp->add_option("-c,--container", a.container, "container name")->required();
  exp->add_option("--snapshot", a.snapshot, "snapshot name or alias (default: the head)");
  exp->add_option("DEST", a.path, "a directory (created if absent), or - for stdout")->required();

  if (auto done = ParseCommandLine(app, argc, argv, kProgram, out, err)) return *done;
  auto fail = [&](const Status& s) { return Fail(kProgram, s, err); };
  const std::string store = ResolveStorePath(a.store);

  if (init->parsed()) {
    Status s = snapshotter::Store::Init(store);
    if (!s.ok()) return fail(s);
    out << "initialized an empty hoodyfs store in " << store << "\n";
  } else if (fsck->parsed()) {
    Status s = RunFsck(store, fsck_data, out);
    if (!s.ok()) return fail(s);
  } else if (scrub->parsed()) {
    scrub_args.store = store;
    Status s = RunScrubCommand(scrub_args, out);
    if (!s.ok()) return fail(s);
  } else if (compact->parsed()) {
    Status s = Compact(store, out);
    if (!s.ok()) return fail(s);
  } else if (serve->parsed()) {
    serve_args.store = store;
    Status s = Serve(serve_args);
    if (!s.ok()) return fail(s);
  } else if (mount->parsed()) {
    mount_args.store = store;
    Status s = Mount(mount_args);
    if (!s.ok()) return fail(s);
  } else if (umount->parsed()) {
    Status s = Umount(a.store.empty() ? "" : store, umount_point);
    if (!s.ok()) return fail(s);
  } else if (import->parsed()) {
    Status s = Import(a, store, out);
    if (!s.ok()) return fail(s);
  } else if (exp->parsed()) {
    Status s = Export(a, store, out);
    if (!s.ok()) return fail(s);
  }
  return kExitOk;
}

}  // namespace hoodyfs::cli
