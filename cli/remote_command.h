// hoodyfs-snap-remote: snapshots in an S3-compatible object store (docs/cli.md,
// "Remotes"). push runs `hoodyfs-snap send` and stores the stream as chunks
// and a manifest; pull rebuilds the stream into `hoodyfs-snap receive`;
// list shows the remote's snapshots; delete and gc; scrub scrubs a store
// and repairs its damaged blocks from the remote (remote_scrub.h). A
// separate program so that libcurl,
// expat and OpenSSL never load into hoodyfs-snap (docs/design.md, "What a
// command costs").
#pragma once

#include <ostream>

namespace hoodyfs::cli {

int RunRemoteCommand(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace hoodyfs::cli
