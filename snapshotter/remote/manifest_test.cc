#include "snapshotter/remote/manifest.h"

#include <gtest/gtest.h>

#include "snapshotter/remote/sha256.h"

namespace hoodyfs::remote {
namespace {

std::string Sample() {
  ManifestBuilder b;
  b.Record(1, "begin payload");
  b.Record(3, std::string("node\0payload", 12));
  b.Chunk(7, 1 << 20, 5, Sha256Hex("hello"));
  b.Record(5, "");
  return b.Finish();
}

TEST(Manifest, RoundTrip) {
  Result<std::vector<ManifestEntry>> entries = ParseManifest(Sample());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[0].type, ManifestEntry::Type::kRecord);
  EXPECT_EQ((*entries)[0].kind, 1);
  EXPECT_EQ((*entries)[0].payload, "begin payload");
  EXPECT_EQ((*entries)[1].payload, std::string("node\0payload", 12));
  EXPECT_EQ((*entries)[2].type, ManifestEntry::Type::kChunk);
  EXPECT_EQ((*entries)[2].ino, 7u);
  EXPECT_EQ((*entries)[2].offset, 1u << 20);
  EXPECT_EQ((*entries)[2].length, 5u);
  EXPECT_EQ((*entries)[2].hash, Sha256Hex("hello"));
  EXPECT_EQ((*entries)[3].payload, "");
}

TEST(Manifest, EveryFlippedByteOrCutIsRefused) {
  const std::string good = Sample();
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_FALSE(ParseManifest(bad).ok()) << "flipped byte " << i;
  }
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseManifest(good.substr(0, n)).ok()) << "cut at " << n;
  }
  EXPECT_FALSE(ParseManifest(good + "x").ok());
}

TEST(Manifest, NamesWhatIsWrong) {
  auto message = [](const std::string& bytes) {
    Result<std::vector<ManifestEntry>> r = ParseManifest(bytes);
    return r.ok() ? std::string("accepted") : r.status().ToString();
  };
  EXPECT_NE(message("HOODYSND....").find("bad magic"), std::string::npos);

  std::string v2 = Sample();
  v2[8] = 2;
  EXPECT_NE(message(v2).find("version 2"), std::string::npos);

  ManifestBuilder data;
  data.Record(4, "raw data");  // kData: a manifest holds chunks instead
  EXPECT_NE(message(data.Finish()).find("entry 0: a data record"), std::string::npos)
      << message(data.Finish());

  ManifestBuilder big;
  big.Chunk(2, 0, (1u << 20) + 1, Sha256Hex("x"));
  EXPECT_NE(message(big.Finish()).find("over the limit"), std::string::npos);
}

TEST(Manifest, Keys) {
  EXPECT_EQ(ChunkKey("ab"), "chunks/ab");
  EXPECT_EQ(ManifestKey("web", "snap-1"), "manifests/web/snap-1");
  EXPECT_EQ(AliasKey("web", "v1"), "aliases/web/v1");
}

}  // namespace
}  // namespace hoodyfs::remote
