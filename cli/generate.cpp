// `ds generate`: a quick look at what a model writes, streamed to the terminal as it comes.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli_context.hpp"
#include "cli/serving_flags.hpp"
#include "common/error.hpp"

namespace ds::cli {
namespace {

struct GenerateFlags {
  ServingFlags serving;
  std::string prompt;
  bool chat = false;
  std::string system;
  engine::serve::SamplingParams sampling;
  std::optional<std::uint64_t> seed;
};

void run_generate(GenerateFlags& f, const GlobalOptions& global) {
  auto options = serving_options(f.serving);
  options.engine.max_running = 1;
  auto s = engine::infer::open_serving(options);
  std::string prompt = f.prompt;
  bool add_special = true;
  if (f.chat) {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!f.system.empty()) messages.push_back({{"role", "system"}, {"content", f.system}});
    messages.push_back({{"role", "user"}, {"content", f.prompt}});
    prompt = s.model.render_chat(messages, true, nullptr);
    add_special = false;
  }
  engine::serve::GenerationRequest request;
  request.prompt = s.model.encode(prompt, add_special);
  request.sampling = f.sampling;
  request.sampling.seed = f.seed;
  for (auto id : s.model.eos_token_ids) request.sampling.stop_token_ids.push_back(id);
  auto stream = s.engine->submit(std::move(request));
  const auto start = std::chrono::steady_clock::now();
  std::string text;
  engine::serve::GenerationUpdate last;
  for (;;) {
    auto u = stream->next(std::chrono::milliseconds(100));
    if (!u) continue;
    if (!global.json) {
      std::fputs(u->text.c_str(), stdout);
      std::fflush(stdout);
    }
    text += u->text;
    if (u->finish) {
      last = std::move(*u);
      break;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (*last.finish == engine::serve::FinishReason::kError) throw RuntimeError("ds generate: " + last.error);
  if (global.json) {
    nlohmann::ordered_json j;
    j["model"] = s.model.id;
    j["prompt"] = f.prompt;
    j["text"] = text;
    j["finish_reason"] = engine::serve::finish_reason_name(*last.finish);
    j["prompt_tokens"] = last.prompt_tokens;
    j["completion_tokens"] = last.completion_tokens;
    j["seconds"] = seconds;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("\n");
  if (!global.quiet) {
    std::fprintf(stderr, "[%lld prompt + %lld generated tokens, %.1f tokens/s, finish: %s]\n",
                 static_cast<long long>(last.prompt_tokens), static_cast<long long>(last.completion_tokens),
                 seconds > 0 ? static_cast<double>(last.completion_tokens) / seconds : 0.0,
                 engine::serve::finish_reason_name(*last.finish));
  }
}

}  // namespace

void register_generate(CLI::App& app, GlobalOptions& global) {
  auto f = std::make_shared<GenerateFlags>();
  f->sampling.max_tokens = 128;
  f->sampling.temperature = 0.0;
  auto* sub = app.add_subcommand("generate", "Generate text from a checkpoint or a Hugging Face model, streamed to the terminal");
  add_serving_flags(sub, f->serving);
  sub->add_option("-p,--prompt", f->prompt, "the text to continue")->required();
  sub->add_flag("--chat", f->chat, "wrap the prompt as a user message in the model's chat template");
  sub->add_option("--system", f->system, "with --chat: a system message first");
  sub->add_option("-n,--max-tokens", f->sampling.max_tokens, "tokens to generate at most")->capture_default_str();
  sub->add_option("--temperature", f->sampling.temperature, "0 = greedy")->capture_default_str();
  sub->add_option("--top-k", f->sampling.top_k, "0 = off")->capture_default_str();
  sub->add_option("--top-p", f->sampling.top_p)->capture_default_str();
  sub->add_option("--min-p", f->sampling.min_p)->capture_default_str();
  sub->add_option("--repetition-penalty", f->sampling.repetition_penalty)->capture_default_str();
  sub->add_option("--seed", f->seed, "same seed, same text");
  sub->add_option("--stop", f->sampling.stop, "stop before this string (repeatable)");
  sub->callback([f, &global] { run_generate(*f, global); });
}

}  // namespace ds::cli
