// render_chat: the variables it passes (as apply_chat_template does) and continue_final_message.
#include "engine/chat_template/chat_template.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"

namespace ds::engine::chat_template {
namespace {

using json = nlohmann::ordered_json;

const char* const kChatML =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

json messages() { return {{{"role", "user"}, {"content", "Hi"}}, {{"role", "assistant"}, {"content", "Sure, here "}}}; }

TEST(ChatTemplateRenderChat, PassesWhatApplyChatTemplatePasses) {
  const ChatTemplate t(
      "{{ bos_token }}|{{ eos_token }}|{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|"
      "{{ messages|length }}|{{ enable_thinking }}");
  ChatRenderOptions options;
  options.bos_token = "<s>";
  options.eos_token = "</s>";
  options.add_generation_prompt = true;
  options.extra_context = {{"enable_thinking", false}};
  EXPECT_EQ(render_chat(t, messages(), options), "<s>|</s>|True|True|True|2|False");
  options.extra_context = {{"bos_token", "<override>"}};  // extra variables win, as template kwargs do
  options.tools = json::array({{{"type", "function"}}});
  EXPECT_EQ(render_chat(t, messages(), options), "<override>|</s>|False|True|True|2|");
  EXPECT_EQ(render_chat(t, json::array(), {}), "||True|True|False|0|");  // tokens unset: undefined
}

TEST(ChatTemplateRenderChat, ContinueFinalMessageCutsAfterItsText) {
  const ChatTemplate chatml(kChatML);
  ChatRenderOptions options;
  options.continue_final_message = true;
  // The template kept the trailing space, so the cut keeps it too.
  EXPECT_EQ(render_chat(chatml, messages(), options),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nSure, here ");
  // A template that trims content: the cut lands after the trimmed text.
  const ChatTemplate trimming("{% for m in messages %}[{{ m.role }}] {{ m.content|trim }}</s>{% endfor %}");
  EXPECT_EQ(render_chat(trimming, messages(), options), "[user] Hi</s>[assistant] Sure, here");
  // Parts: the last part's text is continued.
  const json parts = {{{"role", "assistant"}, {"content", {{{"type", "text"}, {"text", "Partial"}}}}}};
  const ChatTemplate joiner("{% for m in messages %}{% for p in m.content %}<{{ p.text }}>{% endfor %}{% endfor %}");
  EXPECT_EQ(render_chat(joiner, parts, options), "<Partial");
  // Leading spacing in the message: cut after the stripped text, as transformers does.
  const json spaced = {{{"role", "assistant"}, {"content", "  lead "}}};
  EXPECT_EQ(render_chat(chatml, spaced, options), "<|im_start|>assistant\n  lead");
}

TEST(ChatTemplateRenderChat, ContinueFinalMessageErrors) {
  const ChatTemplate chatml(kChatML);
  ChatRenderOptions options;
  options.continue_final_message = true;
  options.add_generation_prompt = true;
  try {
    render_chat(chatml, messages(), options);
    FAIL();
  } catch (const RequestError& e) {
    EXPECT_STREQ(e.what(),
                 "continue_final_message: cannot be combined with add_generation_prompt; expected one of them; "
                 "hint: continue the last message, or open a new assistant turn");
    EXPECT_EQ(e.param(), "continue_final_message");
  }
  options.add_generation_prompt = false;
  const ChatTemplate drops_assistant("{% for m in messages if m.role == 'user' %}{{ m.content }}{% endfor %}");
  try {
    render_chat(drops_assistant, messages(), options);
    FAIL();
  } catch (const RequestError& e) {
    EXPECT_STREQ(e.what(),
                 "messages: continue_final_message: the final message's text is not in the rendered prompt; hint: "
                 "the chat template drops or rewrites that message; send it as a new turn");
  }
  const json image_only = {{{"role", "assistant"}, {"content", {{{"type", "image_url"}}}}}};
  try {
    render_chat(chatml, image_only, options);
    FAIL();
  } catch (const RequestError& e) {
    EXPECT_STREQ(e.what(),
                 "messages: continue_final_message: the final message has no text to continue (got array); "
                 "expected a string content or a part with \"text\"");
  }
}

}  // namespace
}  // namespace ds::engine::chat_template
