// Real process death during the snapshot verbs (issue 3, "crash safety"): a
// forked child opens a store through Snapshotter, changes files, and runs a
// seeded sequence of verbs (create with an alias, restore keeping or
// discarding the head, copy, delete a snapshot, delete a container, garbage
// collection), SIGKILLing itself at the Nth firing of a hook while a verb
// runs:
//   kv.before_commit      a verb's transaction is written, not committed
//   kv.after_commit       committed, the verb has not returned
//   gc.between_batches    garbage collection is half way through a generation
//   wal.before_sync       a create's metadata log record is written, not synced
//   wal.after_sync        synced (a create is durable through the log, not a
//                         commit: docs/design.md, "Writeback starts before the
//                         commit")
// Before each verb the child makes everything durable and writes the store's
// visible state and the verb ("pending"). The parent reopens the store with
// no repair step and finds either that state or exactly the verb applied to
// it: each operation happened or did not. Then a full collection finishes
// whatever garbage collection the kill interrupted, and the checkers pass.
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/test_hook.h"
#include "base/testing/file_contents.h"
#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/verbs/snapshotter.h"
#include "tests/crash/crash_util.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::FileSystem;
using snapshotter::Snapshotter;

constexpr const char* kHooks[] = {"kv.before_commit", "kv.after_commit", "gc.between_batches",
                                  "wal.before_sync", "wal.after_sync"};
constexpr int kChildNeverKilled = 3;
constexpr int kChildSetupFailed = 4;
constexpr int kMaxChildSteps = 150;

std::string_view g_kill_hook;
int g_kill_at = 0;
int g_fired = 0;
bool g_in_verb = false;  // only firings inside a verb count

void KillAtHook(std::string_view name) {
  if (g_in_verb && name == g_kill_hook && ++g_fired == g_kill_at) ::kill(::getpid(), SIGKILL);
}

snapshotter::StoreOptions Options() {
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 0;
  options.flush_pending_bytes = 32 << 10;  // garbage collection commits in several steps
  options.grow_step_bytes = 16 << 20;
  // A fixed clock: no snapshot expires between the child and the parent.
  options.clock = [] { return index::Timespec{1772620200, 0}; };
  return options;
}

[[noreturn]] void ChildFail(int code, const std::string& why) {
  std::fprintf(stderr, "snapshot kill test child: %s\n", why.c_str());
  std::fflush(stderr);
  ::_exit(code);
}

// ---- the visible state of a store, as text ----

// A fingerprint of a whole tree: every path with its type, mode and bytes.
std::string TreePrint(FileSystem& fs) {
  std::string out;
  std::vector<std::pair<Ino, std::string>> dirs{{kRootIno, ""}};
  while (!dirs.empty()) {
    auto [dir, path] = dirs.back();
    dirs.pop_back();
    std::vector<snapshotter::DirEntry> entries;
    Status s = fs.ReadDir(dir, 2, [&](const snapshotter::DirEntry& e) {
      entries.push_back(e);
      return true;
    });
    if (!s.ok()) return "unreadable: " + s.ToString();
    for (const auto& e : entries) {
      const std::string child = path + "/" + e.name;
      auto attr = fs.GetAttr(e.ino);
      if (!attr.ok()) return "unreadable: " + attr.status().ToString();
      std::string data(attr->size, '\0');
      if (S_ISREG(attr->mode) && !fs.Read(e.ino, 0, data).ok()) return "unreadable data";
      out += child + ":" + std::to_string(attr->mode) + ":" +
             std::to_string(std::hash<std::string>()(data)) + ";";
      if (S_ISDIR(attr->mode)) dirs.emplace_back(e.ino, child);
    }
  }
  return std::to_string(std::hash<std::string>()(out));
}

struct ContainerState {
  std::string head;
  std::map<std::string, std::pair<std::string, std::string>> snaps;  // name -> (alias, print)
  bool operator==(const ContainerState&) const = default;
};
using StoreState = std::map<std::string, ContainerState>;

StoreState Capture(Snapshotter& snap) {
  StoreState state;
  for (const auto& c : snap.ListContainers()) {
    ContainerState& cs = state[c.name];
    FileSystem head = snap.store().Head(c.name).value();
    cs.head = TreePrint(head);
    const std::vector<snapshotter::SnapshotInfo> list = snap.ListSnapshots(c.name).value();
    for (const auto& s : list) {
      FileSystem past = snap.store().AtGeneration(s.gen).value();
      cs.snaps[s.name] = {s.alias.empty() ? "-" : s.alias, TreePrint(past)};
    }
  }
  return state;
}

std::string Encode(const StoreState& state) {
  std::string out;
  for (const auto& [name, c] : state) {
    out += "C " + name + " " + c.head + "\n";
    for (const auto& [snap, v] : c.snaps)
      out += "S " + snap + " " + v.first + " " + v.second + "\n";
  }
  return out;
}

StoreState Decode(const std::string& text) {
  StoreState state;
  std::istringstream in(text);
  std::string kind, a, b, c;
  std::string container;
  while (in >> kind) {
    if (kind == "C") {
      in >> container >> a;
      state[container].head = a;
    } else {
      in >> a >> b >> c;
      state[container].snaps[a] = {b, c};
    }
  }
  return state;
}

// The verb as the child ran it: "create C ALIAS", "delete C NAME",
// "restore C NAME keep|discard", "copy C NAME NEW", "drop C", "gc".
struct Verb {
  std::string op, container, arg, extra;
};

std::string EncodeVerb(const Verb& v) {
  return v.op + " " + v.container + " " + v.arg + " " + v.extra + "\n";
}

Verb DecodeVerb(const std::string& line) {
  Verb v;
  std::istringstream in(line);
  in >> v.op >> v.container >> v.arg >> v.extra;
  return v;
}

// Removes one snapshot of `c` in `after` matching (alias predicate, print)
// and says whether one was found.
template <class AliasOk>
bool TakeNew(StoreState& after, const StoreState& before, const std::string& c, AliasOk alias_ok,
             const std::string& print) {
  auto& snaps = after[c].snaps;
  for (auto it = snaps.begin(); it != snaps.end(); ++it) {
    if (before.at(c).snaps.count(it->first) == 0 && alias_ok(it->second.first) &&
        it->second.second == print) {
      snaps.erase(it);
      return true;
    }
  }
  return false;
}

// True when `after` is `before` with the verb applied.
bool Applied(const StoreState& before, StoreState after, const Verb& v) {
  StoreState want = before;
  if (v.op == "create") {
    if (!TakeNew(
            after, before, v.container, [&](const std::string& a) { return a == v.arg; },
            before.at(v.container).head)) {
      return false;
    }
  } else if (v.op == "delete") {
    want[v.container].snaps.erase(v.arg);
  } else if (v.op == "restore") {
    const std::string& target = before.at(v.container).snaps.at(v.arg).second;
    if (v.extra == "keep" &&
        !TakeNew(
            after, before, v.container,
            [](const std::string& a) { return a.rfind("pre-restore-", 0) == 0; },
            before.at(v.container).head)) {
      return false;
    }
    want[v.container].head = target;
  } else if (v.op == "copy") {
    want[v.extra].head = before.at(v.container).snaps.at(v.arg).second;
  } else if (v.op == "drop") {
    want.erase(v.container);
  }
  return after == want;
}

void WriteFileOrDie(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out.flush()) ChildFail(kChildSetupFailed, "write " + path);
}

// ---- the child ----

void ChangeFiles(Snapshotter& snap, std::mt19937_64& rng) {
  for (const auto& c : snap.ListContainers()) {
    FileSystem fs = snap.store().Head(c.name).value();
    for (int i = 0; i < 3; ++i) {
      const std::string name = "f" + std::to_string(rng() % 6);
      auto e = fs.Lookup(kRootIno, name);
      Ino ino = e.ok() ? e->ino : Ino();
      if (!ino.valid()) {
        auto made = fs.Mknod(kRootIno, name, S_IFREG | 0644, 0, {});
        if (!made.ok()) ChildFail(kChildSetupFailed, "mknod: " + made.status().ToString());
        ino = made->ino;
      }
      const std::string data = Bytes(1 + rng() % (48 << 10), static_cast<char>('a' + rng() % 26));
      if (!fs.Write(ino, rng() % 8192, data).ok()) ChildFail(kChildSetupFailed, "write");
    }
  }
}

Verb PickVerb(Snapshotter& snap, std::mt19937_64& rng, int step) {
  const std::vector<snapshotter::ContainerInfo> containers = snap.ListContainers();
  const auto& c = containers[rng() % containers.size()];
  const std::vector<snapshotter::SnapshotInfo> snaps = snap.ListSnapshots(c.name).value();
  const int pick = static_cast<int>(rng() % 100);
  if (snaps.empty() || pick < 35) return {"create", c.name, "a" + std::to_string(step), ""};
  const auto& s = snaps[rng() % snaps.size()];
  if (pick < 50) return {"delete", c.name, s.name, ""};
  if (pick < 65) return {"restore", c.name, s.name, rng() % 2 ? "keep" : "discard"};
  if (pick < 75 && containers.size() < 4) {
    return {"copy", c.name, s.name, "copy" + std::to_string(step)};
  }
  if (pick < 80 && c.name != "c") return {"drop", c.name, "", ""};
  return {"gc", "", "", ""};
}

Status RunVerb(Snapshotter& snap, const Verb& v) {
  if (v.op == "create") return snap.CreateSnapshot(v.container, {v.arg, std::nullopt}).status();
  if (v.op == "delete") return snap.DeleteSnapshot(v.container, v.arg);
  if (v.op == "restore") {
    return snap.Restore(v.container, v.arg, snapshotter::RestoreRequest{v.extra == "discard"})
        .status();
  }
  if (v.op == "copy") return snap.CopyContainer(v.container, v.arg, v.extra).status();
  if (v.op == "drop") return snap.DeleteContainer(v.container);
  snapshotter::GcOptions options;
  options.batch_records = 3;  // so the kill can land between batches
  return snap.CollectGarbage(options).status();
}

[[noreturn]] void RunChild(const std::string& store_dir, const std::string& state_dir,
                           uint64_t seed, std::string_view hook, int kill_at) {
  g_kill_hook = hook;
  g_kill_at = kill_at;
  SetTestHook(&KillAtHook);
  std::mt19937_64 rng(seed);
  auto opened = Snapshotter::Open(store_dir, Options());
  if (!opened.ok()) ChildFail(kChildSetupFailed, "open: " + opened.status().ToString());
  Snapshotter& snap = **opened;
  for (int step = 0; step < kMaxChildSteps; ++step) {
    ChangeFiles(snap, rng);
    if (!snap.store().Flush().ok()) ChildFail(kChildSetupFailed, "flush");
    const Verb verb = PickVerb(snap, rng, step);
    WriteFileOrDie(state_dir + "/pending", EncodeVerb(verb) + Encode(Capture(snap)));
    g_in_verb = true;
    Status st = RunVerb(snap, verb);
    g_in_verb = false;
    if (!st.ok()) ChildFail(kChildSetupFailed, EncodeVerb(verb) + st.ToString());
  }
  ChildFail(kChildNeverKilled, "hook " + std::string(hook) + " fired only " +
                                   std::to_string(g_fired) + " times in verbs");
}

class SnapshotKillTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(SnapshotKillTest, EveryVerbHappenedOrDidNot) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "this build has no test hooks";
  const auto [hook_index, run] = GetParam();
  const std::string_view hook = kHooks[hook_index];
  const uint64_t seed = CrashSeed(hook_index * 100 + run);
  // gc and the log fire only in some verbs (collections, creates): kill early.
  const int kill_at = 1 + static_cast<int>(seed % (hook_index >= 2 ? 6 : 30));
  SCOPED_TRACE(SeedTrace(seed) + ", killed at firing " + std::to_string(kill_at) + " of " +
               std::string(hook));
  TempDir dir = TempDir::Create().value();
  const std::string store_dir = dir.File("store"), state_dir = dir.File("state");
  ASSERT_EQ(::mkdir(state_dir.c_str(), 0700), 0) << std::strerror(errno);
  ASSERT_OK(snapshotter::Store::Init(store_dir));
  {
    auto snap = Snapshotter::Open(store_dir, Options());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    ASSERT_TRUE((*snap)->CreateContainer("c").ok());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) RunChild(store_dir, state_dir, seed, hook, kill_at);
  ASSERT_NO_FATAL_FAILURE(ExpectKilledChild(pid));

  const std::string pending = FileContents(state_dir + "/pending");
  const size_t eol = pending.find('\n');
  ASSERT_NE(eol, std::string::npos) << "killed, yet no verb was under way";
  const Verb verb = DecodeVerb(pending.substr(0, eol));
  const StoreState before = Decode(pending.substr(eol + 1));
  SCOPED_TRACE("killed during: " + pending.substr(0, eol));

  auto reopened = Snapshotter::Open(store_dir, Options());
  ASSERT_TRUE(reopened.ok()) << "no repair step: the store must open: "
                             << reopened.status().ToString();
  Snapshotter& snap = **reopened;
  ASSERT_OK(snap.store().CheckInvariants());
  const StoreState after = Capture(snap);
  const bool happened = Applied(before, after, verb);
  EXPECT_TRUE(after == before || happened) << "neither before nor after the verb.\nbefore:\n"
                                           << Encode(before) << "found:\n"
                                           << Encode(after);
  if (hook == "kv.before_commit" && verb.op != "gc") {
    EXPECT_EQ(Encode(after), Encode(before)) << "a verb killed before its commit happened";
  }
  // The store goes on: an interrupted collection finishes, nothing is left.
  auto gc = snap.CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  ASSERT_OK(snap.store().CheckInvariants());
  ASSERT_OK(snap.store().CheckFullyCollected());
  EXPECT_EQ(Encode(Capture(snap)), Encode(after)) << "collection changed what is visible";
  EXPECT_TRUE(snap.CreateSnapshot("c", {}).ok());
}

INSTANTIATE_TEST_SUITE_P(Hooks, SnapshotKillTest,
                         ::testing::Combine(::testing::Range(0, 5), ::testing::Range(0, 5)),
                         [](const ::testing::TestParamInfo<std::tuple<int, int>>& param) {
                           std::string name = kHooks[std::get<0>(param.param)];
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name + "_" + std::to_string(std::get<1>(param.param));
                         });

}  // namespace
}  // namespace hoodyfs::testing
