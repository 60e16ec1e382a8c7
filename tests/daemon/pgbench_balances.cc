#include "tests/daemon/pgbench_balances.h"

#include <gtest/gtest.h>

#include <sstream>

namespace hoodyfs::testing {
namespace {

constexpr char kBalancesSql[] =
    "SELECT (SELECT sum(abalance) FROM pgbench_accounts), "
    "(SELECT sum(tbalance) FROM pgbench_tellers), (SELECT sum(bbalance) FROM pgbench_branches), "
    "(SELECT coalesce(sum(delta), 0) FROM pgbench_history), (SELECT count(*) FROM pgbench_history)";

}  // namespace

bool ReadPgbenchBalances(const PgServer& server, PgbenchBalances* b) {
  const CommandResult r = server.Psql(kBalancesSql);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  if (r.exit_code != 0) return false;
  b->text = r.out;
  std::istringstream in(r.out);
  char bar[4];
  in >> b->accounts >> bar[0] >> b->tellers >> bar[1] >> b->branches >> bar[2] >>
      b->history_delta >> bar[3] >> b->history_rows;
  const bool ok = !in.fail() && std::string(bar, 4) == "||||";
  EXPECT_TRUE(ok) << "unexpected balances: " << r.out;
  return ok;
}

void ExpectPgbenchInvariant(const PgbenchBalances& b, const std::string& where) {
  EXPECT_EQ(b.accounts, b.history_delta) << where << ": accounts vs history: " << b.text;
  EXPECT_EQ(b.tellers, b.history_delta) << where << ": tellers vs history: " << b.text;
  EXPECT_EQ(b.branches, b.history_delta) << where << ": branches vs history: " << b.text;
}

}  // namespace hoodyfs::testing
