#include "blockstore/posix_device.h"

#include "blockstore/file_ops.h"

namespace hoodyfs::blockstore {

Result<std::unique_ptr<PosixDevice>> PosixDevice::Create(UniqueFd fd, PosixDeviceOptions options) {
  HOODY_ASSIGN_OR_RETURN(const uint64_t size, BackingFile::ReadSize(fd.get()));
  return std::unique_ptr<PosixDevice>(new PosixDevice(std::move(fd), size, std::move(options)));
}

Status PosixDevice::Execute(std::span<IoOp> ops) { return file_.ExecuteWithSyscalls(ops); }

std::string PosixDevice::Describe() const {
  std::string out = "pread/pwrite, ";
  out += options_.direct_io ? "O_DIRECT" : "buffered I/O + fdatasync";
  if (!options_.note.empty()) out += ", " + options_.note;
  return out;
}

}  // namespace hoodyfs::blockstore
