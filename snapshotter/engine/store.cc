#include "snapshotter/engine/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

#include "base/coding.h"
#include "base/test_hook.h"
#include "index/keys.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/meta.h"
#include "snapshotter/engine/names.h"

namespace hoodyfs::snapshotter {

using index::ContainerRecord;
using index::GenerationRecord;
using index::GenState;
using index::InodeRecord;
using index::KvScope;
using index::ReadScope;
using index::Table;
using index::WriteScope;

namespace {
constexpr char kMetaFile[] = "/meta.lmdb";
constexpr char kDataFile[] = "/data";
constexpr char kLockFile[] = "/lock";
constexpr char kKeyFormat[] = "format";
constexpr char kKeyNextIno[] = "next_ino";
constexpr char kKeyNextGen[] = "next_gen";

std::string U64(uint64_t v) {
  std::string s;
  PutLe64(&s, v);
  return s;
}

Result<uint64_t> GetMetaU64(const KvScope& s, const char* key) {
  HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kMeta, key));
  if (!v || v->size() != 8) return Status::Corruption(std::string("store meta key ") + key);
  return GetLe64(v->data());
}

index::Timespec SystemNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return index::Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

int64_t ToNs(index::Timespec t) { return t.sec * 1000000000 + t.nsec; }
}  // namespace

Status Store::Init(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return FromErrno(errno, "create store directory " + dir);
  }
  struct stat st;
  if (::stat((dir + kMetaFile).c_str(), &st) == 0) {
    return Status::Exists(dir + " already holds a hoodyfs store");
  }
  HOODY_ASSIGN_OR_RETURN(auto kv, index::KvStore::Open(dir + kMetaFile, index::EnvOptions()));
  {
    WriteScope s(*kv);
    s.Put(Table::kMeta, kKeyFormat, U64(index::kFormatVersion));
    s.Put(Table::kMeta, kKeyNextIno, U64(2));
    s.Put(Table::kMeta, kKeyNextGen, U64(1));
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(kv->Flush());
  return Status::OK();
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, StoreOptions options) {
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  struct stat st;
  if (::stat((dir + kMetaFile).c_str(), &st) != 0) {
    return Status::NotFound(dir + " is not a hoodyfs store (run hoodyfs init)");
  }
  store->lock_fd_.Reset(::open((dir + kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!store->lock_fd_.valid()) return FromErrno(errno, "open store lock " + dir + kLockFile);
  if (::flock(store->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Busy("store " + dir + " is in use by another process");
    }
    return FromErrno(errno, "lock store " + dir);
  }
  if (!options.clock) options.clock = SystemNow;
  HOODY_ASSIGN_OR_RETURN(store->kv_, index::KvStore::Open(dir + kMetaFile, index::EnvOptions()));
  if (options.device_override) {
    store->device_ = std::move(options.device_override);
  } else {
    HOODY_ASSIGN_OR_RETURN(store->device_,
                           blockstore::OpenDataFile(dir + kDataFile, options.device, true));
  }
  store->options_ = std::move(options);
  HOODY_RETURN_IF_ERROR(store->Load());
  Store* raw = store.get();
  store->kv_->SetFlushHooks(index::FlushHooks{
      [raw]() { return raw->SyncDataForCommit(); },
      [raw](uint64_t epoch) { raw->AfterCommit(epoch); },
  });
  if (store->options_.flush_interval_ms > 0) {
    store->flusher_ = std::thread([raw] { raw->FlusherLoop(); });
  }
  return store;
}

Status Store::Load() {
  ReadScope s(*kv_);
  HOODY_ASSIGN_OR_RETURN(uint64_t format, GetMetaU64(s, kKeyFormat));
  if (format != index::kFormatVersion) {
    return Status::Corruption("store format " + std::to_string(format) + ", this build reads " +
                              std::to_string(index::kFormatVersion));
  }
  HOODY_ASSIGN_OR_RETURN(next_ino_, GetMetaU64(s, kKeyNextIno));
  HOODY_ASSIGN_OR_RETURN(next_gen_, GetMetaU64(s, kKeyNextGen));
  // Generation ids grow from parent to child, so key order adds parents first.
  HOODY_ASSIGN_OR_RETURN(index::KvIterator it, s.NewIterator(Table::kGenerations));
  for (it.Seek(""); it.Valid(); it.Next()) {
    HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GenerationRecord::Decode(it.value()));
    const GenId gen(GetBig64(it.key().data()));
    if (rec.parent.valid() && !tree_.Contains(rec.parent)) {
      return Status::Corruption("generation " + std::to_string(gen.value) +
                                " has a missing parent");
    }
    tree_.Add(gen, rec.parent);
  }
  HOODY_RETURN_IF_ERROR(it.status());
  HOODY_ASSIGN_OR_RETURN(index::KvIterator ct, s.NewIterator(Table::kContainers));
  for (ct.Seek(""); ct.Valid(); ct.Next()) {
    HOODY_ASSIGN_OR_RETURN(ContainerRecord rec, ContainerRecord::Decode(ct.value()));
    if (!tree_.Contains(rec.head)) {
      return Status::Corruption("container '" + std::string(ct.key()) + "' has a missing head");
    }
    heads_[std::string(ct.key())] = HeadInfo{rec.head, next_lineage_++};
  }
  HOODY_RETURN_IF_ERROR(ct.status());
  HOODY_RETURN_IF_ERROR(allocator_.Load(s));
  const uint64_t device_blocks = device_->SizeBytes() / kBlockSize;
  if (device_blocks < allocator_.capacity_blocks()) {
    return Status::Corruption("data file holds " + std::to_string(device_blocks) +
                              " blocks but the free map covers " +
                              std::to_string(allocator_.capacity_blocks()));
  }
  return Status::OK();
}

void Store::StopFlusher() {
  {
    std::lock_guard l(flusher_mu_);
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

void Store::SimulateCrashForTest() {
  StopFlusher();
  crashed_ = true;
  kv_->DropPendingForTest();
}

Store::~Store() {
  StopFlusher();
  if (kv_ && !crashed_) {
    Status s = kv_->Flush();
    if (!s.ok())
      std::fprintf(stderr, "hoodyfs: final flush of %s failed: %s\n", dir_.c_str(),
                   s.ToString().c_str());
  }
}

void Store::FlusherLoop() {
  std::unique_lock l(flusher_mu_);
  while (!stopping_) {
    flusher_cv_.wait_for(l, std::chrono::milliseconds(options_.flush_interval_ms));
    if (stopping_) break;
    l.unlock();
    Status s = kv_->Flush();
    if (!s.ok())
      std::fprintf(stderr, "hoodyfs: background flush failed: %s\n", s.ToString().c_str());
    l.lock();
  }
}

void Store::AfterCommit(uint64_t epoch) {
  // Wait out every data read that began before this commit: once no reader
  // holds the guard, no one can still reach a block this commit freed.
  { std::unique_lock drain(data_readers_); }
  std::vector<index::BlockRun> runs;
  {
    ReadScope s(*kv_);
    runs = allocator_.QuarantinedRuns(epoch);
  }
  // Give the space back to the host while the blocks are still quarantined:
  // punched after their release, a hole could land on a block a new write
  // already filled. A failed punch only costs space.
  for (const index::BlockRun& run : runs) {
    device_->Discard(run.start.value * kBlockSize, uint64_t{run.count} * kBlockSize).IgnoreError();
  }
  WriteScope s(*kv_);
  allocator_.ReleaseQuarantine(epoch);
  s.Commit();
}

Status Store::CheckWritable() const {
  if (sync_failed_.load(std::memory_order_acquire)) {
    return Status::IoError("a sync of the data file of " + dir_ +
                           " failed earlier; the store is read-only until it is reopened");
  }
  return Status::OK();
}

Status Store::SyncDataForCommit() {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  // Every block the sealed memtable references was written before its
  // metadata was recorded, so before the seal, so before this load.
  const uint64_t written = data_writes_.load(std::memory_order_acquire);
  if (written == synced_data_writes_) return Status::OK();
  if (Status s = device_->Sync(); !s.ok()) {
    sync_failed_.store(true, std::memory_order_release);
    std::fprintf(stderr, "hoodyfs: %s: data file sync failed (%s); refusing further changes\n",
                 dir_.c_str(), s.ToString().c_str());
    return s.WithContext("sync data file");
  }
  synced_data_writes_ = written;
  return Status::OK();
}

Status Store::MaybeFlush() {
  if (kv_->PendingBytes() > options_.flush_pending_bytes) return kv_->Flush();
  return Status::OK();
}

Status Store::Flush() { return kv_->Flush(); }

index::Timespec Store::Now() const { return options_.clock(); }

Ino Store::NextIno(WriteScope& scope) {
  const Ino ino(next_ino_++);
  scope.Put(Table::kMeta, kKeyNextIno, U64(next_ino_));
  return ino;
}

GenId Store::NextGen(WriteScope& scope) {
  const GenId gen(next_gen_++);
  scope.Put(Table::kMeta, kKeyNextGen, U64(next_gen_));
  return gen;
}

void Store::PutGeneration(WriteScope& scope, GenId gen, const GenerationRecord& rec) {
  scope.Put(Table::kGenerations, index::GenerationKey(gen), rec.Encode());
}

Result<ContainerRecord> Store::GetContainer(const KvScope& scope, const std::string& name) const {
  HOODY_ASSIGN_OR_RETURN(auto v, scope.Get(Table::kContainers, name));
  if (!v) return Status::NotFound("no container named '" + name + "'");
  return ContainerRecord::Decode(*v);
}

Result<Store::HeadInfo> Store::CurrentHeadInfo(const std::string& container) const {
  auto it = heads_.find(container);
  if (it == heads_.end()) return Status::NotFound("no container named '" + container + "'");
  return it->second;
}

Result<GenId> Store::CurrentHead(const std::string& container) const {
  HOODY_ASSIGN_OR_RETURN(HeadInfo info, CurrentHeadInfo(container));
  return info.gen;
}

void Store::SetHead(WriteScope& scope, const std::string& container, ContainerRecord rec,
                    bool new_lineage) {
  scope.Put(Table::kContainers, container, rec.Encode());
  auto previous = heads_.find(container);
  std::optional<HeadInfo> old;
  if (previous != heads_.end()) old = previous->second;
  const uint64_t lineage = new_lineage || !old ? next_lineage_++ : old->lineage;
  heads_[container] = HeadInfo{rec.head, lineage};
  scope.OnRollback([this, container, old] {
    if (old) {
      heads_[container] = *old;
    } else {
      heads_.erase(container);
    }
  });
}

Status Store::CreateRoot(WriteScope& scope, GenId gen) {
  InodeRecord root;
  root.mode = 040755;
  root.nlink = 2;
  root.atime = root.mtime = root.ctime = Now();
  Meta meta(tree_, allocator_);
  return meta.PutInode(scope, gen, kRootIno, root);
}

void Store::AddToTree(WriteScope& scope, GenId gen, GenId parent) {
  tree_.Add(gen, parent);
  scope.OnRollback([this, gen] { tree_.Remove(gen); });
}

Result<GenerationRecord> Store::GetGeneration(const KvScope& scope, GenId gen) const {
  HOODY_ASSIGN_OR_RETURN(auto v, scope.Get(Table::kGenerations, index::GenerationKey(gen)));
  if (!v) return Status::Corruption("generation " + std::to_string(gen.value) + " has no record");
  return GenerationRecord::Decode(*v);
}

Status Store::SetGenerationState(WriteScope& scope, GenId gen, GenState state) {
  HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GetGeneration(scope, gen));
  rec.state = state;
  PutGeneration(scope, gen, rec);
  return Status::OK();
}

Status Store::CreateContainerIn(WriteScope& s, const std::string& name, GenId from,
                                ContainerRecord record) {
  HOODY_RETURN_IF_ERROR(ValidateContainerName(name));
  HOODY_RETURN_IF_ERROR(CheckWritable());
  HOODY_ASSIGN_OR_RETURN(auto existing, s.Get(Table::kContainers, name));
  if (existing) return Status::Exists("container '" + name + "' already exists");
  if (from.valid() && !tree_.Contains(from)) {
    return Status::NotFound("generation " + std::to_string(from.value));
  }
  const index::Timespec now = Now();
  const GenId head = NextGen(s);
  PutGeneration(s, head, GenerationRecord{from, GenState::kHead, name, ToNs(now)});
  AddToTree(s, head, from);
  if (!from.valid()) HOODY_RETURN_IF_ERROR(CreateRoot(s, head));
  record.head = head;
  record.created_ns = ToNs(now);
  SetHead(s, name, std::move(record), /*new_lineage=*/true);
  return Status::OK();
}

void Store::RemoveContainerIn(WriteScope& s, const std::string& name) {
  s.Delete(Table::kContainers, name);
  auto it = heads_.find(name);
  if (it == heads_.end()) return;
  const HeadInfo old = it->second;
  heads_.erase(it);
  s.OnRollback([this, name, old] { heads_[name] = old; });
}

Status Store::CreateContainer(const std::string& name, GenId from) {
  {
    WriteScope s(*kv_);
    HOODY_RETURN_IF_ERROR(CreateContainerIn(s, name, from, ContainerRecord{}));
    s.Commit();
  }
  return kv_->Flush();
}

std::vector<std::string> Store::ListContainers() const {
  std::vector<std::string> names;
  ReadScope s(*kv_);
  auto it = s.NewIterator(Table::kContainers);
  if (!it.ok()) return names;
  for (it->Seek(""); it->Valid(); it->Next()) names.emplace_back(it->key());
  return names;
}

Result<GenId> Store::HeadOf(const std::string& container) const {
  ReadScope s(*kv_);
  return CurrentHead(container);
}

Result<GenerationInfo> Store::Generation(GenId gen) const {
  ReadScope s(*kv_);
  HOODY_ASSIGN_OR_RETURN(auto v, s.Get(Table::kGenerations, index::GenerationKey(gen)));
  if (!v) return Status::NotFound("generation " + std::to_string(gen.value));
  HOODY_ASSIGN_OR_RETURN(GenerationRecord rec, GenerationRecord::Decode(*v));
  return GenerationInfo{gen, rec.parent, rec.state, rec.container, rec.created_ns};
}

Result<GenId> Store::FreezeIn(WriteScope& s, const std::string& container) {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  HOODY_ASSIGN_OR_RETURN(ContainerRecord c, GetContainer(s, container));
  const GenId frozen = c.head;
  HOODY_RETURN_IF_ERROR(SetGenerationState(s, frozen, GenState::kFrozen));
  const GenId head = NextGen(s);
  PutGeneration(s, head, GenerationRecord{frozen, GenState::kHead, container, ToNs(Now())});
  AddToTree(s, head, frozen);
  c.head = head;
  SetHead(s, container, std::move(c), /*new_lineage=*/false);
  return frozen;
}

Result<GenId> Store::BranchIn(WriteScope& s, const std::string& container, GenId from) {
  HOODY_RETURN_IF_ERROR(CheckWritable());
  HOODY_ASSIGN_OR_RETURN(ContainerRecord c, GetContainer(s, container));
  if (!tree_.Contains(from)) return Status::NotFound("generation " + std::to_string(from.value));
  const GenId head = NextGen(s);
  PutGeneration(s, head, GenerationRecord{from, GenState::kHead, container, ToNs(Now())});
  AddToTree(s, head, from);
  c.head = head;
  SetHead(s, container, std::move(c), /*new_lineage=*/true);
  return head;
}

Result<GenId> Store::Freeze(const std::string& container) {
  GenId frozen;
  {
    WriteScope s(*kv_);
    HOODY_ASSIGN_OR_RETURN(frozen, FreezeIn(s, container));
    s.Commit();
  }
  HOODY_TEST_HOOK("store.freeze.before_flush");
  // The freeze and every write before it become durable together.
  HOODY_RETURN_IF_ERROR(kv_->Flush());
  return frozen;
}

Result<GenId> Store::Branch(const std::string& container, GenId from) {
  GenId head;
  {
    WriteScope s(*kv_);
    HOODY_ASSIGN_OR_RETURN(GenId old_head, CurrentHead(container));
    HOODY_ASSIGN_OR_RETURN(head, BranchIn(s, container, from));
    // The replaced head stays readable as it was: nothing writes it again.
    HOODY_RETURN_IF_ERROR(SetGenerationState(s, old_head, GenState::kFrozen));
    s.Commit();
  }
  HOODY_RETURN_IF_ERROR(kv_->Flush());
  return head;
}

Result<FileSystem> Store::Head(const std::string& container) {
  HOODY_RETURN_IF_ERROR(HeadOf(container).status());
  return FileSystem(this, container, GenId());
}

Result<FileSystem> Store::AtGeneration(GenId gen) {
  {
    ReadScope s(*kv_);
    if (!tree_.Contains(gen)) return Status::NotFound("generation " + std::to_string(gen.value));
  }
  return FileSystem(this, std::nullopt, gen);
}

Result<index::BlockRun> Store::AllocateBlocks(WriteScope& scope, uint32_t max_blocks) {
  HOODY_ASSIGN_OR_RETURN(index::BlockRun run, ReserveBlocks(scope, max_blocks));
  allocator_.Claim(scope, run, /*free_on_rollback=*/true);
  return run;
}

Result<index::BlockRun> Store::ReserveBlocks(WriteScope& scope, uint32_t max_blocks) {
  Result<index::BlockRun> run = allocator_.Reserve(max_blocks);
  if (run.ok() || run.status().code() != Code::kNoSpace) return run;
  // Grow the data file by whole free-map groups, then retry once.
  const uint64_t group_bytes = uint64_t{index::kFreeMapGroupBlocks} * kBlockSize;
  const uint64_t step = std::max<uint64_t>(options_.grow_step_bytes, group_bytes);
  const uint64_t groups = step / group_bytes;
  const uint64_t new_size =
      (allocator_.capacity_blocks() + groups * index::kFreeMapGroupBlocks) * uint64_t{kBlockSize};
  // The data file may already be that large: a process that died after
  // growing it, before the commit recording the new groups, leaves it so (as
  // does a growth whose scope rolled back). Grow never shrinks: ask only for
  // what is missing.
  if (device_->SizeBytes() < new_size) {
    HOODY_RETURN_IF_ERROR(device_->Grow(new_size).WithContext("grow data file"));
  }
  // The commit that records the new groups must find the new size durable
  // (Load refuses a free map larger than the file), even when no data write
  // follows (the write that wanted the space failed): count the growth like
  // a data write, so that commit syncs the data file first.
  data_writes_.fetch_add(1, std::memory_order_release);
  allocator_.AddGroups(scope, groups);
  return allocator_.Reserve(max_blocks);
}

// ---- pins ----

Store::Pin::Pin(Pin&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)), gen_(other.gen_), id_(other.id_) {}

Store::Pin& Store::Pin::operator=(Pin&& other) noexcept {
  if (this != &other) {
    Release();
    store_ = std::exchange(other.store_, nullptr);
    gen_ = other.gen_;
    id_ = other.id_;
  }
  return *this;
}

Store::Pin::~Pin() { Release(); }

void Store::Pin::Release() {
  if (store_ == nullptr) return;
  std::lock_guard l(store_->pins_mu_);
  auto it = store_->pins_.find(gen_.value);
  if (it != store_->pins_.end()) {
    it->second.erase(id_);
    if (it->second.empty()) store_->pins_.erase(it);
  }
  store_ = nullptr;
}

Store::Pin Store::PinGeneration(GenId gen, std::string reason) {
  std::lock_guard l(pins_mu_);
  const uint64_t id = next_pin_id_++;
  pins_[gen.value][id] = std::move(reason);
  return Pin(this, gen, id);
}

std::optional<std::string> Store::PinnedBy(GenId gen) const {
  std::lock_guard l(pins_mu_);
  auto it = pins_.find(gen.value);
  if (it == pins_.end() || it->second.empty()) return std::nullopt;
  return it->second.begin()->second;
}

uint64_t Store::capacity_blocks() const {
  ReadScope s(*kv_);
  return allocator_.capacity_blocks();
}

uint64_t Store::used_blocks() const {
  ReadScope s(*kv_);
  return allocator_.used_blocks();
}

}  // namespace hoodyfs::snapshotter
