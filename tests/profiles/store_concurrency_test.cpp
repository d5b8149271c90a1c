// Several writers on one database file at once: separate processes (as when several `ds`
// commands run side by side) and threads with their own Store. No row may be lost and no writer
// may fail with "database is locked".
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "profiles/store.hpp"

namespace ds::profiles {
namespace {
namespace fs = std::filesystem;

constexpr int kRowsPerWriter = 240;

fs::path fresh_db(const std::string& tag) {
  auto dir = fs::temp_directory_path() / ("ds_store_conc_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir / "ds.db";
}

StoreOptions writer_options(int busy_timeout_ms) {
  StoreOptions o;
  o.busy_timeout_ms = busy_timeout_ms;
  o.migrations = {{1, "rows", "CREATE TABLE rows (writer INTEGER, seq INTEGER, PRIMARY KEY (writer, seq))"}};
  return o;
}

// One writer: opens the file itself (so fresh-file creation and migration race too), then
// inserts its rows in transactions of 1..4 rows, checking inside each that none of its earlier
// rows went missing.
void write_rows(const fs::path& file, int writer, int busy_timeout_ms) {
  Store store(file, writer_options(busy_timeout_ms));
  int seq = 0;
  for (int batch = 0; seq < kRowsPerWriter; ++batch) {
    const int rows = std::min(1 + batch % 4, kRowsPerWriter - seq);
    store.transaction([&](Transaction& tx) {
      auto seen = tx.prepare("SELECT count(*) FROM rows WHERE writer = ?");
      seen.bind(1, writer).step();
      if (seen.get_int(0) != seq) throw RuntimeError("writer " + std::to_string(writer) + " lost rows");
      auto insert = tx.prepare("INSERT INTO rows (writer, seq) VALUES (?, ?)");
      for (int i = 0; i < rows; ++i) {
        insert.bind_all(writer, seq + i).run();
        insert.reset();
      }
    });
    seq += rows;
  }
}

void expect_all_rows(const fs::path& file, int writers) {
  Store store(file, writer_options(5000));
  auto total = store.prepare("SELECT count(*), count(DISTINCT writer) FROM rows");
  ASSERT_TRUE(total.step());
  EXPECT_EQ(total.get_int(0), std::int64_t{writers} * kRowsPerWriter);
  EXPECT_EQ(total.get_int(1), writers);
  auto per = store.prepare("SELECT writer, count(*), max(seq) FROM rows GROUP BY writer");
  while (per.step()) {
    EXPECT_EQ(per.get_int(1), kRowsPerWriter) << "writer " << per.get_int(0);
    EXPECT_EQ(per.get_int(2), kRowsPerWriter - 1) << "writer " << per.get_int(0);
  }
}

// busy_timeout 5000: SQLite's own wait; 0: every conflict goes through ds's retry with backoff.
class ConcurrentWriters : public ::testing::TestWithParam<int> {};

TEST_P(ConcurrentWriters, ProcessesLoseNoRowsAndNeverFail) {
  constexpr int kProcesses = 6;
  const auto file = fresh_db("proc" + std::to_string(GetParam()));
  int start[2];
  ASSERT_EQ(::pipe(start), 0);
  std::vector<pid_t> children;
  for (int w = 0; w < kProcesses; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(start[1]);
      char byte;
      (void)!::read(start[0], &byte, 1);  // returns when the parent closes the pipe: all start together
      int code = 0;
      try {
        write_rows(file, w, GetParam());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", w, e.what());
        code = 1;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  ::close(start[1]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer process failed, status " << status;
  }
  expect_all_rows(file, kProcesses);
  fs::remove_all(file.parent_path());
}

TEST_P(ConcurrentWriters, ThreadsWithTheirOwnStoreLoseNoRows) {
  constexpr int kThreads = 4;
  const auto file = fresh_db("thread" + std::to_string(GetParam()));
  std::vector<std::future<void>> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.push_back(std::async(std::launch::async, [&, w] { write_rows(file, w, GetParam()); }));
  }
  for (auto& f : writers) EXPECT_NO_THROW(f.get());
  expect_all_rows(file, kThreads);
  fs::remove_all(file.parent_path());
}

INSTANTIATE_TEST_SUITE_P(BusyTimeout, ConcurrentWriters, ::testing::Values(5000, 0));

// Holds the write lock of `file` for `hold` on another thread; `locked` fires once it has it.
std::future<void> hold_write_lock(const fs::path& file, std::chrono::milliseconds hold, std::promise<void>& locked) {
  return std::async(std::launch::async, [&locked, file, hold] {
    Store holder(file, writer_options(5000));
    holder.transaction([&](Transaction& tx) {
      tx.exec("INSERT INTO rows VALUES (-1, 0)");
      locked.set_value();
      std::this_thread::sleep_for(hold);
    });
  });
}

TEST(StoreBusy, AWriterWaitsOutALongTransactionThroughRetries) {
  const auto file = fresh_db("wait");
  { Store create(file, writer_options(5000)); }
  std::promise<void> locked;
  auto holder = hold_write_lock(file, std::chrono::milliseconds(300), locked);
  locked.get_future().wait();
  Store store(file, writer_options(1));  // SQLite gives up after 1 ms: ds's retry does the waiting
  const auto t0 = std::chrono::steady_clock::now();
  store.transaction([](Transaction& tx) { tx.exec("INSERT INTO rows VALUES (1, 0)"); });
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
  holder.get();
  auto count = store.prepare("SELECT count(*) FROM rows");
  count.step();
  EXPECT_EQ(count.get_int(0), 2);
  fs::remove_all(file.parent_path());
}

TEST(StoreBusy, GivingUpNamesTheFileAndTheWait) {
  const auto file = fresh_db("giveup");
  { Store create(file, writer_options(5000)); }
  std::promise<void> locked;
  auto holder = hold_write_lock(file, std::chrono::milliseconds(1500), locked);
  locked.get_future().wait();
  auto options = writer_options(10);
  options.max_busy_wait_ms = 200;
  Store store(file, options);
  try {
    store.transaction([](Transaction& tx) { tx.exec("INSERT INTO rows VALUES (1, 0)"); });
    ADD_FAILURE() << "expected StoreBusyError";
  } catch (const StoreBusyError& e) {
    EXPECT_EQ(std::string(e.what()),
              file.string() +
                  ": the database stayed locked by other writers for 200 ms (got SQLITE_BUSY); "
                  "hint: another ds process is holding the write lock; retry when it is done");
  }
  holder.get();
  fs::remove_all(file.parent_path());
}

}  // namespace
}  // namespace ds::profiles
