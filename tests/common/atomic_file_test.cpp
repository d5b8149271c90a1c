#include "common/atomic_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"

namespace ds {

TEST(AtomicFile, WritesAndReplacesWithoutLeavingTemporaries) {
  auto dir = std::filesystem::temp_directory_path() / ("ds_atomic_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto path = dir / "sub" / "f.json";
  write_file_atomic(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file(path), "second");
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir / "sub")) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, AParentThatCannotBeCreatedIsARuntimeErrorNamingPathAndReason) {
  // A regular file where a directory should be: create_directories fails even for root.
  auto dir = std::filesystem::temp_directory_path() / ("ds_atomic_parent_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  write_file_atomic(dir / "blocker", "not a directory");
  auto path = dir / "blocker" / "sub" / "f.json";
  try {
    write_file_atomic(path, "x");
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ": create directory '" + (dir / "blocker" / "sub").string() + "' failed: Not a directory");
  }
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, ReadingAMissingFileNamesIt) {
  try {
    read_file("/nonexistent/ds.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ds.json: cannot read file"), std::string::npos);
  }
}

}  // namespace ds
