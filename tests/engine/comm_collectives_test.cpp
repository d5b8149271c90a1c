// Communicator collectives on real ranks: the test starts 2 and 4 copies of this binary
// (launch_local, Gloo over a TCPStore on 127.0.0.1), each running CommRankWorker.Run, which
// checks every collective against results computed locally from all ranks' (seeded) inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "common/error.hpp"
#include "engine/comm/process_group.hpp"
#include "engine/launch/launcher.hpp"

namespace ds::comm {
namespace {

/// Rank `rank`'s input for check number `salt`: any rank can compute any other rank's data.
torch::Tensor rank_data(int rank, torch::IntArrayRef shape, int salt, torch::ScalarType type = torch::kFloat) {
  torch::manual_seed(1000 * salt + rank);
  torch::Tensor t = torch::randn(shape);
  if (type == torch::kLong) return (t * 1000).round().to(type);
  return t.to(type);
}

/// All ranks' inputs stacked along a new dim 0, in fp64.
torch::Tensor all_inputs(int world, torch::IntArrayRef shape, int salt, torch::ScalarType type = torch::kFloat) {
  std::vector<torch::Tensor> inputs;
  for (int s = 0; s < world; ++s) inputs.push_back(rank_data(s, shape, salt, type).to(torch::kDouble));
  return torch::stack(inputs);
}

torch::Tensor reduce(const torch::Tensor& stacked, ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return stacked.sum(0);
    case ReduceOp::kAvg: return stacked.mean(0);
    case ReduceOp::kMax: return stacked.amax(0);
    case ReduceOp::kMin: return stacked.amin(0);
  }
  return {};
}

/// fp32 results: only the order of the additions differs from the fp64 reference.
void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what, double tol = 1e-5) {
  EXPECT_TRUE(torch::allclose(got.to(torch::kDouble), want.to(torch::kDouble), tol, tol))
      << what << ": max error " << (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
}

// bf16 results are rounded once from an fp32 reduction: within one bf16 ulp (2^-8 relative).
constexpr double kBf16Tol = 1.0 / 128;

void check_all_reduce(Communicator& comm) {
  const int world = comm.world_size(), rank = comm.rank();
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax, ReduceOp::kMin}) {
    torch::Tensor t = rank_data(rank, {37, 5}, 1);
    comm.all_reduce(t, op);
    expect_close(t, reduce(all_inputs(world, {37, 5}, 1), op), "all_reduce " + to_string(op));
  }
  torch::Tensor b = rank_data(rank, {1000}, 2, torch::kBFloat16);
  comm.all_reduce(b, ReduceOp::kAvg);
  expect_close(b, all_inputs(world, {1000}, 2, torch::kBFloat16).mean(0), "all_reduce avg bf16", kBf16Tol);
  torch::Tensor i = rank_data(rank, {64}, 3, torch::kLong);
  comm.all_reduce(i, ReduceOp::kMax);
  EXPECT_TRUE(torch::equal(i, all_inputs(world, {64}, 3, torch::kLong).amax(0).to(torch::kLong)));
  torch::Tensor flags = torch::zeros({3}, torch::kBool);
  flags[rank % 3] = true;
  comm.all_reduce(flags);  // sum of bools = or
  for (int k = 0; k < 3; ++k) EXPECT_EQ(flags[k].item<bool>(), k < world) << "bool all_reduce at " << k;
  // Two in flight at once, waited in order.
  torch::Tensor x = rank_data(rank, {300}, 4), y = rank_data(rank, {200}, 5);
  CommWork wx = comm.all_reduce_async(x), wy = comm.all_reduce_async(y, ReduceOp::kMax);
  wx.wait();
  wy.wait();
  expect_close(x, all_inputs(world, {300}, 4).sum(0), "async all_reduce sum");
  expect_close(y, all_inputs(world, {200}, 5).amax(0), "async all_reduce max");
}

void check_broadcast_and_gather(Communicator& comm) {
  const int world = comm.world_size(), rank = comm.rank();
  for (torch::ScalarType type : {torch::kFloat, torch::kBFloat16}) {
    torch::Tensor t = rank_data(rank, {17}, 6, type);
    comm.broadcast(t, world - 1);
    EXPECT_TRUE(torch::equal(t, rank_data(world - 1, {17}, 6, type))) << "broadcast " << type;
    std::vector<torch::Tensor> gathered = comm.all_gather(rank_data(rank, {3, 4}, 7, type));
    ASSERT_EQ(static_cast<int>(gathered.size()), world);
    for (int s = 0; s < world; ++s) EXPECT_TRUE(torch::equal(gathered[s], rank_data(s, {3, 4}, 7, type))) << "all_gather " << s;
    torch::Tensor flat = torch::empty({world * 2, 3}, torch::TensorOptions().dtype(type));
    comm.all_gather_into(flat, rank_data(rank, {2, 3}, 8, type));
    for (int s = 0; s < world; ++s) {
      EXPECT_TRUE(torch::equal(flat.narrow(0, 2 * s, 2), rank_data(s, {2, 3}, 8, type))) << "all_gather_into " << s;
    }
  }
}

void check_reduce_scatter(Communicator& comm) {
  const int world = comm.world_size(), rank = comm.rank();
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax, ReduceOp::kMin}) {
    torch::Tensor out = torch::empty({2, 3});
    comm.reduce_scatter(out, rank_data(rank, {world * 2, 3}, 9), op);
    torch::Tensor want = reduce(all_inputs(world, {world * 2, 3}, 9), op).narrow(0, 2 * rank, 2);
    expect_close(out, want, "reduce_scatter " + to_string(op));
  }
  torch::Tensor b = torch::empty({500}, torch::kBFloat16);
  comm.reduce_scatter(b, rank_data(rank, {world * 500}, 10, torch::kBFloat16));
  expect_close(b, all_inputs(world, {world * 500}, 10, torch::kBFloat16).sum(0).narrow(0, 500 * rank, 500),
               "reduce_scatter bf16", kBf16Tol);
  torch::Tensor p = torch::empty({7}), q = torch::empty({5});
  torch::Tensor p_in = rank_data(rank, {world * 7}, 11), q_in = rank_data(rank, {world * 5}, 12);
  CommWork wp = comm.reduce_scatter_async(p, p_in), wq = comm.reduce_scatter_async(q, q_in, ReduceOp::kAvg);
  wq.wait();
  wp.wait();
  expect_close(p, all_inputs(world, {world * 7}, 11).sum(0).narrow(0, 7 * rank, 7), "async reduce_scatter sum");
  expect_close(q, all_inputs(world, {world * 5}, 12).mean(0).narrow(0, 5 * rank, 5), "async reduce_scatter avg");
}

/// Rows rank `from` sends to rank `to` in the uneven all_to_all.
int64_t rows(int from, int to) { return 1 + (from + 2 * to) % 3; }

void check_all_to_all(Communicator& comm) {
  const int world = comm.world_size(), rank = comm.rank();
  torch::Tensor out = torch::empty({world * 3, 2});
  comm.all_to_all_single(out, rank_data(rank, {world * 3, 2}, 13));
  for (int s = 0; s < world; ++s) {
    EXPECT_TRUE(torch::equal(out.narrow(0, 3 * s, 3), rank_data(s, {world * 3, 2}, 13).narrow(0, 3 * rank, 3)));
  }
  std::vector<int64_t> in_splits, out_splits;
  int64_t in_rows = 0, out_rows = 0;
  for (int j = 0; j < world; ++j) {
    in_splits.push_back(rows(rank, j));
    out_splits.push_back(rows(j, rank));
    in_rows += in_splits.back();
    out_rows += out_splits.back();
  }
  torch::Tensor uneven = torch::empty({out_rows, 2});
  comm.all_to_all_single(uneven, rank_data(rank, {in_rows, 2}, 14), out_splits, in_splits);
  std::vector<torch::Tensor> want;
  for (int s = 0; s < world; ++s) {
    int64_t offset = 0, total = 0;
    for (int j = 0; j < world; ++j) total += rows(s, j);
    for (int j = 0; j < rank; ++j) offset += rows(s, j);
    want.push_back(rank_data(s, {total, 2}, 14).narrow(0, offset, rows(s, rank)));
  }
  EXPECT_TRUE(torch::equal(uneven, torch::cat(want))) << "uneven all_to_all_single";
}

void check_point_to_point(Communicator& comm) {
  const int world = comm.world_size(), rank = comm.rank();
  const int next = (rank + 1) % world, prev = (rank + world - 1) % world;
  torch::Tensor got = torch::empty({5});
  if (rank % 2 == 0) {
    comm.send(rank_data(rank, {5}, 15), next);
    comm.recv(got, prev);
  } else {
    comm.recv(got, prev);
    comm.send(rank_data(rank, {5}, 15), next);
  }
  EXPECT_TRUE(torch::equal(got, rank_data(prev, {5}, 15)));
  comm.barrier();
}

template <typename Fn>
void expect_usage_error(Fn fn, const std::string& message) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const UsageError& e) {
    EXPECT_EQ(e.what(), message);
  }
}

void check_argument_errors(Communicator& comm) {
  const int world = comm.world_size();
  torch::Tensor out = torch::empty({6});
  torch::Tensor in = torch::empty({10});
  expect_usage_error([&] { comm.reduce_scatter(out, in); },
                     "collective reduce_scatter: input.numel() must be world_size * output.numel() (got 10 vs " +
                         std::to_string(world) + " * 6)");
  torch::Tensor strided = torch::zeros({4, 4}).t();
  expect_usage_error([&] { comm.all_reduce(strided); },
                     "collective all_reduce: tensor is not contiguous; hint: pass tensor.contiguous()");
  torch::Tensor longs = torch::zeros({4}, torch::kLong);
  expect_usage_error([&] { comm.all_reduce(longs, ReduceOp::kAvg); },
                     "collective all_reduce: avg needs a floating-point tensor (got Long); expected float, double, half or bfloat16");
  torch::Tensor t = torch::zeros({4});
  expect_usage_error([&] { comm.broadcast(t, world); }, "collective broadcast: root out of range (got " + std::to_string(world) +
                                                            "); expected 0 <= root < world size " + std::to_string(world));
}

TEST(CommRankWorker, Run) {
  const char* scenario = std::getenv("DS_COMM_TEST_WORKER");
  if (!scenario) GTEST_SKIP() << "helper: runs only as a rank started by CommCollectives";
  const EnvMap env = current_environment();
  Communicator comm(options_from_environment());
  ASSERT_EQ(comm.world_size(), std::stoi(env.at("WORLD_SIZE")));
  EXPECT_EQ(comm.backend_name(), "gloo");
  check_all_reduce(comm);
  check_broadcast_and_gather(comm);
  check_reduce_scatter(comm);
  check_all_to_all(comm);
  check_point_to_point(comm);
  check_argument_errors(comm);
  comm.barrier();
}

class CommCollectives : public testing::TestWithParam<int> {};

TEST_P(CommCollectives, MatchLocalReference) {
  std::mutex mutex;
  std::vector<std::vector<std::string>> lines(static_cast<size_t>(GetParam()));
  launch::LaunchOptions options;
  options.command = {std::filesystem::read_symlink("/proc/self/exe").string(), "--gtest_filter=CommRankWorker.Run"};
  options.nproc = GetParam();
  options.env = {{"DS_COMM_TEST_WORKER", "collectives"}, {"DS_TIMEOUT", "60"}, {"OMP_NUM_THREADS", "1"}};
  options.on_line = [&](size_t index, launch::Stream, const std::string& line) {
    std::lock_guard lock(mutex);
    lines[index].push_back(line);
  };
  launch::launch_local(options);  // throws, quoting the failed rank's gtest output, if any check fails
  for (const auto& rank_lines : lines) EXPECT_THAT(rank_lines, testing::Contains(testing::HasSubstr("[  PASSED  ] 1 test")));
}

INSTANTIATE_TEST_SUITE_P(Ranks, CommCollectives, testing::Values(2, 4));

TEST(CommLocal, SingleRankIsLocal) {
  Communicator comm(CommOptions{});
  EXPECT_EQ(comm.backend_name(), "local");
  EXPECT_EQ(comm.world_size(), 1);
  torch::Tensor t = rank_data(0, {8}, 16);
  torch::Tensor before = t.clone();
  comm.all_reduce(t, ReduceOp::kAvg);
  comm.broadcast(t, 0);
  EXPECT_TRUE(torch::equal(t, before));
  EXPECT_TRUE(torch::equal(comm.all_gather(t)[0], before));
  torch::Tensor out = torch::empty({8});
  comm.reduce_scatter(out, t);
  EXPECT_TRUE(torch::equal(out, before));
  comm.all_gather_into(out, t);
  comm.all_to_all_single(out, t);
  EXPECT_TRUE(torch::equal(out, before));
  comm.barrier();
}

}  // namespace
}  // namespace ds::comm
