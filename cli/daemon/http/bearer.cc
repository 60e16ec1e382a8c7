#include "cli/daemon/http/bearer.h"

#include <strings.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace hoodyfs::cli {

namespace {
constexpr char kHowToMake[] =
    "make one with: head -c 32 /dev/urandom | base64 > FILE && chmod 600 FILE";

// Whether `given` equals `expected`, in time that depends only on the
// lengths: every byte of `expected` is compared, wherever a difference is.
bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  size_t diff = given.size() ^ expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}
}  // namespace

Result<std::string> ReadTokenFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("cannot read token file " + path);
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument("token file " + path +
                                   " may be read by its group or others: chmod 600 it (" +
                                   kHowToMake + ")");
  }
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read token file " + path);
  std::stringstream s;
  s << in.rdbuf();
  std::string token = s.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) {
    return Status::InvalidArgument("token file " + path + " is empty (" + kHowToMake + ")");
  }
  if (token.size() < kTokenBytesMin) {
    return Status::InvalidArgument("the token in " + path + " has " + std::to_string(token.size()) +
                                   " bytes; at least " + std::to_string(kTokenBytesMin) +
                                   " are needed (" + kHowToMake + ")");
  }
  return token;
}

bool BearerMatches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      ::strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) != 0) {
    return false;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return false;
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return ConstantTimeEquals(rest, token);
}

}  // namespace hoodyfs::cli
