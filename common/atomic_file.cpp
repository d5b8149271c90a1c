#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/error.hpp"

namespace ds {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
  throw RuntimeError(format_error(path.string(), std::string(what) + " failed: " + std::strerror(errno)));
}

}  // namespace

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail(dir, "open directory");
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path dir = path.parent_path();
  if (!dir.empty()) {
    // The error_code overload: a filesystem_error escaping here would skip the house wording.
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      throw RuntimeError(format_error(path.string(), "create directory '" + dir.string() + "' failed: " + ec.message()));
    }
  }
  std::string tmp = path.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, "open");
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(tmp, "write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(tmp, "fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail(path, "rename");
  }
  fsync_directory(dir);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw UsageError(format_error(path.string(), "cannot read file", std::strerror(errno), "",
                                  "check the path and its permissions"));
  }
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace ds
