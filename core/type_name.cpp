// Demangling through the Itanium C++ ABI's __cxa_demangle (GCC and Clang).
#include <descent/core/type_name.h>

#include <cxxabi.h>

#include <cstdlib>

namespace descent::core {

std::string unqualified_type_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  size_t colon = name.rfind("::");
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

}  // namespace descent::core
