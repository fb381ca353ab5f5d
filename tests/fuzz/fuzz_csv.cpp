// libFuzzer harness: data::read_csv of arbitrary text. The first byte chooses the column dtype
// (bool, int64, float32, float64), the delimiter (',' or ';') and the header mode. Every input
// must read or throw a descent::Error.
#include <descent/data/readers.h>
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using descent::data::CsvOptions;
  const descent::DType dtypes[] = {descent::kBool, descent::kInt64, descent::kFloat32, descent::kFloat64};
  const CsvOptions::Header headers[] = {CsvOptions::Header::Auto, CsvOptions::Header::Yes, CsvOptions::Header::No,
                                        CsvOptions::Header::Auto};
  CsvOptions options{.delimiter = (data[0] & 4) ? ';' : ',', .header = headers[(data[0] >> 3) & 3],
                     .dtype = dtypes[data[0] & 3]};
  std::string path = descent::fuzz::write_input("csv", data + 1, size - 1);
  try {
    (void)descent::data::read_csv(path, options);
  } catch (const descent::Error&) {
  }
  return 0;
}
