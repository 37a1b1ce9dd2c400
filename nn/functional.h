// functional.h — torch.nn.functional for model code: one include for what a forward pass, a
// loss and an accuracy count call (relu, max_pool2d, flatten, softmax, cross_entropy, argmax,
// ...). The ops live in the engine (nanofed::, found unqualified from nanofed::nn code); the
// losses in nn/losses.h; argmax is re-exported like cross_entropy, so nn::argmax works too.
#pragma once
#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
#include "nn/losses.h"

namespace nanofed::nn {

using ::nanofed::argmax;
using ::nanofed::log_softmax;
using ::nanofed::softmax;

}  // namespace nanofed::nn
