#include "cli/remote_command.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/exit_codes.h"
#include "cli/remote_scrub.h"
#include "snapshotter/remote/chunk_grace.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/remote_gc.h"
#include "snapshotter/remote/remote_snapshot_delete.h"
#include "snapshotter/remote/replicate.h"
#include "snapshotter/remote/s3_client.h"
#include "snapshotter/remote/s3_config.h"

namespace hoodyfs::cli {
namespace {

// --remote NAME: a path when it holds a '/', else NAME.conf in
// $HOODYFS_REMOTE_DIR, else in ~/.config/hoodyfs/remotes. No --remote: the
// environment (remote/s3_config.h).
Result<remote::S3Config> LoadRemote(const std::string& name) {
  if (name.empty()) return remote::S3ConfigFromEnvironment();
  if (name.find('/') != std::string::npos) return remote::LoadS3Config(name);
  std::string dir;
  if (const char* d = getenv("HOODYFS_REMOTE_DIR"); d != nullptr && *d != '\0') {
    dir = d;
  } else if (const char* home = getenv("HOME"); home != nullptr && *home != '\0') {
    dir = std::string(home) + "/.config/hoodyfs/remotes";
  } else {
    return Status::InvalidArgument("remote " + name +
                                   ": neither HOODYFS_REMOTE_DIR nor HOME is set");
  }
  return remote::LoadS3Config(dir + "/" + name + ".conf");
}

std::vector<std::string> SnapArgv(const std::string& store) {
  std::vector<std::string> argv = {HoodyfsSnapProgram()};
  if (!store.empty()) {
    argv.push_back("--store");
    argv.push_back(store);
  }
  return argv;
}

int RunDelete(remote::S3Client& client, const std::string& container, const std::string& name,
              bool json, std::ostream& out, std::ostream& err) {
  Result<remote::RemoteDeleteStats> r = remote::DeleteRemoteSnapshot(client, container, name);
  if (!r.ok()) {
    const Status s = r.status().WithContext("delete " + container + "@" + name);
    err << "hoodyfs-snap-remote: " << s.ToString() << "\n";
    return ExitCodeFor(s);
  }
  if (json) {
    out << nlohmann::json{{"container", container},
                          {"name", r->name},
                          {"manifest", r->manifest_key},
                          {"aliases", r->aliases}}
               .dump()
        << "\n";
  } else {
    out << container << "@" << r->name << ": deleted from the remote (" << r->aliases.size()
        << " alias" << (r->aliases.size() == 1 ? "" : "es")
        << "); its chunks go at the next gc unless another snapshot uses them\n";
  }
  return kExitOk;
}

void PrintGc(const remote::GcStats& s, const remote::ChunkGrace& grace, bool dry_run, bool json,
             std::ostream& out) {
  if (json) {
    out << nlohmann::json{{"dry_run", dry_run},
                          {"grace_seconds", grace.grace().count()},
                          {"manifests", s.manifests},
                          {"chunks", s.chunks},
                          {"referenced", s.referenced},
                          {"unreferenced", s.unreferenced},
                          {"deleted", s.deleted},
                          {"bytes_deleted", s.bytes_deleted},
                          {"kept_young", s.kept_young},
                          {"skipped_late", s.skipped_late},
                          {"foreign_keys", s.foreign_keys}}
               .dump()
        << "\n";
    return;
  }
  out << (dry_run ? "would delete " : "deleted ") << s.deleted << " of " << s.chunks << " chunks ("
      << s.bytes_deleted << " bytes); " << s.referenced << " named by " << s.manifests
      << " manifests, " << s.kept_young << " unreferenced but younger than "
      << remote::FormatGrace(grace);
  if (s.skipped_late > 0) out << ", " << s.skipped_late << " left for the next gc";
  if (s.foreign_keys > 0) out << ", " << s.foreign_keys << " keys that are not chunks left alone";
  out << "\n";
}

}  // namespace

int RunRemoteCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app(
      "Snapshots in an S3-compatible object store (Ceph RGW, ...): push a snapshot as "
      "content-addressed chunks and a manifest, pull it into a store, list what a remote "
      "holds, delete a snapshot from it, collect the chunks no snapshot uses, repair a store's "
      "damaged blocks from it.\nRemote: --remote "
      "NAME reads NAME.conf in $HOODYFS_REMOTE_DIR (else "
      "~/.config/hoodyfs/remotes), --remote PATH that file; it must be mode 0600. Without "
      "--remote: HOODYFS_S3_ENDPOINT, HOODYFS_S3_BUCKET, HOODYFS_S3_PREFIX, HOODYFS_S3_REGION, "
      "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY. Credentials are never taken from the command "
      "line.\n" +
          std::string(kExitCodesHelp),
      "hoodyfs-snap-remote");
  app.require_subcommand(1);
  std::string store, remote_name, container, name, source;
  std::string grace_text = remote::FormatGrace(remote::ChunkGrace());
  bool json = false, dry_run = false;
  // Requests in flight at once, each on a connection of its own: a chunk
  // is one request, and a small file one chunk, so a push or pull one
  // request at a time waits on round trips (docs/benchmarks.md, Part 2f).
  int jobs = 4;
  app.add_option("--store", store, "store directory, passed on to hoodyfs-snap");
  app.add_option("--remote", remote_name, "remote name or config file (see above)");

  CLI::App* push = app.add_subcommand("push",
                                      "upload a snapshot (chunks the remote lacks, "
                                      "then its manifest)");
  push->add_option("-c,--container", container, "container")->required();
  push->add_option("--name", name, "snapshot name or alias")->required();
  push->add_flag("--json", json, "print the result as JSON");
  push->add_option("--grace", grace_text,
                   "the remote's gc grace (default 1d; must be what gc uses): chunks older than "
                   "half of it are uploaded again, and a push longer than a quarter of it writes "
                   "no manifest");
  push->add_option("--jobs", jobs, "chunks uploaded at once (default 4)")->check(CLI::Range(1, 64));

  CLI::App* pull =
      app.add_subcommand("pull",
                         "make a pushed snapshot a snapshot of a container of this store (a new "
                         "container, as a full receive)");
  pull->add_option("-c,--container", container, "container to receive into")->required();
  pull->add_option("--name", name, "snapshot name or alias in the remote")->required();
  pull->add_option("--source", source,
                   "the container it was pushed from (default: the same as -c)");
  pull->add_flag("--json", json, "print the result as JSON");
  pull->add_option("--jobs", jobs, "chunks fetched at once (default 4)")->check(CLI::Range(1, 64));

  CLI::App* list = app.add_subcommand("list", "the snapshots a remote holds");
  list->add_option("-c,--container", container, "only this container's");
  list->add_flag("--json", json, "print the result as JSON");

  CLI::App* del = app.add_subcommand(
      "delete", "remove a snapshot from the remote (its manifest and aliases; chunks go at gc)");
  del->add_option("-c,--container", container, "container it was pushed from")->required();
  del->add_option("--name", name, "snapshot name or alias in the remote")->required();
  del->add_flag("--json", json, "print the result as JSON");

  CLI::App* gc = app.add_subcommand(
      "gc",
      "delete the chunks no manifest names, once older than the grace; safe while pushes run "
      "elsewhere when they use the same grace (docs/design.md)");
  gc->add_option("--grace", grace_text,
                 "keep unreferenced chunks younger than this (default 1d; 0s only when no "
                 "push can be running)");
  gc->add_flag("--dry-run", dry_run, "count what would be deleted, delete nothing");
  gc->add_option("--jobs", jobs, "chunks checked and deleted at once (default 4)")
      ->check(CLI::Range(1, 64));
  gc->add_flag("--json", json, "print the result as JSON");

  uint64_t max_rate_mb = 0;
  CLI::App* scrub = app.add_subcommand(
      "scrub",
      "scrub the store (in its daemon when one serves it, else offline) and repair each damaged "
      "block from the remote's replica, "
      "verified against the block's checksum before it is written (what `hoodyfs scrub "
      "--repair-from` runs)");
  scrub->add_flag("--json", json, "print the report as JSON (as hoodyfs scrub --json)");
  scrub->add_option("--max-rate", max_rate_mb, "read at most MB (10^6 bytes) per second")
      ->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }
  // A receive that dies must not kill us by SIGPIPE: the write fails with
  // EPIPE and is reported.
  signal(SIGPIPE, SIG_IGN);

  auto fail = [&](const Status& s) {
    err << "hoodyfs-snap-remote: " << s.ToString() << "\n";
    return ExitCodeFor(s);
  };
  Result<remote::ChunkGrace> grace = remote::ParseGrace(grace_text);
  if (!grace.ok()) {
    err << "hoodyfs-snap-remote: --grace: " << grace.status().ToString() << "\n";
    return kExitUsage;
  }
  Result<remote::S3Config> config = LoadRemote(remote_name);
  if (!config.ok()) return fail(config.status());
  Result<std::unique_ptr<remote::S3Client>> client_or = remote::S3Client::Create(*config);
  if (!client_or.ok()) return fail(client_or.status());
  remote::S3Client& client = **client_or;

  if (push->parsed()) {
    if (Status s = client.CreateBucket(); !s.ok()) return fail(s);
    std::vector<std::string> argv_send = SnapArgv(store);
    argv_send.insert(argv_send.end(), {"send", "-c", container, "--name", name, "-o", "-"});
    Result<ChildProcess> send = ChildProcess::Start(argv_send, ChildProcess::Pipe::kStdout);
    if (!send.ok()) return fail(send.status());
    Result<remote::PushStats> r = remote::PushStream(client, container, send->fd(), *grace, jobs);
    // A stream that stops short (kCorruption) is send's failure, which send
    // has reported on stderr: its exit code says what it was. Any other
    // error is ours, and send, whose output is no longer read, is stopped.
    const bool stream_cut = !r.ok() && r.status().code() == Code::kCorruption;
    if (!r.ok() && !stream_cut) send->Terminate();
    const Status sent = send->Wait();
    if (!sent.ok() && (r.ok() || stream_cut)) {
      err << "hoodyfs-snap-remote: push " << container << "@" << name << ": " << sent.ToString()
          << "\n";
      return send->exit_code() > 0 ? send->exit_code() : kExitFailure;
    }
    if (!r.ok()) return fail(r.status().WithContext("push " + container + "@" + name));
    if (json) {
      out << nlohmann::json{{"container", container},
                            {"name", r->name},
                            {"alias", r->alias},
                            {"manifest", r->manifest_key},
                            {"chunks", r->chunks},
                            {"distinct_chunks", r->distinct_chunks},
                            {"chunks_uploaded", r->chunks_uploaded},
                            {"chunks_touched", r->chunks_touched},
                            {"bytes_uploaded", r->bytes_uploaded},
                            {"manifest_bytes", r->manifest_bytes}}
                 .dump()
          << "\n";
    } else {
      out << container << "@" << r->name << ": pushed " << r->chunks_uploaded << " of "
          << r->distinct_chunks << " chunks (" << r->bytes_uploaded << " bytes), manifest "
          << r->manifest_key << "\n";
    }
    return kExitOk;
  }

  if (pull->parsed()) {
    if (source.empty()) source = container;
    std::vector<std::string> argv_receive = SnapArgv(store);
    argv_receive.insert(argv_receive.end(), {"receive", "-c", container, "-i", "-"});
    if (json) argv_receive.push_back("--json");
    Result<ChildProcess> receive = ChildProcess::Start(argv_receive, ChildProcess::Pipe::kStdin);
    if (!receive.ok()) return fail(receive.status());
    Result<remote::PullStats> r = remote::PullStream(client, source, name, receive->fd(), jobs);
    // On an error the stream stops short: receive refuses it and leaves
    // nothing behind.
    const Status received = receive->Wait();
    if (!r.ok()) return fail(r.status().WithContext("pull " + source + "@" + name));
    if (!received.ok()) return fail(received.WithContext("pull " + source + "@" + name));
    if (!json) {
      out << container << ": pulled " << source << "@" << r->name << " (" << r->chunks
          << " chunks, " << r->bytes << " bytes)\n";
    }
    return kExitOk;
  }

  if (del->parsed()) return RunDelete(client, container, name, json, out, err);

  if (scrub->parsed()) {
    const Status s = RunScrubRepair(client, {store, json, max_rate_mb}, out);
    return s.ok() ? kExitOk : fail(s);
  }

  if (gc->parsed()) {
    Result<remote::GcStats> r = remote::CollectChunks(client, *grace, dry_run, jobs);
    if (!r.ok()) return fail(r.status());
    PrintGc(*r, *grace, dry_run, json, out);
    return kExitOk;
  }

  // list
  Result<std::vector<remote::S3Object>> objects =
      client.ListAll(container.empty() ? "manifests/" : "manifests/" + container + "/");
  if (!objects.ok()) return fail(objects.status());
  nlohmann::json rows = nlohmann::json::array();
  for (const remote::S3Object& object : *objects) {
    const std::string rest = object.key.substr(std::string("manifests/").size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos) continue;
    const std::string c = rest.substr(0, slash), n = rest.substr(slash + 1);
    if (json) {
      rows.push_back({{"container", c}, {"name", n}, {"manifest_bytes", object.size}});
    } else {
      out << c << "@" << n << "\n";
    }
  }
  if (json) out << rows.dump() << "\n";
  return kExitOk;
}

}  // namespace hoodyfs::cli
