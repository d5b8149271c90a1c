#include "engine/infer/scheduler.hpp"

#include <algorithm>

namespace ds::engine::infer {

Scheduler::Scheduler(BlockAllocator& blocks, SchedulerOptions options) : blocks_(blocks), options_(options) {}

void Scheduler::add(std::unique_ptr<Sequence> seq) { waiting_.push_back(std::move(seq)); }

bool Scheduler::reserve(Sequence& seq, std::int64_t tokens) {
  const auto need = blocks_.blocks_for(tokens) - static_cast<std::int64_t>(seq.blocks.size());
  if (need > blocks_.num_free()) return false;
  for (std::int64_t i = 0; i < need; ++i) seq.blocks.push_back(*blocks_.allocate());
  return true;
}

std::int64_t Scheduler::capacity(const Sequence& seq) const {
  return (static_cast<std::int64_t>(seq.blocks.size()) + blocks_.num_free()) * blocks_.block_size();
}

bool Scheduler::preempt_newest(const std::vector<const Sequence*>& keep) {
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    if (std::find(keep.begin(), keep.end(), it->get()) != keep.end()) continue;
    auto seq = std::move(*it);
    running_.erase(std::next(it).base());
    blocks_.free_all(seq->blocks);
    seq->computed = 0;  // recomputed from its tokens (prompt + what it generated) when resumed
    waiting_.push_front(std::move(seq));
    ++preemptions_;
    return true;
  }
  return false;
}

std::vector<ScheduledChunk> Scheduler::schedule() {
  std::vector<ScheduledChunk> chunks;
  std::vector<const Sequence*> scheduled;
  auto budget = options_.max_batch_tokens;
  auto add_chunk = [&](Sequence& seq, std::int64_t n) {
    chunks.push_back({&seq, seq.computed, n, seq.computed + n == static_cast<std::int64_t>(seq.tokens.size())});
    scheduled.push_back(&seq);
    budget -= n;
  };

  // 1. Decodes, oldest first: one token each. Short of blocks, the newest sequence not yet in
  //    this pass yields (recomputed later), which may be this one.
  for (std::size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence& seq = *running_[i];
    if (seq.pending() != 1) { ++i; continue; }
    bool fits = reserve(seq, seq.computed + 1);
    while (!fits && running_.back().get() != &seq) {
      preempt_newest(scheduled);
      fits = reserve(seq, seq.computed + 1);
    }
    if (!fits) {
      preempt_newest(scheduled);  // it is the newest: it yields itself
      break;
    }
    add_chunk(seq, 1);
    ++i;
  }
  // 2. Prompts already prefilling, oldest first, in chunks that fit the budget and the cache.
  for (auto& ptr : running_) {
    Sequence& seq = *ptr;
    if (budget <= 0) break;
    if (seq.pending() <= 1 || std::find(scheduled.begin(), scheduled.end(), &seq) != scheduled.end()) continue;
    const auto n = std::min({seq.pending(), budget, capacity(seq) - seq.computed});
    if (n <= 0 || !reserve(seq, seq.computed + n)) continue;
    add_chunk(seq, n);
  }
  // 3. New sequences, first come first served, while budget, slots and blocks last.
  while (!waiting_.empty() && budget > 0 && static_cast<std::int64_t>(running_.size()) < options_.max_running) {
    Sequence& seq = *waiting_.front();
    const auto n = std::min({seq.pending(), budget, capacity(seq) - seq.computed});
    if (n <= 0 || !reserve(seq, seq.computed + n)) break;  // FIFO: later ones do not overtake it
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    add_chunk(seq, n);
  }
  // Every running sequence stuck mid-prefill with no free block: free the newest so the oldest
  // can go on (it cannot loop: a sequence alone always fits, submit() checks that).
  if (chunks.empty() && !running_.empty()) {
    if (running_.size() > 1) preempt_newest({running_.front().get()});
    else preempt_newest({});
    return schedule();
  }
  return chunks;
}

void Scheduler::committed(const std::vector<ScheduledChunk>& chunks) {
  for (const auto& c : chunks) c.seq->computed = c.past + c.new_tokens;
}

std::vector<std::unique_ptr<Sequence>> Scheduler::take_if(const std::function<bool(const Sequence&)>& pred) {
  std::vector<std::unique_ptr<Sequence>> taken;
  auto move_matching = [&](auto& container) {
    for (auto it = container.begin(); it != container.end();) {
      if (pred(**it)) {
        blocks_.free_all((*it)->blocks);
        taken.push_back(std::move(*it));
        it = container.erase(it);
      } else {
        ++it;
      }
    }
  };
  move_matching(running_);
  move_matching(waiting_);
  return taken;
}

}  // namespace ds::engine::infer
