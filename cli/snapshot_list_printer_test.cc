// PrintSnapshotList over a real store: printed a page at a time, the table
// and the JSON are byte for byte what one page gives, and a limit prints
// one page document (JSON) or says where the next page starts (table).
#include "cli/snapshot_list_printer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "cli/api/json_codec.h"
#include "snapshotter/verbs/catalog.h"

namespace hoodyfs::cli {
namespace {

class SnapshotListPrinterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(snapshotter::Store::Init(dir_.File("store")));
    auto api = LocalApi::Open(dir_.File("store"));
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(api).value();
    ASSERT_TRUE(api_->CreateContainer("c").ok());
  }
  void CreateSnapshots(int n) {
    for (int i = 0; i < n; ++i) {
      // Every third with an alias of its own length, so widths vary.
      snapshotter::CreateSnapshotRequest req;
      if (i % 3 == 0) req.alias = "alias-" + std::string(static_cast<size_t>(i), 'x');
      ASSERT_TRUE(api_->CreateSnapshot("c", req).ok());
    }
  }
  // What it prints on stdout; nothing on stderr without a limit.
  std::string Print(SnapshotListOptions options) {
    options.container = "c";
    std::ostringstream out, err;
    int outputs = 0;
    Status s = PrintSnapshotList(*api_, options, out, err, [&] { ++outputs; });
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(outputs, 1);
    EXPECT_EQ(err.str(), "");
    return out.str();
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<LocalApi> api_;
};

// The words of each line: a table's content without its alignment.
std::vector<std::vector<std::string>> Words(const std::string& text) {
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    lines.emplace_back();
    for (std::string w; words >> w;) lines.back().push_back(w);
  }
  return lines;
}

TEST_F(SnapshotListPrinterTest, PagesPrintWhatOnePagePrints) {
  CreateSnapshots(7);
  SnapshotListOptions one;
  const std::string table = Print(one);
  one.json = true;
  const std::string json = Print(one);
  for (int64_t page_size : {1, 2, 3, 7, 8}) {
    SCOPED_TRACE("pages of " + std::to_string(page_size));
    SnapshotListOptions paged;
    paged.page_size = page_size;
    // The table's columns widen where a later page needs it (rows printed
    // cannot be re-aligned); the content is the same.
    EXPECT_EQ(Words(Print(paged)), Words(table));
    paged.json = true;
    EXPECT_EQ(Print(paged), json);
  }
  EXPECT_EQ(Words(table).size(), 8u);  // the header and seven rows
}

TEST_F(SnapshotListPrinterTest, TheJsonIsTheArrayOfTheWholeList) {
  CreateSnapshots(4);
  SnapshotListOptions options;
  options.json = true;
  options.page_size = 3;
  const std::string printed = Print(options);
  auto whole = api_->ListSnapshots("c");
  ASSERT_TRUE(whole.ok());
  nlohmann::json want = nlohmann::json::array();
  for (const auto& s : *whole) want.push_back(ToJson(s));
  EXPECT_EQ(printed, want.dump(2) + "\n");
}

TEST_F(SnapshotListPrinterTest, AnEmptyListIsAHeaderOrAnEmptyArray) {
  SnapshotListOptions options;
  EXPECT_EQ(Print(options), "NAME  ALIAS  CREATED  EXPIRES  REFER  WRITTEN\n");
  options.json = true;
  EXPECT_EQ(Print(options), "[]\n");
}

TEST_F(SnapshotListPrinterTest, ALimitPrintsOnePageAndWhereTheNextStarts) {
  CreateSnapshots(5);
  auto whole = api_->ListSnapshots("c");
  ASSERT_TRUE(whole.ok());
  // A limit of 3 in pages of 2: two requests, one page document.
  std::ostringstream out, err;
  ASSERT_OK(PrintSnapshotList(*api_, SnapshotListOptions{"c", "", 3, true, 2}, out, err, [] {}));
  nlohmann::json page = nlohmann::json::parse(out.str());
  ASSERT_EQ(page["snapshots"].size(), 3u);
  EXPECT_EQ(page["snapshots"][2]["name"], (*whole)[2].name);
  const auto position = [&](size_t i) {
    return snapshotter::catalog::ListPosition((*whole)[i].name, (*whole)[i].created_ns);
  };
  EXPECT_EQ(page["next"], position(2));
  EXPECT_EQ(err.str(), "");

  std::ostringstream rest_out, rest_err;
  ASSERT_OK(PrintSnapshotList(*api_, SnapshotListOptions{"c", position(2), 3, true, 2}, rest_out,
                              rest_err, [] {}));
  page = nlohmann::json::parse(rest_out.str());
  ASSERT_EQ(page["snapshots"].size(), 2u);
  EXPECT_EQ(page["snapshots"][0]["name"], (*whole)[3].name);
  EXPECT_TRUE(page["next"].is_null());

  std::ostringstream table, table_err;
  ASSERT_OK(PrintSnapshotList(*api_, SnapshotListOptions{"c", "", 2, false, 1000}, table, table_err,
                              [] {}));
  const std::string text = table.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);  // header + 2
  EXPECT_EQ(table_err.str(),
            "more snapshots follow: list again with --after " + position(1) + "\n");
}

TEST_F(SnapshotListPrinterTest, AFailureBeforeAnyPagePrintsNothing) {
  std::ostringstream out, err;
  bool output = false;
  SnapshotListOptions options;
  options.container = "nope";
  Status s = PrintSnapshotList(*api_, options, out, err, [&] { output = true; });
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_FALSE(output);
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace hoodyfs::cli
