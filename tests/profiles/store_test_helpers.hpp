// Shared by the tests/profiles/store*_test.cpp files.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>

#include "common/error.hpp"
#include "profiles/store.hpp"

namespace ds::profiles::store_testing {

/// A fresh directory per test (named after the pid and the test), removed afterwards.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(test->test_suite_name()) + "_" + test->name();
    for (char& c : name) c = (c == '/') ? '_' : c;
    path = std::filesystem::temp_directory_path() / ("ds_store_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

/// The message of the `E` that `f` throws; a test failure when it throws none.
template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no " << (std::is_same_v<E, RuntimeError> ? "RuntimeError" : "error of the expected type") << " thrown";
  return "";
}

inline std::string runtime_error_of(const std::function<void()>& f) { return error_of<RuntimeError>(f); }

/// The first column of every row `sql` returns, joined by commas.
inline std::string column_list(Store& store, const std::string& sql) {
  auto st = store.prepare(sql);
  std::string out;
  while (st.step()) {
    if (!out.empty()) out += ',';
    out += st.get_text(0);
  }
  return out;
}

/// Runs `sql` in a transaction of its own.
inline void exec(Store& store, const std::string& sql) {
  store.transaction([&](Transaction& tx) { tx.exec(sql); });
}

}  // namespace ds::profiles::store_testing
