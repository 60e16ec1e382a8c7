#include "cli/api/json_codec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace hoodyfs::cli {
namespace {

using snapshotter::Change;
using snapshotter::ChangeKind;

TEST(JsonCodecTest, SnapshotRoundTrips) {
  snapshotter::SnapshotInfo s;
  s.container = "web1";
  s.name = "snap-20260304-103000";
  s.alias = "golden";
  s.gen = GenId(7);
  s.created_ns = 1772620200LL * 1000000000;
  s.expires_ns = s.created_ns + 86400LL * 1000000000;
  s.parent = "other@snap-20260101-000000";
  s.referenced_bytes = 1 << 20;
  s.written_bytes = 4096;
  const nlohmann::json j = ToJson(s);
  EXPECT_EQ(j["created"], "2026-03-04T10:30:00Z");
  EXPECT_EQ(j["expires"], "2026-03-05T10:30:00Z");
  auto back = SnapshotFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->alias, s.alias);
  EXPECT_EQ(back->gen, s.gen);
  EXPECT_EQ(back->expires_ns, s.expires_ns);
  EXPECT_EQ(back->parent, s.parent);
  EXPECT_EQ(back->referenced_bytes, s.referenced_bytes);
  // No alias, no expiry, no accounting: nulls, and back.
  snapshotter::SnapshotInfo bare;
  bare.name = "snap-20260304-103000";
  const nlohmann::json b = ToJson(bare);
  EXPECT_TRUE(b["alias"].is_null());
  EXPECT_TRUE(b["expires"].is_null());
  EXPECT_TRUE(b["referenced_bytes"].is_null());
  auto bare_back = SnapshotFromJson(b);
  ASSERT_TRUE(bare_back.ok());
  EXPECT_FALSE(bare_back->referenced_bytes.has_value());
}

TEST(JsonCodecTest, DecodingNamesTheBadField) {
  nlohmann::json j = ToJson(snapshotter::SnapshotInfo{});
  j["generation"] = "seven";
  auto r = SnapshotFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'generation'"), std::string::npos);
  j.erase("generation");
  EXPECT_NE(SnapshotFromJson(j).status().message().find("no field 'generation'"),
            std::string::npos);
  EXPECT_FALSE(SnapshotFromJson(nlohmann::json::array()).ok());
}

TEST(JsonCodecTest, DiffRoundTrips) {
  snapshotter::DiffResult d;
  d.from = GenId(3);
  d.to = GenId(9);
  d.records_examined = 12;
  d.changes.push_back(Change{ChangeKind::kRenamed, "/a", "/b", Ino(5), S_IFDIR | 0755, 0, 0});
  d.changes.push_back(Change{ChangeKind::kModified, "/f", "", Ino(6), S_IFREG | 0644,
                             snapshotter::kWhatContent | snapshotter::kWhatXattrs, 4096});
  d.changes.push_back(Change{ChangeKind::kAdded, "/dev/null", "", Ino(7), S_IFCHR | 0666, 0, 0});
  const nlohmann::json j = ToJson(d);
  EXPECT_EQ(j["changes"][1]["what"], nlohmann::json::array({"content", "xattrs"}));
  EXPECT_EQ(j["changes"][2]["type"], "char");
  auto back = DiffFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->changes, d.changes);
  EXPECT_EQ(back->records_examined, 12u);
}

}  // namespace
}  // namespace hoodyfs::cli
