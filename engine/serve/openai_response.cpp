#include "engine/serve/openai_response.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace ds::engine::serve {
namespace {

using ojson = nlohmann::ordered_json;

// JSON has no -infinity; a token the model rules out gets vLLM's floor instead.
double finite_logprob(double logprob) { return std::isfinite(logprob) ? logprob : -9999.0; }

ojson byte_values(const std::string& text) {
  ojson bytes = ojson::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

}  // namespace

const char* const kSseDone = "data: [DONE]\n\n";

std::string new_response_id(Api api) {
  // Ids only need to be unique per server, not secret: a per-thread Mersenne Twister seeded once.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = api == Api::kChat ? "chatcmpl-" : "cmpl-";
  for (int i = 0; i < 24; ++i) id += kHex[rng() % 16];
  return id;
}

const char* openai_finish_reason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "abort";
    case FinishReason::kError:
      return "error";
  }
  return "error";
}

ojson error_body(const std::string& message, const std::string& type, const std::string& param,
                 const std::string& code) {
  ojson error;
  error["message"] = message;
  error["type"] = type;
  error["param"] = param.empty() ? ojson(nullptr) : ojson(param);
  error["code"] = code.empty() ? ojson(nullptr) : ojson(code);
  return ojson{{"error", error}};
}

std::string dump_json(const ojson& value) { return value.dump(-1, ' ', false, ojson::error_handler_t::replace); }

std::string sse_event(const ojson& value) { return "data: " + dump_json(value) + "\n\n"; }

ResponseBuilder::ResponseBuilder(ResponseOptions options) : options_(std::move(options)) {}

ojson ResponseBuilder::envelope(const char* object) const {
  ojson out;
  out["id"] = options_.id;
  out["object"] = object;
  out["created"] = options_.created;
  out["model"] = options_.model;
  return out;
}

ojson ResponseBuilder::usage() const {
  return ojson{{"prompt_tokens", prompt_tokens_},
               {"completion_tokens", completion_tokens_},
               {"total_tokens", prompt_tokens_ + completion_tokens_}};
}

// The logprobs of some tokens in the endpoint's shape. Completions (the legacy API): parallel
// arrays tokens / token_logprobs / top_logprobs ({text: logprob}, the chosen token included, as
// vLLM does) / text_offset (byte offsets into the completion). Chat: content[] entries.
ojson ResponseBuilder::logprobs_of(const std::vector<GeneratedToken>& tokens) {
  const auto alt_text = [&](const TokenLogprob& t) {
    return options_.token_text ? options_.token_text(t.id) : std::string();
  };
  if (options_.api == Api::kChat) {
    ojson content = ojson::array();
    for (const auto& token : tokens) {
      ojson top = ojson::array();
      for (const auto& alt : token.top) {
        const std::string text = alt_text(alt);
        top.push_back({{"token", text}, {"logprob", finite_logprob(alt.logprob)}, {"bytes", byte_values(text)}});
      }
      content.push_back({{"token", token.text},
                         {"logprob", finite_logprob(token.logprob.value_or(0.0))},
                         {"bytes", byte_values(token.text)},
                         {"top_logprobs", top}});
    }
    return ojson{{"content", content}};
  }
  ojson out{{"tokens", ojson::array()},
            {"token_logprobs", ojson::array()},
            {"top_logprobs", ojson::array()},
            {"text_offset", ojson::array()}};
  for (const auto& token : tokens) {
    const double logprob = finite_logprob(token.logprob.value_or(0.0));
    ojson top = ojson::object();
    top[token.text] = logprob;
    for (const auto& alt : token.top) top[alt_text(alt)] = finite_logprob(alt.logprob);
    out["tokens"].push_back(token.text);
    out["token_logprobs"].push_back(logprob);
    out["top_logprobs"].push_back(top);
    out["text_offset"].push_back(text_offset_);
    text_offset_ += token.text.size();
  }
  return out;
}

void ResponseBuilder::append_logprobs(ojson& into, const ojson& more) const {
  if (into.is_null()) {
    into = more;
    return;
  }
  for (auto& [key, values] : into.items()) {
    for (const auto& v : more[key]) values.push_back(v);
  }
}

std::vector<ojson> ResponseBuilder::chunks(const GenerationUpdate& update) {
  prompt_tokens_ = update.prompt_tokens;
  completion_tokens_ = update.completion_tokens;
  std::vector<ojson> out;
  const bool chat = options_.api == Api::kChat;
  if (chat && !role_sent_) {
    // OpenAI's first chat chunk names the role with empty content; clients build the message on it.
    ojson chunk = envelope("chat.completion.chunk");
    chunk["choices"] = ojson::array({ojson{{"index", 0},
                                           {"delta", {{"role", "assistant"}, {"content", ""}}},
                                           {"logprobs", nullptr},
                                           {"finish_reason", nullptr}}});
    out.push_back(std::move(chunk));
    role_sent_ = true;
  }
  if (update.text.empty() && update.tokens.empty() && !update.finish) return out;
  ojson choice{{"index", 0}};
  if (chat) {
    choice["delta"] = update.text.empty() ? ojson::object() : ojson{{"content", update.text}};
  } else {
    choice["text"] = update.text;
  }
  const bool with_logprobs = options_.logprobs.has_value() && !update.tokens.empty();
  choice["logprobs"] = with_logprobs ? logprobs_of(update.tokens) : ojson(nullptr);
  choice["finish_reason"] = update.finish ? ojson(openai_finish_reason(*update.finish)) : ojson(nullptr);
  ojson chunk = envelope(chat ? "chat.completion.chunk" : "text_completion");
  chunk["choices"] = ojson::array({choice});
  out.push_back(std::move(chunk));
  return out;
}

ojson ResponseBuilder::usage_chunk() const {
  ojson chunk = envelope(options_.api == Api::kChat ? "chat.completion.chunk" : "text_completion");
  chunk["choices"] = ojson::array();
  chunk["usage"] = usage();
  return chunk;
}

void ResponseBuilder::add(const GenerationUpdate& update) {
  prompt_tokens_ = update.prompt_tokens;
  completion_tokens_ = update.completion_tokens;
  text_ += update.text;
  if (options_.logprobs && !update.tokens.empty()) append_logprobs(logprobs_, logprobs_of(update.tokens));
  if (update.finish) finish_ = update.finish;
}

ojson ResponseBuilder::response() const {
  const bool chat = options_.api == Api::kChat;
  ojson choice{{"index", 0}};
  if (chat) {
    choice["message"] = {{"role", "assistant"}, {"content", text_}};
  } else {
    choice["text"] = text_;
  }
  ojson logprobs = logprobs_;
  if (options_.logprobs && logprobs.is_null()) {
    // Asked for, nothing generated: empty arrays in the endpoint's shape, not null.
    logprobs = chat ? ojson{{"content", ojson::array()}}
                    : ojson{{"tokens", ojson::array()},
                            {"token_logprobs", ojson::array()},
                            {"top_logprobs", ojson::array()},
                            {"text_offset", ojson::array()}};
  }
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finish_ ? ojson(openai_finish_reason(*finish_)) : ojson(nullptr);
  ojson out = envelope(chat ? "chat.completion" : "text_completion");
  out["choices"] = ojson::array({choice});
  out["usage"] = usage();
  return out;
}

}  // namespace ds::engine::serve
