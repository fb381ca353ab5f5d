// RegularFile: open with O_NONBLOCK, then fstat the open descriptor (no race between a check of
// the path and the open), then plain read(2) calls. See core/regular_file.h.
#include <descent/core/regular_file.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace descent::core {

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

}  // namespace

RegularFile::RegularFile(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    error_ = std::string("cannot open: ") + std::strerror(errno);
    return;
  }
  struct stat status {};
  if (::fstat(fd_, &status) != 0) {
    error_ = std::string("cannot stat: ") + std::strerror(errno);
  } else if (!S_ISREG(status.st_mode)) {
    error_ = std::string("not a regular file (") + file_kind(status.st_mode) + ")";
  } else {
    size_ = static_cast<uint64_t>(status.st_size);
    return;
  }
  ::close(fd_);
  fd_ = -1;
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool RegularFile::read(void* into, size_t count) {
  auto* bytes = static_cast<char*>(into);
  while (count > 0 && fd_ >= 0) {
    ssize_t got = ::read(fd_, bytes, count);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    bytes += got;
    count -= static_cast<size_t>(got);
  }
  return count == 0;
}

}  // namespace descent::core
