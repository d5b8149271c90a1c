// The shared tokenizer.json field readers: key paths for messages, null-as-absent, token ids in
// [0, 2^32), and the exact wording of each wrong-type / missing / unsupported error.
#include "engine/tokenizer/json_fields.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/support/error_of.hpp"

namespace ds::engine::tokenizer {
namespace {

using J = nlohmann::json;
const JsonPath kAt{"tokenizer.json", "decoder"};

TEST(JsonFields, PathsJoinKeysAndIndices) {
  const JsonPath root{"tok.json", ""};
  EXPECT_EQ(root.where(), "tok.json");
  EXPECT_EQ(root.child("model").where(), "tok.json: model");
  EXPECT_EQ(root.child("pre_tokenizer").child("pretokenizers").index(1).child("type").where(),
            "tok.json: pre_tokenizer.pretokenizers[1].type");
  EXPECT_EQ(root.child("added_tokens").index(0).key, "added_tokens[0]");
}

TEST(JsonFields, NullCountsAsAbsent) {
  const J obj = {{"a", nullptr}, {"b", 1}, {"s", "x"}, {"t", true}};
  EXPECT_EQ(find_field(obj, "a"), nullptr);
  EXPECT_EQ(find_field(obj, "zz"), nullptr);
  ASSERT_NE(find_field(obj, "b"), nullptr);
  EXPECT_EQ(*find_field(obj, "b"), 1);
  EXPECT_EQ(string_field(obj, "a", kAt, "dflt"), "dflt");
  EXPECT_EQ(string_field(obj, "s", kAt, "dflt"), "x");
  EXPECT_TRUE(bool_field(obj, "a", kAt, true));
  EXPECT_TRUE(bool_field(obj, "t", kAt, false));
  EXPECT_EQ(required_string(obj, "s", kAt), "x");
  EXPECT_EQ(json_type_name(obj), "object");
  EXPECT_EQ(json_type_name(J(nullptr)), "null");
  EXPECT_EQ(json_type_name(J(1.5)), "number");
}

TEST(JsonFields, TokenIdsAreIntegersFromZeroToTwoToTheThirtyTwoMinusOne) {
  EXPECT_EQ(as_token_id(J(0)), 0u);
  EXPECT_EQ(as_token_id(J(4294967295u)), 4294967295u);
  EXPECT_EQ(as_token_id(J(std::int64_t{4294967295})), 4294967295u);
  EXPECT_EQ(as_token_id(J::parse("128000")), 128000u);  // parsed files hold unsigned numbers
  EXPECT_EQ(as_token_id(J(std::uint64_t{4294967296})), std::nullopt);
  EXPECT_EQ(as_token_id(J(std::int64_t{4294967296})), std::nullopt);
  EXPECT_EQ(as_token_id(J(-1)), std::nullopt);
  EXPECT_EQ(as_token_id(J(1.0)), std::nullopt);
  EXPECT_EQ(as_token_id(J("1")), std::nullopt);
  EXPECT_EQ(as_token_id(J(nullptr)), std::nullopt);
}

TEST(JsonFields, WrongTypesAndMissingFieldsNameTheKey) {
  const J obj = {{"n", 3}, {"s", "x"}, {"z", nullptr}};
  EXPECT_EQ(ds::test::error_of<UsageError>([&] { require_object(J::array(), kAt); }),
            "tokenizer.json: decoder: wrong type (got array); expected an object");
  EXPECT_EQ(ds::test::error_of<UsageError>([&] { string_field(obj, "n", kAt, ""); }),
            "tokenizer.json: decoder.n: wrong type (got number); expected a string");
  EXPECT_EQ(ds::test::error_of<UsageError>([&] { required_string(obj, "z", kAt); }), "tokenizer.json: decoder.z: missing; expected a string");
  EXPECT_EQ(ds::test::error_of<UsageError>([&] { bool_field(obj, "s", kAt, false); }),
            "tokenizer.json: decoder.s: wrong type (got string); expected true or false");
  EXPECT_EQ(ds::test::error_of<UsageError>([&] { required_array(obj, "q", kAt); }), "tokenizer.json: decoder.q: missing; expected an array");
  EXPECT_EQ(ds::test::error_of<UsageError>([&] { required_array(obj, "s", kAt); }),
            "tokenizer.json: decoder.s: wrong type (got string); expected an array");
  EXPECT_EQ(ds::test::error_of<UsageError>([&] { throw_unsupported(kAt.child("type"), "decoder", "CTC", {"A", "B"}); }),
            "tokenizer.json: decoder.type: unsupported decoder (got 'CTC'); expected one of: A, B; hint: this "
            "tokenizer.json needs a component ds does not implement yet");
}

TEST(JsonFields, ParseStepsSkipsNullEntriesAndNamesEachIndex) {
  const J obj = {{"steps", J::array({1, nullptr, 2})}};
  std::vector<std::string> seen;
  const auto steps = parse_steps<int>(obj, "steps", kAt, [&](const J& item, const JsonPath& at) -> std::unique_ptr<int> {
    seen.push_back(at.key);
    return item.is_null() ? nullptr : std::make_unique<int>(item.get<int>());
  });
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(*steps[0], 1);
  EXPECT_EQ(*steps[1], 2);
  EXPECT_EQ(seen, (std::vector<std::string>{"decoder.steps[0]", "decoder.steps[1]", "decoder.steps[2]"}));
  EXPECT_EQ(join_names({}), "");
  EXPECT_EQ(join_names({"one"}), "one");
  EXPECT_EQ(join_names({"a", "b", "c"}), "a, b, c");
}

}  // namespace
}  // namespace ds::engine::tokenizer
