#include "cli/snap_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <ostream>

#include "base/unique_fd.h"
#include "cli/api/http_client.h"
#include "cli/api/json_codec.h"
#include "cli/api/rest_errors.h"
#include "cli/bisect_command.h"
#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/human.h"
#include "cli/progress.h"
#include "cli/scrub_command.h"
#include "cli/snapshot_list_printer.h"
#include "cli/store_path.h"
#include "snapshotter/verbs/catalog.h"

namespace hoodyfs::cli {

using snapshotter::ContainerInfo;
using snapshotter::SnapshotInfo;

namespace {

constexpr char kProgram[] = "hoodyfs-snap";

// Whole days (1 to catalog::kExpiryDaysMax), or "never", which is 0.
Result<int64_t> ParseExpiry(const std::string& text) {
  if (text == "never") return int64_t{0};
  int64_t days = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, days);
  if (ec == std::errc::result_out_of_range) {
    return Status::InvalidArgument("expiry of " + text + " days is past the " +
                                   std::to_string(snapshotter::catalog::kExpiryDaysMax) +
                                   " days (100 years) accepted; for no expiry say 'never'");
  }
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidArgument("expiry '" + text +
                                   "' is not a whole number of days or 'never'");
  }
  HOODY_RETURN_IF_ERROR(snapshotter::catalog::ValidateExpiryDays(days));
  return days;
}

std::string Or(const std::string& s, const char* fallback) { return s.empty() ? fallback : s; }

std::string Bytes(const std::optional<uint64_t>& b) { return b ? HumanBytes(*b) : "-"; }

void PrintSnapshot(const SnapshotInfo& s, std::optional<uint64_t> exclusive, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
      {"name:", s.name},
      {"alias:", Or(s.alias, "-")},
      {"container:", s.container},
      {"created:", HumanTime(s.created_ns)},
      {"expires:", s.expires_ns == 0 ? "never" : HumanTime(s.expires_ns)},
      {"parent:", Or(s.parent, "-")},
      {"referenced:", Bytes(s.referenced_bytes)},
      {"written:", Bytes(s.written_bytes)},
  };
  if (exclusive) rows.push_back({"exclusive:", HumanBytes(*exclusive)});
  rows.push_back({"generation:", std::to_string(s.gen.value)});
  out << FormatTable(rows);
}

void PrintContainers(const std::vector<ContainerInfo>& list, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{{"NAME", "SNAPSHOTS", "CREATED", "ORIGIN"}};
  for (const ContainerInfo& c : list) {
    rows.push_back(
        {c.name, std::to_string(c.snapshots), HumanTime(c.created_ns), Or(c.origin, "-")});
  }
  out << FormatTable(rows);
}

// Flag values of every subcommand (only one runs).
struct Args {
  std::string store;
  std::string container;
  std::string name;
  std::string alias;
  bool alias_given = false;
  std::string expiry;
  bool json = false;
  bool discard_head = false;
  bool no_sync = false;  // create --no-sync
  std::string from, to;
  std::string source_snapshot;
  std::string project;
  std::string stream_file = "-";  // send -o, receive -i
  std::string after;              // list --after
  std::string limit;              // list --limit, checked before the store is opened
};

// A pipe between `send` and `receive` holds 64 KiB by default, so the two
// processes take turns at every 64 KiB instead of working at once; 1 MiB
// (an unprivileged process's most, /proc/sys/fs/pipe-max-size) lets them
// overlap. Either end may widen it. A speed hint: a failure changes nothing.
constexpr int kStreamPipeBytes = 1 << 20;
void WidenPipe(int fd) {
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) ::fcntl(fd, F_SETPIPE_SZ, kStreamPipeBytes);
}

// The send stream's file: "-" is stdout (send) or stdin (receive), never
// a terminal; a file that send writes is removed again when it fails.
class StreamFile {
 public:
  static Result<StreamFile> Open(const std::string& path, bool for_send) {
    StreamFile f;
    if (path == "-") {
      f.fd_ = for_send ? STDOUT_FILENO : STDIN_FILENO;
      if (isatty(f.fd_)) {
        return Status::InvalidArgument(
            std::string("refusing to ") + (for_send ? "write a send stream to" : "read one from") +
            " a terminal: use -" + (for_send ? "o" : "i") + " FILE or a pipe");
      }
      WidenPipe(f.fd_);
      return f;
    }
    f.owned_ =
        UniqueFd(for_send ? ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                          : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!f.owned_.valid()) return FromErrno(errno, "opening " + path);
    f.fd_ = f.owned_.get();
    if (for_send) f.written_ = path;
    return f;
  }
  int fd() const { return fd_; }
  // After a failed send: no half stream stays behind.
  void Discard() {
    if (!written_.empty()) ::unlink(written_.c_str());
  }

 private:
  int fd_ = -1;
  UniqueFd owned_;
  std::string written_;
};

}  // namespace

int RunSnapCommand(int argc, const char* const* argv, const ApiOpener& open, std::ostream& out,
                   std::ostream& err) {
  CLI::App app{
      "Snapshots of hoodyfs containers: create, list, show, set, restore, delete, diff, "
      "copy; containers; garbage collection; scrub. Reference: docs/cli.md.",
      kProgram};
  app.set_help_all_flag("--help-all", "help for every command");
  app.footer(
      "Store: --store DIR, else $HOODYFS_STORE, else /var/lib/hoodyfs. When a daemon serves the "
      "store (hoodyfs serve, or one `hoodyfs mount` started), every verb goes through it.\n"
      "Names: a container is [A-Za-z0-9][A-Za-z0-9_.-]{0,127} without '..'; snapshots are named "
      "snap-YYYYMMDD-HHMMSS (UTC, -2, -3... within one second); an alias uses the container "
      "characters, is unique in its container and never of the snap- form. N is a name or an "
      "alias.\n"
      "Restore keeps the replaced head as a snapshot aliased pre-restore-<time> for 7 days unless "
      "--discard-head. Diff endpoints: N, X@N (container X), X@ (X's live head); TO defaults to "
      "the live head.\n" +
      std::string(kExitCodesHelp) + "\nReference: docs/cli.md; JSON fields: docs/cli.md#json.");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(kProgram) + " " + HOODYFS_VERSION);
  app.fallthrough();
  Args a;
  app.add_option("--store", a.store,
                 "store directory (default: $HOODYFS_STORE, else /var/lib/hoodyfs)");
  auto add_container = [&](CLI::App* cmd) {
    cmd->add_option("-c,--container", a.container, "container name")->required();
  };
  auto add_json = [&](CLI::App* cmd) {
    cmd->add_flag("--json", a.json, "print JSON (documented in docs/cli.md)");
  };
  auto add_name = [&](CLI::App* cmd) {
    cmd->add_option("--name", a.name, "snapshot name or alias")->required();
  };

  CLI::App* create = app.add_subcommand("create", "snapshot a container's head; prints the name");
  add_container(create);
  create->add_option("--alias", a.alias, "a name of your own, unique in the container");
  create->add_option("--expiry", a.expiry, "delete the snapshot after DAYS days (or 'never')");
  create->add_flag("--no-sync", a.no_sync,
                   "return once the snapshot is taken, before it is durable (within a second; "
                   "a crash before then loses it and everything after it)");
  add_json(create);

  CLI::App* list = app.add_subcommand("list", "list a container's snapshots, oldest first");
  add_container(list);
  list->add_option("--after", a.after,
                   "start after this snapshot (a name, or the position NAME@NS that "
                   "--limit's hint gives)");
  list->add_option("--limit", a.limit,
                   "print at most N snapshots (1 to " +
                       std::to_string(snapshotter::catalog::kListPageMax) +
                       "); with --json, as one page with the next --after");
  add_json(list);

  CLI::App* show = app.add_subcommand("show", "one snapshot, with the space deleting it frees");
  add_container(show);
  add_name(show);
  add_json(show);

  CLI::App* set = app.add_subcommand("set", "change a snapshot's alias or expiry");
  add_container(set);
  add_name(set);
  set->add_option("--alias", a.alias, "new alias ('' removes it)");
  set->add_option("--expiry", a.expiry, "DAYS from now, or 'never'");
  add_json(set);

  CLI::App* restore =
      app.add_subcommand("restore", "point the container at a fresh child of the snapshot");
  add_container(restore);
  add_name(restore);
  restore->add_flag("--discard-head", a.discard_head,
                    "do not keep the replaced head as a pre-restore snapshot");
  add_json(restore);

  CLI::App* del = app.add_subcommand("delete", "delete a snapshot and give back its space");
  add_container(del);
  add_name(del);
  add_json(del);

  CLI::App* diff = app.add_subcommand(
      "diff", "what changed from FROM to TO (default: the live head); X@Y: container X");
  add_container(diff);
  diff->add_option("FROM", a.from, "snapshot name or alias, X@SNAPSHOT, or X@ (X's head)")
      ->required();
  diff->add_option("TO", a.to, "as FROM; default: the container's live head");
  add_json(diff);

  CLI::App* copy = app.add_subcommand("copy", "a new container from a snapshot (O(1))");
  add_container(copy);
  copy->add_option("--source-snapshot", a.source_snapshot, "snapshot name or alias")->required();
  copy->add_option("--name", a.name, "the new container's name")->required();
  copy->add_option("--project", a.project, "project id to record on the copy");
  add_json(copy);

  CLI::App* containers = app.add_subcommand("containers", "list, create or delete containers");
  containers->require_subcommand(1);
  CLI::App* c_list = containers->add_subcommand("list", "list containers");
  add_json(c_list);
  CLI::App* c_create = containers->add_subcommand("create", "create an empty container");
  c_create->add_option("NAME", a.container, "container name")->required();
  add_json(c_create);
  CLI::App* c_delete =
      containers->add_subcommand("delete", "delete a container and all its snapshots");
  c_delete->add_option("NAME", a.container, "container name")->required();
  add_json(c_delete);

  BisectArgs bisect_args;
  CLI::App* bisect = app.add_subcommand(
      "bisect", "find the first bad snapshot between a good and a bad one: -- CMD [ARGS...]");
  add_container(bisect);
  bisect->add_option("--good", bisect_args.good, "a snapshot where CMD succeeds")->required();
  bisect->add_option("--bad", bisect_args.bad, "a later snapshot where CMD fails")->required();
  bisect->add_flag("--chroot", bisect_args.chroot, "run CMD chrooted into each snapshot's copy");
  bisect
      ->add_option("COMMAND", bisect_args.command,
                   "after --: exit 0 good, 125 skip, anything else bad")
      ->required();
  add_json(bisect);

  CLI::App* send = app.add_subcommand(
      "send", "write a snapshot as a stream: full, or incremental from --from (docs/cli.md)");
  add_container(send);
  add_name(send);
  send->add_option("--from", a.from, "base snapshot (name or alias): an incremental stream");
  send->add_option("-o,--output", a.stream_file, "file to write, or - for stdout (default)");
  add_json(send);

  CLI::App* receive = app.add_subcommand(
      "receive", "make a send stream a snapshot of the container (a full one creates it)");
  add_container(receive);
  receive->add_option("-i,--input", a.stream_file, "file to read, or - for stdin (default)");
  add_json(receive);

  CLI::App* gc =
      app.add_subcommand("gc", "delete expired snapshots and reclaim the space of deleted ones");
  add_json(gc);

  ScrubArgs scrub_args;
  CLI::App* scrub = AddScrubSubcommand(app, &scrub_args);

  if (auto done = ParseCommandLine(app, argc, argv, kProgram, out, err)) return *done;

  // Under --json a failure is a JSON error document too (docs/api.md's
  // form), still on stderr and with the same exit code.
  // Set while a verb may be run again (see run_verb below).
  bool may_retry = false;
  bool unreachable = false;
  auto fail = [&](const Status& s) {
    if (may_retry && IsUnreachable(s)) {
      unreachable = true;  // said nothing yet: the verb runs again
      return kExitFailure;
    }
    if (!a.json) return Fail(kProgram, s, err);
    err << ErrorResponse(s).body << "\n";
    return ExitCodeFor(s);
  };

  // Values checked before the store is touched: bad input changes nothing.
  a.alias_given = set->count("--alias") > 0;
  std::optional<int64_t> expiry;  // for set, 0 is "never"; create leaves it unset
  if (create->count("--expiry") > 0 || set->count("--expiry") > 0) {
    auto parsed = ParseExpiry(a.expiry);
    if (!parsed.ok()) return fail(parsed.status());
    if (*parsed != 0 || set->parsed()) expiry = *parsed;
  }
  std::optional<int64_t> list_limit;
  if (list->count("--limit") > 0) {
    auto parsed = snapshotter::catalog::ParsePageLimit("--limit", a.limit);
    if (!parsed.ok()) return fail(parsed.status());
    list_limit = *parsed;
  }
  if (list->count("--after") > 0) {
    if (Status s = snapshotter::catalog::ParseListStart("--after", a.after).status(); !s.ok()) {
      return fail(s);
    }
  }
  if (set->parsed() && !a.alias_given && !expiry) {
    return fail(Status::InvalidArgument("set needs --alias or --expiry"));
  }

  if (scrub->parsed()) {
    scrub_args.store = ResolveStorePath(a.store);
    a.json = scrub_args.json;
    Status s = RunScrubCommand(scrub_args, out);
    return s.ok() ? kExitOk : fail(s);
  }

  if (bisect->parsed()) {
    bisect_args.store = ResolveStorePath(a.store);
    bisect_args.container = a.container;
    bisect_args.json = a.json;
    Status s = Bisect(bisect_args, out);
    return s.ok() ? kExitOk : fail(s);
  }

  auto run_verb = [&]() -> int {
    auto api_or = open(ResolveStorePath(a.store));
    if (!api_or.ok()) return fail(api_or.status());
    SnapshotApi& api = **api_or;
    // A status line on a terminal for long work (diff, gc), cleared before
    // the result is printed; nothing when piped.
    Progress progress;
    if (progress.enabled())
      api.SetProgress([&](const std::string& line) { progress.Update(line); });

    if (create->parsed()) {
      auto r = api.CreateSnapshot(
          a.container, snapshotter::CreateSnapshotRequest{a.alias, expiry, /*sync=*/!a.no_sync});
      if (!r.ok()) return fail(r.status());
      if (a.json) {
        out << ToJson(*r).dump(2) << "\n";
      } else {
        out << r->name << "\n";
      }
    } else if (list->parsed()) {
      SnapshotListOptions options;
      options.container = a.container;
      options.after = a.after;
      options.limit = list_limit;
      options.json = a.json;
      // Once a page is printed a retry would print it again.
      Status s = PrintSnapshotList(api, options, out, err, [&] { may_retry = false; });
      if (!s.ok()) return fail(s);
    } else if (show->parsed()) {
      auto r = api.GetSnapshot(a.container, a.name);
      if (!r.ok()) return fail(r.status());
      auto exclusive = api.ExclusiveBytes(a.container, a.name);
      if (!exclusive.ok()) return fail(exclusive.status());
      if (a.json) {
        nlohmann::json j = ToJson(*r);
        j["exclusive_bytes"] = *exclusive;
        out << j.dump(2) << "\n";
      } else {
        PrintSnapshot(*r, *exclusive, out);
      }
    } else if (set->parsed()) {
      snapshotter::SetSnapshotRequest req;
      if (a.alias_given) req.alias = a.alias;
      req.expiry_days = expiry;
      auto r = api.SetSnapshot(a.container, a.name, req);
      if (!r.ok()) return fail(r.status());
      if (a.json) out << ToJson(*r).dump(2) << "\n";
    } else if (restore->parsed()) {
      auto r = api.Restore(a.container, a.name, snapshotter::RestoreRequest{a.discard_head});
      if (!r.ok()) return fail(r.status());
      if (a.json) {
        out << ToJson(*r).dump(2) << "\n";
      } else if (r->saved_head) {
        out << a.container << ": restored " << a.name << "; the previous head is kept as "
            << r->saved_head->name << " (alias " << r->saved_head->alias << ", expires "
            << HumanTime(r->saved_head->expires_ns) << ")\n";
      } else if (a.discard_head) {
        out << a.container << ": restored " << a.name << "; the previous head was discarded\n";
      } else {
        out << a.container << ": restored " << a.name
            << "; the previous head held no change of its own, so no pre-restore snapshot was "
               "needed\n";
      }
    } else if (del->parsed()) {
      Status s = api.DeleteSnapshot(a.container, a.name);
      if (!s.ok()) return fail(s);
      if (a.json)
        out << nlohmann::json{{"deleted", a.name}, {"container", a.container}}.dump(2) << "\n";
    } else if (diff->parsed()) {
      auto r = api.Diff(a.container, a.from, a.to);
      progress.Done();
      if (!r.ok()) return fail(r.status());
      if (a.json) {
        out << ToJson(*r).dump(2) << "\n";
      } else {
        for (const snapshotter::Change& c : r->changes) out << snapshotter::FormatChange(c) << "\n";
      }
    } else if (copy->parsed()) {
      auto r = api.CopyContainer(a.container, a.source_snapshot, a.name, a.project);
      if (!r.ok()) return fail(r.status());
      if (a.json) out << ToJson(*r).dump(2) << "\n";
    } else if (c_list->parsed()) {
      auto r = api.ListContainers();
      if (!r.ok()) return fail(r.status());
      if (a.json) {
        nlohmann::json j = nlohmann::json::array();
        for (const ContainerInfo& c : *r) j.push_back(ToJson(c));
        out << j.dump(2) << "\n";
      } else {
        PrintContainers(*r, out);
      }
    } else if (c_create->parsed()) {
      auto r = api.CreateContainer(a.container);
      if (!r.ok()) return fail(r.status());
      if (a.json) out << ToJson(*r).dump(2) << "\n";
    } else if (c_delete->parsed()) {
      Status s = api.DeleteContainer(a.container);
      if (!s.ok()) return fail(s);
      if (a.json) out << nlohmann::json{{"deleted", a.container}}.dump(2) << "\n";
    } else if (send->parsed()) {
      auto file = StreamFile::Open(a.stream_file, /*for_send=*/true);
      if (!file.ok()) return fail(file.status());
      ::signal(SIGPIPE, SIG_IGN);  // a reader that went away is an error, not a kill
      auto r = api.Send(snapshotter::SendRequest{a.container, a.name, a.from}, file->fd());
      if (!r.ok()) {
        file->Discard();
        return fail(r.status());
      }
      // stdout may be the stream itself: the summary goes to stderr.
      if (a.json) {
        err << nlohmann::json{{"records", r->records}, {"bytes", r->bytes_out},
                              {"inodes", r->nodes},    {"data_bytes", r->data_bytes},
                              {"unlinks", r->unlinks}, {"links", r->links}}
                   .dump(2)
            << "\n";
      }
    } else if (receive->parsed()) {
      auto file = StreamFile::Open(a.stream_file, /*for_send=*/false);
      if (!file.ok()) return fail(file.status());
      auto r = api.Receive(a.container, file->fd());
      if (!r.ok()) return fail(r.status());
      if (a.json) {
        nlohmann::json j = ToJson(r->snapshot);
        j["incremental"] = r->incremental;
        j["stream_bytes"] = r->bytes_in;
        j["records"] = r->records;
        out << j.dump(2) << "\n";
      } else {
        out << a.container << ": received " << r->snapshot.name
            << (r->incremental ? " (incremental, " : " (full, ") << HumanBytes(r->bytes_in)
            << ")\n";
      }
    } else if (gc->parsed()) {
      auto r = api.CollectGarbage();
      progress.Done();
      if (!r.ok()) return fail(r.status());
      if (a.json) {
        out << ToJson(*r).dump(2) << "\n";
      } else {
        out << "expired " << r->expired << " snapshots; reclaimed " << r->generations
            << " generations; freed " << HumanBytes(r->blocks_freed * kBlockSize) << "\n";
      }
    }
    return kExitOk;
  };
  // A daemon that stopped (its last mount went) between our ping and our
  // request refused the connection before it read a byte: nothing ran, so
  // open the store again (a new daemon's, or our own) and run the verb again.
  for (int attempt = 0;; ++attempt) {
    may_retry = attempt < 3;
    unreachable = false;
    const int code = run_verb();
    if (!unreachable) return code;
  }
}

}  // namespace hoodyfs::cli
