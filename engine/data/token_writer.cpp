#include "engine/data/token_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace ds::engine::data {
namespace {

constexpr std::size_t kFlushBytes = 4u << 20;

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
  throw RuntimeError(format_error(path.string(), std::string(what) + " failed", std::strerror(errno)));
}

void pwrite_all(int fd, const unsigned char* data, std::size_t bytes, std::size_t offset,
                const std::filesystem::path& path) {
  while (bytes > 0) {
    ssize_t n = ::pwrite(fd, data, bytes, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, "write");
    }
    data += n;
    bytes -= static_cast<std::size_t>(n);
    offset += static_cast<std::size_t>(n);
  }
}

void pread_all(int fd, unsigned char* data, std::size_t bytes, std::size_t offset, const std::filesystem::path& path) {
  while (bytes > 0) {
    ssize_t n = ::pread(fd, data, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, "read");
    data += n;
    bytes -= static_cast<std::size_t>(n);
    offset += static_cast<std::size_t>(n);
  }
}

}  // namespace

TokenFileWriter::TokenFileWriter(std::filesystem::path path, TokenFileMeta meta)
    : path_(std::move(path)), meta_(std::move(meta)) {
  if (meta_.vocab_size <= 0) {
    throw RuntimeError(format_error(path_.string(), "token file writer needs the vocabulary size",
                                    std::to_string(meta_.vocab_size), "> 0"));
  }
  meta_.format = TokenFileFormat::kLlmc;
  meta_.dtype = dtype_for_vocab(meta_.vocab_size);
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
  tmp_ = path_.string() + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(tmp_, "open");
  std::array<unsigned char, kLlmcHeaderBytes> zeros{};  // the real header is written by commit()
  pwrite_all(fd_, zeros.data(), zeros.size(), 0, tmp_);
}

TokenFileWriter::~TokenFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void TokenFileWriter::append(std::span<const std::uint32_t> tokens) {
  const std::size_t width = dtype_bytes(meta_.dtype);
  // Checked before any is buffered: a rejected append leaves the writer as it was.
  for (std::uint32_t id : tokens) {
    if (static_cast<std::int64_t>(id) >= meta_.vocab_size) {
      throw RuntimeError(format_error(path_.string(), "token id outside the tokenizer's vocabulary",
                                      std::to_string(id), "ids below " + std::to_string(meta_.vocab_size)));
    }
  }
  for (std::uint32_t id : tokens) {
    unsigned char bytes[4];
    std::memcpy(bytes, &id, 4);  // little-endian: the low `width` bytes are the narrow value
    buffer_.insert(buffer_.end(), bytes, bytes + width);
  }
  count_ += static_cast<std::int64_t>(tokens.size());
  if (buffer_.size() >= kFlushBytes) flush();
}

void TokenFileWriter::flush() {
  if (buffer_.empty()) return;
  const std::size_t width = dtype_bytes(meta_.dtype);
  const std::size_t flushed = static_cast<std::size_t>(count_) - buffer_.size() / width;
  pwrite_all(fd_, buffer_.data(), buffer_.size(), kLlmcHeaderBytes + flushed * width, tmp_);
  buffer_.clear();
}

void TokenFileWriter::move_tail_to(std::int64_t from, TokenFileWriter& other) {
  flush();
  const std::size_t width = dtype_bytes(meta_.dtype);
  constexpr std::int64_t kChunk = 1 << 20;
  std::vector<unsigned char> raw;
  std::vector<std::uint32_t> ids;
  for (std::int64_t start = from; start < count_; start += kChunk) {
    std::int64_t n = std::min(kChunk, count_ - start);
    raw.resize(static_cast<std::size_t>(n) * width);
    pread_all(fd_, raw.data(), raw.size(), kLlmcHeaderBytes + static_cast<std::size_t>(start) * width, tmp_);
    ids.assign(static_cast<std::size_t>(n), 0);
    for (std::size_t i = 0; i < ids.size(); ++i) std::memcpy(&ids[i], raw.data() + i * width, width);
    other.append(ids);
  }
  if (::ftruncate(fd_, static_cast<off_t>(kLlmcHeaderBytes + static_cast<std::size_t>(from) * width)) != 0) {
    fail(tmp_, "truncate");
  }
  count_ = from;
}

TokenFileMeta TokenFileWriter::commit() {
  flush();
  if (count_ > std::numeric_limits<std::int32_t>::max()) {
    throw UsageError(format_error(path_.string(), "too many tokens for one llm.c file", std::to_string(count_),
                                  "fewer than 2^31 (the header stores the count as int32)",
                                  "split the input into several files"));
  }
  std::array<std::int32_t, 256> header{};
  const bool narrow = meta_.dtype == TokenDtype::kUint16;
  header[0] = narrow ? kLlmcMagicGpt2 : kLlmcMagicLlama3;
  header[1] = narrow ? kLlmcVersionGpt2 : kLlmcVersionLlama3;
  header[2] = static_cast<std::int32_t>(count_);
  pwrite_all(fd_, reinterpret_cast<const unsigned char*>(header.data()), kLlmcHeaderBytes, 0, tmp_);
  if (::fsync(fd_) != 0) fail(tmp_, "fsync");
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp_.c_str());
    fail(path_, "rename");
  }
  meta_.num_tokens = count_;
  write_file_atomic(sidecar_path(path_), sidecar_json(meta_));  // also fsyncs the directory
  return meta_;
}

TokenFileMeta write_token_file(const std::filesystem::path& path, std::span<const std::uint32_t> tokens,
                               const TokenFileMeta& meta) {
  TokenFileWriter writer(path, meta);
  writer.append(tokens);
  return writer.commit();
}

}  // namespace ds::engine::data
