// The snapshot catalog: the kSnapshots table (container, NUL, name) ->
// SnapshotRecord, and the rules for names and aliases: the reads. Used by
// Snapshotter inside its scopes; no state of its own.
//
// A name is snap-YYYYMMDD-HHMMSS (UTC) with -2, -3... when several land in
// one second. An alias uses the container-name character set, is unique
// within its container and is never of the name form, so "a name or an
// alias" always means one snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "index/kv_store.h"
#include "index/records.h"

namespace hoodyfs::snapshotter::catalog {

struct Entry {
  std::string name;
  index::SnapshotRecord record;
};

// True for snap-YYYYMMDD-HHMMSS and snap-YYYYMMDD-HHMMSS-N.
bool IsSnapshotName(std::string_view s);
// "YYYYMMDD-HHMMSS" of a CLOCK_REALTIME time in UTC.
std::string UtcStamp(int64_t ns);

// A new snapshot guid (SnapshotRecord::guid): 32 random hex digits.
std::string NewGuid();
// True for 32 lowercase hex digits.
bool IsGuid(std::string_view s);

// Errors: kInvalidArgument naming what is wrong.
Status ValidateAlias(std::string_view alias);
// The longest expiry accepted: 100 years. Anything longer is a typo or an
// attempt to overflow, and was silently capped before; say "never" instead.
inline constexpr int64_t kExpiryDaysMax = 36500;
// Expiry days as users give them: whole days, 1 to kExpiryDaysMax.
// Errors: kInvalidArgument naming the value and the range.
Status ValidateExpiryDays(int64_t days);
// created + days, saturating.
int64_t ExpiryFrom(int64_t from_ns, int64_t days);

// Every snapshot of the container, ordered by creation time (then name).
Result<std::vector<Entry>> List(const index::KvScope& s, std::string_view container);
// The snapshot named exactly `name` (no alias), for a name that an index
// (NameIndex) says the catalog holds. Errors: kCorruption when it does not.
Result<Entry> GetIndexed(const index::KvScope& s, std::string_view container,
                         std::string_view name);

// A page of a list (Snapshotter::ListSnapshots with a ListPage): at most
// this many snapshots, which keeps one answer of the REST API near 3 MB.
inline constexpr int64_t kListPageMax = 10000;
// A page's limit as users give it: 1 to kListPageMax.
// Errors: kInvalidArgument naming `what` (the flag or parameter), the value and the range.
Status ValidatePageLimit(std::string_view what, int64_t limit);
// A page's limit as text (a flag's or a query parameter's value).
// Errors: kInvalidArgument naming `what` and the text or value.
Result<int64_t> ParsePageLimit(std::string_view what, std::string_view text);

// Where a page of a list starts (ListPage::after). A page's `next` is a
// position, "NAME@CREATED_NS": the name and creation time of the page's
// last snapshot ('@' is not in a name's character set). The next page
// starts after that point in the order, whether or not the snapshot still
// exists: a snapshot deleted between pages, or deleted and its name made
// again in the same second, neither fails the listing nor skips one. A bare
// NAME (what a user types after reading a list) is looked up.
struct ListStart {
  std::string name;                   // "": from the first snapshot
  std::optional<int64_t> created_ns;  // set: a position; nullopt: look the name up
};
std::string ListPosition(std::string_view name, int64_t created_ns);
// "" (the first page), NAME or NAME@CREATED_NS.
// Errors: kInvalidArgument naming `what` (the flag or parameter) and what is wrong.
Result<ListStart> ParseListStart(std::string_view what, std::string_view text);
// By name (a string of the name form), else by alias through the alias
// index. nullopt when neither matches.
Result<std::optional<Entry>> Find(const index::KvScope& s, std::string_view container,
                                  std::string_view name_or_alias);
// As Find, with kNotFound naming the container and what was asked for
// when neither matches: what every verb answers for an unknown snapshot.
Result<Entry> MustFind(const index::KvScope& s, std::string_view container,
                       std::string_view name_or_alias);
// kExists when another snapshot of the container (not `except_name`) has
// the alias. O(1): one alias-index lookup.
Status CheckAliasFree(const index::KvScope& s, std::string_view container, std::string_view alias,
                      std::string_view except_name = "");
// A name for a snapshot created at `now_ns` that the container does not have yet.
Result<std::string> NewName(const index::KvScope& s, std::string_view container, int64_t now_ns);

// Writes go through NameIndex (name_index.h), which indexes the catalog by
// generation as it writes it.

}  // namespace hoodyfs::snapshotter::catalog
