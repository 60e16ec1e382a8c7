// The fuzz targets: functions over bytes from outside (a REST request, a
// JSON body, a tar stream, an HTTP answer) that check what must hold for any input and
// abort (HOODY_ASSERT) when it does not. libFuzzer drives them in the clang
// build with HOODYFS_FUZZ=ON (fuzz_main.cc, one program per target); the
// regression test (regression_test.cc, every build) feeds them each file of
// tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/.
//
// Every target: no crash, no exception (errors are Status values), and the
// invariants each states. docs/design.md ("Checking the lock rules, races
// and hostile input") says how to run one.
//
// Thread-safety: one call at a time (the tar target keeps a store between
// calls).
#pragma once

#include <string_view>

namespace hoodyfs::fuzz {

// A request to the REST router (ApiRouter over stub services): the first
// byte picks the method, then the raw path up to '\n', the query string
// ("k=v&k2=v2") up to the next '\n', and the body. Checks: SplitApiPath's
// segments are non-empty and hold no '/' or NUL, and re-encoded they split
// back the same; a response has a status in 200..599 and a body that is
// empty (204) or JSON.
void RestRouter(std::string_view input);

// A request body through ParseStrictJson and, when it parses, through every
// decoder of cli/api/json_codec.h. Checks: strict parsing accepts what
// nlohmann accepts, less duplicate keys, and gives the same value; a value
// re-serialised parses back equal; a decoded value encodes, decodes again
// and encodes to the same JSON.
void StrictJson(std::string_view input);

// A tar stream imported (ImportTar) into a fresh container of a scratch
// store. Checks: the store passes CheckInvariants after every import,
// successful or not; an import that succeeds exports (ExportTar) and
// imports again, and that second tree exports and imports to the same
// counts.
void TarImport(std::string_view input);

// An answer from the daemon through ParseHttpResponse (what hoodyfs-snap
// reads off the socket). Checks: a refusal is kIoError with ECONNRESET; an
// accepted answer has a status in 100..599 and, sent again with
// Content-Length or chunked, parses to the same status and body.
void HttpResponse(std::string_view input);

// Send-stream records (kind u8, payload length u32 LE, payload; framed,
// checksummed and given a trailer by the target, so that mutations reach
// the receiver's checks behind the checksums) received into a new container
// of a scratch store (ReceiveSnapshot). Checks: the store passes
// CheckInvariants after every receive; a refused stream leaves no
// container; a received snapshot sends again and that stream receives, with
// the same count of inodes.
void SendReceive(std::string_view input);

}  // namespace hoodyfs::fuzz
