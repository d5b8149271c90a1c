// End-to-end checks of the `ds` entry point: exit codes and messages users see first.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/run_ds.hpp"

using ds::test::DsRun;
using ds::test::run_ds;

TEST(DsMain, VersionNamesTheCommit) {
  DsRun r = run_ds("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.output().rfind("ds 0.", 0), 0u) << r.output();
  EXPECT_NE(r.output().find('('), std::string::npos);
}

TEST(DsMain, UnknownSubcommandSuggestsTheNearest) {
  DsRun r = run_ds("estimat");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output().find("ds: error: ds: unknown subcommand 'estimat'; expected one of the commands in `ds --help`; "
                          "did you mean 'estimate'?"),
            std::string::npos)
      << r.output();
}

TEST(DsMain, ASubcommandsBadFlagValueIsAUsageError) {
  DsRun r = run_ds("tune --model ds-tiny --gpu h100-80g --objective fastest --no-record");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output().find("ds: error: --objective: unknown objective (got 'fastest')"), std::string::npos) << r.output();
}

TEST(DsMain, NoSubcommandIsAUsageError) {
  DsRun r = run_ds("");
  EXPECT_EQ(r.code, 2);
}
