// RandomOps: the seeded random-operation driver shared by the model-based
// test (tests/model/) and the crash tests (tests/crash/). Each Step() makes
// one random filesystem call (create, mkdir, symlink, link, unlink, rmdir,
// rename, write, truncate, fallocate, xattr, chmod/chown, a file made whole)
// or one durability point
// (flush, fsync, freeze, branch, reopen) on a container's head, checks the
// result against ModelFs with gtest assertions, and applies it to the model.
//
// Durability points are bracketed by hooks, so a crash test knows what the
// store must hold after a crash: `before_sync` gets the state the call makes
// durable if it returns OK, `after_sync` is called once it has.
//
// Plus the comparison helpers: ExpectTreeMatches (one view against a model)
// and ExpectStoreHolds (a whole store against a ModelState).
//
// Thread-safety: none; one driver per test (or per forked child).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/types.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "tests/model/fs_model.h"

namespace hoodyfs::testing {

// What a store must hold: the head's tree and every frozen generation's.
struct ModelState {
  ModelFs head;
  std::vector<std::pair<GenId, ModelFs>> frozen;  // in freeze order

  // For handing a state between processes; Decode: nullopt on bad input.
  std::string Encode() const;
  static std::optional<ModelState> Decode(std::string_view bytes);
};

// Relative weights of the operations (0 disables one), and write sizes.
struct OpMix {
  int create = 12, mkdir = 6, symlink = 3, link = 4, unlink = 8, rmdir = 4, rename = 8;
  int write = 23, truncate = 8, xattr = 6, chmod = 6;
  int fallocate = 5;                                 // reserve (mode 0, KEEP_SIZE) or punch a range
  int whole_file = 6;                                // MakeWholeFile: data, attrs, xattrs at once
  int freeze = 5, branch = 3, reopen = 2, sync = 2;  // sync: Flush or Fsync, then a full compare
  uint64_t max_write_bytes = 300 * 1024;             // large writes: up to this many bytes
  uint64_t max_write_offset = 600 * 1024;            // at up to this offset
  uint64_t max_truncate_bytes = 700 * 1024;
};

enum class SyncKind { kFlush, kFsync, kFreeze, kBranch, kReopen };
const char* SyncKindName(SyncKind kind);

struct SyncHooks {
  // Before a durability point, with the state the call makes durable if it
  // returns OK.
  std::function<void(SyncKind, const ModelState& if_ok)> before_sync;
  // The call returned OK: the state passed to before_sync is durable.
  std::function<void(SyncKind)> after_sync;
  // Closes the store (which flushes) and opens it again, then calls Attach.
  // Reopen steps are skipped when unset.
  std::function<void()> reopen;
};

class RandomOps {
 public:
  RandomOps(uint64_t seed, std::string container, OpMix mix = {}, SyncHooks hooks = {});

  // Points the driver at a (re)opened store; the model is kept.
  void Attach(snapshotter::Store* store);
  // One random operation.
  void Step();

  const ModelState& state() const { return state_; }
  // Replaces the model (after a crash: the durable state).
  void set_state(ModelState state) { state_ = std::move(state); }
  snapshotter::FileSystem& fs() { return *fs_; }

  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }

 private:
  std::string Name();
  uint64_t RandomIno(bool dir);
  std::string Pattern(size_t n);
  void Sync(SyncKind kind);
  void FileOp(int op);

  // A random regular file for MakeWholeFile and its two halves.
  struct RandomWholeFile {
    uint64_t dir = 0;
    std::string name;
    std::string data;
    std::vector<std::pair<std::string, std::string>> xattrs;
    snapshotter::WholeFile file;  // data and xattrs: see View
    // `file` pointing at this object's own bytes.
    snapshotter::WholeFile View() const {
      snapshotter::WholeFile f = file;
      f.data = data;
      f.xattrs = xattrs;
      return f;
    }
  };
  RandomWholeFile NewWholeFile();
  void MakeWholeFile(ModelFs& model);
  void ApplyWholeFile(ModelFs& model, const RandomWholeFile& w, const snapshotter::Entry& e);

  std::mt19937_64 rng_;
  std::string container_;
  OpMix mix_;
  SyncHooks hooks_;
  snapshotter::Store* store_ = nullptr;
  std::optional<snapshotter::FileSystem> fs_;
  ModelState state_;
};

// Compares every inode of `model` with what `fs` shows: type and mode,
// owner, link count, directory entries, file size and bytes, symlink
// targets, xattrs. `where` names the view in failure messages.
void ExpectTreeMatches(snapshotter::FileSystem& fs, const ModelFs& model, const std::string& where);

// The head of `container` matches state.head, every generation in
// state.frozen is frozen and matches its model, and the consistency checker
// passes.
void ExpectStoreHolds(snapshotter::Store& store, const std::string& container,
                      const ModelState& state);

}  // namespace hoodyfs::testing
