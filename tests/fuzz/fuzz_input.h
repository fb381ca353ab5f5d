// What every harness of tests/fuzz shares: the fuzzer's bytes written to a file of this process
// (the readers under test take paths), and the rule that only descent's own errors are expected.
// A crash, a sanitizer report or any other exception escaping a harness is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace descent::fuzz {

// A file in the temporary directory, one per harness and process, rewritten for every input.
inline std::string write_input(const char* harness, const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/descent_fuzz_" + std::string(harness) + "_" + std::to_string(::getpid());
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) __builtin_trap();  // no file, no fuzzing: stop at once
  if (size > 0 && std::fwrite(data, 1, size, file) != size) __builtin_trap();
  std::fclose(file);
  return path;
}

}  // namespace descent::fuzz
