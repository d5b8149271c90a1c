// End-to-end checks of the `ds` entry point: exit codes and messages users see first.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct DsRun {
  int code = -1;
  std::string output;
};

DsRun run_ds(const std::string& args) {
  std::string cmd = std::string(DS_BINARY) + " " + args + " 2>&1";
  DsRun r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST(DsMain, VersionNamesTheCommit) {
  DsRun r = run_ds("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.output.rfind("ds 0.", 0), 0u) << r.output;
  EXPECT_NE(r.output.find('('), std::string::npos);
}

TEST(DsMain, UnknownSubcommandSuggestsTheNearest) {
  DsRun r = run_ds("estimat");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("ds: error: ds: unknown subcommand 'estimat'; expected one of the commands in `ds --help`; "
                          "did you mean 'estimate'?"),
            std::string::npos)
      << r.output;
}

TEST(DsMain, UnbuiltSubcommandSaysSoWithItsFlags) {
  DsRun r = run_ds("tune --model ds-tiny --out /nonexistent/x.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("ds tune: this subcommand is not part of this build yet"), std::string::npos) << r.output;
}

TEST(DsMain, NoSubcommandIsAUsageError) {
  DsRun r = run_ds("");
  EXPECT_EQ(r.code, 2);
}
