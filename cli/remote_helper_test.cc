#include "cli/remote_helper.h"

#include <gtest/gtest.h>

namespace hoodyfs::cli {
namespace {

std::optional<std::vector<std::string>> Helper(std::vector<const char*> args) {
  args.insert(args.begin(), "hoodyfs-snap");
  return RemoteHelperArgv(static_cast<int>(args.size()), args.data());
}

TEST(RemoteHelperArgv, PushPullAndRemoteGoToTheHelper) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Helper({"push", "-c", "web", "--name", "n"}),
            (V{"hoodyfs-snap-remote", "push", "-c", "web", "--name", "n"}));
  EXPECT_EQ(Helper({"--store", "/s", "pull", "-c", "web", "--name", "n"}),
            (V{"hoodyfs-snap-remote", "--store", "/s", "pull", "-c", "web", "--name", "n"}));
  EXPECT_EQ(Helper({"--store", "push", "remote", "list", "--json"}),
            (V{"hoodyfs-snap-remote", "--store", "push", "list", "--json"}));
  EXPECT_EQ(Helper({"--remote", "lab", "push", "-c", "w"}),
            (V{"hoodyfs-snap-remote", "--remote", "lab", "push", "-c", "w"}));
  EXPECT_EQ(Helper({"remote", "delete", "-c", "web", "--name", "n"}),
            (V{"hoodyfs-snap-remote", "delete", "-c", "web", "--name", "n"}));
  EXPECT_EQ(Helper({"--remote", "lab", "remote", "gc", "--dry-run"}),
            (V{"hoodyfs-snap-remote", "--remote", "lab", "gc", "--dry-run"}));
}

TEST(RemoteHelperArgv, EverythingElseStaysHere) {
  EXPECT_EQ(Helper({}), std::nullopt);
  EXPECT_EQ(Helper({"--help"}), std::nullopt);
  EXPECT_EQ(Helper({"list", "-c", "push"}), std::nullopt);
  EXPECT_EQ(Helper({"--store", "/s", "create", "-c", "pull"}), std::nullopt);
}

}  // namespace
}  // namespace hoodyfs::cli
