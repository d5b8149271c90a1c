#include "engine/data/prepare.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/progress.hpp"
#include "engine/data/token_writer.hpp"
#include "engine/data/tokenizer.hpp"

namespace ds::engine::data {
namespace {

namespace fs = std::filesystem;

// Text is tokenized in pieces of about this size, cut after a line break.
constexpr std::size_t kPieceBytes = 1u << 20;

std::vector<fs::path> expand_inputs(const std::vector<fs::path>& inputs) {
  if (inputs.empty()) throw UsageError(format_error("--input", "no input given", "", "a text, JSONL file or directory"));
  std::vector<fs::path> files;
  for (const auto& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(input)) {
        if (!entry.is_symlink() && entry.is_regular_file()) found.push_back(entry.path());
      }
      if (found.empty()) throw UsageError(format_error(input.string(), "directory holds no regular files"));
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(input, ec)) {
      files.push_back(input);
    } else {
      throw UsageError(format_error(input.string(), "input not found", "", "a text file, a .jsonl file or a directory",
                                    std::string("the Debian license texts in ") + kDebianSampleCorpus +
                                        " make a small corpus"));
    }
  }
  return files;
}

/// Turns documents into tokens in the writer, with an end-of-text id between documents. Pieces
/// are queued and encoded on every core at once (tokenizers are thread-safe); their ids reach the
/// writer in input order, so the file does not depend on the number of cores.
class Encoder {
 public:
  Encoder(const Tokenizer& tokenizer, TokenFileWriter& writer, bool eot)
      : tokenizer_(tokenizer), writer_(writer), eot_(eot), threads_(std::max(1u, std::thread::hardware_concurrency())) {}

  void begin_document() {
    if (eot_ && documents_ > 0) queue_.push_back({{}, true});
    ++documents_;
  }
  void text(std::string_view piece) {
    queue_.push_back({std::string(piece), false});
    queued_bytes_ += piece.size();
    if (queued_bytes_ >= kBatchBytes) flush();
  }
  /// Encodes and writes what is queued; call once after the last document.
  void flush() {
    std::vector<std::vector<std::uint32_t>> ids(queue_.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < queue_.size(); i = next++) {
        if (queue_[i].eot) ids[i].push_back(*tokenizer_.eot_id());
        else tokenizer_.encode(queue_[i].text, ids[i]);
      }
    };
    // std::async carries a worker's exception (a tokenizer error) back to this thread.
    std::vector<std::future<void>> workers;
    for (unsigned k = 1; k < threads_ && k < queue_.size(); ++k) workers.push_back(std::async(std::launch::async, work));
    work();
    for (auto& w : workers) w.get();
    for (const auto& v : ids) writer_.append(v);
    queue_.clear();
    queued_bytes_ = 0;
  }
  std::int64_t documents() const { return documents_; }

 private:
  // Enough pieces that every core has several, little enough to keep memory modest.
  static constexpr std::size_t kBatchBytes = 16u << 20;
  struct Item {
    std::string text;
    bool eot;  ///< the end-of-text id between two documents instead of text
  };
  const Tokenizer& tokenizer_;
  TokenFileWriter& writer_;
  bool eot_;
  unsigned threads_;
  std::int64_t documents_ = 0;
  std::vector<Item> queue_;
  std::size_t queued_bytes_ = 0;
};

std::ifstream open_input(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(format_error(path.string(), "cannot read input file"));
  return in;
}

/// A plain-text file is one document, fed to the tokenizer in pieces that end at a line break.
void encode_text_file(const fs::path& path, Encoder& encoder, const std::function<void(std::size_t)>& advance) {
  std::ifstream in = open_input(path);
  encoder.begin_document();
  std::string buffer;
  std::vector<char> chunk(kPieceBytes);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    auto got = static_cast<std::size_t>(in.gcount());
    buffer.append(chunk.data(), got);
    const std::size_t cut = buffer.rfind('\n');
    if (cut != std::string::npos) {
      encoder.text(std::string_view(buffer).substr(0, cut + 1));
      buffer.erase(0, cut + 1);
    } else if (buffer.size() >= 4 * kPieceBytes) {
      // A very long line is passed whole once it is large, so memory stays bounded.
      encoder.text(buffer);
      buffer.clear();
    }
    advance(got);
  }
  if (!buffer.empty()) encoder.text(buffer);
}

std::string json_type(const nlohmann::json& v) { return v.type_name(); }

/// JSONL: every non-blank line is a JSON object whose `field` holds one document's text.
void encode_jsonl_file(const fs::path& path, const std::string& field, Encoder& encoder,
                       const std::function<void(std::size_t)>& advance) {
  std::ifstream in = open_input(path);
  std::string line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    advance(line.size() + 1);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(number);
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object()) {
      throw UsageError(format_error(where, "not a JSON object", "", "one JSON object per line"));
    }
    auto it = record.find(field);
    if (it == record.end()) {
      throw UsageError(format_error(where, "record has no field '" + field + "'", "",
                                    "a string field '" + field + "' in every record",
                                    "name the text field with --text-field"));
    }
    if (!it->is_string()) {
      throw UsageError(format_error(where, "field '" + field + "' is not a string", json_type(*it)));
    }
    encoder.begin_document();
    encoder.text(it->get_ref<const std::string&>());
  }
}

void check_options(const PrepareOptions& options, const fs::path& val_path) {
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0)) {
    throw UsageError(format_error("--val-fraction", "out of range", log::concat(options.val_fraction), "0 <= f < 1"));
  }
  if (options.out.empty()) throw UsageError(format_error("--out", "no output file given", "", "a path like data/train.bin"));
  if (options.val_fraction > 0 && val_path == options.out) {
    throw UsageError(format_error("--val-out", "same path as --out", val_path.string(), "a different file"));
  }
}

}  // namespace

fs::path default_val_path(const fs::path& out) {
  std::string ext = out.has_extension() ? out.extension().string() : ".bin";
  fs::path stem = out.parent_path() / out.stem();
  return fs::path(stem.string() + ".val" + ext);
}

PrepareResult prepare_data(const PrepareOptions& options) {
  const fs::path val_path = options.val_out.empty() ? default_val_path(options.out) : options.val_out;
  check_options(options, val_path);
  auto tokenizer = make_tokenizer(options.tokenizer);
  const auto files = expand_inputs(options.inputs);
  PrepareResult result;
  for (const auto& f : files) result.input_bytes += static_cast<std::int64_t>(fs::file_size(f));

  TokenFileMeta meta;
  meta.vocab_size = tokenizer->vocab_size();
  meta.tokenizer = tokenizer->name();
  if (options.eot && tokenizer->eot_id()) meta.eot_id = *tokenizer->eot_id();
  TokenFileWriter train(options.out, meta);
  Encoder encoder(*tokenizer, train, options.eot && tokenizer->eot_id().has_value());
  Progress::Options progress_options;
  progress_options.enabled = options.progress;
  Progress progress("tokenizing", static_cast<std::size_t>(std::max<std::int64_t>(result.input_bytes, 1)),
                    progress_options);
  std::size_t done = 0;
  for (const auto& file : files) {
    auto advance = [&](std::size_t bytes) { progress.update(done += bytes, file.filename().string()); };
    if (file.extension() == ".jsonl") encode_jsonl_file(file, options.text_field, encoder, advance);
    else encode_text_file(file, encoder, advance);
  }
  encoder.flush();
  progress.finish(std::to_string(train.size()) + " tokens");

  const std::int64_t total = train.size();
  if (total == 0) throw UsageError(format_error("--input", "the inputs hold no text", "0 tokens"));
  const auto val_tokens = static_cast<std::int64_t>(std::floor(static_cast<double>(total) * options.val_fraction));
  if (options.val_fraction > 0 && (val_tokens == 0 || val_tokens == total)) {
    throw UsageError(format_error("--val-fraction", "leaves an empty split", std::to_string(total) + " tokens in all",
                                  "both splits non-empty", "use more text or another --val-fraction (0 for none)"));
  }
  if (val_tokens > 0) {
    TokenFileWriter val(val_path, meta);
    train.move_tail_to(total - val_tokens, val);
    val.commit();
    result.val = {val_path, val_tokens};
  }
  auto written = train.commit();
  result.train = {options.out, written.num_tokens};
  result.documents = encoder.documents();
  result.tokenizer = written.tokenizer;
  result.vocab_size = written.vocab_size;
  result.dtype = written.dtype;
  return result;
}

}  // namespace ds::engine::data
