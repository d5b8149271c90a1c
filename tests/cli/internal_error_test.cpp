// What users see for an exception that is not a ds::Error (cli/internal_error.hpp).
#include "cli/internal_error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ds::cli {
namespace {

// The shape of c10::Error::what() in LibTorch 1.13: message, context lines, then the backtrace.
const std::string kTorchWhat =
    "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1\n"
    "Exception raised from infer_size_impl at ../aten/src/ATen/ExpandUtils.cpp:35 (most recent call first):\n"
    "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x8d (0x7f00 in /lib/libc10.so)\n"
    "frame #1: at::infer_size_dimvector(c10::ArrayRef<long>, c10::ArrayRef<long>) + 0x1a (0x7f01 in /lib/libtorch_cpu.so)\n";

TEST(InternalError, TorchTraceIsCutToTheFirstLineWithAHintForVerbose) {
  EXPECT_EQ(internal_error_text(kTorchWhat, false),
            "ds: internal error: The size of tensor a (3) must match the size of tensor b (4) at non-singleton "
            "dimension 1\n"
            "hint: rerun with -v for the full LibTorch trace; please report this with the command line you ran\n");
}

TEST(InternalError, VerbosePrintsTheWholeTrace) {
  EXPECT_EQ(internal_error_text(kTorchWhat, true),
            "ds: internal error: " + kTorchWhat + "\nhint: please report this with the command line you ran\n");
}

TEST(InternalError, ContextLinesBeforeTheTraceAreDroppedToo) {
  const std::string what =
      "Expected all tensors to be on the same device\n  while checking argument\n"
      "Exception raised from f at x.cpp:1 (most recent call first):\nframe #0: g\n";
  const std::string text = internal_error_text(what, false);
  EXPECT_EQ(text.substr(0, text.find('\n')), "ds: internal error: Expected all tensors to be on the same device");
  EXPECT_EQ(text.find("frame #"), std::string::npos) << text;
}

TEST(InternalError, OtherExceptionsArePrintedWhole) {
  EXPECT_EQ(internal_error_text("map::at\nsecond line", false),
            "ds: internal error: map::at\nsecond line\nhint: please report this with the command line you ran\n");
}

}  // namespace
}  // namespace ds::cli
