#include "common/units.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ds {

TEST(Units, FormatsBytesWithTwoDecimals) {
  EXPECT_EQ(format_bytes(80.0 * kGiB), "80.00 GiB");
  EXPECT_EQ(format_bytes(1.5 * kMiB), "1.50 MiB");
  EXPECT_EQ(format_bytes(12), "12 B");
}

TEST(Units, FormatsCounts) {
  EXPECT_EQ(format_thousands(124439808), "124,439,808");
  EXPECT_EQ(format_thousands(0), "0");
  EXPECT_EQ(format_count(6738415616.0), "6.74 B");
}

TEST(Units, ParsesSizes) {
  EXPECT_DOUBLE_EQ(parse_bytes("80GB", "--gpu-mem"), 80e9);
  EXPECT_DOUBLE_EQ(parse_bytes("80GiB", "--gpu-mem"), 80 * kGiB);
  EXPECT_DOUBLE_EQ(parse_bytes("80G", "--gpu-mem"), 80 * kGiB);
  EXPECT_DOUBLE_EQ(parse_bytes("1024", "--gpu-mem"), 1024);
  EXPECT_DOUBLE_EQ(parse_bytes("512 MiB", "--gpu-mem"), 512 * kMiB);
}

TEST(Units, RejectsBadSizesNamingTheFlag) {
  try {
    parse_bytes("eighty", "--gpu-mem");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "--gpu-mem: not a size (got 'eighty'); expected a number of bytes with an optional unit, "
                 "e.g. 80GB, 80GiB, 512MiB");
  }
  EXPECT_THROW(parse_bytes("80XB", "--gpu-mem"), UsageError);
}

TEST(Units, ParsesCounts) {
  EXPECT_DOUBLE_EQ(parse_count("7e9", "--params"), 7e9);
  EXPECT_DOUBLE_EQ(parse_count("7B", "--params"), 7e9);
  EXPECT_DOUBLE_EQ(parse_count("125m", "--params"), 125e6);
  EXPECT_THROW(parse_count("-3", "--params"), UsageError);
  EXPECT_THROW(parse_count("7Q", "--params"), UsageError);
}

}  // namespace ds
