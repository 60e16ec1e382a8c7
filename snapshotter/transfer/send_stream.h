// Send and receive: a snapshot as a stream of records, out of one store and
// into another, as `zfs send [-i] | zfs receive` (docs/design.md, "Send and
// receive"; the stream: send_stream_format.h and docs/format.md).
//
// A full stream walks the snapshot's tree (ExportWalk). An incremental one
// holds only what the change logs say differs between the base and the
// snapshot (ChangedBetween): its cost follows the changes, not the tree.
// Each changed regular file travels whole (its data ranges; holes stay
// holes).
//
// Receive builds into a scratch container (Snapshotter::BeginReceive) and
// publishes it as a snapshot in one commit after the trailer checked out;
// any error removes the scratch, so the target never holds part of a
// snapshot. Inodes keep the sender's numbers, so an incremental stream
// names what it changes as the base holds it; new inodes and names that
// move wait in a scratch directory of the scratch head until their names
// arrive, whatever the order of the changes.
//
// Thread-safety: each call uses its own views; a send may run while the
// sender's store serves mounts (a snapshot does not change).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::snapshotter {

struct SendRequest {
  std::string container;
  std::string snapshot;  // name or alias
  std::string from;      // base snapshot (name or alias) of an incremental; "" full
};

struct SendStats {
  uint64_t records = 0;
  uint64_t bytes_out = 0;        // the stream's size
  uint64_t nodes = 0;            // inode records
  uint64_t data_bytes = 0;       // file data carried
  uint64_t unlinks = 0;          // names removed since the base
  uint64_t links = 0;            // names added (incremental), further names (full)
  uint64_t changelog_reads = 0;  // incremental: change-log entries read
};

// Writes the stream of snapshot `request.snapshot` to `fd` (sequentially; a
// pipe will do; left open). The caller should ignore SIGPIPE.
// Errors: kNotFound (container or snapshot), kIoError (writing fd),
// kCorruption (a damaged data block: the stream is not finished), and what
// FileSystem calls return.
Result<SendStats> SendSnapshot(Snapshotter& snap, const SendRequest& request, int fd);

struct ReceiveStats {
  uint64_t records = 0;
  uint64_t bytes_in = 0;
  uint64_t nodes = 0;
  uint64_t data_bytes = 0;
  bool incremental = false;
  SnapshotInfo snapshot;  // as received
};

// Reads a stream from `fd` to its trailer and makes it snapshot of
// `container`: a full stream creates the container, an incremental one
// needs the container to hold the stream's base (found by guid) and then
// moves its head to the new snapshot, as a restore does.
// Errors: kCorruption (a damaged, cut, reordered or hostile stream, naming
// the record), kNotSupported (another stream version), kExists (a full
// stream into an existing container; the snapshot's name, alias or guid
// taken), kNotFound (the base is missing), kIoError; nothing is left
// behind by any of them.
Result<ReceiveStats> ReceiveSnapshot(Snapshotter& snap, const std::string& container, int fd);

}  // namespace hoodyfs::snapshotter
