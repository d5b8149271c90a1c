#pragma once
#include <string>

namespace ds {

/// What this binary was built from; filled in at build time (cmake/write_build_info.cmake).
struct BuildInfo {
  std::string version;     ///< project version, e.g. "0.1.0"
  std::string git_commit;  ///< `git describe --always --dirty`, "unknown" outside a checkout
  std::string compiler;    ///< compiler id and version
  std::string build_type;  ///< CMAKE_BUILD_TYPE
};

const BuildInfo& build_info();

}  // namespace ds
