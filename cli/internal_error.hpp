// What `ds` prints for an exception that is not a ds::Error: a bug in ds, or a LibTorch check
// (c10::Error) that ds did not turn into a ds::Error first. Header-only and torch-free so both
// executables and the cli tests share it; a c10::Error is recognised by its text alone.
#pragma once
#include <string>
#include <string_view>

namespace ds::cli {

/// c10::Error::what() is the message, then this marker and the whole C++ backtrace.
inline constexpr std::string_view kTorchTraceMarker = "Exception raised from ";

/// The lines printed on stderr for an unexpected exception whose what() is `what`. A LibTorch
/// backtrace is cut to the first line of its message unless `verbose` (-v), and the hint says how
/// to see the rest; other exceptions are printed whole.
inline std::string internal_error_text(std::string_view what, bool verbose) {
  const std::string_view report = "please report this with the command line you ran";
  const std::size_t marker = what.find(kTorchTraceMarker);
  if (verbose || marker == std::string_view::npos) {
    return "ds: internal error: " + std::string(what) + "\nhint: " + std::string(report) + "\n";
  }
  std::string_view message = what.substr(0, marker);
  const std::size_t text_begin = message.find_first_not_of(" \t\n");
  message = text_begin == std::string_view::npos ? std::string_view{} : message.substr(text_begin);
  message = message.substr(0, message.find('\n'));
  while (!message.empty() && (message.back() == ' ' || message.back() == '\t')) message.remove_suffix(1);
  return "ds: internal error: " + std::string(message) + "\nhint: rerun with -v for the full LibTorch trace; " +
         std::string(report) + "\n";
}

}  // namespace ds::cli
