// Vectors in parameter space for the instruments of study/: a list of tensors shaped as the
// parameters (one per parameter), their inner products and in-place updates outside the graph,
// seeded random directions, and ParameterSnapshot, which puts parameters back as they were.
// Read this first, then study/hvp.h.
#pragma once

#include <cstdint>
#include <vector>

#include <descent/core/random.h>
#include <descent/core/tensor.h>

namespace descent::study {

// One tensor per parameter, in the order of the parameter list it belongs to.
using TensorList = std::vector<Tensor>;

// Checks that `vectors` has one tensor per parameter with the parameter's shape; `op` names the
// calling instrument in the ShapeError.
void check_like(const TensorList& vectors, const TensorList& params, const char* op);
// Checks that every parameter is a floating tensor and the list is not empty.
void check_parameters(const TensorList& params, const char* op);

// Detached contiguous copies (no graph, requires_grad false).
TensorList clone(const TensorList& vectors);
TensorList zeros_like(const TensorList& vectors);
// sum_i <a_i, b_i>, accumulated in double.
double dot(const TensorList& a, const TensorList& b);
double squared_norm(const TensorList& a);
double norm(const TensorList& a);
// y += alpha x, x *= alpha, x /= |x| (returns |x| before; x unchanged when it is 0). In place,
// outside the graph: for the instruments' own vectors, never for parameters.
void axpy_(TensorList& y, double alpha, const TensorList& x);
void scale_(TensorList& x, double alpha);
double normalize_(TensorList& x);

// Entries N(0, 1) or Rademacher (+1 or -1, each with probability 1/2), shaped and typed as `like`.
TensorList randn_like(const TensorList& like, Generator& generator);
TensorList rademacher_like(const TensorList& like, Generator& generator);

// Copies the values of the parameters when made; restore() (or the destructor, if restore was
// not called, as when an exception unwinds) copies them back, so an instrument that moves the
// weights leaves them bit for bit as it found them. Gradients (.grad) are not touched.
// NOTE: restoring writes in place, so the parameters' version counters advance: a graph recorded
// before the instrument ran cannot be backpropagated through afterwards.
class ParameterSnapshot {
 public:
  explicit ParameterSnapshot(const TensorList& params);
  ~ParameterSnapshot();
  ParameterSnapshot(const ParameterSnapshot&) = delete;
  ParameterSnapshot& operator=(const ParameterSnapshot&) = delete;

  const TensorList& values() const { return values_; }
  // Sets the parameters to the snapshot plus `delta` (delta empty: to the snapshot).
  void set_offset(const TensorList& delta) const;
  void restore();

 private:
  TensorList params_;
  TensorList values_;
  bool restored_ = false;
};

}  // namespace descent::study
