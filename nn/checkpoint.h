// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), the format
// PyTorch and Hugging Face users share:
//   8 bytes    N, the header's length (unsigned little-endian)
//   N bytes    JSON: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//                     "__metadata__": {"key": "value", ...}}   (padded with spaces)
//   the rest   the tensors' raw little-endian bytes; offsets count from the end of the header.
// Loading validates every field and range before it reads a byte of data: a truncated, corrupt or
// hostile file is an Error naming the file and the problem. Saving is atomic: a temporary file
// in the same directory, flushed and fsynced, then renamed over the target.
#pragma once

#include <map>
#include <string>

#include <descent/nn/module.h>

namespace descent::nn {

using Metadata = std::map<std::string, std::string>;

struct Checkpoint {
  StateDict tensors;  // in the header's order
  Metadata metadata;
};

// bool, int64, float32, float64 tensors (dtypes BOOL, I64, F32, F64), any strides; names must
// not be "__metadata__". The data is laid out in the dict's order without gaps.
void save(const StateDict& tensors, const std::string& path, const Metadata& metadata = {});
void save(const Module& module, const std::string& path, const Metadata& metadata = {});

Checkpoint load(const std::string& path);
// load(path) then module.load_state_dict(tensors, strict); errors name the file.
LoadResult load(Module& module, const std::string& path, bool strict = true);

}  // namespace descent::nn
