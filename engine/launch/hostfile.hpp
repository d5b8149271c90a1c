#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ds::launch {

/// One line of a DeepSpeed hostfile: `worker-0 slots=4`.
struct HostSlots {
  std::string host;
  int slots = 0;  ///< processes (GPUs) the host offers
};

/// Parses DeepSpeed's hostfile format: one `<host> slots=<N>` per line, blank lines and `#`
/// comments (whole-line or trailing) ignored, hosts unique. `source` (the file name) prefixes
/// errors as `source:line: ...`; they throw ds::UsageError.
std::vector<HostSlots> parse_hostfile(std::string_view text, const std::string& source);

/// Reads and parses a hostfile; a missing or empty file is a ds::UsageError.
std::vector<HostSlots> read_hostfile(const std::string& path);

/// A host and the slot indices (local ranks / GPU ids) used on it, in ascending order.
struct NodeSlots {
  std::string host;
  std::vector<int> slots;
};

/// Applies DeepSpeed's --include / --exclude filters (at most one of them non-empty):
/// `worker-0@worker-1:0,2` = all slots of worker-0 and slots 0 and 2 of worker-1. --include
/// keeps only what it names; --exclude removes it (a host without a slot list: the whole host).
/// Hosts keep the hostfile's order; hosts left without slots are dropped. Unknown hosts or
/// slots, and an empty result, throw ds::UsageError.
std::vector<NodeSlots> select_slots(const std::vector<HostSlots>& hosts, const std::string& include = {},
                                    const std::string& exclude = {});

}  // namespace ds::launch
