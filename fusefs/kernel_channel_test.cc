#include "fusefs/kernel_channel.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstring>
#include <vector>

namespace hoodyfs::fusefs {
namespace {

// The bytes of a request the kernel sends: header, then `body`.
template <typename Body>
std::vector<char> Request(uint32_t opcode, uint64_t unique, const Body& body) {
  fuse_in_header in{};
  in.len = sizeof in + sizeof body;
  in.opcode = opcode;
  in.unique = unique;
  std::vector<char> out(sizeof in + sizeof body);
  std::memcpy(out.data(), &in, sizeof in);
  std::memcpy(out.data() + sizeof in, &body, sizeof body);
  return out;
}

fuse_init_in InitOffering(uint32_t flags) {
  fuse_init_in init{};
  init.major = 7;
  init.minor = 38;
  init.flags = flags;
  return init;
}

// Sends libfuse's INIT reply (flags `libfuse_flags`) for request `unique`
// through the channel; returns the flags the kernel would read.
uint32_t ReplyFlags(KernelChannel& channel, uint64_t unique, int32_t error = 0) {
  fuse_out_header out{};
  out.unique = unique;
  out.error = error;
  fuse_init_out init{};
  init.major = 7;
  init.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES;
  out.len = sizeof out + sizeof init;
  iovec iov[2] = {{&out, sizeof out}, {&init, sizeof init}};
  fuse_init_out scratch;
  const void* sent = channel.PatchReply(iov, 2, &scratch, sizeof scratch);
  EXPECT_EQ(init.flags, uint32_t{FUSE_ASYNC_READ | FUSE_BIG_WRITES}) << "libfuse's reply changed";
  fuse_init_out seen;
  std::memcpy(&seen, sent != nullptr ? sent : &init, sizeof seen);
  return seen.flags;
}

TEST(KernelChannelTest, InitReplyGainsKillprivV2WhenTheKernelOffersIt) {
  KernelChannel channel(/*want_killpriv_v2=*/true);
  const std::vector<char> init = Request(FUSE_INIT, 7, InitOffering(FUSE_HANDLE_KILLPRIV_V2));
  channel.NoteRequest(init.data(), init.size());
  EXPECT_FALSE(channel.killpriv_v2()) << "negotiated before the reply went out";
  const uint32_t flags = ReplyFlags(channel, 7);
  EXPECT_NE(flags & FUSE_HANDLE_KILLPRIV_V2, 0u);
  EXPECT_NE(flags & FUSE_ASYNC_READ, 0u) << "libfuse's own flags were lost";
  EXPECT_TRUE(channel.killpriv_v2());
  // Only that one reply.
  EXPECT_EQ(ReplyFlags(channel, 7) & FUSE_HANDLE_KILLPRIV_V2, 0u);
}

TEST(KernelChannelTest, NothingChangesWithoutTheKernelsOfferOrTheMountsWish) {
  {
    KernelChannel channel(/*want_killpriv_v2=*/true);
    const std::vector<char> init = Request(FUSE_INIT, 1, InitOffering(FUSE_ASYNC_READ));
    channel.NoteRequest(init.data(), init.size());
    EXPECT_EQ(ReplyFlags(channel, 1) & FUSE_HANDLE_KILLPRIV_V2, 0u);
    EXPECT_FALSE(channel.killpriv_v2());
  }
  {
    KernelChannel channel(/*want_killpriv_v2=*/false);
    const std::vector<char> init = Request(FUSE_INIT, 1, InitOffering(FUSE_HANDLE_KILLPRIV_V2));
    channel.NoteRequest(init.data(), init.size());
    EXPECT_EQ(ReplyFlags(channel, 1) & FUSE_HANDLE_KILLPRIV_V2, 0u);
    EXPECT_FALSE(channel.killpriv_v2());
  }
}

TEST(KernelChannelTest, OtherRepliesAndAFailedInitPassUnchanged) {
  KernelChannel channel(/*want_killpriv_v2=*/true);
  const std::vector<char> init = Request(FUSE_INIT, 3, InitOffering(FUSE_HANDLE_KILLPRIV_V2));
  channel.NoteRequest(init.data(), init.size());
  EXPECT_EQ(ReplyFlags(channel, 4) & FUSE_HANDLE_KILLPRIV_V2, 0u) << "another request's reply";
  EXPECT_EQ(ReplyFlags(channel, 3, -EPROTO) & FUSE_HANDLE_KILLPRIV_V2, 0u) << "INIT refused";
  EXPECT_FALSE(channel.killpriv_v2());
  // A short read (less than an INIT) is ignored, not read past.
  KernelChannel other(/*want_killpriv_v2=*/true);
  other.NoteRequest(init.data(), sizeof(fuse_in_header) + 4);
  EXPECT_EQ(ReplyFlags(other, 3) & FUSE_HANDLE_KILLPRIV_V2, 0u);
}

// FUSE over io_uring is agreed to only when the rings could be made: here
// there is no session to serve, so the reply must not take the kernel up on
// its offer (once agreed, the kernel would hold every request for rings that
// never come).
TEST(KernelChannelTest, RingsAreNotAgreedToWhenTheyCannotBeMade) {
  KernelChannel channel(/*want_killpriv_v2=*/false);
  channel.SetUringSession(nullptr, 4);  // no session: nothing to serve
  fuse_init_in offer = InitOffering(FUSE_INIT_EXT);
  offer.flags2 = static_cast<uint32_t>(UringTransport::kInitFlags2Bit);
  const std::vector<char> init = Request(FUSE_INIT, 5, offer);
  channel.NoteRequest(init.data(), init.size());

  fuse_out_header out{};
  out.unique = 5;
  fuse_init_out reply{};
  reply.major = 7;
  reply.flags = FUSE_ASYNC_READ;
  out.len = sizeof out + sizeof reply;
  iovec iov[2] = {{&out, sizeof out}, {&reply, sizeof reply}};
  fuse_init_out scratch;
  const void* sent = channel.PatchReply(iov, 2, &scratch, sizeof scratch);
  fuse_init_out seen;
  std::memcpy(&seen, sent != nullptr ? sent : &reply, sizeof seen);
  EXPECT_EQ(seen.flags2 & UringTransport::kInitFlags2Bit, 0u);
  EXPECT_NE(seen.flags & FUSE_ASYNC_READ, 0u) << "libfuse's own flags were lost";
  channel.AfterInitReply();
  EXPECT_FALSE(channel.uring());
  EXPECT_EQ(channel.uring_requests(), 0u);
}

}  // namespace
}  // namespace hoodyfs::fusefs
