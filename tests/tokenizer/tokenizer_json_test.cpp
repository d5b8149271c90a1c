// The streaming reader: the big tables come out as arrays, the rest as the same JSON a full parse
// gives, and anything unusual is left to the full parse (which words the error).
#include "engine/tokenizer/tokenizer_json.hpp"

#include <gtest/gtest.h>

#include "tests/tokenizer/tiny_tokenizers.hpp"

namespace ds::engine::tokenizer {
namespace {

TEST(TokenizerJson, TablesApartAndTheRestAsJson) {
  for (bool pairs : {false, true}) {
    const nlohmann::json full = test::byte_level_json(pairs);
    const auto fast = read_tokenizer_json(full.dump());
    ASSERT_TRUE(fast.has_value());
    ASSERT_TRUE(fast->tables.has_value());
    EXPECT_EQ(fast->tables->vocab.size(), full["model"]["vocab"].size());
    EXPECT_EQ(fast->tables->merges.size(), 5u);
    EXPECT_EQ(fast->tables->merges[2], (std::pair<std::string, std::string>{"he", "ll"}));
    nlohmann::json rest = full;
    rest["model"].erase("vocab");
    rest["model"].erase("merges");
    EXPECT_EQ(fast->root, rest);
  }
}

TEST(TokenizerJson, AnythingUnusualGoesToTheFullParse) {
  EXPECT_FALSE(read_tokenizer_json("{\"model\": ").has_value());
  auto j = test::byte_level_json();
  j["model"]["merges"][0] = nlohmann::json::array({"h", 3});
  EXPECT_FALSE(read_tokenizer_json(j.dump()).has_value());
  j = test::byte_level_json();
  j["model"]["merges"][0] = "h e x";
  EXPECT_FALSE(read_tokenizer_json(j.dump()).has_value());
  j = test::byte_level_json();
  j["model"]["vocab"]["h"] = -1;
  EXPECT_FALSE(read_tokenizer_json(j.dump()).has_value());
  j = test::byte_level_json();
  j["model"]["vocab"] = nlohmann::json::array();
  EXPECT_FALSE(read_tokenizer_json(j.dump()).has_value());
  j = test::byte_level_json();
  j.erase("model");
  EXPECT_FALSE(read_tokenizer_json(j.dump()).has_value());
}

}  // namespace
}  // namespace ds::engine::tokenizer
