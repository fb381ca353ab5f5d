// libFuzzer harness: data::read_idx of a gzip file: the input after its first byte is compressed
// with zlib, then cut to the fraction the first byte gives (255: whole), so the reader sees real
// deflate streams, complete and truncated. Every input must read or throw a descent::Error.
#include <vector>

#include <zlib.h>

#include <descent/data/readers.h>
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  z_stream stream{};
  if (deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::vector<uint8_t> compressed(deflateBound(&stream, size) + 64);
  stream.next_in = const_cast<Bytef*>(data + 1);
  stream.avail_in = static_cast<uInt>(size - 1);
  stream.next_out = compressed.data();
  stream.avail_out = static_cast<uInt>(compressed.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  compressed.resize(stream.total_out * data[0] / 255);
  deflateEnd(&stream);
  std::string path = descent::fuzz::write_input("idx_gzip", compressed.data(), compressed.size());
  try {
    descent::Tensor t = descent::data::read_idx(path);
    (void)t.sum();
  } catch (const descent::Error&) {
  }
  return 0;
}
