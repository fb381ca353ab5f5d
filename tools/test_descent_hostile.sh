#!/usr/bin/env bash
# Hostile inputs to the `descent` program (ctest tools_descent_hostile): numbers outside what an
# option accepts (inf, 1e999, 2^64), checkpoints whose config says what no command line could
# (accumulate 0, lr inf, an unknown dataset), FIFOs and directories where files belong, and the
# temporary left by a checkpoint write that was killed. Each must be one line of error naming the
# option or the file, never a crash or a hang.
# Usage: test_descent_hostile.sh DESCENT_EXECUTABLE WORK_DIR
source "$(dirname "${BASH_SOURCE[0]}")/test_frame.sh"

# Numbers a double or a uint64 cannot hold, or that are not numbers, are refused, not wrapped.
expect_error 2 "--lr: must be finite, got inf" train --lr inf
expect_error 2 "--lr: must be finite, got inf" train --lr 1e999
expect_error 2 "--lr: must be finite, got nan" train --lr nan
expect_error 2 "--weight-decay: must be finite, got inf" train --weight-decay inf
expect_error 2 "--clip-grad-norm: must be finite" train --clip-grad-norm inf
expect_error 2 "--momentum: must be <= 1, got 1.5" train --momentum 1.5
expect_error 2 "--seed: must be an integer from 0 to 18446744073709551615, got 18446744073709551616" \
  train --seed 18446744073709551616
expect_error 2 "--seed: must be an integer from 0 to 18446744073709551615, got -1" train --seed -1
expect_error 2 "--epochs: must be <= 1000000" train --epochs 10000000000

# A checkpoint to tamper with: 3 optimizer steps of a small spirals run.
run=(train --model mlp --dataset spirals --epochs 1 --batch-size 200 --threads 2)
"$descent" "${run[@]}" --out "$work/good" --stop-after-steps 3 >/dev/null
good=$work/good/checkpoint.safetensors
[[ -s $good ]] || fail "no checkpoint to tamper with"

# Writes OUT: the safetensors file IN with metadata KEY set to VALUE (the header rewritten, its
# 8-byte little-endian length updated; the data offsets count from the header's end).
set_metadata() {
  local in=$1 key=$2 value=$3 out=$4
  local length header
  length=$(od -An -t u8 -N 8 "$in" | tr -d ' ')
  header=$(head -c $((length + 8)) "$in" | tail -c "$length")
  header=$(sed -E "s/\"$key\":\"[^\"]*\"/\"$key\":\"$value\"/" <<<"$header")
  local n=${#header} i
  : >"$out"
  for ((i = 0; i < 8; i++)); do printf "\\x$(printf %02x $(((n >> (8 * i)) & 255)))" >>"$out"; done
  printf '%s' "$header" >>"$out"
  tail -c +$((length + 9)) "$in" >>"$out"
}

# Each tampered checkpoint: resume and eval both refuse it naming the file and the option.
tampered() {
  local key=$1 value=$2 expected=$3
  local dir="$work/tampered_${key}"
  mkdir -p "$dir"
  set_metadata "$good" "$key" "$value" "$dir/checkpoint.safetensors"
  grep -q "\"$key\":\"$value\"" "$dir/checkpoint.safetensors" || fail "set_metadata did not set $key"
  expect_error 1 "$dir/checkpoint.safetensors" train --resume "$dir"
  expect_error 1 "$expected" train --resume "$dir"
  expect_error 1 "$expected" eval --checkpoint "$dir/checkpoint.safetensors"
}
tampered config.accumulate 0 "--accumulate: must be > 0, got 0"  # was a division by zero (SIGFPE)
tampered config.batch_size -5 "--batch-size: must be > 0, got -5"
tampered config.lr inf "--lr: must be finite, got inf"
tampered config.epochs 12x "metadata config.epochs = '12x' is not an integer"
tampered config.seed 18446744073709551616 "metadata config.seed = '18446744073709551616' is not an integer in the range of uint64"
tampered config.dataset imagenet "--dataset: must be one of fashion-mnist, mnist, spirals, text, got 'imagenet'"
tampered config.model gpt-9 "--model: must be one of"
tampered config.nesterov yes "metadata config.nesterov = 'yes' is neither 0 nor 1"

# A FIFO where a checkpoint belongs: refused at once (opening it would wait for a writer forever).
mkdir -p "$work/fifo"
mkfifo "$work/fifo/checkpoint.safetensors"
expect_error 1 "fifo/checkpoint.safetensors': not a regular file (a FIFO)" train --resume "$work/fifo"
expect_error 1 "not a regular file (a FIFO)" eval --checkpoint "$work/fifo/checkpoint.safetensors"

# An IDX name that is a directory: one line naming the file.
mkdir -p "$work/idx/train-images-idx3-ubyte"
: >"$work/idx/train-labels-idx1-ubyte"
expect_error 1 "$work/idx/train-images-idx3-ubyte: not a regular file (a directory)" \
  train --model mlp --data-dir "$work/idx" --epochs 1

# A checkpoint write killed midway leaves its temporary; the next save of that run removes it.
stale="$work/good/.checkpoint.safetensors.tmp-Xy12Zw"
echo "half a checkpoint" >"$stale"
"$descent" train --resume "$work/good" --threads 2 >/dev/null
[[ ! -e $stale ]] || fail "the stale temporary $stale survived the next save"
[[ -s $good ]] || fail "the resumed run wrote no checkpoint"

report_failures
