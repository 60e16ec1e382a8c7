#include "snapshotter/verbs/catalog.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <limits>

#include "base/assert.h"
#include "index/keys.h"
#include "snapshotter/engine/names.h"

namespace hoodyfs::snapshotter::catalog {

std::string NewGuid() {
  std::array<uint8_t, 16> bytes{};
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    HOODY_ASSERT(n > 0 || errno == EINTR, "getrandom failed");
    if (n > 0) got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

bool IsGuid(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

using index::SnapshotRecord;
using index::Table;

namespace {
bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

bool IsSnapshotName(std::string_view s) {
  // snap- 8 digits - 6 digits [- digits]
  if (s.size() < 20 || s.substr(0, 5) != "snap-") return false;
  if (!AllDigits(s.substr(5, 8)) || s[13] != '-' || !AllDigits(s.substr(14, 6))) return false;
  if (s.size() == 20) return true;
  return s[20] == '-' && AllDigits(s.substr(21));
}

std::string UtcStamp(int64_t ns) {
  const time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

Status ValidateAlias(std::string_view alias) {
  HOODY_RETURN_IF_ERROR(ValidatePortableName("alias", alias));
  if (IsSnapshotName(alias)) {
    return Status::InvalidArgument("alias '" + std::string(alias) +
                                   "' has the form of a snapshot name (snap-YYYYMMDD-HHMMSS)");
  }
  return Status::OK();
}

Status ValidateExpiryDays(int64_t days) {
  if (days <= 0) {
    return Status::InvalidArgument("expiry must be a positive number of days, not " +
                                   std::to_string(days));
  }
  if (days > kExpiryDaysMax) {
    return Status::InvalidArgument("expiry of " + std::to_string(days) + " days is past the " +
                                   std::to_string(kExpiryDaysMax) +
                                   " days (100 years) accepted; for no expiry say 'never'");
  }
  return Status::OK();
}

int64_t ExpiryFrom(int64_t from_ns, int64_t days) {
  constexpr int64_t kDayNs = 86400LL * 1000000000LL;
  if (days > (std::numeric_limits<int64_t>::max() - from_ns) / kDayNs) {
    return std::numeric_limits<int64_t>::max();
  }
  return from_ns + days * kDayNs;
}

Result<std::vector<Entry>> List(const index::KvScope& s, std::string_view container) {
  std::vector<Entry> out;
  const std::string prefix = index::SnapshotPrefix(container);
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kSnapshots));
  std::string bound = prefix;
  bound.back() = '\x01';  // the NUL after the container name, plus one
  it.SetUpperBound(bound);
  for (it.Seek(prefix); it.Valid(); it.Next()) {
    HOODY_ASSIGN_OR_RETURN(SnapshotRecord rec, SnapshotRecord::Decode(it.value()));
    out.push_back(Entry{std::string(it.key().substr(prefix.size())), std::move(rec)});
  }
  HOODY_RETURN_IF_ERROR(it.status());
  std::sort(out.begin(), out.end(), [](const Entry& x, const Entry& y) {
    return std::tie(x.record.created_ns, x.name) < std::tie(y.record.created_ns, y.name);
  });
  return out;
}

namespace {
Result<std::optional<Entry>> ByName(const index::KvScope& s, std::string_view container,
                                    std::string_view name) {
  HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kSnapshots, index::SnapshotKey(container, name)));
  if (!v) return std::optional<Entry>();
  HOODY_ASSIGN_OR_RETURN(SnapshotRecord rec, SnapshotRecord::Decode(*v));
  return std::optional<Entry>(Entry{std::string(name), std::move(rec)});
}
}  // namespace

Result<Entry> GetIndexed(const index::KvScope& s, std::string_view container,
                         std::string_view name) {
  HOODY_ASSIGN_OR_RETURN(std::optional<Entry> e, ByName(s, container, name));
  if (!e) {
    return Status::Corruption("the snapshot index names " + std::string(name) + " of container '" +
                              std::string(container) + "', which the catalog does not hold");
  }
  return std::move(*e);
}

Status ValidatePageLimit(std::string_view what, int64_t limit) {
  if (limit <= 0 || limit > kListPageMax) {
    return Status::InvalidArgument(std::string(what) + " must be a whole number from 1 to " +
                                   std::to_string(kListPageMax) + ", not " + std::to_string(limit));
  }
  return Status::OK();
}

namespace {
// The whole of `text` as a decimal int64 (a leading '-' allowed), or nullopt.
std::optional<int64_t> WholeNumber(std::string_view text) {
  int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return n;
}
}  // namespace

Result<int64_t> ParsePageLimit(std::string_view what, std::string_view text) {
  const std::optional<int64_t> n = WholeNumber(text);
  if (!n) {
    return Status::InvalidArgument(std::string(what) + " must be a whole number from 1 to " +
                                   std::to_string(kListPageMax) + ", not '" + std::string(text) +
                                   "'");
  }
  HOODY_RETURN_IF_ERROR(ValidatePageLimit(what, *n));
  return *n;
}

std::string ListPosition(std::string_view name, int64_t created_ns) {
  return std::string(name) + "@" + std::to_string(created_ns);
}

Result<ListStart> ParseListStart(std::string_view what, std::string_view text) {
  ListStart start;
  if (text.empty()) return start;
  const size_t at = text.find('@');
  start.name = std::string(text.substr(0, at));
  HOODY_RETURN_IF_ERROR(ValidatePortableName(what, start.name));
  if (at == std::string_view::npos) return start;
  const std::string_view digits = text.substr(at + 1);
  const std::optional<int64_t> ns = WholeNumber(digits);
  if (!ns || digits[0] == '-') {
    return Status::InvalidArgument(std::string(what) + " '" + start.name +
                                   "@...': a position's time after '@' must be a whole number of "
                                   "nanoseconds (as a page's next gives it)");
  }
  start.created_ns = *ns;
  return start;
}

Result<std::optional<Entry>> Find(const index::KvScope& s, std::string_view container,
                                  std::string_view name_or_alias) {
  if (name_or_alias.empty()) return std::optional<Entry>();
  if (IsSnapshotName(name_or_alias)) return ByName(s, container, name_or_alias);
  HOODY_ASSIGN_OR_RETURN(auto name,
                         s.Get(Table::kAliases, index::AliasKey(container, name_or_alias)));
  if (!name) return std::optional<Entry>();
  const std::string owner(*name);  // Get's view ends at the next Get
  HOODY_ASSIGN_OR_RETURN(std::optional<Entry> e, ByName(s, container, owner));
  if (!e || e->record.alias != name_or_alias) {
    return Status::Corruption("alias index entry '" + std::string(name_or_alias) +
                              "' names snapshot " + owner + ", which does not carry it");
  }
  return e;
}

Result<Entry> MustFind(const index::KvScope& s, std::string_view container,
                       std::string_view name_or_alias) {
  HOODY_ASSIGN_OR_RETURN(std::optional<Entry> found, Find(s, container, name_or_alias));
  if (!found) {
    return Status::NotFound("no snapshot named or aliased '" + std::string(name_or_alias) +
                            "' in container '" + std::string(container) + "'");
  }
  return std::move(*found);
}

Status CheckAliasFree(const index::KvScope& s, std::string_view container, std::string_view alias,
                      std::string_view except_name) {
  HOODY_ASSIGN_OR_RETURN(auto owner, s.Get(Table::kAliases, index::AliasKey(container, alias)));
  if (owner && *owner != except_name) {
    return Status::Exists("alias '" + std::string(alias) + "' is already used by snapshot " +
                          std::string(*owner) + " of container '" + std::string(container) + "'");
  }
  return Status::OK();
}

Result<std::string> NewName(const index::KvScope& s, std::string_view container, int64_t now_ns) {
  // One seek over the names of this second: snap-T, snap-T-2, snap-T-3...
  const std::string base = "snap-" + UtcStamp(now_ns);
  const std::string prefix = index::SnapshotKey(container, base);
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kSnapshots));
  std::string bound = prefix;
  bound.push_back('\xff');
  it.SetUpperBound(bound);
  bool taken = false;
  uint64_t max_suffix = 1;
  for (it.Seek(prefix); it.Valid(); it.Next()) {
    const std::string_view rest = it.key().substr(prefix.size());
    if (rest.empty()) {
      taken = true;
    } else if (rest[0] == '-' && AllDigits(rest.substr(1))) {
      max_suffix = std::max<uint64_t>(max_suffix, std::stoull(std::string(rest.substr(1))));
    }
  }
  HOODY_RETURN_IF_ERROR(it.status());
  if (!taken) return base;
  return base + "-" + std::to_string(max_suffix + 1);
}

}  // namespace hoodyfs::snapshotter::catalog
