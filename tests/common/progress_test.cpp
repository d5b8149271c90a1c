#include "common/progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace ds {

namespace {
std::string read_all(FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[256];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  return out;
}
}  // namespace

TEST(Progress, PlainLinesWhenNotATerminal) {
  FILE* f = std::tmpfile();
  {
    Progress p("profile", 4, {.enabled = true, .plain_interval_s = 0.0, .stream = f, .force_tty = 0});
    p.update(2, "gemm");
    p.finish("done");
  }
  std::string out = read_all(f);
  EXPECT_NE(out.find("profile 2/4 ( 50%)"), std::string::npos) << out;
  EXPECT_NE(out.find("profile 4/4 (100%) in 0s done"), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
  std::fclose(f);
}

TEST(Progress, DisabledPrintsNothing) {
  FILE* f = std::tmpfile();
  {
    Progress p("x", 3, {.enabled = false, .plain_interval_s = 0.0, .stream = f, .force_tty = 1});
    p.update(1);
    p.finish();
  }
  EXPECT_EQ(read_all(f), "");
  std::fclose(f);
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(Progress::format_duration(12), "12s");
  EXPECT_EQ(Progress::format_duration(65), "1m05s");
  EXPECT_EQ(Progress::format_duration(7380), "2h03m");
}

}  // namespace ds
