#include "fusefs/caller_creds.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include "base/unique_fd.h"

namespace hoodyfs::fusefs {

namespace {
constexpr int kCapFsetid = 4;  // linux/capability.h

// The rest of the line that starts with `key` ("CapEff:"), or nullopt.
std::optional<std::string_view> LineValue(std::string_view text, std::string_view key) {
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    if (line.substr(0, key.size()) == key) return line.substr(key.size());
    at = end + 1;
  }
  return std::nullopt;
}
}  // namespace

Result<snapshotter::CallerGroups> ParseProcStatus(std::string_view status, uint32_t fsgid) {
  snapshotter::CallerGroups out;
  out.fsgid = fsgid;
  const std::optional<std::string_view> caps = LineValue(status, "CapEff:");
  if (!caps) return Status::InvalidArgument("no CapEff line in a /proc status file");
  const std::string hex(*caps);
  char* end = nullptr;
  errno = 0;
  const unsigned long long bits = std::strtoull(hex.c_str(), &end, 16);
  if (errno != 0 || end == hex.c_str()) {
    return Status::InvalidArgument("CapEff '" + hex + "' is not hexadecimal");
  }
  out.cap_fsetid = (bits >> kCapFsetid) & 1;
  if (const std::optional<std::string_view> groups = LineValue(status, "Groups:")) {
    const std::string list(*groups);
    const char* p = list.c_str();
    for (;;) {
      char* next = nullptr;
      const unsigned long g = std::strtoul(p, &next, 10);
      if (next == p) break;
      out.groups.push_back(static_cast<uint32_t>(g));
      p = next;
    }
  }
  return out;
}

Result<snapshotter::CallerGroups> ReadCallerGroups(pid_t pid, uint32_t fsgid) {
  if (pid <= 0) return Status::NotFound("the caller's pid is not visible to the daemon");
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path + ": the caller is gone");
    return FromErrno(errno, "open " + path);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "read " + path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return ParseProcStatus(text, fsgid);
}

}  // namespace hoodyfs::fusefs
