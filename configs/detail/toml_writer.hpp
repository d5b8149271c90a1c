#pragma once
#include <string>

#include "configs/detail/document.hpp"

namespace ds::configs::detail {

/// TOML text for a document whose top level is an object: scalars and arrays as `key = value`,
/// objects as [tables] in document order, objects inside arrays as inline tables. Nulls are left
/// out (TOML has none).
std::string write_toml(const Document& table);

}  // namespace ds::configs::detail
