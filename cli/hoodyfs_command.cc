#include "cli/hoodyfs_command.h"

#include <CLI/CLI.hpp>
#include <ostream>

#include "cli/exit_codes.h"
#include "cli/store_path.h"
#include "snapshotter/snapshotter.h"

namespace hoodyfs::cli {

namespace {
constexpr char kProgram[] = "hoodyfs";

struct Args {
  std::string store;
};
}  // namespace

int RunHoodyfsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"hoodyfs: copy-on-write storage for whole container disks. Reference: docs/cli.md.",
               kProgram};
  app.require_subcommand(1);
  app.fallthrough();
  Args a;
  app.add_option("--store", a.store,
                 "store directory (default: $HOODYFS_STORE, else /var/lib/hoodyfs)");
  CLI::App* init = app.add_subcommand("init", "create an empty store");
  CLI::App* fsck = app.add_subcommand("fsck", "check the store's consistency (read-only)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << kProgram << ": " << e.what() << " (see " << kProgram << " --help)\n";
    return kExitUsage;
  }
  auto fail = [&](const Status& s) {
    err << kProgram << ": " << s.message() << "\n";
    return ExitCodeFor(s);
  };
  const std::string store = ResolveStorePath(a.store);

  if (init->parsed()) {
    Status s = snapshotter::Store::Init(store);
    if (!s.ok()) return fail(s);
    out << "initialized an empty hoodyfs store in " << store << "\n";
  } else if (fsck->parsed()) {
    auto snap = snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions());
    if (!snap.ok()) return fail(snap.status());
    Status s = (*snap)->store().CheckInvariants();
    if (!s.ok()) return fail(s);
    out << store << ": consistent\n";
  }
  return kExitOk;
}

}  // namespace hoodyfs::cli
