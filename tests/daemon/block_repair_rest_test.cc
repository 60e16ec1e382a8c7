// PUT /api/v1/scrub/blocks/N (docs/api.md, "Block repair") against a real
// daemon with a live mount: every refusal (a method, a block number that is
// none, a block not in use, a body of more or less than one block, bytes
// that are not the block's content) writes nothing, and the block's own
// bytes repair a damaged block so the file reads right through the same
// mount that failed on it (EIO) before. No remote: the bytes are the
// test's own.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "base/testing/data_file_blocks.h"
#include "base/testing/read_until_error.h"
#include "base/unique_fd.h"
#include "tests/daemon/rest_fixture.h"

namespace hoodyfs::testing {
namespace {

class BlockRepairRestTest : public RestTest {
 protected:
  // One block of `fill` starting with `label`.
  static std::string Block(const std::string& label, char fill) {
    std::string b(4096, fill);
    b.replace(0, label.size(), label);
    return b;
  }
  std::string DataBlock(uint64_t block) { return ReadDataBlock(store_ + "/data", block); }
  // The block of the data file that holds `content` (one whole block, once).
  uint64_t BlockHolding(const std::string& content) {
    const std::vector<uint64_t> blocks = BlocksHolding(store_ + "/data", content);
    EXPECT_EQ(blocks.size(), 1u) << "the content is in one block";
    return blocks.empty() ? 0 : blocks[0];
  }
  // Flips a byte of `block` in the data file, under the daemon.
  void Damage(uint64_t block) {
    ASSERT_TRUE(FlipByte(store_ + "/data", block * 4096 + 200, 0x41)) << std::strerror(errno);
  }
};

TEST_F(BlockRepairRestTest, RefusesWhatIsNotTheBlocksContentAndRepairsUnderALiveMount) {
  std::string mp = MountContainer("web1", {"--create"});
  const std::string first = Block("repair-rest-first", 'a');
  const std::string second = Block("repair-rest-second", 'b');
  {
    UniqueFd fd(::open((mp + "/f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    const std::string both = first + second;
    ASSERT_EQ(::write(fd.get(), both.data(), both.size()), static_cast<ssize_t>(both.size()));
    ASSERT_EQ(::fsync(fd.get()), 0);
  }
  const uint64_t block = BlockHolding(second);
  const std::string id = std::to_string(block);
  const std::string path = "/api/v1/scrub/blocks/" + id;

  // Refusals: nothing written.
  ExpectError(405, "method_not_allowed", "POST is not allowed", "POST", path, second);
  ExpectError(400, "invalid_argument", "'x1' is not a block number", "PUT",
              "/api/v1/scrub/blocks/x1", second);
  ExpectError(400, "invalid_argument", "is not a block number", "PUT",
              "/api/v1/scrub/blocks/99999999999999999999", second);
  ExpectError(404, "not_found", "block 999999999 is not in use", "PUT",
              "/api/v1/scrub/blocks/999999999", second);
  ExpectError(413, "too_large", "block " + id + ": a body of 4097 bytes", "PUT", path,
              second + "x");
  ExpectError(400, "invalid_argument", "block " + id + ": 100 bytes offered", "PUT", path,
              second.substr(0, 100));
  std::string wrong = second;
  wrong[300] = 'X';
  ExpectError(400, "invalid_argument", "the bytes offered for block " + id + " hash to", "PUT",
              path, wrong);
  EXPECT_EQ(DataBlock(block), second);
  // The right bytes on a good block: nothing to do.
  EXPECT_EQ(Expect(200, "PUT", path, second)["result"], "already_good");

  // Damaged under the daemon: a fresh mount (no page of the file cached)
  // fails to read it.
  Damage(block);
  const std::string damaged = DataBlock(block);
  ASSERT_NE(damaged, second);
  Unmount(mp);
  mp = MountContainer("web1");
  int error = 0;
  ReadUntilError(mp + "/f", &error);
  EXPECT_EQ(error, EIO) << std::strerror(error);
  ExpectError(400, "invalid_argument", "block " + id, "PUT", path, wrong);
  EXPECT_EQ(DataBlock(block), damaged) << "bytes of another checksum were written";
  // The daemon's scrub lists the block, not yet repaired.
  Expect(202, "POST", "/api/v1/scrub");
  nlohmann::json scrub = Expect(200, "GET", "/api/v1/scrub");
  while (scrub["state"] == "running") scrub = Expect(200, "GET", "/api/v1/scrub");
  ASSERT_EQ(scrub["state"], "done") << scrub.dump();
  ASSERT_EQ(scrub["damaged"].size(), 1u) << scrub.dump();
  EXPECT_EQ(scrub["damaged"][0]["block"], block);
  EXPECT_EQ(scrub["damaged"][0]["repair"], "none");
  EXPECT_EQ(scrub["blocks_repaired"], 0);

  const nlohmann::json repaired = Expect(200, "PUT", path, second);
  EXPECT_EQ(repaired["result"], "repaired") << repaired.dump();
  EXPECT_EQ(repaired["block"], block);
  EXPECT_EQ(DataBlock(block), second);
  // The stored scrub says so, as the helper's report would.
  scrub = Expect(200, "GET", "/api/v1/scrub");
  EXPECT_EQ(scrub["state"], "done");
  EXPECT_EQ(scrub["blocks_damaged"], 1);
  EXPECT_EQ(scrub["blocks_repaired"], 1) << scrub.dump();
  EXPECT_EQ(scrub["damaged"][0]["repair"], "repaired") << scrub.dump();
  EXPECT_EQ(scrub["damaged"][0]["repair_detail"], "from a client's PUT /api/v1/scrub/blocks/" + id);
  // Sent again, the bytes change nothing and count no second repair.
  EXPECT_EQ(Expect(200, "PUT", path, second)["result"], "already_good");
  scrub = Expect(200, "GET", "/api/v1/scrub");
  EXPECT_EQ(scrub["blocks_repaired"], 1) << scrub.dump();
  EXPECT_EQ(scrub["damaged"][0]["repair"], "repaired");
  // Through the same mount, with no remount.
  EXPECT_EQ(ReadUntilError(mp + "/f", &error), first + second);
  EXPECT_EQ(error, 0) << std::strerror(error);
  // The daemon's scrub finds nothing; offline, fsck agrees.
  Ok(Hoodyfs({"scrub"}));
  Unmount(mp);
  StopDaemon();
  EXPECT_EQ(Ok(Hoodyfs({"fsck"})), store_ + ": consistent\n");
}

}  // namespace
}  // namespace hoodyfs::testing
