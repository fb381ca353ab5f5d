#!/usr/bin/env bash
# Tests of the `descent` program (ctest tools_descent_cli): bad command lines exit 2 with a
# one-line error and a two-line hint; a small spirals run writes metrics.csv, hparams.json, a
# checkpoint that explains itself, curves.png and a JSON last line; a run stopped mid-epoch and
# resumed ends with the same bits as one never stopped; eval reads it; the schedule options.
# Usage: test_descent_cli.sh DESCENT_EXECUTABLE WORK_DIR
source "$(dirname "${BASH_SOURCE[0]}")/test_frame.sh"

# A bad command line: exit 2, first line of stderr "descent: error: ..." naming the problem, then
# two lines: the usage and where the options are.
expect_usage_error() {
  expect_error 2 "$@"
  shift
  [[ $(sed -n 2p "$work/err.txt") == "Usage: descent"* ]] || fail "descent $*: no usage line after the error"
  [[ $(sed -n 3p "$work/err.txt") == "Run 'descent"*"--help' for the options." ]] || fail "descent $*: no --help hint"
  [[ $(wc -l <"$work/err.txt") -eq 3 ]] || fail "descent $*: $(wc -l <"$work/err.txt") lines on stderr, not 3"
}
expect_usage_error "not expected: --no-such-option" train --no-such-option
expect_usage_error "--batch-size: must be > 0, got -3" train --batch-size -3
expect_usage_error "dataset directory $work/missing does not exist" train --data-dir "$work/missing"
expect_usage_error "--model: cnn needs an image dataset" train --model cnn --dataset spirals
expect_usage_error "--optimizer" train --optimizer sgdd
expect_usage_error "--optimiser; did you mean --optimizer?" train --optimiser adam
expect_usage_error "--limit-train-batchs=3; did you mean --limit-train-batches?" train --limit-train-batchs=3
expect_usage_error "--jsno; did you mean --json?" eval --checkpoint "$0" --jsno
expect_usage_error "--gamma: must be > 0, got 0" train --schedule step --gamma 0
expect_usage_error "--step-size: only with --schedule step, not warmup-cosine" train --step-size 2
expect_usage_error "subcommand is required"
expect_usage_error "--checkpoint" eval --checkpoint "$work/missing.safetensors"


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
[[ $last == *'"epochs":3.0,'* ]] || fail "summary: not 3 epochs: $last"

# metrics.csv's wall_time: Unix seconds of each row, never going back, within the test's minutes.
[[ $(head -n 1 "$work/straight/metrics.csv") == *,wall_time ]] || fail "metrics.csv: no wall_time column"
awk -F, -v now="$(date +%s)" 'NR > 1 && ($10 < previous || $10 < now - 600 || $10 > now + 5) { bad = 1 }
  NR > 1 { previous = $10 } END { exit bad }' "$work/straight/metrics.csv" ||
  fail "metrics.csv: wall_time not the rows' time in order"

# The checkpoint's metadata (its JSON header) explains the model: architecture and normalisation.
header() { tail -c +9 "$1" | head -c "$(od -An -t u8 -N 8 "$1" | tr -d ' ')"; }
for key in '"architecture":"Mlp(' '(fc1): Linear(in_features=2, out_features=512' '"input.mean":"0"' \
           '"input.std":"1"' '"input.shape":"[2]"' '"classes":"[\"spiral 0\",\"spiral 1\"]"'; do
  [[ $(header "$work/straight/checkpoint.safetensors") == *"$key"* ]] || fail "checkpoint metadata lacks $key"
done

# hparams.json (one key a line): the config with numbers as numbers, and the command line.
for key in '"batch_size": 100,' '"optimizer": "sgd",' '"lr": 0.05,' '"nesterov": 0,' \
           '"command_line": "descent train --model mlp --dataset spirals' '"resumed_with": []'; do
  grep -q -F "  $key" "$work/straight/hparams.json" || fail "hparams.json lacks $key: $(cat "$work/straight/hparams.json")"
done

# curves.png is a real plot: 1200x1000 and hundreds of different pixel rows (a blank image has one).
png_rows() {
  perl -MCompress::Zlib -e '
    open(my $f, "<:raw", $ARGV[0]) or die; local $/; my $d = <$f>;
    die "not a PNG\n" unless substr($d, 0, 8) eq "\x89PNG\r\n\x1a\n";
    my ($p, $idat, $w, $h, $depth, $type) = (8, "");
    while ($p < length $d) {
      my ($len, $chunk) = unpack("N a4", substr($d, $p, 8));
      my $data = substr($d, $p + 8, $len);
      ($w, $h, $depth, $type) = unpack("N N C C", $data) if $chunk eq "IHDR";
      $idat .= $data if $chunk eq "IDAT";
      $p += 12 + $len;
    }
    my $raw = uncompress($idat) // die "bad IDAT\n";
    my $stride = 1 + $w * {0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4}->{$type} * $depth / 8;
    my %rows; $rows{substr($raw, $_ * $stride, $stride)} = 1 for 0 .. $h - 1;
    print "$w x $h, ", scalar(keys %rows), " rows\n";' "$1"
}
check_plot() {
  local rows
  rows=$(png_rows "$1") || { fail "$1 is not a PNG"; return; }
  [[ $rows =~ ^1200\ x\ 1000,\ ([0-9]+)\ rows$ && ${BASH_REMATCH[1]} -gt 200 ]] || fail "$1 looks blank: $rows"
}
if command -v gnuplot >/dev/null; then
  check_plot "$work/straight/curves.png"
  grep -q '^note:' "$work/straight.txt" && fail "a finished run printed: $(grep '^note:' "$work/straight.txt")"
  # Resuming a finished run trains nothing and plots the same again (never a blank plot).
  "$descent" train --resume "$work/straight" --threads 2 >"$work/again.txt"
  grep -q '^note:' "$work/again.txt" && fail "resuming a finished run printed: $(grep '^note:' "$work/again.txt")"
  check_plot "$work/straight/curves.png"
  # curves.gp runs from another directory, reading the metrics.csv beside it.
  (cd / && gnuplot -c "$work/straight/curves.gp" "$work/elsewhere.png") || fail "curves.gp fails when run from /"
  check_plot "$work/elsewhere.png"
  # A constant learning rate gets an axis from 0 with ordinary ticks, not ticks squeezed around
  # the value alone (0.00099, 0.001, 0.00101): the lr panel is the script's last plot, whose
  # y range gnuplot reports after it.
  "$descent" train --model mlp --dataset spirals --schedule constant --lr 0.001 --epochs 1 --threads 2 \
    --out "$work/constant" >/dev/null
  range=$(cd / && gnuplot -e "set print '-'; call '$work/constant/curves.gp' '$work/constant.png'; \
                              print GPVAL_Y_MIN, GPVAL_Y_MAX" 2>/dev/null)
  read -r low high <<<"$range"
  awk -v low="$low" -v high="$high" 'BEGIN { exit !(low == 0 && high >= 0.001 && high <= 0.002) }' ||
    fail "the constant learning rate's axis is [$low, $high], not [0, about 0.001]"
fi

# Stopped after 13 steps (mid-epoch, 3 of the second epoch's 10), then resumed to the end.
"$descent" "${run[@]}" --out "$work/resumed" --stop-after-steps 13 >"$work/stopped.txt"
grep -q 'continue with: descent train --resume' "$work/stopped.txt" || fail "a stopped run does not say how to resume"
[[ $(grep -c '^epoch,' "$work/resumed/metrics.csv") -eq 1 ]] || fail "stopped run: not 1 epoch row"
[[ $(tail -n 1 "$work/stopped.txt") == *'"epochs":1.3,'* ]] || fail "a run stopped at step 13 (10 steps an epoch): not 1.3 epochs"
"$descent" train --resume "$work/resumed" --threads 2 >"$work/resumed.txt"
# The first command line stays the run's; the resume's is kept beside it.
grep -q -E '^  "command_line": "descent train --model mlp .* --stop-after-steps 13",$' "$work/resumed/hparams.json" &&
  [[ $(grep -A 2 '"resumed_with": \[$' "$work/resumed/hparams.json" | sed -n 2,3p | tr -d '\n') == \
     "    \"descent train --resume $work/resumed --threads 2\"  ]" ]] ||
  fail "hparams.json after a resume: $(cat "$work/resumed/hparams.json")"
[[ $(header "$work/resumed/checkpoint.safetensors") == *'"command_line":"descent train --model mlp'* ]] ||
  fail "the resumed checkpoint lost the first command line"
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
if command -v gnuplot >/dev/null; then  # and a one-epoch run draws all its panels
  check_plot "$work/$hostile_out/curves.png"
fi

# eval: the accuracy the run reported last, and a 2x2 confusion matrix summing to the test set.
"$descent" eval --checkpoint "$work/straight/checkpoint.safetensors" --threads 2 >"$work/eval.txt"
accuracy=$(sed -n 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/p' <<<"$last")
reported=$(sed -n 's/.*test accuracy \([0-9.]*\)%.*/\1/p' "$work/eval.txt")
[[ $(awk -v a="$accuracy" 'BEGIN { printf "%.2f", 100 * a }') == "$reported" ]] ||
  fail "eval's accuracy $reported% differs from the run's $accuracy"
total=$(awk '/^spiral/ { sum += $3 + $4 } END { print sum }' "$work/eval.txt")
[[ $total -eq 1000 ]] || fail "confusion matrix sums to $total, not the 1000 test examples"
# Its last line is a JSON summary; with --json it is the only line. Per-class accuracies are the
# confusion matrix's diagonal over its rows (500 test examples per spiral).
eval_json=$(tail -n 1 "$work/eval.txt")
"$descent" eval --checkpoint "$work/straight/checkpoint.safetensors" --threads 2 --json >"$work/eval.json"
[[ $(wc -l <"$work/eval.json") -eq 1 && $(cat "$work/eval.json") == "$eval_json" ]] ||
  fail "eval --json is not the one summary line: $(cat "$work/eval.json")"
per_class=$(awk '/^spiral 0/ { a = $3 } /^spiral 1/ { b = $4 } END { printf "%.3f %.3f", a / 500, b / 500 }' "$work/eval.txt")
json_per_class=$(sed -n 's/.*"per_class_accuracy":{"spiral 0":\([0-9.e-]*\),"spiral 1":\([0-9.e-]*\)}}$/\1 \2/p' <<<"$eval_json" |
                 awk '{ printf "%.3f %.3f", $1, $2 }')
[[ -n $json_per_class && $json_per_class == "$per_class" ]] ||
  fail "eval's per-class accuracy '$json_per_class' is not the matrix's '$per_class': $eval_json"
[[ $eval_json == *"\"test_accuracy\":$accuracy,"* ]] || fail "eval's JSON accuracy differs from the run's $accuracy: $eval_json"

# --schedule step --step-size 1 --gamma 0.5: the lr halves at each epoch; --limit-train-batches 4:
# 4 steps an epoch.
"$descent" train --model mlp --dataset spirals --optimizer sgd --lr 0.1 --schedule step --step-size 1 --gamma 0.5 \
  --epochs 3 --batch-size 100 --limit-train-batches 4 --threads 2 --out "$work/step" >"$work/step.txt"
step_lrs=$(awk -F, '$1 == "step" { print $2, $5 }' "$work/step/metrics.csv" | uniq -c | awk '{ printf "%s:%s:%s ", $1, $2, $3 }')
[[ $step_lrs == "4:1:0.1 4:2:0.05 4:3:0.025 " ]] || fail "step schedule (count:epoch:lr): $step_lrs"

report_failures
