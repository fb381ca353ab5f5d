// The one header a user includes: #include <descent/descent.h>, then `using namespace descent;`.
#pragma once

#include "autograd/dot.h"
#include "autograd/engine.h"
#include "autograd/function.h"
#include "autograd/gradcheck.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "core/dims.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/print.h"
#include "core/random.h"
#include "core/tensor.h"
