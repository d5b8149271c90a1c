// The message of the exception a call throws, for tests that assert exact error text.
// Header-only and torch-free so every suite can include it.
#pragma once
#include <string>
#include <utility>

namespace ds::test {

/// e.what() of the E that `f()` throws, or "no error" when it returns; any other exception
/// propagates (and fails the test).
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const E& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace ds::test
