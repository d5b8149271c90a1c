// Shared by the estimators' memory tests: presets by name and sums of estimate items.
#pragma once
#include <vector>

#include "estimators/memory_estimate.hpp"
#include "estimators/presets.hpp"

namespace ds::estimators::test {

inline const ModelSpec& preset(const char* name) { return find_model_preset(name)->spec; }

/// The bytes of every item of category `c`.
inline double item_bytes(const std::vector<MemoryItem>& items, Category c) {
  double sum = 0;
  for (const auto& i : items) sum += i.category == c ? i.bytes : 0;
  return sum;
}

}  // namespace ds::estimators::test
