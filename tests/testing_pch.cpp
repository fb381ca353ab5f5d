// The translation unit that builds the tests' precompiled header (testing.h with GoogleTest,
// nlohmann-json and descent.h); tests/CMakeLists.txt has every test reuse it.
#include "testing.h"
