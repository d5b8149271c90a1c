#pragma once
#include <chrono>
#include <cstdio>
#include <string>

namespace ds {

/// A progress bar on stderr with what is being done, a count and an ETA. On a terminal it
/// redraws one line; when stderr is not a TTY it prints a plain line at most every
/// `plain_interval_s` seconds (and at the end) so CI logs stay readable.
class Progress {
 public:
  struct Options {
    bool enabled = true;              ///< false: print nothing (e.g. --json or -q)
    double plain_interval_s = 5.0;    ///< seconds between lines when not a TTY
    FILE* stream = stderr;            ///< where to draw
    int force_tty = -1;               ///< -1 detect, 0 plain lines, 1 redraw (tests)
  };

  Progress(std::string title, std::size_t total, Options options);
  Progress(std::string title, std::size_t total) : Progress(std::move(title), total, Options{}) {}
  ~Progress();

  /// Moves to `done` of `total`, with an optional note of the current item.
  void update(std::size_t done, const std::string& note = {});
  void finish(const std::string& note = {});

  /// "1m05s" / "12s" / "2h03m".
  static std::string format_duration(double seconds);

 private:
  void draw(bool final_line);

  std::string title_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::string note_;
  Options options_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace ds
