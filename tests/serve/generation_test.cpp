// The engine <-> caller contract: finish reason names and RequestStream's queue, cancel flag and
// finished flag, across threads.
#include "engine/serve/generation.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace ds::engine::serve {
namespace {

using std::chrono::milliseconds;

GenerationUpdate update(const std::string& text, std::optional<FinishReason> finish = std::nullopt) {
  GenerationUpdate u;
  u.text = text;
  u.finish = finish;
  return u;
}

TEST(FinishReasonName, NamesEveryReason) {
  EXPECT_STREQ(finish_reason_name(FinishReason::kStop), "stop");
  EXPECT_STREQ(finish_reason_name(FinishReason::kLength), "length");
  EXPECT_STREQ(finish_reason_name(FinishReason::kCancelled), "cancelled");
  EXPECT_STREQ(finish_reason_name(FinishReason::kError), "error");
}

TEST(RequestStream, NextTimesOutWhenNothingCame) {
  RequestStream stream;
  EXPECT_FALSE(stream.next(milliseconds(0)));
  EXPECT_FALSE(stream.next(milliseconds(1)));
  EXPECT_FALSE(stream.finished());
  EXPECT_FALSE(stream.cancelled());
}

TEST(RequestStream, UpdatesComeOutInOrderAndFinishedIsSetByTheLastPush) {
  RequestStream stream;
  stream.push(update("a"));
  stream.push(update("b"));
  EXPECT_FALSE(stream.finished());
  stream.push(update("", FinishReason::kLength));
  EXPECT_TRUE(stream.finished());  // at push time, before the caller read it
  EXPECT_EQ(stream.next(milliseconds(0))->text, "a");
  EXPECT_EQ(stream.next(milliseconds(0))->text, "b");
  const auto last = stream.next(milliseconds(0));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->finish, FinishReason::kLength);
  EXPECT_FALSE(stream.next(milliseconds(0)));
}

TEST(RequestStream, CancelOnlyRaisesTheFlag) {
  RequestStream stream;
  stream.cancel();
  EXPECT_TRUE(stream.cancelled());
  EXPECT_FALSE(stream.finished());  // the engine still owes the final kCancelled update
  EXPECT_FALSE(stream.next(milliseconds(0)));
  stream.cancel();  // twice is harmless
  EXPECT_TRUE(stream.cancelled());
}

TEST(RequestStream, APushFromTheEngineThreadWakesAWaitingCaller) {
  RequestStream stream;
  std::thread engine([&] {
    for (int i = 0; i < 100; ++i) stream.push(update(std::to_string(i)));
    stream.push(update("", FinishReason::kStop));
  });
  std::string seen;
  std::optional<FinishReason> finish;
  while (!finish) {
    auto u = stream.next(std::chrono::seconds(30));  // generous: the engine pushes at once
    ASSERT_TRUE(u);
    seen += u->text + ",";
    finish = u->finish;
  }
  engine.join();
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += std::to_string(i) + ",";
  EXPECT_EQ(seen, expected + ",");
  EXPECT_EQ(finish, FinishReason::kStop);
}

}  // namespace
}  // namespace ds::engine::serve
