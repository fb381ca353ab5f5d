// dist::DataParallel, first version: a module's replicas made equal and checked at construction
// (rank 0's parameters and buffers broadcast, names, shapes and dtypes compared on every rank),
// then one synchronous allreduce-average of the gradients after each backward.
#pragma once

#include <string>
#include <vector>

#include <descent/dist/process_group.h>
#include <descent/nn/module.h>

namespace descent::dist {

// Wraps a module that every rank builds the same way. The training loop stays the same, with
// one call more between backward and the optimizer step:
//   dist::DataParallel parallel(model);      // rank 0's weights everywhere
//   loss(model.forward(shard), ...).backward();
//   parallel.sync_gradients();               // the mean gradient over the world
//   optimizer.step();
// With the loss a mean over each rank's shard of B examples, that mean gradient is the one of the
// whole batch of world_size * B examples. Buckets, overlap with backward and no_sync come later.
class DataParallel {
 public:
  // Checks that every rank's module has the same parameters and buffers (names, shapes, dtypes;
  // a ShapeError on every rank naming the first that differs and both ranks' versions of it),
  // then copies rank 0's values into every rank. Collective: every rank constructs it.
  explicit DataParallel(nn::Module& module, ProcessGroup group = world());

  // Averages every trainable parameter's gradient over the ranks, in place. A parameter without
  // a gradient gets a zero one first, so that every rank posts the same collectives.
  void sync_gradients();

  // Copies rank 0's buffers (BatchNorm's running statistics) into every rank.
  void broadcast_buffers();

  nn::Module& module() { return module_; }
  ProcessGroup& group() { return group_; }

 private:
  nn::Module& module_;
  ProcessGroup group_;
};

}  // namespace descent::dist
