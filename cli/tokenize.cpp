// `ds tokenize`: text -> token ids (and back with --decode) with a Hugging Face tokenizer.json,
// the same tokenizer `ds data prepare --tokenizer` and the serving engine use. Torch-free, so it
// runs in the light `ds`.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_context.hpp"
#include "common/error.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace ds::cli {
namespace {

namespace tok = ds::engine::tokenizer;

struct TokenizeFlags {
  std::string tokenizer;           ///< tokenizer.json, a model directory, or "byte"
  std::vector<std::string> args;   ///< the text (joined by spaces), or ids with --decode; none or "-": stdin
  bool decode = false;             ///< ids -> text
  bool no_special = false;         ///< add no BOS and read special-token text as plain text
};

std::string read_stdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::string input_text(const std::vector<std::string>& args) {
  if (args.empty() || (args.size() == 1 && args[0] == "-")) return read_stdin();
  std::string text;
  for (const auto& a : args) text += (text.empty() ? "" : " ") + a;
  return text;
}

std::vector<std::uint32_t> parse_ids(const std::vector<std::string>& args, std::int64_t vocab_size) {
  std::vector<std::string> words = args;
  if (args.empty() || (args.size() == 1 && args[0] == "-")) {
    std::istringstream in(read_stdin());
    words.assign(std::istream_iterator<std::string>(in), std::istream_iterator<std::string>());
  }
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(w, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != w.size() || value < 0 || value >= vocab_size) {
      throw UsageError(format_error("--decode: id " + std::to_string(i + 1), "not a token id", "'" + w + "'",
                                    "an integer in [0, " + std::to_string(vocab_size) + ")"));
    }
    ids.push_back(static_cast<std::uint32_t>(value));
  }
  return ids;
}

void run_tokenize(const TokenizeFlags& f, bool json) {
  const auto tokenizer = tok::make_tokenizer(f.tokenizer);
  if (f.decode) {
    const std::string text = tokenizer->decode(parse_ids(f.args, tokenizer->vocab_size()));
    if (json) std::printf("%s\n", nlohmann::json{{"text", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    else std::printf("%s\n", text.c_str());
    return;
  }
  const tok::EncodeOptions options{.add_special_tokens = !f.no_special, .parse_special = !f.no_special};
  const auto ids = tokenizer->encode(input_text(f.args), options);
  if (json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (auto id : ids) tokens.push_back(tokenizer->id_to_token(id));
    nlohmann::json j{{"ids", ids}, {"tokens", tokens}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::string line;
  for (auto id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
  std::printf("%s\n", line.c_str());
}

}  // namespace

void register_tokenize(CLI::App& app, GlobalOptions& global) {
  auto f = std::make_shared<TokenizeFlags>();
  auto* sub = app.add_subcommand("tokenize", "Tokenize text with a tokenizer.json");
  sub->add_option("--tokenizer", f->tokenizer, "tokenizer.json, a model directory holding one, or 'byte'")->required();
  sub->add_flag("--decode", f->decode, "Read token ids and print their text");
  sub->add_flag("--no-special", f->no_special, "Add no BOS/EOS and read special-token text (<|im_start|>) as plain text");
  sub->add_option("text", f->args, "The text (words joined by spaces), or ids with --decode; none or '-': read stdin");
  sub->footer("Prints the ids on one line, space separated (--json: {\"ids\": [...], \"tokens\": [...]}); with\n"
              "--decode the text (--json: {\"text\": \"...\"}).");
  sub->callback([f, &global] { run_tokenize(*f, global.json); });
}

}  // namespace ds::cli
