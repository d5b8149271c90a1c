#include "engine/serve/openai_request.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace ds::engine::serve {
namespace {

using json = nlohmann::json;

constexpr std::int64_t kMaxLogprobs = 20;  // OpenAI's limit for logprobs and top_logprobs
constexpr std::size_t kMaxStop = 4;        // OpenAI's limit for stop sequences

// The offending value as the client sent it, cut short so a huge field cannot flood the message.
std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

[[noreturn]] void fail(const std::string& field, const std::string& what, const std::string& got,
                       const std::string& expected, const std::string& hint = {}) {
  throw RequestError(format_error(field, what, got, expected, hint), 400, field);
}

[[noreturn]] void wrong_type(const std::string& field, const json& value, const std::string& expected) {
  fail(field, "wrong type", shown(value), expected);
}

// The field's value, or nullptr when absent or null: OpenAI's fields are nullable and a null
// means "use the default", which is how the official clients send unset options.
const json* field(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<bool> get_bool(const json& body, const char* key) {
  const json* v = field(body, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) wrong_type(key, *v, "true or false");
  return v->get<bool>();
}

std::optional<std::string> get_string(const json& body, const char* key) {
  const json* v = field(body, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) wrong_type(key, *v, "a string");
  return v->get<std::string>();
}

// 2 and 0.5 as a person writes them (JSON's dump would say 2.0).
std::string plain(double x) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, x).ptr;
  return std::string(buf, end);
}

std::string range_text(double lo, double hi) { return "a number from " + plain(lo) + " to " + plain(hi); }

// A number in [lo, hi] (lo excluded when lo_open).
std::optional<double> get_number(const json& body, const char* key, double lo, double hi, bool lo_open = false) {
  const json* v = field(body, key);
  if (v == nullptr) return std::nullopt;
  const std::string expected =
      lo_open ? "a number above " + plain(lo) + " and at most " + plain(hi) : range_text(lo, hi);
  if (!v->is_number()) wrong_type(key, *v, expected);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo)) fail(key, "out of range", shown(*v), expected);
  return x;
}

// An integer (a float with an integral value is accepted, as Python clients may send 5.0).
std::int64_t as_int(const std::string& name, const json& v, std::int64_t lo, std::int64_t hi) {
  const std::string expected = hi == std::numeric_limits<std::int64_t>::max()
                                   ? "an integer >= " + std::to_string(lo)
                                   : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  std::int64_t x = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
      fail(name, "out of range", shown(v), expected);
    }
    x = v.get<std::int64_t>();
  } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
             std::fabs(v.get<double>()) < 9e15) {
    x = static_cast<std::int64_t>(v.get<double>());
  } else {
    wrong_type(name, v, expected);
  }
  if (x < lo || x > hi) fail(name, "out of range", shown(v), expected);
  return x;
}

std::optional<std::int64_t> get_int(const json& body, const char* key, std::int64_t lo,
                                    std::int64_t hi = std::numeric_limits<std::int64_t>::max()) {
  const json* v = field(body, key);
  if (v == nullptr) return std::nullopt;
  return as_int(key, *v, lo, hi);
}

std::vector<std::uint32_t> get_token_ids(const std::string& name, const json& v) {
  std::vector<std::uint32_t> ids;
  ids.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    ids.push_back(static_cast<std::uint32_t>(
        as_int(name + "[" + std::to_string(i) + "]", v[i], 0, std::numeric_limits<std::uint32_t>::max())));
  }
  return ids;
}

std::vector<std::string> get_stop(const json& body) {
  const json* v = field(body, "stop");
  if (v == nullptr) return {};
  if (v->is_string()) {
    if (v->get<std::string>().empty()) fail("stop", "empty stop string", shown(*v), "a non-empty string");
    return {v->get<std::string>()};
  }
  if (!v->is_array()) wrong_type("stop", *v, "a string or an array of at most 4 strings");
  if (v->size() > kMaxStop) {
    fail("stop", "too many stop sequences", std::to_string(v->size()), "at most 4");
  }
  std::vector<std::string> stop;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const std::string name = "stop[" + std::to_string(i) + "]";
    const json& s = (*v)[i];
    if (!s.is_string()) wrong_type(name, s, "a string");
    if (s.get<std::string>().empty()) fail(name, "empty stop string", shown(s), "a non-empty string");
    stop.push_back(s.get<std::string>());
  }
  return stop;
}

[[noreturn]] void unsupported(const std::string& field, const json& value, const std::string& expected,
                              const std::string& hint) {
  fail(field, "not supported", shown(value), expected, hint);
}

void check_body(const json& body) {
  if (!body.is_object()) wrong_type("request body", body, "a JSON object");
}

CommonFields parse_common(const json& body) {
  CommonFields common;
  common.model = get_string(body, "model").value_or("");
  if (const auto n = get_int(body, "n", 1); n && *n != 1) {
    unsupported("n", body["n"], "1", "send one request per choice");
  }
  common.stream = get_bool(body, "stream").value_or(false);
  if (const json* options = field(body, "stream_options")) {
    if (!options->is_object()) wrong_type("stream_options", *options, "an object like {\"include_usage\": true}");
    if (!common.stream) {
      fail("stream_options", "only allowed with \"stream\": true", shown(*options), "no stream_options");
    }
    if (const json* usage = field(*options, "include_usage")) {
      if (!usage->is_boolean()) wrong_type("stream_options.include_usage", *usage, "true or false");
      common.include_usage = usage->get<bool>();
    }
  }
  // "user" identifies the end user to OpenAI's abuse monitoring; nothing to do with it here.
  return common;
}

SamplingFields parse_sampling(const json& body) {
  SamplingFields s;
  s.temperature = get_number(body, "temperature", 0.0, 2.0);
  s.top_p = get_number(body, "top_p", 0.0, 1.0, /*lo_open=*/true);
  s.top_k = get_int(body, "top_k", -1);
  s.min_p = get_number(body, "min_p", 0.0, 1.0);
  s.presence_penalty = get_number(body, "presence_penalty", -2.0, 2.0);
  s.frequency_penalty = get_number(body, "frequency_penalty", -2.0, 2.0);
  s.repetition_penalty = get_number(body, "repetition_penalty", 0.0, 2.0, /*lo_open=*/true);
  if (const auto seed = get_int(body, "seed", 0)) s.seed = static_cast<std::uint64_t>(*seed);
  s.stop = get_stop(body);
  if (const json* ids = field(body, "stop_token_ids")) {
    if (!ids->is_array()) wrong_type("stop_token_ids", *ids, "an array of token ids");
    s.stop_token_ids = get_token_ids("stop_token_ids", *ids);
  }
  s.ignore_eos = get_bool(body, "ignore_eos").value_or(false);
  if (const json* bias = field(body, "logit_bias"); bias != nullptr && !(bias->is_object() && bias->empty())) {
    unsupported("logit_bias", *bias, "no logit_bias", "remove it; ds does not bias logits");
  }
  return s;
}

// What both endpoints read the same way.
template <typename Request>
Request parse_shared(const json& body) {
  check_body(body);
  Request r;
  r.common = parse_common(body);
  r.sampling = parse_sampling(body);
  return r;
}

}  // namespace

CompletionRequest parse_completion_request(const json& body) {
  auto r = parse_shared<CompletionRequest>(body);
  r.sampling.max_tokens = get_int(body, "max_tokens", 1);
  r.sampling.logprobs = get_int(body, "logprobs", 0, kMaxLogprobs);
  if (get_bool(body, "echo").value_or(false)) {
    unsupported("echo", body["echo"], "false", "send the prompt back yourself; ds does not echo it");
  }
  if (const auto best_of = get_int(body, "best_of", 1); best_of && *best_of != 1) {
    unsupported("best_of", body["best_of"], "1", "send several requests with different seeds");
  }
  if (const auto suffix = get_string(body, "suffix"); suffix && !suffix->empty()) {
    unsupported("suffix", body["suffix"], "no suffix", "ds has no fill-in-the-middle mode");
  }
  const json* prompt = field(body, "prompt");
  const std::string expected = "a string or an array of token ids";
  if (prompt == nullptr) fail("prompt", "missing", "", expected);
  if (prompt->is_string()) {
    r.prompt_text = prompt->get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    r.prompt_ids = get_token_ids("prompt", *prompt);
  } else if (prompt->is_array() && prompt->size() == 1 && ((*prompt)[0].is_string() || (*prompt)[0].is_array())) {
    // A batch of one is the single prompt it holds.
    const json& only = (*prompt)[0];
    if (only.is_string()) {
      r.prompt_text = only.get<std::string>();
    } else {
      if (only.empty()) fail("prompt[0]", "empty prompt", "[]", "at least one token id");
      r.prompt_ids = get_token_ids("prompt[0]", only);
    }
  } else if (prompt->is_array() && prompt->size() > 1 && ((*prompt)[0].is_string() || (*prompt)[0].is_array())) {
    unsupported("prompt", *prompt, expected, "send one prompt per request");
  } else if (prompt->is_array() && prompt->empty()) {
    fail("prompt", "empty prompt", "[]", expected);
  } else {
    wrong_type("prompt", *prompt, expected);
  }
  return r;
}

namespace {

// content: a string, null, or an array of {"type": "text", "text": ...} parts, flattened to one
// string (parts joined with "\n", as vLLM does) because chat templates expect a string.
json parse_content(const json& message, const std::string& where) {
  const auto it = message.find("content");
  if (it == message.end() || it->is_null()) return nullptr;
  if (it->is_string()) return *it;
  const std::string expected = "a string or an array of {\"type\": \"text\", \"text\": ...} parts";
  if (!it->is_array()) wrong_type(where + ".content", *it, expected);
  std::string text;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const std::string part_where = where + ".content[" + std::to_string(i) + "]";
    const json& part = (*it)[i];
    if (!part.is_object()) wrong_type(part_where, part, "an object like {\"type\": \"text\", \"text\": \"...\"}");
    const auto type = part.find("type");
    if (type == part.end() || !type->is_string()) {
      fail(part_where + ".type", "missing or not a string", type == part.end() ? "" : shown(*type), "\"text\"");
    }
    if (*type != "text") {
      unsupported(part_where + ".type", *type, "\"text\"", "this server takes text only");
    }
    const auto t = part.find("text");
    if (t == part.end() || !t->is_string()) {
      fail(part_where + ".text", "missing or not a string", t == part.end() ? "" : shown(*t), "a string");
    }
    if (i > 0) text += "\n";
    text += t->get<std::string>();
  }
  return text;
}

json parse_messages(const json& body) {
  const json* messages = field(body, "messages");
  const std::string expected = "a non-empty array of {\"role\": ..., \"content\": ...} objects";
  if (messages == nullptr) fail("messages", "missing", "", expected);
  if (!messages->is_array()) wrong_type("messages", *messages, expected);
  if (messages->empty()) fail("messages", "empty", "[]", expected);
  json out = json::array();
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = (*messages)[i];
    if (!m.is_object()) wrong_type(where, m, "an object with \"role\" and \"content\"");
    const auto role = m.find("role");
    const std::string roles = "one of \"system\", \"developer\", \"user\", \"assistant\", \"tool\"";
    if (role == m.end()) fail(where + ".role", "missing", "", roles);
    if (!role->is_string()) wrong_type(where + ".role", *role, roles);
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant" && r != "tool") {
      fail(where + ".role", "unknown role", shown(*role), roles);
    }
    json message = m;  // name, tool_calls, tool_call_id... pass through to the template
    message["content"] = parse_content(m, where);
    if (message["content"].is_null() && r != "assistant") {
      fail(where + ".content", "missing", "", "a string or an array of text parts",
           "only assistant messages with tool_calls may leave content out");
    }
    if (const auto name = m.find("name"); name != m.end() && !name->is_null() && !name->is_string()) {
      wrong_type(where + ".name", *name, "a string");
    }
    if (const auto calls = m.find("tool_calls"); calls != m.end() && !calls->is_null() && !calls->is_array()) {
      wrong_type(where + ".tool_calls", *calls, "an array");
    }
    out.push_back(std::move(message));
  }
  return out;
}

}  // namespace

ChatRequest parse_chat_request(const json& body) {
  auto r = parse_shared<ChatRequest>(body);
  r.messages = parse_messages(body);
  // max_completion_tokens replaced max_tokens in OpenAI's chat API; the newer one wins.
  r.sampling.max_tokens = get_int(body, "max_tokens", 1);
  if (const auto m = get_int(body, "max_completion_tokens", 1)) r.sampling.max_tokens = m;
  const bool logprobs = get_bool(body, "logprobs").value_or(false);
  const auto top = get_int(body, "top_logprobs", 0, kMaxLogprobs);
  if (top && !logprobs) {
    fail("top_logprobs", "needs \"logprobs\": true", shown(body["top_logprobs"]), "\"logprobs\": true with it");
  }
  if (logprobs) r.sampling.logprobs = top.value_or(0);
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) wrong_type("tools", *tools, "an array of tool definitions");
    r.tools = *tools;
  }
  if (const json* choice = field(body, "tool_choice")) {
    // The template sees the tools, but nothing forces or parses a call: only "none"/"auto" are honest.
    if (!(choice->is_string() && (*choice == "none" || *choice == "auto"))) {
      unsupported("tool_choice", *choice, "\"none\" or \"auto\"", "ds does not force tool calls");
    }
  }
  if (const json* format = field(body, "response_format")) {
    if (!(format->is_object() && format->value("type", json()) == "text")) {
      unsupported("response_format", *format, "{\"type\": \"text\"}", "ds has no constrained decoding");
    }
  }
  r.add_generation_prompt = get_bool(body, "add_generation_prompt").value_or(true);
  return r;
}

SamplingParams apply_sampling(const SamplingFields& f, SamplingParams p) {
  if (f.max_tokens) p.max_tokens = *f.max_tokens;
  if (f.temperature) p.temperature = *f.temperature;
  if (f.top_p) p.top_p = *f.top_p;
  if (f.top_k) p.top_k = *f.top_k < 0 ? 0 : *f.top_k;  // vLLM's -1 is ds's 0: all tokens
  if (f.min_p) p.min_p = *f.min_p;
  if (f.presence_penalty) p.presence_penalty = *f.presence_penalty;
  if (f.frequency_penalty) p.frequency_penalty = *f.frequency_penalty;
  if (f.repetition_penalty) p.repetition_penalty = *f.repetition_penalty;
  if (f.seed) p.seed = f.seed;
  if (!f.stop.empty()) p.stop = f.stop;
  if (!f.stop_token_ids.empty()) p.stop_token_ids = f.stop_token_ids;
  p.ignore_eos = f.ignore_eos;
  p.logprobs = f.logprobs;
  return p;
}

}  // namespace ds::engine::serve
