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

// The header checks themselves are in safetensors_header_test.cpp; here, that opening a file
// reports them (and a missing file) under its path.
TEST(Safetensors, OpenErrorsNameTheFile) {
  test::ScratchDir dir("st-bad");
  const fs::path& d = dir.path();
  fs::path gap = raw_file(d, "gap.safetensors",
                          R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                              "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                          12);
  EXPECT_EQ(open_error(gap), gap.string() + ": bytes 4..8 of the data before tensor 'b' belong to no tensor");
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

}  // namespace
}  // namespace ds::engine::io
