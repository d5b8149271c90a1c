#include "engine/serve/api_error.hpp"

#include "common/error.hpp"
#include "engine/serve/openai_response.hpp"

namespace ds::engine::serve {

const char* error_type(int status) {
  if (status == 401) return "authentication_error";
  if (status == 429) return "rate_limit_error";
  if (status == 503) return "service_unavailable_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

ApiError make_api_error(int status, const std::string& message, const std::string& param, const std::string& code) {
  return ApiError{status, error_body(message, error_type(status), param, code)};
}

ApiError api_error_from(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const RequestError& e) {
    return make_api_error(e.http_status(), e.what(), e.param());
  } catch (const std::exception& e) {
    return make_api_error(500, std::string("internal error: ") + e.what());
  } catch (...) {
    return make_api_error(500, "internal error: unknown exception");
  }
}

nlohmann::json parse_json_body(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ..."; the
    // bracketed library tag means nothing to a client.
    std::string what = e.what();
    if (const auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw RequestError(format_error("request body", "invalid JSON", what, "a JSON object",
                                    "send Content-Type: application/json with a valid body"),
                       400);
  }
}

}  // namespace ds::engine::serve
