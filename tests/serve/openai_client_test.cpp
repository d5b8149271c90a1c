// The official OpenAI Node client, unchanged, against the server with the fake generator
// (tests/serve/openai_client_test.mjs). Needs node and the npm `openai` package that
// scripts/fetch-test-deps puts in .cache/node/node_modules (or $DS_NODE_MODULES); skipped without.
#include <cstdlib>
#include <filesystem>

#include "tests/serve/server_fixture.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::engine::serve::test {
namespace {

namespace fs = std::filesystem;

fs::path node_modules() {
  if (const char* dir = std::getenv("DS_NODE_MODULES"); dir != nullptr && *dir != '\0') return dir;
  return fs::path(DS_SOURCE_DIR) / ".cache/node/node_modules";
}

TEST_F(ServerTest, OfficialOpenAiNodeClient) {
  const fs::path modules = node_modules();
  if (ds::test::run_program("/bin/sh", "-c 'command -v node' ").code != 0) {
    GTEST_SKIP() << "no node on PATH: scripts/setup installs nodejs, scripts/fetch-test-deps the openai package";
  }
  if (!fs::exists(modules / "openai/index.mjs")) {
    GTEST_SKIP() << "no " << (modules / "openai").string() << ": run scripts/fetch-test-deps (or set DS_NODE_MODULES)";
  }
  start(ServerOptions{.api_key = "test-key"});
  const std::string script = std::string(DS_SOURCE_DIR) + "/tests/serve/openai_client_test.mjs";
  const auto run = ds::test::run_program("node", "'" + script + "' '" + modules.string() + "' 'http://127.0.0.1:" +
                                                     std::to_string(server->port()) + "/v1' test-key fake-model");
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  for (const char* check : {"ok models.list", "ok completions.create", "ok chat.completions.create", "ok chat stream",
                            "ok completions stream", "ok beta.chat.completions.stream", "ok 400 names the field",
                            "ok 404 unknown model", "ok 401 wrong key"}) {
    EXPECT_NE(run.out.find(check), std::string::npos) << "missing '" << check << "' in:\n" << run.out << run.err;
  }
}

}  // namespace
}  // namespace ds::engine::serve::test
