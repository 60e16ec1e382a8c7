// ForEachInParallel without a server: the requests here do not use their
// client, so what is checked is the scheduling (every index once, one
// client per thread, the first error returned, and with one worker no
// index started after it). tests/remote/delete_gc_test.cc drives it
// against a real gateway.
#include "snapshotter/remote/parallel_requests.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <vector>

#include "base/mutex.h"

namespace hoodyfs::remote {
namespace {

S3Config AnyConfig() {
  S3Config c;
  c.endpoint = "http://127.0.0.1:9";  // never contacted
  c.bucket = "bucket";
  c.access_key = "k";
  c.secret_key = "s";
  return c;
}

TEST(ForEachInParallel, RunsEveryIndexOnceOnAClientPerThread) {
  for (int workers : {1, 3, 8}) {
    std::vector<std::atomic<int>> runs(100);
    Mutex mu;
    std::set<const S3Client*> clients;  // guarded by mu
    ASSERT_TRUE(ForEachInParallel(AnyConfig(), workers, runs.size(),
                                  [&](S3Client& client, size_t i) -> Status {
                                    runs[i].fetch_add(1);
                                    MutexLock lock(mu);
                                    clients.insert(&client);
                                    return Status::OK();
                                  })
                    .ok());
    for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "index " << i;
    MutexLock lock(mu);
    EXPECT_LE(clients.size(), static_cast<size_t>(workers));
  }
}

TEST(ForEachInParallel, NothingToDoIsOk) {
  EXPECT_TRUE(ForEachInParallel(AnyConfig(), 4, 0, [](S3Client&, size_t) -> Status {
                ADD_FAILURE() << "no index to run";
                return Status::OK();
              }).ok());
}

TEST(ForEachInParallel, TheFirstErrorStopsTheRest) {
  std::atomic<size_t> started{0};
  const Status st = ForEachInParallel(AnyConfig(), 1, 50, [&](S3Client&, size_t i) -> Status {
    started.fetch_add(1);
    if (i == 9) return Status::Busy("index 9 failed");
    return Status::OK();
  });
  EXPECT_EQ(st.code(), Code::kBusy);
  EXPECT_EQ(st.message(), "index 9 failed");
  // One worker starts indexes in order and stops at the error.
  EXPECT_EQ(started.load(), 10u);
}

TEST(ForEachInParallel, AnInvalidConfigIsRefusedBeforeAnyRequest) {
  S3Config bad = AnyConfig();
  bad.endpoint.clear();
  const Status st = ForEachInParallel(bad, 2, 5, [](S3Client&, size_t) -> Status {
    ADD_FAILURE() << "ran with a client that could not be made";
    return Status::OK();
  });
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace hoodyfs::remote
