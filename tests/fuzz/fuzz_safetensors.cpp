// libFuzzer harness: nn::load of arbitrary bytes as a safetensors file. Every input must load or
// throw a descent::Error; the tensors of a file that loads are read whole (their bytes are used).
#include <descent/nn/checkpoint.h>
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = descent::fuzz::write_input("safetensors", data, size);
  try {
    descent::nn::Checkpoint checkpoint = descent::nn::load(path);
    for (const auto& [name, tensor] : checkpoint.tensors) (void)tensor.to_vector<double>();
  } catch (const descent::Error&) {
  }
  return 0;
}
