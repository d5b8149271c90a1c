#include "common/error.hpp"

namespace ds {

std::string format_error(const std::string& where, const std::string& what, const std::string& got,
                         const std::string& expected, const std::string& hint) {
  std::string out;
  if (!where.empty()) out += where + ": ";
  out += what;
  if (!got.empty()) out += " (got " + got + ")";
  if (!expected.empty()) out += "; expected " + expected;
  if (!hint.empty()) out += "; hint: " + hint;
  return out;
}

}  // namespace ds
