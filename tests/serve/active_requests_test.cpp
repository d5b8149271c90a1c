// ActiveRequests: registration lasts as long as the last copy of a ticket, wait_idle wakes when
// the last one ends, and cancel_all reaches the attached engine streams only.
#include "engine/serve/active_requests.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace ds::engine::serve {
namespace {

using Clock = std::chrono::steady_clock;

TEST(ActiveRequests, CountsTicketsUntilTheirLastCopyIsGone) {
  ActiveRequests active;
  EXPECT_EQ(active.count(), 0u);
  auto a = active.enter();
  auto b = active.enter();
  EXPECT_EQ(active.count(), 2u);
  auto a_copy = a;  // e.g. a stream's content provider holding the ticket too
  a.reset();
  EXPECT_EQ(active.count(), 2u);
  a_copy.reset();
  EXPECT_EQ(active.count(), 1u);
  b.reset();
  EXPECT_EQ(active.count(), 0u);
}

TEST(ActiveRequests, WaitIdleSaysWhetherNoneIsLeftByTheDeadline) {
  ActiveRequests active;
  EXPECT_TRUE(active.wait_idle(Clock::now()));  // none: true at once, even with a past deadline
  auto ticket = active.enter();
  EXPECT_FALSE(active.wait_idle(Clock::now()));
  EXPECT_FALSE(active.wait_idle(Clock::now() + std::chrono::milliseconds(1)));
  std::thread finisher([&] { ticket.reset(); });
  // Woken by the ticket's end, long before this generous deadline.
  EXPECT_TRUE(active.wait_idle(Clock::now() + std::chrono::seconds(30)));
  finisher.join();
  EXPECT_EQ(active.count(), 0u);
}

TEST(ActiveRequests, CancelAllCancelsAttachedStreamsOnly) {
  ActiveRequests active;
  auto first = active.enter();
  auto second = active.enter();
  auto unattached = active.enter();  // still parsing its body: nothing to cancel yet
  auto a = std::make_shared<RequestStream>();
  auto b = std::make_shared<RequestStream>();
  first->attach(a);
  second->attach(b);
  EXPECT_EQ(active.count(), 3u);
  active.cancel_all();
  EXPECT_TRUE(a->cancelled());
  EXPECT_TRUE(b->cancelled());
  EXPECT_EQ(active.count(), 3u);  // cancelling does not end a request; its ticket does
}

TEST(ActiveRequests, EndedTicketsAndGoneStreamsAreLeftAlone) {
  ActiveRequests active;
  auto ended_stream = std::make_shared<RequestStream>();
  {
    auto ticket = active.enter();
    ticket->attach(ended_stream);
  }
  auto gone = active.enter();
  gone->attach(std::make_shared<RequestStream>());  // the stream is destroyed at once; only a weak link stays
  active.cancel_all();
  EXPECT_FALSE(ended_stream->cancelled());
  EXPECT_EQ(active.count(), 1u);
}

}  // namespace
}  // namespace ds::engine::serve
