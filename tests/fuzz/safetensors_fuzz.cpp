// libFuzzer target for the safetensors header reader (issue 9). Any input must end in a parsed
// header or a ds::Error; anything else (a crash, a sanitizer report, another exception) is a bug.
// A header that parses must also describe tensors that lie inside the input, one after another.
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/error.hpp"
#include "engine/io/safetensors_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ds::engine::io;
  try {
    const SafetensorsHeader header =
        parse_safetensors_header(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.safetensors");
    std::uint64_t covered = 0;
    for (const auto& e : header.entries) {
      std::uint64_t numel = 1;
      for (std::int64_t d : e.shape) numel *= static_cast<std::uint64_t>(d);
      if (e.begin > e.end || e.end > size - header.data_start || numel * e.element_bytes != e.end - e.begin) {
        __builtin_trap();
      }
      covered += e.end - e.begin;
    }
    if (header.data_start + covered != size) __builtin_trap();
  } catch (const ds::Error&) {
    // The expected outcome for most inputs.
  }
  return 0;
}
