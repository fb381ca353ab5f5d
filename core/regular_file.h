// Opening a file to read it whole, refusing what is not a regular file: a directory, a FIFO, a
// device or a socket (reading a FIFO would wait for a writer forever). The readers of data/ and
// the safetensors loader of nn/ open their files through it; each throws its own error type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace descent::core {

// A regular file open for reading (without blocking, so that opening a FIFO returns at once).
class RegularFile {
 public:
  explicit RegularFile(const std::string& path);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  // Empty when the file is open; otherwise why not, e.g. "cannot open: No such file or directory"
  // or "not a regular file (a FIFO)".
  const std::string& error() const { return error_; }
  uint64_t size() const { return size_; }
  // Reads the next `count` bytes; false when the file ends first or a read fails.
  bool read(void* into, size_t count);

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string error_;
};

}  // namespace descent::core
