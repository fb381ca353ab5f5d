// The public indexing and joining ops. Today the core kernels of core/indexing.h; each
// becomes differentiable in autograd/indexing_ops.cpp.
#pragma once

#include "core/indexing.h"

namespace descent {

using core::argsort;
using core::cat;
using core::chunk;
using core::flip;
using core::gather;
using core::index_add;
using core::index_select;
using core::masked_fill;
using core::masked_select;
using core::nonzero;
using core::one_hot;
using core::pad;
using core::repeat;
using core::scatter;
using core::scatter_add;
using core::sort;
using core::split;
using core::stack;
using core::topk;
using core::tril;
using core::triu;

}  // namespace descent
