// The one error mapping: HTTP status -> OpenAI's error type, exceptions -> status and body, and
// the request body's JSON syntax errors as a located 400.
#include "engine/serve/api_error.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ds::engine::serve {
namespace {

TEST(ErrorType, FollowsOpenAiPerStatus) {
  const std::vector<std::pair<int, std::string>> table = {
      {400, "invalid_request_error"}, {401, "authentication_error"},      {403, "invalid_request_error"},
      {404, "invalid_request_error"}, {413, "invalid_request_error"},     {429, "rate_limit_error"},
      {499, "invalid_request_error"}, {500, "server_error"},              {502, "server_error"},
      {503, "service_unavailable_error"}, {504, "server_error"},
  };
  for (const auto& [status, type] : table) EXPECT_EQ(error_type(status), type) << status;
}

TEST(MakeApiError, FillsTheBodyAndNullsEmptyParamAndCode) {
  const ApiError full = make_api_error(400, "temperature: out of range", "temperature", "invalid_value");
  EXPECT_EQ(full.status, 400);
  EXPECT_EQ(full.body.dump(),
            R"({"error":{"message":"temperature: out of range","type":"invalid_request_error",)"
            R"("param":"temperature","code":"invalid_value"}})");
  const ApiError bare = make_api_error(503, "server: shutting down");
  EXPECT_EQ(bare.status, 503);
  EXPECT_EQ(bare.body.dump(),
            R"({"error":{"message":"server: shutting down","type":"service_unavailable_error","param":null,"code":null}})");
}

TEST(ApiErrorFrom, RequestErrorsKeepTheirStatusAndParam) {
  const ApiError e = api_error_from(std::make_exception_ptr(RequestError("model: not served here", 404, "model")));
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.body["error"]["message"], "model: not served here");
  EXPECT_EQ(e.body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e.body["error"]["param"], "model");
  const ApiError busy = api_error_from(std::make_exception_ptr(RequestError("server: busy", 429)));
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.body["error"]["type"], "rate_limit_error");
  EXPECT_TRUE(busy.body["error"]["param"].is_null());
}

TEST(ApiErrorFrom, AnythingElseIsA500WithItsMessageOnly) {
  // A ds::Error that is not a RequestError is still the server's fault.
  const ApiError ds_error = api_error_from(std::make_exception_ptr(RuntimeError("disk: full")));
  EXPECT_EQ(ds_error.status, 500);
  EXPECT_EQ(ds_error.body.dump(),
            R"({"error":{"message":"internal error: disk: full","type":"server_error","param":null,"code":null}})");
  const ApiError std_error = api_error_from(std::make_exception_ptr(std::out_of_range("vector::at")));
  EXPECT_EQ(std_error.status, 500);
  EXPECT_EQ(std_error.body["error"]["message"], "internal error: vector::at");
  const ApiError odd = api_error_from(std::make_exception_ptr(42));
  EXPECT_EQ(odd.status, 500);
  EXPECT_EQ(odd.body["error"]["message"], "internal error: unknown exception");
}

TEST(ParseJsonBody, ReturnsTheParsedValue) {
  EXPECT_EQ(parse_json_body(R"({"prompt": "x", "max_tokens": 3})"),
            (nlohmann::json{{"prompt", "x"}, {"max_tokens", 3}}));
}

TEST(ParseJsonBody, SyntaxErrorsAreA400WithoutTheLibraryTag) {
  const std::string hint = "; expected a JSON object; hint: send Content-Type: application/json with a valid body";
  const std::vector<std::pair<std::string, std::string>> table = {
      {R"({"prompt": "x",)",
       "request body: invalid JSON (got parse error at line 1, column 16: syntax error while parsing object key - "
       "unexpected end of input; expected string literal)"},
      {"", "request body: invalid JSON (got parse error at line 1, column 1: syntax error while parsing value - "
           "unexpected end of input; expected '[', '{', or a literal)"},
      // A missing comma: located at the end of the token after it, "b" on line 3.
      {"{\n  \"a\": 1\n  \"b\": 2\n}",
       "request body: invalid JSON (got parse error at line 3, column 5: syntax error while parsing object - "
       "unexpected string literal; expected '}')"},
  };
  for (const auto& [body, message] : table) {
    SCOPED_TRACE(body);
    try {
      parse_json_body(body);
      ADD_FAILURE() << "accepted";
    } catch (const RequestError& e) {
      EXPECT_EQ(e.what(), message + hint);
      EXPECT_EQ(e.http_status(), 400);
      EXPECT_EQ(e.param(), "");
    }
  }
}

}  // namespace
}  // namespace ds::engine::serve
