// libFuzzer harness: nn::load(module, path) of arbitrary bytes into a small module (a linear
// layer and a batch norm, whose int64 buffer num_batches_tracked checks dtypes), strict and not.
// The first byte chooses strictness; every input must load or throw a descent::Error.
#include <descent/nn/checkpoint.h>
#include <descent/nn/container.h>
#include <descent/nn/linear.h>
#include <descent/nn/normalization.h>
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string path = descent::fuzz::write_input("safetensors_module", data + 1, size - 1);
  static descent::nn::Sequential model{descent::nn::Linear(3, 2), descent::nn::BatchNorm1d(2)};
  try {
    descent::nn::load(model, path, /*strict=*/(data[0] & 1) != 0);
  } catch (const descent::Error&) {
  }
  return 0;
}
