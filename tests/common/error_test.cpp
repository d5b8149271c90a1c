#include "common/error.hpp"

#include <gtest/gtest.h>

namespace ds {

TEST(FormatError, FollowsHouseWording) {
  EXPECT_EQ(format_error("ds_config.json: zero_optimization.stage", "out of range", "7", "0, 1, 2 or 3",
                         "use 3 to partition parameters"),
            "ds_config.json: zero_optimization.stage: out of range (got 7); expected 0, 1, 2 or 3; "
            "hint: use 3 to partition parameters");
  EXPECT_EQ(format_error("", "no model"), "no model");
}

TEST(Error, CarriesExitCodes) {
  EXPECT_EQ(ConfigError("x").exit_code(), 2);
  EXPECT_EQ(UsageError("x").exit_code(), 2);
  EXPECT_EQ(RuntimeError("x").exit_code(), 1);
  RequestError r("bad", 400, "messages[0].content");
  EXPECT_EQ(r.http_status(), 400);
  EXPECT_EQ(r.param(), "messages[0].content");
}

}  // namespace ds
