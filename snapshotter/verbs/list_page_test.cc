// A container's snapshots a page at a time (Snapshotter::ListSnapshots with
// a ListPage): creation order even where names sort otherwise (snap-T-10
// before snap-T-2), every snapshot exactly once across pages, also when
// snapshots are deleted and created between pages, after a reopen, and
// the errors of bad limits and cursors.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/verbs/catalog.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::snapshotter {
namespace {

// 2026-03-04 10:30:00 UTC.
constexpr int64_t kStartSec = 1772620200;

class ListPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Init(dir_.File("store")));
    Reopen();
    ASSERT_TRUE(snap_->CreateContainer("c").ok());
  }
  void TearDown() override {
    if (snap_) {
      Status s = snap_->store().CheckInvariants();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  void Reopen() {
    snap_.reset();
    StoreOptions options;
    options.flush_interval_ms = 0;
    options.grow_step_bytes = 16 << 20;
    // Time stands still but for a nanosecond per reading: every snapshot
    // lands in one second, so names get -2, -3 ... -N suffixes whose byte
    // order is not their creation order.
    options.clock = [this] { return index::Timespec{kStartSec, tick_++}; };
    auto opened = Snapshotter::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    snap_ = std::move(opened).value();
  }
  std::string Create(const std::string& alias = "") {
    auto info = snap_->CreateSnapshot("c", CreateSnapshotRequest{alias, {}});
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? info->name : "";
  }
  std::vector<std::string> WholeList() {
    std::vector<std::string> out;
    auto list = snap_->ListSnapshots("c");
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (list.ok()) {
      for (const SnapshotInfo& i : *list) out.push_back(i.name);
    }
    return out;
  }
  // Every page from the first, `limit` at a time.
  std::vector<std::string> Paged(int64_t limit, size_t* pages = nullptr) {
    std::vector<std::string> out;
    ListPage page{"", limit};
    size_t count = 0;
    for (;;) {
      auto got = snap_->ListSnapshots("c", page);
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok()) break;
      ++count;
      EXPECT_LE(got->snapshots.size(), static_cast<size_t>(limit));
      for (const SnapshotInfo& s : got->snapshots) out.push_back(s.name);
      if (!got->next) break;
      EXPECT_EQ(got->snapshots.size(), static_cast<size_t>(limit));  // only the last is short
      EXPECT_EQ(*got->next, catalog::ListPosition(got->snapshots.back().name,
                                                  got->snapshots.back().created_ns));
      page.after = *got->next;
    }
    if (pages) *pages = count;
    return out;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  uint32_t tick_ = 0;
  std::unique_ptr<Snapshotter> snap_;
};

TEST_F(ListPageTest, PagesListEverySnapshotOnceInCreationOrder) {
  std::vector<std::string> created;
  for (int i = 0; i < 23; ++i) created.push_back(Create());
  // By name snap-...-10 sorts before snap-...-2: the catalog's key order
  // is not the order a list must give.
  std::vector<std::string> by_name = created;
  std::sort(by_name.begin(), by_name.end());
  ASSERT_NE(by_name, created);

  EXPECT_EQ(WholeList(), created);
  for (int64_t limit : {1, 2, 5, 22, 23, 24, 1000}) {
    size_t pages = 0;
    EXPECT_EQ(Paged(limit, &pages), created) << "limit " << limit;
    EXPECT_EQ(pages, (created.size() + limit - 1) / limit) << "limit " << limit;
  }
}

TEST_F(ListPageTest, APageDescribesItsSnapshotsAsTheWholeListDoes) {
  Create("first");
  Create();
  Create("third");
  auto whole = snap_->ListSnapshots("c");
  ASSERT_TRUE(whole.ok());
  auto page = snap_->ListSnapshots("c", ListPage{(*whole)[0].name, 2});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->snapshots.size(), 2u);
  EXPECT_FALSE(page->next);
  for (size_t i = 0; i < 2; ++i) {
    const SnapshotInfo& a = (*whole)[i + 1];
    const SnapshotInfo& b = page->snapshots[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.alias, b.alias);
    EXPECT_EQ(a.gen, b.gen);
    EXPECT_EQ(a.created_ns, b.created_ns);
    EXPECT_EQ(a.parent, b.parent);
    EXPECT_EQ(a.guid, b.guid);
    EXPECT_EQ(a.referenced_bytes, b.referenced_bytes);
    EXPECT_EQ(a.written_bytes, b.written_bytes);
  }
}

TEST_F(ListPageTest, AnEmptyContainerIsOneEmptyPage) {
  auto page = snap_->ListSnapshots("c", ListPage{"", 10});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->snapshots.empty());
  EXPECT_FALSE(page->next);
}

TEST_F(ListPageTest, DeletesAndCreatesBetweenPages) {
  std::vector<std::string> created;
  for (int i = 0; i < 12; ++i) created.push_back(Create());
  auto first = snap_->ListSnapshots("c", ListPage{"", 4});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->next);
  // One already listed and one not yet listed go; two new ones come.
  ASSERT_OK(snap_->DeleteSnapshot("c", created[1]));
  ASSERT_OK(snap_->DeleteSnapshot("c", created[9]));
  const std::string late1 = Create();
  const std::string late2 = Create();
  std::vector<std::string> listed;
  for (const SnapshotInfo& s : first->snapshots) listed.push_back(s.name);
  ListPage page{*first->next, 4};
  for (;;) {
    auto got = snap_->ListSnapshots("c", page);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (const SnapshotInfo& s : got->snapshots) listed.push_back(s.name);
    if (!got->next) break;
    page.after = *got->next;
  }
  std::vector<std::string> want;
  for (size_t i = 0; i < created.size(); ++i) {
    if (i != 9) want.push_back(created[i]);  // created[1] was listed before it went
  }
  want.push_back(late1);
  want.push_back(late2);
  EXPECT_EQ(listed, want);
}

// Random deletes, creates and alias changes between pages of random sizes:
// what exists at the end was listed exactly once, and in creation order.
TEST_F(ListPageTest, RandomChangesBetweenPagesNeverSkipOrRepeat) {
  const unsigned seed = static_cast<unsigned>(::testing::UnitTest::GetInstance()->random_seed());
  SCOPED_TRACE("seed " + std::to_string(seed) + " (--gtest_random_seed)");
  std::mt19937 rng(seed);
  for (int i = 0; i < 40; ++i) Create();
  std::vector<SnapshotInfo> listed;
  ListPage page{"", 1};
  for (int round = 0; round < 200; ++round) {
    page.limit = std::uniform_int_distribution<int64_t>(1, 6)(rng);
    auto got = snap_->ListSnapshots("c", page);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (SnapshotInfo& s : got->snapshots) listed.push_back(std::move(s));
    if (!got->next) break;
    page.after = *got->next;
    // Change the catalog, the cursor's own snapshot included: the cursor
    // is a position, and a deleted name comes back for the next snapshot
    // made in this second.
    std::vector<std::string> names = WholeList();
    for (int k = std::uniform_int_distribution<int>(0, 2)(rng); k > 0 && names.size() > 1; --k) {
      const std::string victim = names[rng() % names.size()];
      ASSERT_OK(snap_->DeleteSnapshot("c", victim));
      names.erase(std::find(names.begin(), names.end(), victim));
    }
    for (int k = std::uniform_int_distribution<int>(0, 2)(rng); k > 0; --k) Create();
    if (rng() % 3 == 0) {
      SetSnapshotRequest set;
      set.alias = "a" + std::to_string(round);
      ASSERT_TRUE(snap_->SetSnapshot("c", names[rng() % names.size()], set).ok());
    }
  }
  for (size_t i = 1; i < listed.size(); ++i) {
    EXPECT_LT(listed[i - 1].created_ns, listed[i].created_ns) << listed[i].name;
  }
  // By guid: a deleted snapshot's name comes back for the next one made in
  // the same second, and this clock never leaves its second.
  std::multiset<std::string> seen;
  for (const SnapshotInfo& s : listed) seen.insert(s.guid);
  auto now = snap_->ListSnapshots("c");
  ASSERT_TRUE(now.ok());
  for (const SnapshotInfo& s : *now) EXPECT_EQ(seen.count(s.guid), 1u) << s.name;
}

// A page's next is a position, not a reference to its last snapshot: when
// that snapshot is deleted, or deleted and its name made again in the
// same second (a later snapshot under the same name), the next page still
// starts where the first ended: nothing fails, nothing is skipped or
// listed twice.
TEST_F(ListPageTest, TheNextPageStartsWhereTheLastEndedAfterItsSnapshotGoes) {
  std::vector<std::string> created;
  for (int i = 0; i < 7; ++i) created.push_back(Create());
  auto first = snap_->ListSnapshots("c", ListPage{"", 3});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->next);
  ASSERT_OK(snap_->DeleteSnapshot("c", created[2]));  // the page's last
  auto second = snap_->ListSnapshots("c", ListPage{*first->next, 3});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->snapshots.size(), 3u);
  EXPECT_EQ(second->snapshots[0].name, created[3]);
  EXPECT_EQ(second->snapshots[2].name, created[5]);
  ASSERT_TRUE(second->next);

  // Now the second page's last goes and its name is made again (a name
  // takes the second's highest suffix + 1, so the one after it goes too):
  // the re-made snapshot is later than every other and is listed next. A
  // bare-name cursor would have jumped to it and past it.
  ASSERT_OK(snap_->DeleteSnapshot("c", created[6]));
  ASSERT_OK(snap_->DeleteSnapshot("c", created[5]));
  const std::string again = Create();
  ASSERT_EQ(again, created[5]);
  auto third = snap_->ListSnapshots("c", ListPage{*second->next, 10});
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  ASSERT_EQ(third->snapshots.size(), 1u);
  EXPECT_EQ(third->snapshots[0].name, again);
  EXPECT_GT(third->snapshots[0].created_ns, second->snapshots[2].created_ns);
  EXPECT_FALSE(third->next);
  // A bare name means the snapshot that has it now: the re-made, last one.
  auto by_name = snap_->ListSnapshots("c", ListPage{again, 10});
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_TRUE(by_name->snapshots.empty());
}

TEST_F(ListPageTest, TheOrderSurvivesAReopen) {
  std::vector<std::string> created;
  for (int i = 0; i < 12; ++i) created.push_back(Create());
  Reopen();
  EXPECT_EQ(Paged(5), created);
}

TEST_F(ListPageTest, BadLimitsAndCursorsAreRefused) {
  const std::string a = Create();
  const std::string b = Create();
  for (int64_t limit : {int64_t{0}, int64_t{-1}, catalog::kListPageMax + 1}) {
    auto got = snap_->ListSnapshots("c", ListPage{"", limit});
    ASSERT_FALSE(got.ok()) << limit;
    EXPECT_EQ(got.status().code(), Code::kInvalidArgument);
    EXPECT_NE(got.status().message().find("limit"), std::string::npos) << got.status().ToString();
  }
  EXPECT_TRUE(snap_->ListSnapshots("c", ListPage{"", catalog::kListPageMax}).ok());

  auto unknown = snap_->ListSnapshots("c", ListPage{"snap-20200101-000000", 10});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("after"), std::string::npos);

  // A bare name whose snapshot is gone: there is nothing to start after.
  ASSERT_OK(snap_->DeleteSnapshot("c", a));
  auto gone = snap_->ListSnapshots("c", ListPage{a, 10});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kInvalidArgument);

  // Positions that are not NAME@NANOSECONDS.
  for (const char* bad : {"@5", "a/b@5", "snap-x@", "snap-x@-1", "snap-x@1e9", "snap-x@5@6",
                          "snap-x@99999999999999999999"}) {
    auto got = snap_->ListSnapshots("c", ListPage{bad, 10});
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(got.status().message().find("after"), std::string::npos) << got.status().ToString();
  }

  EXPECT_EQ(snap_->ListSnapshots("nope", ListPage{"", 10}).status().code(), Code::kNotFound);
  auto rest = snap_->ListSnapshots("c", ListPage{"", 10});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->snapshots.size(), 1u);
  EXPECT_EQ(rest->snapshots[0].name, b);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
