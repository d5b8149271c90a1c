#include "engine/io/file_io.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::io {
namespace {

namespace fs = std::filesystem;

std::string tmp_of(const fs::path& p) { return p.string() + ".tmp." + std::to_string(::getpid()); }

TEST(MappedFile, MapsTheWholeFileCopyOnWrite) {
  test::ScratchDir dir("mapped");
  const fs::path p = dir.path() / "f.bin";
  const std::string bytes("ab\0cd\xff", 6);
  write_file_atomic(p, bytes);
  auto m = MappedFile::open(p);
  ASSERT_EQ(m->size(), 6u);
  EXPECT_EQ(m->path(), p);
  EXPECT_EQ(std::memcmp(m->data(), bytes.data(), 6), 0);
  // MAP_PRIVATE: writing through the mapping changes neither the file nor a second mapping.
  m->data()[0] = 'Z';
  EXPECT_EQ(m->data()[0], 'Z');
  EXPECT_EQ(read_file(p), bytes);
  EXPECT_EQ(MappedFile::open(p)->data()[0], 'a');
}

TEST(MappedFile, EmptyFileMapsToNothingAndMissingFileNamesThePath) {
  test::ScratchDir dir("mapped-edge");
  const fs::path empty = dir.path() / "empty.bin";
  write_file_atomic(empty, "");
  auto m = MappedFile::open(empty);
  EXPECT_EQ(m->size(), 0u);
  EXPECT_EQ(m->data(), nullptr);
  const fs::path missing = dir.path() / "missing.bin";
  try {
    MappedFile::open(missing);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), missing.string() +
                                         ": cannot open file (got No such file or directory); hint: check the path "
                                         "and its permissions");
  }
}

TEST(AtomicFileWriter, OldFileStaysUntilCommitThenIsReplaced) {
  test::ScratchDir dir("atomic-writer");
  const fs::path p = dir.path() / "out.bin";
  write_file_atomic(p, "old contents");
  {
    AtomicFileWriter w(p);
    w.write("new ", 4);
    w.write("data", 4);
    w.write("", 0);
    EXPECT_EQ(w.bytes_written(), 8u);
    EXPECT_EQ(read_file(p), "old contents");
    EXPECT_EQ(read_file(tmp_of(p)), "new data");
    w.commit();
  }
  EXPECT_EQ(read_file(p), "new data");
  EXPECT_FALSE(fs::exists(tmp_of(p)));
}

TEST(AtomicFileWriter, DestroyedWithoutCommitLeavesNoTrace) {
  test::ScratchDir dir("atomic-abandon");
  const fs::path p = dir.path() / "out.bin";
  write_file_atomic(p, "old");
  {
    AtomicFileWriter w(p);
    w.write("partial", 7);
  }
  EXPECT_EQ(read_file(p), "old");
  EXPECT_FALSE(fs::exists(tmp_of(p)));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}), 1);
}

TEST(AtomicFileWriter, UnwritableDirectoryIsARuntimeErrorNamingTheTemporary) {
  test::ScratchDir dir("atomic-missing");
  const fs::path p = dir.path() / "no" / "out.bin";
  try {
    AtomicFileWriter w(p);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), tmp_of(p) + ": open failed: No such file or directory");
  }
  EXPECT_FALSE(fs::exists(dir.path() / "no"));
}

}  // namespace
}  // namespace ds::engine::io
