// Collects the warnings the logger emits for one scope, for tests that assert them exactly.
#pragma once
#include <string>
#include <vector>

#include "common/log.hpp"

namespace ds::test {

class CapturedWarnings {
 public:
  CapturedWarnings() {
    previous_ = log::set_sink([this](log::Level level, const std::string& message) {
      if (level == log::Level::kWarn) lines_.push_back(message);
    });
  }
  ~CapturedWarnings() { log::set_sink(previous_); }
  CapturedWarnings(const CapturedWarnings&) = delete;
  CapturedWarnings& operator=(const CapturedWarnings&) = delete;
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  log::Sink previous_;
  std::vector<std::string> lines_;
};

}  // namespace ds::test
