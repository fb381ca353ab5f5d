#!/usr/bin/env bash
# Tests of the `descent` program (ctest tools_descent_cli): bad command lines exit 2 with a
# one-line error; a small spirals run writes metrics.csv, a checkpoint and a JSON last line; a
# run stopped mid-epoch and resumed ends with the same bits as one never stopped; eval reads it.
# Usage: test_descent_cli.sh DESCENT_EXECUTABLE WORK_DIR
set -euo pipefail
descent=$1
work=$2
rm -rf "$work"
mkdir -p "$work"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A bad command line: exit 2, first line of stderr "descent: error: ..." naming the problem.
expect_usage_error() {
  local expected=$1
  shift
  local status=0
  "$descent" "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
  local first
  first=$(head -n 1 "$work/err.txt")
  [[ $status -eq 2 ]] || fail "descent $*: exit $status, expected 2"
  [[ $first == "descent: error: "*"$expected"* ]] || fail "descent $*: first line '$first' lacks '$expected'"
  grep -q '^Usage: descent' "$work/err.txt" || fail "descent $*: no usage after the error"
}
expect_usage_error "not expected: --no-such-option" train --no-such-option
expect_usage_error "--batch-size: must be > 0, got -3" train --batch-size -3
expect_usage_error "dataset directory $work/missing does not exist" train --data-dir "$work/missing"
expect_usage_error "--model: cnn needs an image dataset" train --model cnn --dataset spirals
expect_usage_error "--optimizer" train --optimizer sgdd
expect_usage_error "subcommand is required"
expect_usage_error "--checkpoint" eval --checkpoint "$work/missing.safetensors"

# The bytes after a safetensors header: every tensor (weights, optimizer and loader state).
tensor_bytes() {
  local header_length
  header_length=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
  tail -c +$((header_length + 9)) "$1" | md5sum
}

run=(train --model mlp --dataset spirals --optimizer sgd --epochs 3 --batch-size 100 --accumulate 2 --threads 2)
"$descent" "${run[@]}" --out "$work/straight" >"$work/straight.txt"
for file in metrics.csv checkpoint.safetensors; do
  [[ -s $work/straight/$file ]] || fail "no $file in the run's directory"
done
[[ $(grep -c '^epoch,' "$work/straight/metrics.csv") -eq 3 ]] || fail "metrics.csv: not 3 epoch rows"
[[ $(grep -c '^step,' "$work/straight/metrics.csv") -eq 30 ]] || fail "metrics.csv: not 30 step rows (10 per epoch)"
last=$(tail -n 1 "$work/straight.txt")
for key in model epochs test_accuracy test_loss train_seconds samples_per_second out; do
  [[ $last == "{"*"\"$key\":"*"}" ]] || fail "last line is not the JSON summary with \"$key\": $last"
done
[[ $last == *'"epochs":3,'* ]] || fail "summary: not 3 epochs: $last"

# Stopped after 13 steps (mid-epoch, 3 of the second epoch's 10), then resumed to the end.
"$descent" "${run[@]}" --out "$work/resumed" --stop-after-steps 13 >"$work/stopped.txt"
grep -q 'continue with: descent train --resume' "$work/stopped.txt" || fail "a stopped run does not say how to resume"
[[ $(grep -c '^epoch,' "$work/resumed/metrics.csv") -eq 1 ]] || fail "stopped run: not 1 epoch row"
"$descent" train --resume "$work/resumed" --threads 2 >"$work/resumed.txt"
[[ $(tensor_bytes "$work/straight/checkpoint.safetensors") == $(tensor_bytes "$work/resumed/checkpoint.safetensors") ]] ||
  fail "resumed run's tensors differ from the uninterrupted run's"
cmp -s <(cut -d, -f1-5 "$work/straight/metrics.csv") <(cut -d, -f1-5 "$work/resumed/metrics.csv") ||
  fail "resumed run's metrics.csv (loss, lr per step) differs from the uninterrupted run's"
expect_usage_error "--epochs: cannot be combined with --resume" train --resume "$work/resumed" --epochs 5

# An --out with shell syntax in it is only a directory name: nothing runs, the run still plots.
hostile_out="x'; touch INJECTED; echo '"
(cd "$work" && "$descent" train --model mlp --dataset spirals --epochs 1 --batch-size 100 --threads 2 \
  --out "$hostile_out" >"$work/hostile.txt") || fail "a run with --out \"$hostile_out\" failed"
[[ ! -e $work/INJECTED ]] || fail "--out \"$hostile_out\" ran a shell command"
[[ -s "$work/$hostile_out/metrics.csv" ]] || fail "no metrics.csv in \"$hostile_out\""
if command -v gnuplot >/dev/null; then
  [[ -s "$work/$hostile_out/curves.png" ]] || fail "gnuplot drew no curves.png in \"$hostile_out\""
fi

# eval: the accuracy the run reported last, and a 2x2 confusion matrix summing to the test set.
"$descent" eval --checkpoint "$work/straight/checkpoint.safetensors" --threads 2 >"$work/eval.txt"
accuracy=$(sed -n 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/p' <<<"$last")
reported=$(sed -n 's/.*test accuracy \([0-9.]*\)%.*/\1/p' "$work/eval.txt")
[[ $(awk -v a="$accuracy" 'BEGIN { printf "%.2f", 100 * a }') == "$reported" ]] ||
  fail "eval's accuracy $reported% differs from the run's $accuracy"
total=$(awk '/^spiral/ { sum += $3 + $4 } END { print sum }' "$work/eval.txt")
[[ $total -eq 1000 ]] || fail "confusion matrix sums to $total, not the 1000 test examples"

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
