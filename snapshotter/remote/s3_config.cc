#include "snapshotter/remote/s3_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "base/unique_fd.h"

namespace hoodyfs::remote {
namespace {

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

Result<std::string> ReadAll(int fd, const std::string& path) {
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "read " + path);
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1 << 20)) return Status::InvalidArgument(path + ": larger than 1 MiB");
  }
}

}  // namespace

Status ValidateS3Config(const S3Config& c) {
  if (c.endpoint.empty()) return Status::InvalidArgument("remote config: no endpoint");
  if (c.endpoint.rfind("http://", 0) != 0 && c.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("remote config: endpoint " + c.endpoint +
                                   " does not start with http:// or https://");
  }
  if (c.bucket.size() < 3 || c.bucket.size() > 63 ||
      c.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos) {
    return Status::InvalidArgument("remote config: bucket \"" + c.bucket +
                                   "\" is not 3 to 63 of a-z, 0-9, '.', '-'");
  }
  if (c.access_key.empty()) return Status::InvalidArgument("remote config: no access_key");
  if (c.secret_key.empty()) return Status::InvalidArgument("remote config: no secret_key");
  if (c.region.empty()) return Status::InvalidArgument("remote config: empty region");
  return Status::OK();
}

Result<S3Config> LoadS3Config(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return FromErrno(errno, "open remote config " + path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return FromErrno(errno, "stat remote config " + path);
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("remote config " + path + " is not a regular file");
  }
  if (st.st_uid != geteuid()) {
    return Status::Permission("remote config " + path + " belongs to uid " +
                              std::to_string(st.st_uid) +
                              ", not to the user running this command; it holds credentials");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::Permission("remote config " + path + " has mode " + mode +
                              ": it holds credentials, so no one but its owner may read it "
                              "(chmod 600 " +
                              path + ")");
  }
  HOODY_ASSIGN_OR_RETURN(std::string text, ReadAll(fd.get(), path));

  S3Config config;
  const std::map<std::string, std::string S3Config::*> fields = {
      {"endpoint", &S3Config::endpoint},     {"bucket", &S3Config::bucket},
      {"prefix", &S3Config::prefix},         {"region", &S3Config::region},
      {"access_key", &S3Config::access_key}, {"secret_key", &S3Config::secret_key},
  };
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(where + ": expected key = value");
    }
    const std::string key = Trim(line.substr(0, eq));
    const auto field = fields.find(key);
    if (field == fields.end()) {
      return Status::InvalidArgument(where + ": unknown key \"" + key +
                                     "\" (known: endpoint, bucket, prefix, region, "
                                     "access_key, secret_key)");
    }
    config.*(field->second) = Trim(line.substr(eq + 1));
  }
  HOODY_RETURN_IF_ERROR(ValidateS3Config(config).WithContext(path));
  return config;
}

Result<S3Config> S3ConfigFromEnvironment() {
  S3Config config;
  struct Var {
    const char* name;
    std::string S3Config::*field;
    bool required;
  };
  const Var vars[] = {
      {"HOODYFS_S3_ENDPOINT", &S3Config::endpoint, true},
      {"HOODYFS_S3_BUCKET", &S3Config::bucket, true},
      {"HOODYFS_S3_PREFIX", &S3Config::prefix, false},
      {"HOODYFS_S3_REGION", &S3Config::region, false},
      {"AWS_ACCESS_KEY_ID", &S3Config::access_key, true},
      {"AWS_SECRET_ACCESS_KEY", &S3Config::secret_key, true},
  };
  for (const Var& var : vars) {
    const char* value = getenv(var.name);
    if (value != nullptr && *value != '\0') {
      config.*(var.field) = value;
    } else if (var.required) {
      return Status::InvalidArgument(std::string("remote from the environment: ") + var.name +
                                     " is not set");
    }
  }
  HOODY_RETURN_IF_ERROR(ValidateS3Config(config));
  return config;
}

}  // namespace hoodyfs::remote
