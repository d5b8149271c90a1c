#include "common/log.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ds {

TEST(Log, FiltersByLevelAndCaptures) {
  std::vector<std::string> seen;
  auto old = log::set_sink([&](log::Level, const std::string& m) { seen.push_back(m); });
  log::set_level(log::Level::kWarn);
  log::info("hidden");
  log::warn("shown ", 42);
  log::set_level(log::Level::kInfo);
  log::info("now ", "shown");
  log::set_sink(old);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "shown 42");
  EXPECT_EQ(seen[1], "now shown");
}

}  // namespace ds
