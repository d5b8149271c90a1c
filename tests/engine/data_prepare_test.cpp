#include "engine/data/prepare.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "tests/engine/train_test_util.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::engine::data {
namespace {

namespace fs = std::filesystem;

using test::DsRun;
using test::run_ds;

class PrepareTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_ / "in"); }

  std::vector<std::int64_t> tokens_of(const fs::path& p) {
    auto f = TokenFile::open(p);
    std::vector<std::int64_t> v(f.size());
    f.read(0, f.size(), v.data());
    return v;
  }
  static std::vector<std::int64_t> bytes_of(const std::string& s) {
    std::vector<std::int64_t> v;
    for (unsigned char c : s) v.push_back(c);
    return v;
  }
  PrepareOptions options(std::vector<fs::path> inputs) {
    PrepareOptions o;
    o.inputs = std::move(inputs);
    o.out = dir_ / "out" / "train.bin";
    o.progress = false;
    return o;
  }
  std::string error_of(const PrepareOptions& o) {
    try {
      prepare_data(o);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  }

  test::ScratchDir scratch_{"prepare"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(PrepareTest, DirectoryOfTextAndJsonlWithEndOfTextBetweenDocuments) {
  write_file_atomic(dir_ / "in" / "a.txt", "ab\ncd\n");
  write_file_atomic(dir_ / "in" / "b.jsonl", "{\"text\": \"x\\u00e9\"}\n\n{\"text\": \"yz\", \"id\": 3}\n");
  fs::create_symlink(dir_ / "in" / "a.txt", dir_ / "in" / "c.txt");  // an alias: skipped
  auto o = options({dir_ / "in"});
  o.eot = true;
  o.val_fraction = 0.0;
  PrepareResult r = prepare_data(o);
  std::vector<std::int64_t> expected = bytes_of("ab\ncd\n");
  expected.push_back(256);
  for (auto t : bytes_of("x\xc3\xa9")) expected.push_back(t);
  expected.push_back(256);
  for (auto t : bytes_of("yz")) expected.push_back(t);
  EXPECT_EQ(tokens_of(o.out), expected);
  EXPECT_EQ(r.documents, 3);
  EXPECT_EQ(r.train.tokens, static_cast<std::int64_t>(expected.size()));
  EXPECT_TRUE(r.val.path.empty());
  EXPECT_EQ(r.vocab_size, 257);
  EXPECT_EQ(TokenFile::open(o.out).info().meta->eot_id, 256);
}

TEST_F(PrepareTest, ValidationSplitIsTheTailOfTheStream) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += static_cast<char>('a' + i % 26);
  write_file_atomic(dir_ / "in" / "t.txt", text);
  auto o = options({dir_ / "in" / "t.txt"});
  o.val_fraction = 0.25;
  PrepareResult r = prepare_data(o);
  EXPECT_EQ(r.val.path, dir_ / "out" / "train.val.bin");
  EXPECT_EQ(tokens_of(r.train.path), bytes_of(text.substr(0, 75)));
  EXPECT_EQ(tokens_of(r.val.path), bytes_of(text.substr(75)));
  EXPECT_FALSE(TokenFile::open(r.train.path).info().meta->eot_id.has_value());
}

TEST_F(PrepareTest, DefaultValPathKeepsTheExtension) {
  EXPECT_EQ(default_val_path("data/train.bin"), fs::path("data/train.val.bin"));
  EXPECT_EQ(default_val_path("tokens"), fs::path("tokens.val.bin"));
}

TEST_F(PrepareTest, BadInputsAreExplained) {
  const std::string in = (dir_ / "in").string();
  write_file_atomic(dir_ / "in" / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": 3}\n");
  EXPECT_EQ(error_of(options({dir_ / "in" / "bad.jsonl"})), in + "/bad.jsonl:2: field 'text' is not a string (got number)");
  write_file_atomic(dir_ / "in" / "nofield.jsonl", "{\"body\": \"ok\"}\n");
  EXPECT_EQ(error_of(options({dir_ / "in" / "nofield.jsonl"})),
            in + "/nofield.jsonl:1: record has no field 'text'; expected a string field 'text' in every record; "
                 "hint: name the text field with --text-field");
  write_file_atomic(dir_ / "in" / "broken.jsonl", "\n{\"text\": \n");
  EXPECT_EQ(error_of(options({dir_ / "in" / "broken.jsonl"})),
            in + "/broken.jsonl:2: not a JSON object; expected one JSON object per line");
  EXPECT_EQ(error_of(options({dir_ / "nope.txt"})),
            (dir_ / "nope.txt").string() + ": input not found; expected a text file, a .jsonl file or a directory; "
                                           "hint: the Debian license texts in /usr/share/common-licenses make a "
                                           "small corpus");
  write_file_atomic(dir_ / "in" / "t.txt", "hello");
  auto o = options({dir_ / "in" / "t.txt"});
  o.val_fraction = 1.0;
  EXPECT_EQ(error_of(o), "--val-fraction: out of range (got 1); expected 0 <= f < 1");
  o.val_fraction = 0.1;
  EXPECT_EQ(error_of(o), "--val-fraction: leaves an empty split (got 5 tokens in all); expected both splits "
                         "non-empty; hint: use more text or another --val-fraction (0 for none)");
  EXPECT_FALSE(fs::exists(o.out));  // nothing half-written
}

TEST_F(PrepareTest, DebianCorpusIsAlwaysThere) {
  ASSERT_TRUE(fs::is_directory(kDebianSampleCorpus)) << "base-files is Essential on Debian";
  std::int64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(kDebianSampleCorpus)) {
    if (!e.is_symlink() && e.is_regular_file()) bytes += static_cast<std::int64_t>(e.file_size());
  }
  auto o = options({kDebianSampleCorpus});
  PrepareResult r = prepare_data(o);
  EXPECT_EQ(r.input_bytes, bytes);
  EXPECT_EQ(r.train.tokens + r.val.tokens, bytes);  // byte tokenizer, no end-of-text ids
  EXPECT_GT(bytes, 100000);
}

// End to end through the binary: what the quickstart runs.
TEST_F(PrepareTest, CliPreparesAndDescribesTokenFiles) {
  write_file_atomic(dir_ / "in" / "t.txt", std::string(1000, 'q'));
  const fs::path out = dir_ / "cli" / "train.bin";
  DsRun r = run_ds("--json data prepare --input " + (dir_ / "in").string() + " --out " + out.string() +
                   " --val-fraction 0.1");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["train"]["tokens"], 900);
  EXPECT_EQ(j["val"]["tokens"], 100);
  EXPECT_EQ(j["val"]["path"], (dir_ / "cli" / "train.val.bin").string());
  EXPECT_EQ(j["dtype"], "uint16");
  r = run_ds("--json data info " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["format"], "llm.c");
  EXPECT_EQ(info["tokens"], 900);
  EXPECT_EQ(info["tokenizer"], "byte");
  EXPECT_EQ(tokens_of(out), std::vector<std::int64_t>(900, 'q'));
}

TEST_F(PrepareTest, CliErrorsExitWithUsageCode) {
  DsRun r = run_ds("data prepare --input " + (dir_ / "missing").string() + " --out " + (dir_ / "x.bin").string());
  EXPECT_EQ(r.code, 2) << r.output();
  EXPECT_NE(r.err.find("ds: error: " + (dir_ / "missing").string() + ": input not found"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ds::engine::data
