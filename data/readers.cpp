// Reading whole files (gzip through zlib's inflate), IDX arrays and numeric CSV (see data/readers.h).
#include <descent/data/readers.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>

#include <zlib.h>

#include <descent/core/factory.h>

namespace descent::data {
namespace {

std::vector<uint8_t> read_plain(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw FileError(fmt::format("read_file: {}: cannot open: {}", path, std::strerror(errno)));
  std::streamoff length = in.tellg();
  std::vector<uint8_t> bytes(static_cast<size_t>(length));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), length)) {
    throw FileError(fmt::format("read_file: {}: read failed after {} of {} bytes", path, in.gcount(), length));
  }
  return bytes;
}

// RFC 1952: a gzip member, inflated by zlib (window bits 15 + 16 = gzip only).
std::vector<uint8_t> inflate_gzip(const std::string& path, const std::vector<uint8_t>& compressed) {
  z_stream stream{};
  check<FileError>(inflateInit2(&stream, 15 + 16) == Z_OK, "read_file: {}: zlib inflateInit failed", path);
  std::vector<uint8_t> out;
  // The trailer's ISIZE is the uncompressed size mod 2^32: a good first guess for the buffer.
  // NOTE: in a truncated file those 4 bytes are arbitrary; deflate expands at most 1032:1, so
  // the guess is capped by that and the buffer still grows on demand.
  uint32_t size_hint = 0;
  std::memcpy(&size_hint, compressed.data() + compressed.size() - 4, 4);
  out.resize(std::clamp<size_t>(size_hint, 1 << 16, std::max<size_t>(compressed.size() * 1032, 1 << 16)));
  stream.next_in = const_cast<Bytef*>(compressed.data());
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    if (stream.total_out == out.size()) out.resize(out.size() * 2);
    stream.next_out = out.data() + stream.total_out;
    stream.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - stream.total_out, 1u << 30));
    status = inflate(&stream, Z_NO_FLUSH);
    if (status == Z_OK) continue;
    if (status == Z_STREAM_END) break;
    std::string reason = status == Z_BUF_ERROR ? "truncated gzip stream (it ends before its end marker)"
                                               : fmt::format("broken gzip stream: {}", stream.msg ? stream.msg : "zlib error");
    size_t offset = stream.total_in;
    inflateEnd(&stream);
    throw FileError(fmt::format("read_file: {}: compressed offset {}: {}", path, offset, reason));
  }
  out.resize(stream.total_out);
  inflateEnd(&stream);
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

bool parse_number(std::string_view field, double& value) {
  field = trim(field);
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  if (field.empty()) return false;
  auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  return error == std::errc() && end == field.data() + field.size();
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
  bool gzip = bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
  if (!gzip) return bytes;
  check<FileError>(bytes.size() >= 18, "read_file: {}: offset {}: truncated gzip stream ({} bytes, a gzip file has at least 18)",
                   path, bytes.size(), bytes.size());
  return inflate_gzip(path, bytes);
}

IdxArray read_idx_array(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
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
  // Sizes are at most 2^32 - 1 each; the product is checked against the file before anything is read.
  uint64_t count = 1;
  bool overflow = false;
  for (int d = 0; d < ndim; ++d) {
    uint32_t size = big_endian_u32(bytes.data() + 4 + 4 * d);
    array.shape.push_back(size);
    overflow = overflow || (size != 0 && count > UINT64_MAX / 8 / size);
    count *= size;
  }
  uint64_t need = count * static_cast<uint64_t>(element_size);
  uint64_t have = bytes.size() - header;
  check<FileError>(!overflow && need <= have,
                   "read_idx: {}: offset {}: truncated data: shape {} needs {} bytes, the file has {} after the header",
                   path, bytes.size(), array.shape, need, have);
  check<FileError>(need == have, "read_idx: {}: offset {}: {} unexpected bytes after the data of shape {}", path,
                   header + need, have - need, array.shape);
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
  std::vector<double> values;
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
        for (std::string_view field : fields) header = header || !parse_number(field, ignored);
      }
      if (header) {
        for (std::string_view field : fields) table.columns.emplace_back(trim(field));
        continue;
      }
    }
    check<FileError>(fields.size() == width, "read_csv: {}: line {}: ragged row: {} fields where the first row has {}",
                     path, line_number, fields.size(), width);
    for (size_t column = 0; column < fields.size(); ++column) {
      double value;
      check<FileError>(parse_number(fields[column], value), "read_csv: {}: line {}, column {}: '{}' is not a number",
                       path, line_number, column + 1, trim(fields[column]));
      values.push_back(value);
    }
    ++rows;
  }
  table.values = core::tensor(values, {rows, static_cast<int64_t>(width)}, {.dtype = options.dtype});
  return table;
}

}  // namespace descent::data
