// nn::functional::pad. Reflect, replicate and circular padding of a dim of size n by (left, right)
// is a gather along that dim: output position i reads input position p = i - left mapped into
// [0, n) by the mode. It is written as index_select once per padded dim, so its backward (the
// copies added back by index_add) and every higher derivative come from that op.
#include <descent/nn/functional_pad.h>

#include <algorithm>

#include <descent/autograd/ops.h>
#include <descent/core/error.h>

namespace descent::nn::functional {
namespace {

const char* mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::Constant: return "constant";
    case PadMode::Reflect: return "reflect";
    case PadMode::Replicate: return "replicate";
    case PadMode::Circular: return "circular";
  }
  return "?";
}

// The input position each output position of a dim of size n reads, padded by (left, right).
Tensor source_positions(PadMode mode, int64_t n, int64_t left, int64_t right, int dim, const Tensor& input) {
  const char* name = mode_name(mode);
  const int64_t out = n + left + right;
  check<ShapeError>(out >= 1, "pad: {} padding ({}, {}) of dim {} of input {} leaves no element", name, left, right,
                    dim, input.sizes());
  if (mode == PadMode::Reflect) {
    check<ValueError>(left < n && right < n,
                      "pad: reflect padding ({}, {}) of dim {} must be smaller than its size {} (input {})", left,
                      right, dim, n, input.sizes());
  } else if (mode == PadMode::Circular) {
    check<ValueError>(left <= n && right <= n,
                      "pad: circular padding ({}, {}) of dim {} wraps around more than once: at most its size {} "
                      "(input {})",
                      left, right, dim, n, input.sizes());
  } else {
    check<ShapeError>(n >= 1, "pad: replicate padding of dim {} needs a non-empty dim (input {})", dim,
                      input.sizes());
  }
  // NOTE: as PyTorch, circular padding first crops the negative amounts and wraps around what is
  // left; reflect and replicate map into the whole dim.
  const int64_t kept_begin = std::max<int64_t>(0, -left), kept = n - kept_begin - std::max<int64_t>(0, -right);
  check<ShapeError>(mode != PadMode::Circular || kept >= 1,
                    "pad: circular padding ({}, {}) of dim {} of input {} crops the whole dim", left, right, dim,
                    input.sizes());
  std::vector<int64_t> positions(out);
  for (int64_t i = 0; i < out; ++i) {
    int64_t p = i - left;
    switch (mode) {
      case PadMode::Reflect: p = p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p; break;
      case PadMode::Replicate: p = std::clamp<int64_t>(p, 0, n - 1); break;
      case PadMode::Circular: {
        const int64_t q = i - std::max<int64_t>(left, 0);  // the position past the left padding
        p = kept_begin + ((q % kept) + kept) % kept;
        break;
      }
      case PadMode::Constant: break;
    }
    positions[i] = p;
  }
  return core::tensor(positions);
}

}  // namespace

Tensor pad(const Tensor& input, const std::vector<int64_t>& padding, const PadFuncOptions& options) {
  if (options.mode == PadMode::Constant) return descent::pad(input, padding, options.value);
  const char* name = mode_name(options.mode);
  const size_t count = padding.size();
  check<ValueError>(count == 2 || count == 4 || count == 6,
                    "pad: {} padding takes 2, 4 or 6 numbers, (left, right) per padded dim, not {}", name, count);
  const int padded_dims = static_cast<int>(count / 2);
  check<ShapeError>(input.dim() == padded_dims + 1 || input.dim() == padded_dims + 2,
                    "pad: {} padding of the last {} dims needs an input of {} or {} dims, got {}", name, padded_dims,
                    padded_dims + 1, padded_dims + 2, input.sizes());
  Tensor out = input;
  for (int i = 0; i < padded_dims; ++i) {
    const int dim = input.dim() - 1 - i;
    out = index_select(out, dim, source_positions(options.mode, input.size(dim), padding[2 * i], padding[2 * i + 1],
                                                  dim, input));
  }
  return out;
}

}  // namespace descent::nn::functional
