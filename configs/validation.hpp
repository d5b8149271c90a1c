#pragma once
// Cross-field rules that no single key can check (single values are checked while reading).
#include <string_view>

#include "configs/config.hpp"

namespace ds::configs {

/// Throws ConfigError ("<source>: <rule broken> (got ...); expected ...; hint: ...") on the first
/// broken rule: fp16 and bf16 both enabled, offload_param below stage 3, nvme without nvme_path,
/// offload ratio < 1 below stage 3, optimizer/scheduler required parameters missing, ds.dtype
/// contradicting fp16/bf16, batch sizes not positive. The readers call it; call it again after
/// building or changing a Config in code.
void validate(const Config& config, std::string_view source_name = "config");

}  // namespace ds::configs
