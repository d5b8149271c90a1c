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

std::vector<NamedTensor> sample_tensors() {
  torch::manual_seed(1);
  return {{"model.embed.weight", torch::randn({7, 5})},
          {"model.norm.weight", torch::randn({5}).to(torch::kBFloat16)},
          {"half", torch::randn({3, 1}).to(torch::kHalf)},
          {"double", torch::randn({2}, torch::kDouble)},
          {"ids", torch::arange(-3, 3, torch::kLong)},
          {"i32", torch::tensor({-7, 9}, torch::kInt)},
          {"i16", torch::tensor({-300}, torch::kShort)},
          {"i8", torch::tensor({-1, 2, 3}, torch::kChar)},
          {"bytes", torch::tensor({0, 200, 255}, torch::kByte)},
          {"mask", torch::tensor({true, false})},
          {"scalar", torch::tensor(3.5f)},
          {"empty", torch::zeros({0, 3})}};
}

TEST(Safetensors, RoundTripEveryDtype) {
  test::ScratchDir dir("st-roundtrip");
  fs::path path = dir.path() / "a.safetensors";
  auto tensors = sample_tensors();
  save_safetensors(path, tensors, {{"format", "pt"}});
  SafetensorsFile file(path);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(file.entries().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    torch::Tensor got = file.tensor(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, t)) << name;
  }
  EXPECT_EQ(file.entry("model.embed.weight").dtype_name, "F32");
  std::uint64_t header_bytes = 0;
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(&header_bytes), 8);
  EXPECT_EQ(header_bytes % 8, 0u);  // padded with spaces: the data starts 8-aligned
  // Our own files are aligned, so tensors are zero-copy views of one mapping...
  torch::Tensor a = file.tensor("model.embed.weight"), b = file.tensor("double");
  auto distance = std::abs(static_cast<char*>(a.data_ptr()) - static_cast<char*>(b.data_ptr()));
  EXPECT_LT(distance, static_cast<std::ptrdiff_t>(fs::file_size(path)));
  // ...copy-on-write: editing one changes neither the file nor what the next reader sees.
  a.fill_(0);
  EXPECT_TRUE(torch::equal(SafetensorsFile(path).tensor("model.embed.weight"), tensors[0].second));
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path.string() + ".tmp." + std::to_string(::getpid())));
}

TEST(Safetensors, ReadsAFileBuiltByPython) {
  test::ScratchDir dir("st-python");
  DS_RUN_REFERENCE_OR_SKIP(out, "safetensors_reference.py", "write '" + dir.path().string() + "'");
  json expected = json::parse(ds::read_file(dir.path() / "reference.json"));
  SafetensorsReader reader(dir.path() / "reference.safetensors");
  EXPECT_EQ(reader.metadata().at("source"), "python");
  ASSERT_EQ(reader.names().size(), expected.size());
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    torch::Tensor t = reader.tensor(name);
    EXPECT_EQ(t.sizes().vec(), want["shape"].get<std::vector<std::int64_t>>());
    EXPECT_EQ(safetensors_dtype_name(t.scalar_type()), want["dtype"].get<std::string>());
    std::vector<double> values = want["values"].get<std::vector<double>>();
    torch::Tensor as_double = t.to(torch::kDouble).reshape({-1});
    ASSERT_EQ(as_double.numel(), static_cast<std::int64_t>(values.size()));
    for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(as_double[i].item<double>(), values[i]) << i;
  }
}

TEST(Safetensors, PythonAcceptsOurFiles) {
  test::ScratchDir dir("st-check");
  fs::path path = dir.path() / "ours.safetensors";
  auto tensors = sample_tensors();
  save_safetensors(path, tensors, {{"written_by", "ds"}});
  DS_RUN_REFERENCE_OR_SKIP(out, "safetensors_reference.py", "check '" + path.string() + "'");
  json got = json::parse(out);
  EXPECT_EQ(got["problems"], json::array());
  EXPECT_EQ(got["metadata"]["written_by"], "ds");
  for (const auto& [name, t] : tensors) {
    std::vector<double> values = got["tensors"][name]["values"].get<std::vector<double>>();
    torch::Tensor want = t.to(torch::kDouble).reshape({-1});
    ASSERT_EQ(want.numel(), static_cast<std::int64_t>(values.size())) << name;
    for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], want[i].item<double>()) << name << " " << i;
  }
}

/// Writes a file from a header text and raw data; `length` overrides the length prefix.
fs::path raw_file(const fs::path& dir, const std::string& name, const std::string& header, std::size_t data_bytes,
                  std::optional<std::uint64_t> length = std::nullopt) {
  fs::path p = dir / name;
  std::ofstream f(p, std::ios::binary);
  std::uint64_t n = length.value_or(header.size());
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header << std::string(data_bytes, '\x01');
  return p;
}

std::string open_error(const fs::path& p) {
  try {
    SafetensorsFile f(p);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Safetensors, MalformedFilesGetExactMessages) {
  test::ScratchDir dir("st-bad");
  const fs::path& d = dir.path();
  {
    std::ofstream(d / "tiny.safetensors") << "12345";
  }
  struct Case {
    fs::path file;
    std::string message;  // after "<file>: "
  };
  const std::string w = R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
  const Case cases[] = {
      {d / "tiny.safetensors", "too small to be a safetensors file (got 5 bytes); expected at least 8 bytes"},
      {raw_file(d, "huge.safetensors", "{}", 0, 200000000),
       "header length is over the limit (got 200000000 bytes); expected at most 100000000; hint: this is not a "
       "safetensors file, or it is corrupt"},
      {raw_file(d, "short.safetensors", "{}", 10, 100),
       "header runs past the end of the file (got 100 header bytes in a 20-byte file); hint: the file is truncated"},
      {raw_file(d, "array.safetensors", "[1, 2]", 0), "header does not start with '{'"},
      {raw_file(d, "dup.safetensors", "{" + w + ", " + w + "}", 8), "duplicate tensor name 'w' in the header"},
      {raw_file(d, "entry.safetensors", R"({"w": 5})", 0), "tensor 'w': entry must be an object (got 5)"},
      {raw_file(d, "field.safetensors", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}})", 4),
       "tensor 'w': unexpected field 'x'"},
      {raw_file(d, "dtype.safetensors", R"({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})", 1),
       "tensor 'w': unsupported dtype (got \"F8_E4M3\"); expected one of BF16, BOOL, F16, F32, F64, I16, I32, I64, I8, "
       "U8"},
      {raw_file(d, "nodtype.safetensors", R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4),
       "tensor 'w': missing or non-string 'dtype'"},
      {raw_file(d, "shape.safetensors", R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
       "tensor 'w': 'shape' must be a list of non-negative integers (got [-1])"},
      {raw_file(d, "offsets.safetensors", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8),
       "tensor 'w': 'data_offsets' must be [begin, end] with 0 <= begin <= end (got [8,4])"},
      {raw_file(d, "size.safetensors", R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}})", 12),
       "tensor 'w': shape and dtype do not match the byte length (got 12 bytes at [0, 12]); expected 2 x F32 = 8 bytes"},
      {raw_file(d, "past.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
       "tensor 'w': data_offsets run past the end of the data (got [0, 16]); expected at most 8 bytes; hint: the file "
       "is truncated"},
      {raw_file(d, "overlap.safetensors",
                R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                12),
       "tensors 'a' and 'b' overlap (got [0, 8] and [4, 12])"},
      {raw_file(d, "gap.safetensors",
                R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                12),
       "bytes 4..8 of the data before tensor 'b' belong to no tensor"},
      {raw_file(d, "trailing.safetensors", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8),
       "4 bytes at the end of the data belong to no tensor; hint: the header and the data disagree; the file is "
       "corrupt"},
      {raw_file(d, "meta.safetensors", R"({"__metadata__": {"format": 1}})", 0),
       "__metadata__ must map strings to strings (got \"format\": 1)"},
      // Found or guarded while fuzzing (tests/fuzz/safetensors_fuzz.cpp): deep nesting would overflow
      // the stack in nlohmann's dump, a number too large for a double escaped as out_of_range, and
      // dimensions over int64 (or whose product is) reached torch as negative sizes.
      {raw_file(d, "deep.safetensors", "{\"w\": " + std::string(100, '[') + std::string(100, ']') + "}", 0),
       "header nests too deeply; expected at most 64 levels; hint: this is not a safetensors file, or it is corrupt"},
      {raw_file(d, "bignum.safetensors", R"({"w": 1e999})", 0),
       "header is not valid JSON (got [json.exception.out_of_range.406] number overflow parsing '1e999')"},
      {raw_file(d, "dim.safetensors",
                R"({"w": {"dtype": "F32", "shape": [9223372036854775808, 0], "data_offsets": [0, 0]}})", 0),
       "tensor 'w': shape overflows (got [9223372036854775808,0])"},
      {raw_file(d, "extent.safetensors",
                R"({"w": {"dtype": "F32", "shape": [0, 4611686018427387904, 4], "data_offsets": [0, 0]}})", 0),
       "tensor 'w': shape overflows (got [0,4611686018427387904,4])"},
      {raw_file(d, "bytes.safetensors",
                R"({"w": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 0]}})", 0),
       "tensor 'w': shape overflows (got [4611686018427387904])"},
  };
  for (const auto& c : cases) EXPECT_EQ(open_error(c.file), c.file.string() + ": " + c.message);
  std::string json_error = open_error(raw_file(d, "json.safetensors", R"({"w": )", 0));
  EXPECT_EQ(json_error.rfind((d / "json.safetensors").string() + ": header is not valid JSON (got ", 0), 0u) << json_error;
  std::string missing = open_error(d / "nope.safetensors");
  EXPECT_EQ(missing, (d / "nope.safetensors").string() +
                         ": cannot open file (got No such file or directory); hint: check the path and its permissions");
}

TEST(Safetensors, MissingTensorAndWriterErrors) {
  test::ScratchDir dir("st-errors");
  fs::path p = dir.path() / "m.safetensors";
  save_safetensors(p, {{"model.norm.weight", torch::ones({2})}});
  try {
    SafetensorsFile(p).tensor("model.norm.weights");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), p.string() + ": no tensor named 'model.norm.weights'; did you mean 'model.norm.weight'?");
  }
  try {
    save_safetensors(p, {{"a", torch::ones({1})}, {"a", torch::ones({1})}});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), p.string() + ": cannot write tensor name 'a' (got a duplicate)");
  }
  try {
    save_safetensors(p, {{"c", torch::ones({1}, torch::kComplexFloat)}});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "safetensors: unsupported dtype (got ComplexFloat); expected one of BF16, BOOL, F16, F32, F64, I16, I32, "
              "I64, I8, U8");
  }
  EXPECT_TRUE(torch::equal(SafetensorsFile(p).tensor("model.norm.weight"), torch::ones({2})));  // untouched
}

TEST(Safetensors, ShardedIndexRoundTripAndChecks) {
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

}  // namespace
}  // namespace ds::engine::io
