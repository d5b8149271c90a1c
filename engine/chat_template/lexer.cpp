#include "engine/chat_template/lexer.hpp"

#include <array>
#include <cctype>
#include <cstdint>

#include "engine/chat_template/py_string.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

[[noreturn]] void fail_syntax(std::string message, std::size_t offset) {
  throw TemplateFailure(FailureKind::kSyntax, std::move(message), offset);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Jinja decodes string literals with Python's "unicode-escape" codec: the usual escapes, \xhh,
// \uXXXX, \UXXXXXXXX, octal; an unknown escape keeps its backslash.
std::string decode_escapes(std::string_view body, std::size_t offset) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char c = body[++i];
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '\n':
        break;  // a backslash at the end of a line continues the string
      case 'x':
      case 'u':
      case 'U': {
        const std::size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        const std::string hex(body.substr(i + 1, digits));
        if (hex.size() != digits || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
          fail_syntax(std::string("truncated \\") + c + " escape in a string literal", offset);
        py::append_utf8(static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16)), out);
        i += digits;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          std::uint32_t v = 0;
          std::size_t n = 0;
          while (n < 3 && i < body.size() && body[i] >= '0' && body[i] <= '7') v = v * 8 + (body[i++] - '0'), ++n;
          --i;
          py::append_utf8(v, out);
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

constexpr std::array<std::string_view, 6> kTwoCharOperators = {"//", "**", "==", "!=", "<=", ">="};
constexpr std::string_view kOneCharOperators = "+-*/%~[](){}<>=.,:|;";

class Lexer {
 public:
  Lexer(std::string_view source, const LexerOptions& options) : src_(source), options_(options) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const std::size_t start = find_tag(pos_);
      std::string text(src_.substr(pos_, start == std::string_view::npos ? std::string_view::npos : start - pos_));
      if (start == std::string_view::npos) {
        emit_text(std::move(text), pos_);
        break;
      }
      const char tag = src_[start + 1];
      const char modifier =
          start + 2 < src_.size() && (src_[start + 2] == '-' || src_[start + 2] == '+') ? src_[start + 2] : 0;
      if (modifier == '-') {
        text = py::strip(text, py::StripSide::kRight);
      } else if (modifier != '+' && options_.lstrip_blocks && tag != '{') {
        const std::size_t line_begin = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        const bool at_line_start = line_begin > 0 || pos_ == 0 || src_[pos_ - 1] == '\n';
        const std::string_view tail = std::string_view(text).substr(line_begin);
        if (at_line_start && !tail.empty() && tail.find_first_not_of(" \t\f\v") == std::string_view::npos)
          text.resize(line_begin);
      }
      emit_text(std::move(text), pos_);
      const std::size_t inner = start + 2 + (modifier ? 1 : 0);
      if (tag == '#') {
        lex_comment(start, inner);
      } else if (tag == '%' && lex_raw(start, inner)) {
        continue;
      } else {
        lex_tag(start, inner, tag == '%');
      }
    }
    tokens_.push_back({TokenKind::kEnd, "", src_.size()});
    return std::move(tokens_);
  }

 private:
  std::size_t find_tag(std::size_t from) const {
    for (std::size_t i = src_.find('{', from); i != std::string_view::npos; i = src_.find('{', i + 1))
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return std::string_view::npos;
  }

  void emit_text(std::string text, std::size_t offset) {
    if (!text.empty()) tokens_.push_back({TokenKind::kText, std::move(text), offset});
  }

  // After a tag's end: `-` eats all whitespace; a block or comment end eats one newline under
  // trim_blocks unless written `+%}`.
  void after_tag_end(std::size_t end, char modifier, bool is_block_like) {
    pos_ = end;
    if (modifier == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    } else if (modifier != '+' && is_block_like && options_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
  }

  void lex_comment(std::size_t start, std::size_t inner) {
    const std::size_t close = src_.find("#}", inner);
    if (close == std::string_view::npos) fail_syntax("unclosed comment: '{#' has no matching '#}'", start);
    const char modifier = close > inner && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    after_tag_end(close + 2, modifier, true);
  }

  // `{% raw %}...{% endraw %}`: everything between is text, tags included.
  bool lex_raw(std::size_t start, std::size_t inner) {
    std::size_t i = inner;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.substr(i, 3) != "raw" || (i + 3 < src_.size() && is_name_char(src_[i + 3]))) return false;
    i += 3;
    while (i < src_.size() && is_space(src_[i])) ++i;
    const char open_mod = i < src_.size() && src_[i] == '-' ? '-' : 0;
    if (src_.substr(i + (open_mod ? 1 : 0), 2) != "%}") return false;
    std::size_t body = i + (open_mod ? 1 : 0) + 2;
    if (open_mod)
      while (body < src_.size() && is_space(src_[body])) ++body;
    for (std::size_t j = src_.find("{%", body); j != std::string_view::npos; j = src_.find("{%", j + 2)) {
      std::size_t k = j + 2;
      const char mod = k < src_.size() && (src_[k] == '-' || src_[k] == '+') ? src_[k] : 0;
      if (mod) ++k;
      while (k < src_.size() && is_space(src_[k])) ++k;
      if (src_.substr(k, 6) != "endraw") continue;
      k += 6;
      while (k < src_.size() && is_space(src_[k])) ++k;
      const char end_mod = k < src_.size() && (src_[k] == '-' || src_[k] == '+') ? src_[k] : 0;
      if (src_.substr(k + (end_mod ? 1 : 0), 2) != "%}") continue;
      std::string text(src_.substr(body, j - body));
      if (mod == '-') text = py::strip(text, py::StripSide::kRight);
      emit_text(std::move(text), body);
      after_tag_end(k + (end_mod ? 1 : 0) + 2, end_mod, true);
      return true;
    }
    fail_syntax("unclosed raw block: '{% raw %}' has no matching '{% endraw %}'", start);
  }

  void lex_tag(std::size_t start, std::size_t inner, bool block) {
    tokens_.push_back({block ? TokenKind::kBlockBegin : TokenKind::kVarBegin, block ? "{%" : "{{", start});
    const std::string_view close = block ? "%}" : "}}";
    std::vector<char> brackets;
    std::size_t i = inner;
    while (true) {
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (i >= src_.size())
        fail_syntax(
            std::string("unclosed tag: '") + (block ? "{%" : "{{") + "' has no matching '" + std::string(close) + "'",
            start);
      if (brackets.empty()) {
        const char mod = (src_[i] == '-' || (block && src_[i] == '+')) ? src_[i] : 0;
        if (src_.substr(i + (mod ? 1 : 0), 2) == close) {
          tokens_.push_back({block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, std::string(close), i});
          after_tag_end(i + (mod ? 1 : 0) + 2, mod, block);
          return;
        }
      }
      i = lex_one(i, brackets);
    }
  }

  std::size_t lex_one(std::size_t i, std::vector<char>& brackets) {
    const char c = src_[i];
    if (is_name_start(c)) {
      std::size_t j = i;
      while (j < src_.size() && is_name_char(src_[j])) ++j;
      tokens_.push_back({TokenKind::kName, std::string(src_.substr(i, j - i)), i});
      return j;
    }
    if (is_digit(c)) return lex_number(i);
    if (c == '\'' || c == '"') {
      std::size_t j = i + 1;
      while (j < src_.size() && src_[j] != c) j += src_[j] == '\\' ? 2 : 1;
      if (j >= src_.size()) fail_syntax("unclosed string literal", i);
      tokens_.push_back({TokenKind::kString, decode_escapes(src_.substr(i + 1, j - i - 1), i), i});
      return j + 1;
    }
    for (const auto op : kTwoCharOperators) {
      if (src_.substr(i, 2) == op) {
        tokens_.push_back({TokenKind::kOperator, std::string(op), i});
        return i + 2;
      }
    }
    if (kOneCharOperators.find(c) != std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{') brackets.push_back(c);
      if (c == ')' || c == ']' || c == '}') {
        const char open = c == ')' ? '(' : c == ']' ? '[' : '{';
        if (brackets.empty() || brackets.back() != open) {
          const std::string expected = brackets.empty()         ? std::string()
                                       : brackets.back() == '(' ? "; expected ')'"
                                       : brackets.back() == '[' ? "; expected ']'"
                                                                : "; expected '}'";
          fail_syntax(std::string("unexpected '") + c + "'" + expected, i);
        }
        brackets.pop_back();
      }
      tokens_.push_back({TokenKind::kOperator, std::string(1, c), i});
      return i + 1;
    }
    fail_syntax(std::string("unexpected character '") + std::string(py::code_points(src_.substr(i, 4)).front()) + "'",
                i);
  }

  std::size_t lex_number(std::size_t i) {
    const auto digits = [&](std::size_t j) {
      while (j < src_.size() && (is_digit(src_[j]) || (src_[j] == '_' && j + 1 < src_.size() && is_digit(src_[j + 1]))))
        ++j;
      return j;
    };
    std::size_t j = digits(i);
    bool is_float = false;
    if (j + 1 < src_.size() && src_[j] == '.' && is_digit(src_[j + 1])) {
      j = digits(j + 1);
      is_float = true;
    }
    if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
      std::size_t k = j + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        j = digits(k);
        is_float = true;
      }
    }
    std::string text;
    for (char ch : src_.substr(i, j - i))
      if (ch != '_') text += ch;
    tokens_.push_back({is_float ? TokenKind::kFloat : TokenKind::kInteger, text, i});
    return j;
  }

  std::string_view src_;
  LexerOptions options_;
  std::size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<Token> tokenize(std::string_view source, const LexerOptions& options) {
  return Lexer(source, options).run();
}

}  // namespace ds::engine::chat_template
