// libFuzzer harness: data::read_idx of arbitrary bytes as a plain IDX file (a gzip magic number in
// the input reaches the inflater too). Every input must read or throw a descent::Error.
#include <descent/data/readers.h>
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = descent::fuzz::write_input("idx", data, size);
  try {
    descent::Tensor t = descent::data::read_idx(path);
    (void)t.sum();
  } catch (const descent::Error&) {
  }
  return 0;
}
