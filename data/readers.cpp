// Reading whole files (gzip through zlib's inflate), IDX arrays and numeric CSV (see data/readers.h).
#include <descent/data/readers.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <zlib.h>

#include <descent/core/factory.h>
#include <descent/core/regular_file.h>

namespace descent::data {
namespace {

std::vector<uint8_t> read_plain(const std::string& path) {
  core::RegularFile file(path);
  if (!file.error().empty()) throw FileError(fmt::format("read_file: {}: {}", path, file.error()));
  std::vector<uint8_t> bytes(static_cast<size_t>(file.size()));
  if (!file.read(bytes.data(), bytes.size())) {
    throw FileError(fmt::format("read_file: {}: read failed (the file has {} bytes): {}", path, bytes.size(),
                                std::strerror(errno)));
  }
  return bytes;
}

bool is_gzip(const std::vector<uint8_t>& bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

// Deflate expands at most 1032:1 (zlib's technical notes), so no stream inflates to more.
constexpr uint64_t kMaxDeflateRatio = 1032;

// RFC 1952: a gzip member, inflated by zlib (window bits 15 + 16 = gzip only), to at most `limit`
// bytes: with `prefix` the first `limit` bytes (fewer if the stream ends first), otherwise a
// stream that holds more is an error. Memory grows only with what the stream actually holds.
std::vector<uint8_t> inflate_gzip(const std::string& path, const std::vector<uint8_t>& compressed, uint64_t limit,
                                  bool prefix) {
  check<FileError>(compressed.size() >= 18,
                   "read_file: {}: offset {}: truncated gzip stream ({} bytes, a gzip file has at least 18)", path,
                   compressed.size(), compressed.size());
  // One byte more than the limit shows that a stream holds more.
  uint64_t capacity = prefix || limit == UINT64_MAX ? limit : limit + 1;
  // The trailer's ISIZE is the uncompressed size mod 2^32: a good first guess for the buffer.
  // NOTE: in a truncated file those 4 bytes are arbitrary, so the guess is also capped (at 64 MiB;
  // the buffer doubles as the stream fills it).
  uint32_t size_hint = 0;
  std::memcpy(&size_hint, compressed.data() + compressed.size() - 4, 4);
  std::vector<uint8_t> out(static_cast<size_t>(std::min<uint64_t>(
      {std::max<uint64_t>(size_hint, 1 << 16), uint64_t{1} << 26, capacity, compressed.size() * kMaxDeflateRatio})));
  z_stream stream{};
  check<FileError>(inflateInit2(&stream, 15 + 16) == Z_OK, "read_file: {}: zlib inflateInit failed", path);
  stream.next_in = const_cast<Bytef*>(compressed.data());
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status = Z_OK;
  std::string reason;
  while (status != Z_STREAM_END) {
    if (stream.total_out == out.size()) {
      if (out.size() == capacity) {
        if (prefix) break;
        reason = fmt::format("the stream holds more than the {} bytes expected", limit);
        break;
      }
      out.resize(static_cast<size_t>(std::min<uint64_t>(out.size() * 2, capacity)));
    }
    stream.next_out = out.data() + stream.total_out;
    stream.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - stream.total_out, 1u << 30));
    status = inflate(&stream, Z_NO_FLUSH);
    if (status == Z_OK || status == Z_STREAM_END) continue;
    reason = status == Z_BUF_ERROR ? "truncated gzip stream (it ends before its end marker)"
                                   : fmt::format("broken gzip stream: {}", stream.msg ? stream.msg : "zlib error");
    break;
  }
  size_t offset = stream.total_in;
  out.resize(stream.total_out);
  inflateEnd(&stream);
  if (!reason.empty()) throw FileError(fmt::format("read_file: {}: compressed offset {}: {}", path, offset, reason));
  return out;
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

int64_t idx_element_size(uint8_t type) {
  switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}

// Element i of an IDX array's big-endian data as T.
template <typename Raw>
Raw load_big_endian(const uint8_t* p) {
  std::array<uint8_t, sizeof(Raw)> bytes;
  std::memcpy(bytes.data(), p, sizeof(Raw));
  if constexpr (std::endian::native == std::endian::little) std::reverse(bytes.begin(), bytes.end());
  return std::bit_cast<Raw>(bytes);
}

template <typename Raw, typename Out>
void convert_idx(const IdxArray& array, Out* out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    out[i] = static_cast<Out>(load_big_endian<Raw>(array.data.data() + i * static_cast<int64_t>(sizeof(Raw))));
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// std::errc() when the whole field is a number, result_out_of_range when it is one beyond double,
// invalid_argument when it is no number.
std::errc parse_number(std::string_view field, double& value) {
  field = trim(field);
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  if (field.empty()) return std::errc::invalid_argument;
  auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error == std::errc() && end != field.data() + field.size()) return std::errc::invalid_argument;
  return error;
}

// A field of an int64 or bool column appended to `out`; "" or what is wrong with it.
std::string parse_integer(std::string_view field, DType dtype, std::vector<int64_t>& out) {
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  int64_t value = 0;
  auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error == std::errc::result_out_of_range) return "is out of the range of int64";
  if (field.empty() || error != std::errc() || end != field.data() + field.size()) {
    return fmt::format("is not an integer (the column is {})", dtype);
  }
  if (dtype == kBool && value != 0 && value != 1) return "is not 0 or 1 (the column is bool)";
  out.push_back(value);
  return "";
}

// A field of a float32 or float64 column appended to `out`; "" or what is wrong with it. inf and
// nan are numbers; a finite number beyond the column's range is not.
std::string parse_real(std::string_view field, DType dtype, std::vector<double>& out) {
  double value = 0;
  std::errc error = parse_number(field, value);
  bool beyond_float = dtype == kFloat32 && std::isfinite(value) && std::abs(value) > std::numeric_limits<float>::max();
  if (error == std::errc::result_out_of_range || beyond_float) return fmt::format("is out of the range of {}", dtype);
  if (error != std::errc()) return "is not a number";
  out.push_back(value);
  return "";
}

std::vector<std::string_view> split_fields(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t end = line.find(delimiter, start);
    fields.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  std::vector<uint8_t> bytes = read_plain(path);
  return is_gzip(bytes) ? inflate_gzip(path, bytes, UINT64_MAX, false) : bytes;
}

IdxArray read_idx_array(const std::string& path) {
  // A gzip file is inflated twice: first the header alone, then exactly what the header promises,
  // so that a hostile or truncated file never makes the reader hold more than that.
  std::vector<uint8_t> file = read_plain(path);
  bool gzip = is_gzip(file);
  std::vector<uint8_t> bytes = gzip ? inflate_gzip(path, file, 4 + 4 * kMaxDims, true) : std::move(file);
  check<FileError>(bytes.size() >= 4, "read_idx: {}: offset 0: truncated header ({} bytes, the magic number needs 4)",
                   path, bytes.size());
  IdxArray array;
  array.type = bytes[2];
  int ndim = bytes[3];
  int64_t element_size = idx_element_size(array.type);
  check<FileError>(bytes[0] == 0 && bytes[1] == 0 && element_size > 0 && ndim >= 1 && ndim <= kMaxDims,
                   "read_idx: {}: offset 0: wrong magic number 0x{:08x} (expected 00 00, a type code 08 09 0B 0C 0D "
                   "or 0E, and 1 to {} dims)",
                   path, big_endian_u32(bytes.data()), kMaxDims);
  size_t header = 4 + 4 * static_cast<size_t>(ndim);
  check<FileError>(bytes.size() >= header, "read_idx: {}: offset {}: truncated header ({} dims need {} bytes, the file has {})",
                   path, bytes.size(), ndim, header, bytes.size());
  // Both the element count and the strides (products of the sizes, size 0 counted as 1) must fit
  // in int64 for the tensor to exist; the byte count is checked against the file before any read.
  int64_t count = 1, extent = 1;
  bool overflow = false;
  for (int d = 0; d < ndim; ++d) {
    uint32_t size = big_endian_u32(bytes.data() + 4 + 4 * d);
    array.shape.push_back(size);
    overflow = overflow || __builtin_mul_overflow(count, int64_t{size}, &count) ||
               __builtin_mul_overflow(extent, std::max<int64_t>(size, 1), &extent);
  }
  int64_t need = 0;
  overflow = overflow || __builtin_mul_overflow(count, element_size, &need);
  check<FileError>(!overflow, "read_idx: {}: offset 4: shape {} has more elements than int64 can count", path,
                   array.shape);
  if (gzip) {
    uint64_t most = file.size() * kMaxDeflateRatio;
    check<FileError>(static_cast<uint64_t>(need) <= most,
                     "read_idx: {}: offset 4: shape {} needs {} bytes, more than a gzip file of {} bytes can hold", path,
                     array.shape, need, file.size());
    bytes = inflate_gzip(path, file, header + static_cast<uint64_t>(need), false);
  }
  uint64_t have = bytes.size() - header;
  check<FileError>(static_cast<uint64_t>(need) <= have,
                   "read_idx: {}: offset {}: truncated data: shape {} needs {} bytes, the file has {} after the header",
                   path, bytes.size(), array.shape, need, have);
  check<FileError>(static_cast<uint64_t>(need) == have, "read_idx: {}: offset {}: {} unexpected bytes after the data of shape {}",
                   path, header + static_cast<uint64_t>(need), have - static_cast<uint64_t>(need), array.shape);
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return array;
}

Tensor read_idx(const std::string& path) {
  IdxArray array = read_idx_array(path);
  int64_t count = array.shape.product();
  switch (array.type) {
    case 0x0D: {
      Tensor out = Tensor::empty(array.shape, kFloat32);
      convert_idx<float>(array, out.data<float>(), count);
      return out;
    }
    case 0x0E: {
      Tensor out = Tensor::empty(array.shape, kFloat64);
      convert_idx<double>(array, out.data<double>(), count);
      return out;
    }
    default: {
      Tensor out = Tensor::empty(array.shape, kInt64);
      int64_t* values = out.data<int64_t>();
      if (array.type == 0x08) convert_idx<uint8_t>(array, values, count);
      if (array.type == 0x09) convert_idx<int8_t>(array, values, count);
      if (array.type == 0x0B) convert_idx<int16_t>(array, values, count);
      if (array.type == 0x0C) convert_idx<int32_t>(array, values, count);
      return out;
    }
  }
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  std::vector<uint8_t> bytes = read_file(path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  CsvTable table;
  // int64 and bool columns are read as integers (a double holds only 53 bits, and converting one
  // outside the integer range is undefined), float columns as doubles.
  bool integral = options.dtype == kInt64 || options.dtype == kBool;
  std::vector<int64_t> integers;
  std::vector<double> reals;
  size_t width = 0;
  int64_t rows = 0;
  bool first = true;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (trim(line).empty()) continue;
    std::vector<std::string_view> fields = split_fields(line, options.delimiter);
    if (first) {
      first = false;
      width = fields.size();
      bool header = options.header == CsvOptions::Header::Yes;
      if (options.header == CsvOptions::Header::Auto) {
        double ignored;
        for (std::string_view field : fields) header = header || parse_number(field, ignored) == std::errc::invalid_argument;
      }
      if (header) {
        for (std::string_view field : fields) table.columns.emplace_back(trim(field));
        continue;
      }
    }
    check<FileError>(fields.size() == width, "read_csv: {}: line {}: ragged row: {} fields where the first row has {}",
                     path, line_number, fields.size(), width);
    for (size_t column = 0; column < fields.size(); ++column) {
      std::string_view field = trim(fields[column]);
      std::string problem = integral ? parse_integer(field, options.dtype, integers)
                                     : parse_real(field, options.dtype, reals);
      check<FileError>(problem.empty(), "read_csv: {}: line {}, column {}: '{}' {}", path, line_number, column + 1,
                       field, problem);
    }
    ++rows;
  }
  Dims shape{rows, static_cast<int64_t>(width)};
  table.values = integral ? core::tensor(integers, shape, {.dtype = options.dtype})
                          : core::tensor(reals, shape, {.dtype = options.dtype});
  return table;
}

}  // namespace descent::data
