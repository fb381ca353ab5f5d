// The exceptions descent throws. Every message names the op and the user-facing shapes,
// e.g. "matmul: [2, 3] @ [4, 5]: inner dimensions 3 and 4 differ".
// Library code reports problems only through these; it never aborts, exits or prints.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace descent {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ShapeError : public Error {  // sizes that do not fit together
 public:
  using Error::Error;
};

class DTypeError : public Error {  // a dtype the op does not support, or no promotion rule
 public:
  using Error::Error;
};

class IndexError : public Error {  // a dim or an index out of range
 public:
  using Error::Error;
};

class ValueError : public Error {  // an argument with a bad value (negative size, step 0, ...)
 public:
  using Error::Error;
};

// check<ShapeError>(cond, "op: {} ...", args...) throws with a formatted message when cond is false.
template <typename E = Error, typename... Args>
inline void check(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) [[unlikely]] {
    throw E(fmt::format(format, std::forward<Args>(args)...));
  }
}

}  // namespace descent
