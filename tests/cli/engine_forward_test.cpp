// End to end: the light `ds` serves torch-free subcommands itself and hands the rest, command
// line unchanged, to `ds-engine` beside it (cli/engine_forward.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/support/run_ds.hpp"

namespace {

namespace fs = std::filesystem;
using ds::test::DsRun;
using ds::test::run_ds;
using ds::test::run_program;

// A copy of the light ds alone in a fresh directory: no ds-engine next to it.
class LoneDs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("ds-lone-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy_file(DS_BINARY, dir_ / "ds");
  }
  void TearDown() override { fs::remove_all(dir_); }

  DsRun lone(const std::string& args) const { return run_program((dir_ / "ds").string(), args); }

  fs::path dir_;
};

TEST_F(LoneDs, TorchFreeSubcommandsRunWithoutTheEngine) {
  DsRun r = lone("estimate params --model gpt2");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("124,439,808 params"), std::string::npos) << r.out;
  r = lone("--db '" + (dir_ / "x.db").string() + "' profile list");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no profiles stored yet; run `ds profile --quick`\n");
  r = lone("config check '" + std::string(DS_SOURCE_DIR) + "/configs/examples/zero3_bf16.json' --world-size 8");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(LoneDs, MissingEngineNamesThePathAndHowToBuildIt) {
  const std::string engine = (dir_ / "ds-engine").string();
  DsRun r = lone("data info x.bin");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ds: error: " + engine +
                       ": cannot start the engine that `ds data` runs in (got No such file or directory); expected "
                       "the ds-engine executable in the same directory as ds; hint: build it with "
                       "`./scripts/build ds-engine` (a plain ./scripts/build builds both), or copy it next to ds\n");
  // Measuring is the engine's too, while `profile list` above is not.
  r = lone("profile --quick");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(engine + ": cannot start the engine that `ds profile` runs in"), std::string::npos) << r.err;
}

// The light binary must not pull LibTorch in, or it starts no faster than ds-engine.
TEST(EngineForward, LightBinaryDoesNotLinkLibTorch) {
  if (::access("/usr/bin/ldd", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/ldd";
  DsRun r = run_program("/usr/bin/ldd", std::string("'") + DS_BINARY + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("libc.so"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("libtorch"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("libc10"), std::string::npos) << r.out;
}

// What ds prints and returns for an engine subcommand is exactly what ds-engine does.
TEST(EngineForward, EngineSubcommandsGiveTheEnginesExitCodeAndOutput) {
  for (const std::string args : {"data info /nonexistent/train.bin", "--json data info /nonexistent/train.bin",
                                 "eval --help", "train --help", "env --no-such-flag",
                                 "-q profile collectives-worker"}) {
    DsRun via_ds = run_ds(args);
    DsRun direct = run_program(DS_ENGINE_BINARY, args);
    EXPECT_EQ(via_ds.code, direct.code) << args;
    EXPECT_EQ(via_ds.out, direct.out) << args;
    EXPECT_EQ(via_ds.err, direct.err) << args;
  }
  DsRun r = run_ds("data info /nonexistent/train.bin");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent/train.bin: token file not found"), std::string::npos) << r.err;
  r = run_ds("eval --help");
  EXPECT_EQ(r.code, 0);
  // The stand-in has no help of its own, so this page is the engine's, with the real flags.
  EXPECT_NE(r.out.find("Usage: ds eval"), std::string::npos) << r.out;
  r = run_ds("-q profile collectives-worker");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out is required"), std::string::npos) << r.err;
}

// ds registers stand-ins for the engine's subcommands: its --help must be ds-engine's, word for word.
TEST(EngineForward, HelpListsEverySubcommandLikeTheEngine) {
  DsRun light = run_ds("--help");
  DsRun engine = run_program(DS_ENGINE_BINARY, "--help");
  ASSERT_EQ(light.code, 0);
  for (const char* name : {"estimate", "profile", "tune", "config", "train", "eval", "data", "checkpoint",
                           "generate", "serve", "tokenize", "bench", "env"}) {
    EXPECT_NE(light.out.find("\n  " + std::string(name) + " "), std::string::npos) << name << "\n" << light.out;
  }
  EXPECT_EQ(light.out, engine.out) << "a subcommand's name or description differs between ds and ds-engine: "
                                      "update kEngineCommands in cli/engine_forward.cpp";
}

TEST(EngineForward, TheRankWorkerVerbIsHidden) {
  DsRun r = run_ds("profile --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("list"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("collectives-worker"), std::string::npos) << r.out;
}

}  // namespace
