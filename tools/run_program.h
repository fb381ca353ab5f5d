// Runs an external program (gnuplot) without a shell: an argument vector, a working directory
// set for the child alone, its output discarded. No user text is ever parsed as a command.
#pragma once

#include <string>
#include <vector>

namespace descent::tools {

// How an external program ended.
enum class ProgramOutcome { kSucceeded, kNotFound, kFailed };

// Runs arguments[0] (looked up in PATH) with `arguments`, in `working_dir`, stdout and stderr sent
// to /dev/null, and waits for it.
ProgramOutcome run_program(const std::vector<std::string>& arguments, const std::string& working_dir);

}  // namespace descent::tools
