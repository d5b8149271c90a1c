#include "engine/io/safetensors.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string reader_error(const fs::path& p) {
  try {
    SafetensorsReader r(p);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SafetensorsIndex, ShardedRoundTripAndIndexChecks) {
  test::ScratchDir dir("st-sharded");
  std::vector<NamedTensor> tensors;
  for (int i = 0; i < 6; ++i) tensors.emplace_back("layers." + std::to_string(i) + ".w", torch::full({100}, float(i)));
  auto files = save_safetensors_sharded(dir.path(), tensors, ShardOptions{.max_shard_bytes = 900});
  ASSERT_EQ(files.size(), 4u);  // 400 bytes each, two per shard, plus the index
  EXPECT_EQ(files[0].filename(), "model-00001-of-00003.safetensors");
  EXPECT_EQ(files[3].filename(), "model.safetensors.index.json");
  json index = json::parse(ds::read_file(files[3]));
  EXPECT_EQ(index["metadata"]["total_size"], 2400);
  EXPECT_EQ(index["weight_map"]["layers.5.w"], "model-00003-of-00003.safetensors");
  for (const fs::path& source : {dir.path(), files[3]}) {
    SafetensorsReader reader(source);
    EXPECT_EQ(reader.files().size(), 3u);
    for (const auto& [name, t] : tensors) EXPECT_TRUE(torch::equal(reader.tensor(name), t)) << name;
  }
  // One shard alone reads as a file.
  EXPECT_EQ(SafetensorsReader(files[1]).names(), (std::vector<std::string>{"layers.2.w", "layers.3.w"}));

  auto index_error = [&](const json& j) -> std::string {
    std::ofstream(files[3]) << j.dump();
    try {
      SafetensorsReader r(dir.path());
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(no error)";
  };
  std::string ix = files[3].string();
  json moved = index;
  moved["weight_map"]["layers.0.w"] = "model-00002-of-00003.safetensors";
  EXPECT_EQ(index_error(moved),
            ix + ": tensor 'layers.0.w' is listed in shard 'model-00002-of-00003.safetensors', which does not contain it");
  json dropped = index;
  dropped["weight_map"].erase("layers.1.w");
  EXPECT_EQ(index_error(dropped), files[0].string() +
                                      ": tensor 'layers.1.w' is not mapped to this shard in model.safetensors.index.json; "
                                      "hint: the index and the shards come from different saves");
  json escape = index;
  escape["weight_map"]["layers.0.w"] = "../x.safetensors";
  EXPECT_EQ(index_error(escape),
            ix + ": weight_map[\"layers.0.w\"] must name a file beside the index (got \"../x.safetensors\")");
  EXPECT_EQ(index_error(json::object()),
            ix + ": missing the \"weight_map\" object; expected {\"weight_map\": {\"<tensor>\": \"<shard>.safetensors\"}}");
  fs::remove(files[2]);
  EXPECT_EQ(index_error(index), files[2].string() +
                                    ": cannot open file (got No such file or directory); hint: check the path and its "
                                    "permissions");
  // A small save into the same directory replaces the index with one file.
  save_safetensors_sharded(dir.path(), {{"x", torch::ones({1})}});
  EXPECT_FALSE(fs::exists(files[3]));
  EXPECT_EQ(SafetensorsReader(dir.path()).names(), std::vector<std::string>{"x"});
}

TEST(SafetensorsIndex, OneFileWhenItFitsAndOversizedTensorsGetTheirOwnShard) {
  test::ScratchDir dir("st-index-fit");
  const fs::path& d = dir.path();
  // 100 + 1000 + 100 bytes, at most 500 per shard: HF's rule starts a new shard when the next
  // tensor would overflow a non-empty one, so each tensor gets a shard of its own.
  std::vector<NamedTensor> tensors = {
      {"c", torch::full({25}, 3.f)}, {"a", torch::full({25}, 1.f)}, {"b", torch::full({250}, 2.f)}};
  auto files = save_safetensors_sharded(d, tensors, {.max_shard_bytes = 500, .metadata = {{"format", "pt"}}});
  ASSERT_EQ(files.size(), 4u);
  json index = json::parse(ds::read_file(d / kIndexFileName));
  EXPECT_EQ(index, json::parse(R"({"metadata": {"total_size": 1200},
                                   "weight_map": {"a": "model-00001-of-00003.safetensors",
                                                  "b": "model-00002-of-00003.safetensors",
                                                  "c": "model-00003-of-00003.safetensors"}})"));
  SafetensorsReader sharded(d);
  EXPECT_EQ(sharded.files(), (std::vector<fs::path>{files[0], files[1], files[2]}));
  EXPECT_EQ(sharded.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_TRUE(sharded.contains("b"));
  EXPECT_FALSE(sharded.contains("d"));
  EXPECT_TRUE(torch::equal(sharded.tensor("b"), torch::full({250}, 2.f)));
  // Exactly the limit fits in one file; the old shards' index is removed so it cannot win.
  auto one = save_safetensors_sharded(d, tensors, {.max_shard_bytes = 1200});
  EXPECT_EQ(one, std::vector<fs::path>{d / "model.safetensors"});
  EXPECT_FALSE(fs::exists(d / kIndexFileName));
  SafetensorsReader single(d);
  EXPECT_EQ(single.files(), std::vector<fs::path>{d / "model.safetensors"});
  EXPECT_EQ(single.names(), (std::vector<std::string>{"a", "b", "c"}));
  try {
    single.tensor("bb");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), (d / "model.safetensors").string() + ": no tensor named 'bb'; did you mean 'b'?");
  }
}

TEST(SafetensorsIndex, BadIndexFilesGetExactMessages) {
  test::ScratchDir dir("st-index-bad");
  const fs::path& d = dir.path();
  EXPECT_EQ(reader_error(d),
            d.string() + ": no model.safetensors or model.safetensors.index.json in this directory");
  const fs::path ix = d / kIndexFileName;
  auto index_error = [&](const std::string& text) {
    std::ofstream(ix) << text;
    return reader_error(d);
  };
  EXPECT_EQ(index_error(R"({"weight_map": {}})"), ix.string() + ": the weight_map is empty");
  EXPECT_EQ(index_error(R"({"weight_map": []})"),
            ix.string() + ": missing the \"weight_map\" object; expected {\"weight_map\": {\"<tensor>\": "
                          "\"<shard>.safetensors\"}}");
  EXPECT_EQ(index_error(R"({"weight_map": {"w": 3}})"), ix.string() + ": weight_map[\"w\"] must be a file name (got 3)");
  for (const char* bad : {"", ".", "..", "sub/x.safetensors"}) {
    EXPECT_EQ(index_error(json{{"weight_map", {{"w", bad}}}}.dump()),
              ix.string() + ": weight_map[\"w\"] must name a file beside the index (got \"" + bad + "\")");
  }
  std::string not_json = index_error("{\"weight_map\": ");
  EXPECT_EQ(not_json.rfind(ix.string() + ": not valid JSON (got [json.exception.parse_error.101] ", 0), 0u) << not_json;
}

// A number too large for a double is nlohmann's out_of_range, not a parse_error: still the file's
// UsageError (safetensors_header.cpp guards the same case, found by fuzzing).
TEST(SafetensorsIndex, NumberTooLargeInTheIndexIsAUsageError) {
  test::ScratchDir dir("st-index-bignum");
  const fs::path ix = dir.path() / kIndexFileName;
  std::ofstream(ix) << R"({"weight_map": {"w": 1e999}})";
  std::string error;
  try {
    SafetensorsReader r(dir.path());
  } catch (const UsageError& e) {
    error = e.what();
  } catch (const std::exception& e) {
    error = std::string("not a UsageError: ") + e.what();
  }
  EXPECT_EQ(error, ix.string() + ": not valid JSON (got [json.exception.out_of_range.406] number overflow parsing "
                                 "'1e999')");
}

}  // namespace
}  // namespace ds::engine::io
