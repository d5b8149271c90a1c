#pragma once
// The one mapping from an error to an HTTP status and OpenAI's error object, used by the
// server's handler wrapper and its error handler alike.
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

namespace ds::engine::serve {

/// An HTTP error answer: status and {"error": {...}} body.
struct ApiError {
  int status = 500;
  nlohmann::ordered_json body;
};

/// OpenAI's error "type" for a status: 401 authentication_error, 429 rate_limit_error,
/// 503 service_unavailable_error, other 5xx server_error, other 4xx invalid_request_error.
const char* error_type(int status);

/// An error answer built from its parts; `code` is OpenAI's machine-readable code (or empty).
ApiError make_api_error(int status, const std::string& message, const std::string& param = {},
                        const std::string& code = {});

/// Maps a caught exception: RequestError -> its status and param; anything else -> 500 with the
/// exception's message only (never a stack trace).
ApiError api_error_from(std::exception_ptr error);

/// Parses a request body, turning a syntax error into RequestError 400 that says where it is
/// (`request body: invalid JSON (got ... at line 1, column 9); expected a JSON object`).
nlohmann::json parse_json_body(const std::string& text);

}  // namespace ds::engine::serve
