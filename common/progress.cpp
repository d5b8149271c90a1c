#include "common/progress.hpp"

#include <unistd.h>

#include <algorithm>

namespace ds {

Progress::Progress(std::string title, std::size_t total, Options options)
    : title_(std::move(title)), total_(std::max<std::size_t>(total, 1)), options_(options),
      tty_(options.force_tty >= 0 ? options.force_tty == 1 : ::isatty(::fileno(options.stream)) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_ && tty_ && options_.enabled && done_ > 0) std::fputc('\n', options_.stream);
}

std::string Progress::format_duration(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

void Progress::update(std::size_t done, const std::string& note) {
  done_ = std::min(done, total_);
  note_ = note;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (tty_ ? since >= 0.1 : since >= options_.plain_interval_s) draw(false);
}

void Progress::finish(const std::string& note) {
  if (finished_) return;
  done_ = total_;
  if (!note.empty()) note_ = note;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final_line) {
  last_draw_ = std::chrono::steady_clock::now();
  if (!options_.enabled) return;
  double elapsed = std::chrono::duration<double>(last_draw_ - start_).count();
  double frac = static_cast<double>(done_) / static_cast<double>(total_);
  std::string timing;
  if (final_line) timing.append(" in ").append(format_duration(elapsed));
  else if (done_ > 0) timing.append(" ETA ").append(format_duration(elapsed / frac - elapsed));
  char counts[64];
  std::snprintf(counts, sizeof counts, "%zu/%zu", done_, total_);
  if (tty_) {
    constexpr int kWidth = 24;
    int filled = static_cast<int>(frac * kWidth);
    std::string bar(kWidth + 2, '.');
    bar.front() = '[';
    bar.back() = ']';
    std::fill_n(bar.begin() + 1, filled, '#');
    std::fprintf(options_.stream, "\r\033[K%s %s %s%s %s", title_.c_str(), bar.c_str(), counts, timing.c_str(),
                 note_.c_str());
    if (final_line) std::fputc('\n', options_.stream);
  } else {
    std::fprintf(options_.stream, "%s %s (%3.0f%%)%s %s\n", title_.c_str(), counts, frac * 100, timing.c_str(),
                 note_.c_str());
  }
  std::fflush(options_.stream);
}

}  // namespace ds
