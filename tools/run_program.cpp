// posix_spawnp of an argument vector for tools/run_program.h: the working directory is a spawn
// file action, so neither this process's directory nor a shell is involved.
#include "tools/run_program.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

extern char** environ;

namespace descent::tools {

namespace {

// The spawn's file actions, destroyed on every path out.
class SpawnActions {
 public:
  SpawnActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

ProgramOutcome run_program(const std::vector<std::string>& arguments, const std::string& working_dir) {
  if (arguments.empty()) return ProgramOutcome::kFailed;
  std::vector<char*> argv;
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);

  SpawnActions actions;
  if (posix_spawn_file_actions_addchdir_np(actions.get(), working_dir.c_str()) != 0 ||
      posix_spawn_file_actions_addopen(actions.get(), 1, "/dev/null", O_WRONLY, 0) != 0 ||
      posix_spawn_file_actions_addopen(actions.get(), 2, "/dev/null", O_WRONLY, 0) != 0) {
    return ProgramOutcome::kFailed;
  }
  pid_t child = 0;
  int spawn_error = posix_spawnp(&child, argv[0], actions.get(), nullptr, argv.data(), environ);
  if (spawn_error == ENOENT) return ProgramOutcome::kNotFound;
  if (spawn_error != 0) return ProgramOutcome::kFailed;

  int status = 0;
  pid_t waited = 0;
  do {
    waited = waitpid(child, &status, 0);
  } while (waited == -1 && errno == EINTR);
  if (waited != child) return ProgramOutcome::kFailed;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ProgramOutcome::kSucceeded : ProgramOutcome::kFailed;
}

}  // namespace descent::tools
