# The frame the descent program's test scripts share (sourced by tools/test_descent_*.sh, whose
# arguments are DESCENT_EXECUTABLE WORK_DIR): a fresh work directory, failures counted rather than
# fatal, the expectation of a one-line error, the tensor bytes of a checkpoint, and the verdict.
set -euo pipefail
descent=$1
work=$2
rm -rf "$work"
mkdir -p "$work"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# `descent ARGS...` must exit with STATUS within 60 s, the first line of stderr
# "descent: error: ..." containing EXPECTED; stdout and stderr stay in $work/out.txt, err.txt.
expect_error() {
  local status_expected=$1 expected=$2
  shift 2
  local status=0
  timeout 60 "$descent" "$@" >"$work/out.txt" 2>"$work/err.txt" </dev/null || status=$?
  local first
  first=$(head -n 1 "$work/err.txt")
  [[ $status -eq $status_expected ]] || fail "descent $*: exit $status, expected $status_expected ($first)"
  [[ $first == "descent: error: "*"$expected"* ]] || fail "descent $*: first line '$first' lacks '$expected'"
}

# The bytes after a safetensors header: every tensor (weights, optimizer and loader state).
tensor_bytes() {
  local header_length
  header_length=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
  tail -c +$((header_length + 9)) "$1" | md5sum
}

# The last line of every script: exit 1 when a check failed.
report_failures() {
  if [[ $failures -gt 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
