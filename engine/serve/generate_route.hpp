#pragma once
// The two generation routes, POST /v1/completions and POST /v1/chat/completions: parse, build the
// prompt, submit, then answer with one JSON object or an SSE stream. Private to engine/serve.
#include "engine/serve/openai_response.hpp"
#include "engine/serve/server_context.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace ds::engine::serve {

/// Answers one generation request. Throws RequestError (or anything) only before the response
/// is committed; the caller's wrapper maps it. After a stream is committed, errors become one
/// `data: {"error": ...}` event.
void post_generate(ServerContext& ctx, Api api, const httplib::Request& req, httplib::Response& res);

/// The GenerationRequest and response options for a parsed body (exposed for tests).
struct PreparedGeneration {
  GenerationRequest request;
  ResponseOptions response;
  bool stream = false;
  bool include_usage = false;
};
PreparedGeneration prepare_generation(const ServedModel& model, std::int64_t max_model_len, Api api,
                                      const nlohmann::json& body);

}  // namespace ds::engine::serve
