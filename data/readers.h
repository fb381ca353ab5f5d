// File readers: whole files (plain or gzip through zlib), IDX arrays (the MNIST format) and
// numeric CSV. A bad file throws FileError naming the file, the offset or line, and the problem;
// every read is bounds-checked against what the file actually holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <descent/core/error.h>
#include <descent/core/tensor.h>

namespace descent::data {

class FileError : public Error {  // a file that cannot be read or is not what it claims to be
 public:
  using Error::Error;
};

// The bytes of `path`; a gzip file (magic 1f 8b) is inflated.
std::vector<uint8_t> read_file(const std::string& path);

// An IDX array (LeCun's MNIST format): magic 00 00 <type> <ndim>, ndim big-endian uint32 sizes,
// then the elements big-endian. `data` holds the raw element bytes as in the file.
struct IdxArray {
  uint8_t type = 0;  // 0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
  Dims shape;
  std::vector<uint8_t> data;
};
IdxArray read_idx_array(const std::string& path);
// The IDX file as a tensor: integer types as int64, float32 and float64 as themselves.
Tensor read_idx(const std::string& path);

struct CsvOptions {
  char delimiter = ',';
  enum class Header { Auto, Yes, No } header = Header::Auto;  // Auto: a first line with any non-number
  DType dtype = kFloat32;
};
struct CsvTable {
  std::vector<std::string> columns;  // the header's names, empty without a header
  Tensor values;                     // [rows, columns]
};
// A CSV of numbers: every row the same number of fields; blank lines are skipped.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace descent::data
