// `ds data prepare` (text / JSONL -> token files) and `ds data info` (what a token file holds).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli_context.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "engine/data/prepare.hpp"
#include "engine/data/token_file.hpp"

namespace ds::cli {
namespace {

using engine::data::PrepareOptions;
using engine::data::PrepareResult;

struct PrepareFlags {
  std::vector<std::string> inputs;
  std::string out;
  std::string val_out;
  PrepareOptions options;
};

void print_prepare(const PrepareResult& r, bool json) {
  if (json) {
    nlohmann::ordered_json j;
    j["train"] = {{"path", r.train.path.string()}, {"tokens", r.train.tokens}};
    j["val"] = r.val.path.empty() ? nlohmann::ordered_json(nullptr)
                                  : nlohmann::ordered_json{{"path", r.val.path.string()}, {"tokens", r.val.tokens}};
    j["documents"] = r.documents;
    j["input_bytes"] = r.input_bytes;
    j["tokenizer"] = r.tokenizer;
    j["vocab_size"] = r.vocab_size;
    j["dtype"] = engine::data::to_string(r.dtype);
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  Table table({"split", "file", "tokens"}, {Table::Align::kLeft, Table::Align::kLeft, Table::Align::kRight});
  table.add_row({"train", r.train.path.string(), format_thousands(static_cast<std::uint64_t>(r.train.tokens))});
  if (!r.val.path.empty()) {
    table.add_row({"val", r.val.path.string(), format_thousands(static_cast<std::uint64_t>(r.val.tokens))});
  }
  std::printf("%s", table.render().c_str());
  std::printf("%s of text in %lld documents; tokenizer '%s' (vocabulary %lld, stored as %s)\n",
              format_bytes(static_cast<double>(r.input_bytes)).c_str(), static_cast<long long>(r.documents),
              r.tokenizer.c_str(), static_cast<long long>(r.vocab_size), engine::data::to_string(r.dtype).c_str());
}

void register_prepare(CLI::App& data, GlobalOptions& global) {
  auto flags = std::make_shared<PrepareFlags>();
  auto* sub = data.add_subcommand("prepare", "Tokenize text or JSONL into llm.c-format token files (+ .json sidecar)");
  sub->add_option("--input", flags->inputs,
                  "Text file, .jsonl file or directory (repeatable); e.g. /usr/share/common-licenses")
      ->required();
  sub->add_option("--out", flags->out, "Training token file to write, e.g. data/train.bin")->required();
  sub->add_option("--val-out", flags->val_out, "Validation token file (default: <out stem>.val<ext>)");
  sub->add_option("--tokenizer", flags->options.tokenizer, "Tokenizer: byte (ids 0-255, end-of-text 256), or a HF tokenizer.json / model directory holding one")
      ->capture_default_str();
  sub->add_option("--val-fraction", flags->options.val_fraction, "Share of tokens held out for validation, [0, 1)")
      ->capture_default_str();
  sub->add_flag("--eot", flags->options.eot, "Put the end-of-text id between documents");
  sub->add_option("--text-field", flags->options.text_field, "JSONL field holding the text")->capture_default_str();
  sub->callback([flags, &global] {
    PrepareOptions options = flags->options;
    options.inputs.assign(flags->inputs.begin(), flags->inputs.end());
    options.out = flags->out;
    options.val_out = flags->val_out;
    options.progress = !global.json && !global.quiet;
    print_prepare(engine::data::prepare_data(options), global.json);
  });
}

void register_info(CLI::App& data, GlobalOptions& global) {
  auto path = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>();
  auto* sub = data.add_subcommand("info", "Show the format, dtype and token count of a token file");
  sub->add_option("file", *path, "Token file (.bin)")->required();
  sub->add_option("--dtype", *dtype, "dtype of a raw file without a sidecar: uint16 (default) or uint32");
  sub->callback([path, dtype, &global] {
    engine::data::TokenFileOptions options;
    if (!dtype->empty()) options.dtype = engine::data::parse_token_dtype(*dtype, "--dtype");
    auto file = engine::data::TokenFile::open(*path, options);
    const auto& info = file.info();
    const auto& meta = info.meta;
    nlohmann::ordered_json j;
    j["path"] = info.path.string();
    j["format"] = info.format == engine::data::TokenFileFormat::kLlmc ? "llm.c" : "raw";
    j["dtype"] = engine::data::to_string(info.dtype);
    j["tokens"] = info.num_tokens;
    j["vocab_size"] = meta ? nlohmann::ordered_json(meta->vocab_size) : nlohmann::ordered_json(nullptr);
    j["tokenizer"] = meta ? nlohmann::ordered_json(meta->tokenizer) : nlohmann::ordered_json(nullptr);
    if (global.json) {
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    Table table({"field", "value"});
    for (const auto& [key, value] : j.items()) {
      table.add_row({key, value.is_string() ? value.get<std::string>() : value.is_null() ? "unknown" : value.dump()});
    }
    std::printf("%s", table.render().c_str());
  });
}

}  // namespace

void register_data(CLI::App& app, GlobalOptions& global) {
  auto* data = app.add_subcommand("data", "Prepare token files from text or JSONL");
  data->require_subcommand(1);
  register_prepare(*data, global);
  register_info(*data, global);
}

}  // namespace ds::cli
