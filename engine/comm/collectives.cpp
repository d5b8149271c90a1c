// The collectives of Communicator over c10d, with Gloo's gaps filled locally:
// - Gloo (1.13) has no bfloat16/bool (nor int16): data movement reinterprets the bytes (bf16 as
//   fp16, bool as uint8; copies never look at the values); reductions of bf16 run in fp32 and round once at the end.
// - Gloo has no reduce_scatter: all_to_all_single, then a local reduction of the received blocks.
// - Gloo has no _allgather_base: allgather into views of the flat output.
#include "common/error.hpp"
#include "engine/comm/detail/c10d.hpp"

namespace ds::comm {
namespace {

using WorkPtr = c10::intrusive_ptr<c10d::Work>;

/// Gloo moves bytes of the types it knows; reinterpret the ones it rejects (same element size).
torch::Tensor wire(const Communicator::Impl& impl, const torch::Tensor& t) {
  if (!impl.gloo) return t;
  if (t.scalar_type() == torch::kBFloat16) return t.view(torch::kHalf);  // Gloo has no int16 either
  if (t.scalar_type() == torch::kBool) return t.view(torch::kByte);
  return t;
}

/// The dtype a reduction runs in: fp32 for bf16 on Gloo (which cannot add bf16), uint8 for bool.
torch::ScalarType reduce_dtype(const Communicator::Impl& impl, torch::ScalarType type) {
  if (type == torch::kBool) return torch::kByte;
  if (impl.gloo && type == torch::kBFloat16) return torch::kFloat;
  return type;
}

c10d::ReduceOp c10d_op(ReduceOp op, torch::ScalarType type) {
  if (op == ReduceOp::kMax || (op == ReduceOp::kSum && type == torch::kBool)) return c10d::ReduceOp::MAX;  // bool sum = or
  if (op == ReduceOp::kMin) return c10d::ReduceOp::MIN;
  return c10d::ReduceOp::SUM;  // kAvg divides afterwards: Gloo has no AVG
}

void check_avg(const char* op, ReduceOp reduce, const torch::Tensor& t) {
  if (reduce == ReduceOp::kAvg && !t.is_floating_point()) {
    throw UsageError(format_error(std::string("collective ") + op, "avg needs a floating-point tensor",
                                  std::string(c10::toString(t.scalar_type())), "float, double, half or bfloat16"));
  }
}

void check_same_dtype(const char* op, const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type()) {
    throw UsageError(format_error(std::string("collective ") + op, "output and input dtypes differ",
                                  std::string(c10::toString(a.scalar_type())) + " vs " + c10::toString(b.scalar_type())));
  }
}

void check_numel(const char* op, const torch::Tensor& big, const char* big_name, const torch::Tensor& small,
                 const char* small_name, int world) {
  if (big.numel() != small.numel() * world) {
    throw UsageError(format_error(std::string("collective ") + op,
                                  std::string(big_name) + ".numel() must be world_size * " + small_name + ".numel()",
                                  std::to_string(big.numel()) + " vs " + std::to_string(world) + " * " + std::to_string(small.numel())));
  }
}

void check_rank(const char* op, const char* what, int value, int world) {
  if (value < 0 || value >= world) {
    throw UsageError(format_error(std::string("collective ") + op, std::string(what) + " out of range", std::to_string(value),
                                  "0 <= " + std::string(what) + " < world size " + std::to_string(world)));
  }
}

}  // namespace

CommWork Communicator::all_reduce_async(torch::Tensor& tensor, ReduceOp op) {
  impl_->check_tensor("all_reduce", tensor);
  check_avg("all_reduce", op, tensor);
  if (!impl_->pg) return CommWork();  // one rank: every reduction is the identity
  const torch::ScalarType type = reduce_dtype(*impl_, tensor.scalar_type());
  const bool cast = type != tensor.scalar_type();
  torch::Tensor buffer = cast ? tensor.to(type) : tensor;
  std::vector<at::Tensor> list{buffer};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d_op(op, tensor.scalar_type());
  WorkPtr work = impl_->issue("all_reduce", [&] { return impl_->pg->allreduce(list, options); });
  const int world = world_size();
  return CommWork([impl = impl_.get(), work, buffer, tensor, cast, op, world]() mutable {
    impl->wait("all_reduce", work);
    if (op == ReduceOp::kAvg) buffer.div_(world);
    if (cast) tensor.copy_(buffer);
  });
}

void Communicator::all_reduce(torch::Tensor& tensor, ReduceOp op) { all_reduce_async(tensor, op).wait(); }

void Communicator::broadcast(torch::Tensor& tensor, int root) {
  impl_->check_tensor("broadcast", tensor);
  check_rank("broadcast", "root", root, world_size());
  if (!impl_->pg) return;
  std::vector<at::Tensor> list{wire(*impl_, tensor)};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  impl_->wait("broadcast", impl_->issue("broadcast", [&] { return impl_->pg->broadcast(list, options); }));
}

std::vector<torch::Tensor> Communicator::all_gather(const torch::Tensor& input) {
  impl_->check_tensor("all_gather", input, "input");
  std::vector<torch::Tensor> outputs;
  for (int r = 0; r < world_size(); ++r) outputs.push_back(torch::empty_like(input));
  if (!impl_->pg) {
    outputs[0].copy_(input);
    return outputs;
  }
  std::vector<std::vector<at::Tensor>> wire_outputs(1);
  for (const torch::Tensor& t : outputs) wire_outputs[0].push_back(wire(*impl_, t));
  std::vector<at::Tensor> inputs{wire(*impl_, input)};
  impl_->wait("all_gather", impl_->issue("all_gather", [&] { return impl_->pg->allgather(wire_outputs, inputs); }));
  return outputs;
}

CommWork Communicator::all_gather_into_async(torch::Tensor& output, const torch::Tensor& input) {
  impl_->check_tensor("all_gather_into", output, "output");
  impl_->check_tensor("all_gather_into", input, "input");
  check_same_dtype("all_gather_into", output, input);
  check_numel("all_gather_into", output, "output", input, "input", world_size());
  if (!impl_->pg) {
    output.view(-1).copy_(input.view(-1));
    return CommWork();
  }
  torch::Tensor in = wire(*impl_, input);
  if (impl_->gloo) {
    // Gloo's allgather gathers into a flat buffer of its own, allocated on its worker thread, and
    // copies out of it: as large as `output`, at a moment nobody controls. One broadcast per rank,
    // each in place into that rank's chunk of `output`, moves the same bytes without it.
    const std::int64_t n = input.numel();
    torch::Tensor out = wire(*impl_, output).view(-1);
    out.narrow(0, rank() * n, n).copy_(in.reshape(-1));
    std::vector<WorkPtr> works;
    for (int root = 0; root < world_size(); ++root) {
      std::vector<at::Tensor> chunk{out.narrow(0, root * n, n)};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      works.push_back(impl_->issue("all_gather_into", [&] { return impl_->pg->broadcast(chunk, options); }));
    }
    return CommWork([impl = impl_.get(), works] {
      for (const WorkPtr& work : works) impl->wait("all_gather_into", work);
    });
  }
  torch::Tensor out = output;
  WorkPtr work = impl_->issue("all_gather_into", [&] { return impl_->pg->_allgather_base(out, in); });
  return CommWork([impl = impl_.get(), work] { impl->wait("all_gather_into", work); });
}

void Communicator::all_gather_into(torch::Tensor& output, const torch::Tensor& input) {
  all_gather_into_async(output, input).wait();
}

CommWork Communicator::reduce_scatter_async(torch::Tensor& output, const torch::Tensor& input, ReduceOp op) {
  impl_->check_tensor("reduce_scatter", output, "output");
  impl_->check_tensor("reduce_scatter", input, "input");
  check_same_dtype("reduce_scatter", output, input);
  check_numel("reduce_scatter", input, "input", output, "output", world_size());
  check_avg("reduce_scatter", op, input);
  if (!impl_->pg) {
    output.view(-1).copy_(input.view(-1));
    return CommWork();
  }
  const int world = world_size();
  WorkPtr work;
  if (!impl_->gloo) {  // NCCL: native
    torch::Tensor in = input;
    c10d::ReduceScatterOptions options;
    options.reduceOp = c10d_op(op, input.scalar_type());
    work = impl_->issue("reduce_scatter", [&] { return impl_->pg->_reduce_scatter_base(output, in, options); });
    return CommWork([impl = impl_.get(), work, output, op, world]() mutable {
      impl->wait("reduce_scatter", work);
      if (op == ReduceOp::kAvg) output.div_(world);
    });
  }
  // Gloo: block j of every rank's input goes to rank j, which reduces the blocks it received.
  torch::Tensor received = torch::empty({input.numel()}, input.options());
  torch::Tensor send = wire(*impl_, input).view(-1);
  torch::Tensor recv = wire(*impl_, received);
  std::vector<int64_t> equal_splits;
  work = impl_->issue("reduce_scatter", [&] { return impl_->pg->alltoall_base(recv, send, equal_splits, equal_splits); });
  const torch::ScalarType type = input.scalar_type() == torch::kHalf ? torch::kFloat : reduce_dtype(*impl_, input.scalar_type());
  return CommWork([impl = impl_.get(), work, received, output, op, world, type]() mutable {
    impl->wait("reduce_scatter", work);
    torch::Tensor blocks = received.view({world, -1}).to(type);
    torch::Tensor result = op == ReduceOp::kMax || (op == ReduceOp::kSum && output.scalar_type() == torch::kBool)
                               ? blocks.amax(0)
                           : op == ReduceOp::kMin ? blocks.amin(0)
                                                  : blocks.sum(0);
    if (op == ReduceOp::kAvg) result.div_(world);
    output.view(-1).copy_(result);
  });
}

void Communicator::reduce_scatter(torch::Tensor& output, const torch::Tensor& input, ReduceOp op) {
  reduce_scatter_async(output, input, op).wait();
}

void Communicator::all_to_all_single(torch::Tensor& output, const torch::Tensor& input,
                                     const std::vector<int64_t>& output_splits, const std::vector<int64_t>& input_splits) {
  impl_->check_tensor("all_to_all_single", output, "output");
  impl_->check_tensor("all_to_all_single", input, "input");
  check_same_dtype("all_to_all_single", output, input);
  if (!impl_->pg) {
    check_numel("all_to_all_single", output, "output", input, "input", 1);
    output.copy_(input);
    return;
  }
  torch::Tensor out = wire(*impl_, output);
  torch::Tensor in = wire(*impl_, input);
  std::vector<int64_t> out_splits = output_splits;
  std::vector<int64_t> in_splits = input_splits;
  impl_->wait("all_to_all_single", impl_->issue("all_to_all_single", [&] {
    return impl_->pg->alltoall_base(out, in, out_splits, in_splits);
  }));
}

void Communicator::barrier() {
  if (!impl_->pg) return;
  impl_->wait("barrier", impl_->issue("barrier", [&] { return impl_->pg->barrier(); }));
}

void Communicator::send(const torch::Tensor& tensor, int peer, int tag) {
  impl_->check_tensor("send", tensor);
  check_rank("send", "peer", peer, world_size());
  if (peer == rank()) throw UsageError(format_error("collective send", "a rank cannot send to itself", std::to_string(peer)));
  std::vector<at::Tensor> list{wire(*impl_, tensor)};
  impl_->wait("send", impl_->issue("send", [&] { return impl_->pg->send(list, peer, tag); }));
}

void Communicator::recv(torch::Tensor& tensor, int peer, int tag) {
  impl_->check_tensor("recv", tensor);
  check_rank("recv", "peer", peer, world_size());
  if (peer == rank()) throw UsageError(format_error("collective recv", "a rank cannot receive from itself", std::to_string(peer)));
  std::vector<at::Tensor> list{wire(*impl_, tensor)};
  impl_->wait("recv", impl_->issue("recv", [&] { return impl_->pg->recv(list, peer, tag); }));
}

}  // namespace ds::comm
