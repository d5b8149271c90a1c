#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ds::profiles {

/// One measured number of a probe: the median of repeated runs, with its spread.
struct Measurement {
  std::string probe;        ///< e.g. "cpu.gemm", "cpu.stream", "storage.seq_write", "coll.all_reduce"
  nlohmann::json params;    ///< what it ran with, e.g. {"dtype":"fp32","m":1024,"n":1024,"k":1024}
  double value = 0;         ///< median over runs
  std::string unit;         ///< "GFLOP/s", "GB/s", "IOPS", "params/s", "us"
  double spread = 0;        ///< relative median absolute deviation (0.02 = ±2%)
  int runs = 0;             ///< timed repetitions after warm-up
};

/// A probe that could not run here, and why (never a faked number).
struct SkippedProbe {
  std::string probe;
  std::string reason;
};

/// Median and relative spread of samples (robust to one slow outlier).
struct Summary {
  double median = 0;
  double spread = 0;  ///< median(|x - median|) / median
  int runs = 0;
};
Summary summarize(std::vector<double> samples);

nlohmann::json to_json(const Measurement& m);
Measurement measurement_from_json(const nlohmann::json& j);

}  // namespace ds::profiles
