#include "cli/mount_helper.h"

#include <gtest/gtest.h>

namespace hoodyfs::cli {
namespace {

TEST(MountHelperTest, ParsesWhatMountPasses) {
  auto m = ParseMountHelperArgs(
      {"web1@/var/lib/hoodyfs", "/srv/web1", "-o", "rw,nosuid,noauto,_netdev,x-systemd.after=a"});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->container, "web1");
  EXPECT_EQ(m->store, "/var/lib/hoodyfs");
  EXPECT_EQ(m->mountpoint, "/srv/web1");
  EXPECT_EQ(m->options, "rw,nosuid");
  EXPECT_FALSE(m->create);
}

TEST(MountHelperTest, StoreCreateAndSnapshotAsOptions) {
  auto m = ParseMountHelperArgs(
      {"db", "/mnt/past", "-s", "-n", "-ostore=/srv/store,snapshot=golden,create,defaults"});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->container, "db");
  EXPECT_EQ(m->store, "/srv/store");
  EXPECT_EQ(m->snapshot, "golden");
  EXPECT_TRUE(m->create);
  EXPECT_EQ(m->options, "");
}

// mount -o remount,ro DIR: util-linux passes the source and options from
// mountinfo with the new ones after them.
TEST(MountHelperTest, RemountIsRecognised) {
  auto m = ParseMountHelperArgs({"hoodyfs:web1@/var/lib/hoodyfs", "/srv/web1", "-o",
                                 "rw,nosuid,nodev,relatime,user_id=0,remount,ro"});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->remount);
  EXPECT_EQ(m->mountpoint, "/srv/web1");
  EXPECT_EQ(m->options, "rw,nosuid,nodev,relatime,user_id=0,ro");
}

TEST(MountHelperTest, BadArgumentsNameTheProblem) {
  EXPECT_NE(ParseMountHelperArgs({"web1"}).status().message().find("usage"), std::string::npos);
  EXPECT_NE(
      ParseMountHelperArgs({"a@/s", "/m", "-o", "store=/t"}).status().message().find("named twice"),
      std::string::npos);
  EXPECT_NE(ParseMountHelperArgs({"a", "/m", "-x"}).status().message().find("'-x'"),
            std::string::npos);
  EXPECT_NE(ParseMountHelperArgs({"@/s", "/m"}).status().message().find("no container"),
            std::string::npos);
  EXPECT_TRUE(IsMountHelper("/sbin/mount.fuse.hoodyfs"));
  EXPECT_FALSE(IsMountHelper("/usr/bin/hoodyfs"));
}

}  // namespace
}  // namespace hoodyfs::cli
