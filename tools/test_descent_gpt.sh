#!/usr/bin/env bash
# Tests of `descent train --model gpt` and `descent sample` (ctest tools_descent_gpt): bad command
# lines exit 2 with a one-line error; a tiny GPT trains on a small text file, writes the text
# metrics, and a run stopped mid-epoch and resumed ends with the same bits as one never stopped;
# sampling is deterministic for a seed and streams the prompt's continuation.
# Usage: test_descent_gpt.sh DESCENT_EXECUTABLE WORK_DIR
source "$(dirname "${BASH_SOURCE[0]}")/test_frame.sh"

# A small text: 400 lines of counting sentences (9135 bytes), the same on every machine.
text=$work/counting.txt
awk 'BEGIN { for (i = 1; i <= 400; ++i) printf "line %d: %d is %s.\n", i, i * 7, (i % 2 ? "odd" : "even") }' >"$text"
printf 'binary\0\0\0\0\0\0\0\0\0\0\0\0 bytes\n' >"$work/binary.bin"

expect_error 2 "--width 30 is not divisible by --heads 4" train --model gpt --width 30 --heads 4
expect_error 2 "--dataset: gpt learns text" train --model gpt --dataset mnist
expect_error 2 "--text: is an option of --model gpt only" train --model mlp --dataset spirals --text "$text"
expect_error 2 "--layers: is an option of --model gpt only" train --model mlp --dataset spirals --layers 2
expect_error 2 "--text" train --model gpt --text "$work/missing.txt"
expect_error 2 "--context: must be > 0, got 0" train --model gpt --context 0
expect_error 2 "--checkpoint is required" sample --prompt hello
expect_error 2 "--prompt: must hold at least one byte" sample --checkpoint "$work" --prompt ""
expect_error 2 "--top-p" sample --checkpoint "$work" --prompt hi --top-p 1.5
expect_error 2 "--temperature: must be >= 0, got -1" sample --checkpoint "$work" --prompt hi --temperature -1
expect_error 1 "does not look like text" train --model gpt --text "$work/binary.bin" --out "$work/binary"


# 8222 training bytes / context 16 = 513 windows = 17 batches of 32 per epoch (the last one of 1),
# 2 accumulated per step: 9 steps per epoch (the last of one batch).
run=(train --model gpt --text "$text" --layers 1 --heads 2 --width 16 --context 16 --batch-size 32 --accumulate 2
     --epochs 2 --lr 3e-3 --threads 2)
"$descent" "${run[@]}" --out "$work/straight" >"$work/straight.txt"
[[ -s $work/straight/checkpoint.safetensors ]] || fail "no checkpoint in the run's directory"
header=$(head -n 1 "$work/straight/metrics.csv")
[[ $header == "kind,epoch,step,loss,lr,test_loss,test_accuracy,test_bits_per_token,tokens_per_second,wall_time" ]] ||
  fail "metrics.csv header: $header"
[[ $(grep -c '^epoch,' "$work/straight/metrics.csv") -eq 2 ]] || fail "metrics.csv: not 2 epoch rows"
steps=$(grep -c '^step,' "$work/straight/metrics.csv")
[[ $steps -eq 18 ]] || fail "metrics.csv: $steps step rows, not 18 (9 per epoch)"
# Epoch rows: bits = nats / ln 2, a positive throughput, and a held-out loss below the uniform ln 256.
awk -F, '/^epoch,/ { if ($8 <= 0 || ($6 / log(2) - $8) ^ 2 > 1e-6 || $9 <= 0 || $6 >= log(256)) bad = 1 }
         END { exit bad }' "$work/straight/metrics.csv" || fail "epoch rows: bits, throughput or loss wrong"
last=$(tail -n 1 "$work/straight.txt")
for key in model test_loss test_bits_per_token tokens_per_second; do
  [[ $last == "{"*"\"$key\":"*"}" ]] || fail "last line is not the JSON summary with \"$key\": $last"
done
grep -q 'held-out loss .* bits per token' "$work/straight.txt" || fail "the epoch lines do not give the held-out loss"

# Stopped after 13 steps (4 into the second epoch), then resumed to the end: the same bits.
"$descent" "${run[@]}" --out "$work/resumed" --stop-after-steps 13 >"$work/stopped.txt"
grep -q 'continue with: descent train --resume' "$work/stopped.txt" || fail "a stopped run does not say how to resume"
"$descent" train --resume "$work/resumed" --threads 2 >"$work/resumed.txt"
[[ $(tensor_bytes "$work/straight/checkpoint.safetensors") == $(tensor_bytes "$work/resumed/checkpoint.safetensors") ]] ||
  fail "resumed run's tensors differ from the uninterrupted run's"
cmp -s <(cut -d, -f1-5 "$work/straight/metrics.csv") <(cut -d, -f1-5 "$work/resumed/metrics.csv") ||
  fail "resumed run's metrics.csv (loss, lr per step) differs from the uninterrupted run's"

# eval: the held-out loss the run reported last.
"$descent" eval --checkpoint "$work/straight/checkpoint.safetensors" --threads 2 >"$work/eval.txt"
run_loss=$(sed -n 's/.*"test_loss":\([0-9.e-]*\).*/\1/p' <<<"$last")
eval_loss=$(sed -n 's/.*: loss \([0-9.]*\),.*/\1/p' "$work/eval.txt")
[[ $(awk -v a="$run_loss" 'BEGIN { printf "%.4f", a }') == "$eval_loss" ]] ||
  fail "eval's held-out loss '$eval_loss' differs from the run's $run_loss"

# sample: the prompt, then exactly --tokens bytes and a newline; the same seed gives the same text.
sample=(sample --checkpoint "$work/straight" --prompt "line 1" --tokens 40 --threads 2)
"$descent" "${sample[@]}" --seed 3 >"$work/sample_a.txt"
"$descent" "${sample[@]}" --seed 3 >"$work/sample_b.txt"
"$descent" "${sample[@]}" --seed 4 --top-k 5 --top-p 0.9 --temperature 1.5 >"$work/sample_c.txt"
[[ $(head -c 6 "$work/sample_a.txt") == "line 1" ]] || fail "the sample does not start with the prompt"
[[ $(wc -c <"$work/sample_a.txt") -eq 47 ]] || fail "the sample is not the prompt, 40 bytes and a newline"
cmp -s "$work/sample_a.txt" "$work/sample_b.txt" || fail "two samples with seed 3 differ"
cmp -s "$work/sample_a.txt" "$work/sample_c.txt" && fail "samples with seeds 3 and 4 (and hotter) are the same"
# Greedy decoding ignores the seed; the checkpoint file works as well as its directory.
"$descent" sample --checkpoint "$work/straight/checkpoint.safetensors" --prompt "line 1" --tokens 40 --temperature 0 \
  --seed 1 >"$work/greedy_a.txt"
"$descent" "${sample[@]}" --temperature 0 --seed 2 >"$work/greedy_b.txt"
cmp -s "$work/greedy_a.txt" "$work/greedy_b.txt" || fail "greedy samples with different seeds differ"
expect_error 1 "the prompt has 17 tokens; it needs 1 to context = 16" sample --checkpoint "$work/straight" \
  --prompt "seventeen bytes!!" --tokens 1

# Sampling needs a gpt checkpoint.
"$descent" train --model mlp --dataset spirals --epochs 1 --batch-size 100 --threads 2 --out "$work/mlp" >/dev/null
expect_error 1 "holds a mlp model; sampling needs one trained with --model gpt" sample --checkpoint "$work/mlp" \
  --prompt hi

report_failures
