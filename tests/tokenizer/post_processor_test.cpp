// Post-processors: the ids each supported type puts before and after a text (Llama 2's
// TemplateProcessing <s>, RoBERTa's <s> ... </s>), and the exact errors for what ds cannot read.
#include "engine/tokenizer/post_processor.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"

namespace ds::engine::tokenizer {
namespace {

using Ids = std::vector<std::uint32_t>;
using J = nlohmann::json;
const JsonPath kAt{"tokenizer.json", "post_processor"};

J special(const char* name) { return {{"SpecialToken", {{"id", name}, {"type_id", 0}}}}; }
const J kText = {{"Sequence", {{"id", "A"}, {"type_id", 0}}}};

std::string error_of(const J& value) {
  try {
    parse_post_processor(value, kAt);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(PostProcessor, NullAndByteLevelAddNothing) {
  for (const J& value : {J(nullptr), J{{"type", "ByteLevel"}, {"trim_offsets", true}}}) {
    const PostProcessor p = parse_post_processor(value, kAt);
    EXPECT_TRUE(p.prefix.empty());
    EXPECT_TRUE(p.suffix.empty());
  }
}

TEST(PostProcessor, TemplateSingleGivesPrefixAndSuffix) {
  const J value = {{"type", "TemplateProcessing"},
                   {"single", J::array({special("<s>"), special("[X]"), kText, special("</s>")})},
                   {"pair", J::array()},
                   {"special_tokens",
                    {{"<s>", {{"id", "<s>"}, {"ids", {1}}}}, {"</s>", {{"id", "</s>"}, {"ids", {2}}}},
                     {"[X]", {{"id", "[X]"}, {"ids", {7, 8}}}}}}};
  const PostProcessor p = parse_post_processor(value, kAt);
  EXPECT_EQ(p.prefix, (Ids{1, 7, 8}));
  EXPECT_EQ(p.suffix, (Ids{2}));
}

TEST(PostProcessor, RobertaAndBertPutClsBeforeAndSepAfter) {
  for (const char* type : {"RobertaProcessing", "BertProcessing"}) {
    const J value = {{"type", type}, {"cls", J::array({"<s>", 0})}, {"sep", J::array({"</s>", 2})}};
    const PostProcessor p = parse_post_processor(value, kAt);
    EXPECT_EQ(p.prefix, (Ids{0})) << type;
    EXPECT_EQ(p.suffix, (Ids{2})) << type;
  }
}

TEST(PostProcessor, SequenceAppendsEachStepInOrder) {
  const J roberta = {{"type", "RobertaProcessing"}, {"cls", J::array({"<s>", 0})}, {"sep", J::array({"</s>", 2})}};
  const J value = {{"type", "Sequence"}, {"processors", J::array({{{"type", "ByteLevel"}}, roberta, roberta})}};
  const PostProcessor p = parse_post_processor(value, kAt);
  EXPECT_EQ(p.prefix, (Ids{0, 0}));
  EXPECT_EQ(p.suffix, (Ids{2, 2}));
}

TEST(PostProcessor, BadProcessorsNameTheKey) {
  EXPECT_EQ(error_of(J::array()), "tokenizer.json: post_processor: wrong type (got array); expected an object");
  EXPECT_EQ(error_of(J::object()), "tokenizer.json: post_processor.type: missing; expected a string");
  EXPECT_EQ(error_of({{"type", "Fancy"}}),
            "tokenizer.json: post_processor.type: unsupported post-processor (got 'Fancy'); expected one of: BertProcessing, "
            "ByteLevel, RobertaProcessing, Sequence, TemplateProcessing; hint: this tokenizer.json needs a component ds does "
            "not implement yet");
  EXPECT_EQ(error_of({{"type", "TemplateProcessing"}, {"single", J::array({special("<s>"), kText})}}),
            "tokenizer.json: post_processor.special_tokens.<s>: the template uses a special token the table does not define "
            "(got '<s>'); expected an entry in special_tokens");
  EXPECT_EQ(error_of({{"type", "TemplateProcessing"},
                      {"single", J::array({special("<s>")})},
                      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", J::array({"one"})}}}}}}),
            "tokenizer.json: post_processor.special_tokens.<s>.ids: bad id (got \"one\"); expected an integer >= 0");
  EXPECT_EQ(error_of({{"type", "TemplateProcessing"}, {"single", J::array({kText, {{"Pair", 1}}})}}),
            "tokenizer.json: post_processor.single[1]: unknown template item (got {\"Pair\":1}); expected "
            "{\"SpecialToken\": ...} or {\"Sequence\": ...}");
  EXPECT_EQ(error_of({{"type", "BertProcessing"}, {"sep", J::array({"[SEP]", 102})}}),
            "tokenizer.json: post_processor.cls: missing; expected [\"<token>\", id]");
  EXPECT_EQ(error_of({{"type", "BertProcessing"}, {"cls", J::array({"[CLS]", 101})}, {"sep", J::array({"[SEP]"})}}),
            "tokenizer.json: post_processor.sep: malformed (got [\"[SEP]\"]); expected [\"<token>\", id]");
  const J inner = {{"type", "Sequence"}, {"processors", J::array({{{"type", "ByteLevel"}}, {{"type", "Nope"}}})}};
  EXPECT_EQ(error_of({{"type", "Sequence"}, {"processors", J::array({inner})}}),
            "tokenizer.json: post_processor.processors[0].processors[1].type: unsupported post-processor (got 'Nope'); "
            "expected one of: BertProcessing, ByteLevel, RobertaProcessing, Sequence, TemplateProcessing; hint: this "
            "tokenizer.json needs a component ds does not implement yet");
}

}  // namespace
}  // namespace ds::engine::tokenizer
