// Store: allocation of inode numbers and generation ids. Both only grow,
// so an inode number or a generation id is never reused in a store.
#include "index/keys.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/engine/store_keys.h"

namespace hoodyfs::snapshotter {

using index::Table;
using index::WriteScope;
using store_keys::kKeyNextGen;
using store_keys::kKeyNextIno;
using store_keys::U64;

Ino Store::NextIno(WriteScope& scope) {
  const Ino ino(next_ino_++);
  scope.Put(Table::kMeta, kKeyNextIno, U64(next_ino_));
  return ino;
}

void Store::ClaimIno(WriteScope& scope, Ino ino) {
  if (ino.value < next_ino_) return;
  next_ino_ = ino.value + 1;
  scope.Put(Table::kMeta, kKeyNextIno, U64(next_ino_));
}

uint64_t Store::InoLimit() const {
  index::ReadScope s(*kv_);
  return next_ino_;
}

GenId Store::NextGen(WriteScope& scope) {
  const GenId gen(next_gen_++);
  scope.Put(Table::kMeta, kKeyNextGen, U64(next_gen_));
  return gen;
}

}  // namespace hoodyfs::snapshotter
