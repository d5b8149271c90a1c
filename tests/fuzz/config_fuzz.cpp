// libFuzzer target for the config readers and writers. Any input must end in a Config or a
// ds::ConfigError; anything else (a crash, a sanitizer report, another exception) is a bug. A
// config that reads must also survive the writers: JSON -> TOML -> Config gives it back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.hpp"
#include "common/log.hpp"
#include "configs/config_io.hpp"

namespace {

void check_round_trip(const ds::configs::Config& config) {
  using namespace ds::configs;
  const Config from_toml = parse_config_toml(to_toml(config), "fuzz.toml");
  const Config from_json = parse_config_json(to_json(config), "fuzz.json");
  if (!(from_toml == config) || !(from_json == config)) __builtin_trap();
}

void try_parse(std::string_view text, bool toml) {
  try {
    const auto config = toml ? ds::configs::parse_config_toml(text, "fuzz.toml")
                             : ds::configs::parse_config_json(text, "fuzz.json");
    check_round_trip(config);
  } catch (const ds::ConfigError&) {
    // The expected outcome for most inputs.
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ds::log::set_level(ds::log::Level::kError);  // passthrough and deprecation warnings are noise here
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try_parse(text, false);
  try_parse(text, true);
  return 0;
}
