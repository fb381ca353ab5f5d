// The name a user gave a type, for messages and printing: "Cube" for descent::Cube, "Net" for a
// user's struct Net. One demangling helper for autograd's custom functions and nn's modules.
#pragma once

#include <string>
#include <typeinfo>

namespace descent::core {

// The demangled name of `type` without its namespaces (the mangled name if demangling fails).
std::string unqualified_type_name(const std::type_info& type);

}  // namespace descent::core
