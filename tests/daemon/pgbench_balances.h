// pgbench's invariant, read through a running server. Each TPC-B-like
// transaction adds its delta to one account, one teller and one branch and
// inserts it into pgbench_history, so sum(abalance) = sum(tbalance) =
// sum(bbalance) = sum(delta) in any state the server recovers to: a state
// that split a transaction, or mixed pages from two moments, breaks it.
#pragma once

#include <cstdint>
#include <string>

#include "tests/daemon/postgres_server.h"

namespace hoodyfs::testing {

// The sums pgbench's invariant compares, and the history's length.
struct PgbenchBalances {
  int64_t accounts = 0, tellers = 0, branches = 0, history_delta = 0, history_rows = 0;
  std::string text;  // as psql printed it, for messages
};

// Reads the balances through `server`; false (with a test failure) if psql
// failed or printed something else than five numbers.
bool ReadPgbenchBalances(const PgServer& server, PgbenchBalances* b);

// Adds a test failure naming `where` for each sum that differs from the
// history's.
void ExpectPgbenchInvariant(const PgbenchBalances& b, const std::string& where);

}  // namespace hoodyfs::testing
