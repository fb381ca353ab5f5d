#!/usr/bin/env bash
# The ctest cases of `descent lab` (lab/CMakeLists.txt): test_lab.sh DESCENT OUT_ROOT CASE, where
# CASE is "frame" (the command line: --list, unknown and missing names, a missing dataset) or an
# experiment, run with --smoke and checked: report.md's sections and table, results.csv's rows and
# finite numbers, every plot a non-empty PNG, and where the claim is closed-form, the claim.
set -u
descent="$1"
out_root="$2"
case_name="$3"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The value of column `column` in the results.csv row whose first fields are $3 and $4 (or $3).
cell() {
  local file="$1" column="$2" key1="$3" key2="${4:-}"
  awk -F, -v c="$column" -v k1="$key1" -v k2="$key2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) col = i; next }
    $1 == k1 && (k2 == "" || $2 == k2) { print $col; exit }' "$file"
}

check_report() {
  local name="$1" rows="$2" plots="$3" dir="$out_root/$1"
  rm -rf "$dir"
  "$descent" lab "$name" --smoke --out "$dir" > "$dir.log" 2>&1 || { cat "$dir.log"; fail "$name --smoke exited non-zero"; return; }
  local report="$dir/report.md" csv="$dir/results.csv"
  for section in "## What was run" "## Results" "## Conclusion" "## Plots" "## Reproduce"; do
    grep -qxF "$section" "$report" || fail "$name: report.md has no '$section'"
  done
  local conclusion
  conclusion=$(awk '/^## Conclusion$/ { getline; getline; print; exit }' "$report")
  [[ "$conclusion" == *[a-z]*. ]] || fail "$name: the conclusion is not a sentence: '$conclusion'"
  grep -qxF "descent lab $name --smoke --out $dir" "$report" || fail "$name: report.md lacks the command that reproduces it"
  local csv_rows table_rows
  csv_rows=$(($(wc -l < "$csv") - 1))
  table_rows=$(($(grep -c '^|' "$report") - 2))
  [[ "$csv_rows" -eq "$rows" ]] || fail "$name: results.csv has $csv_rows rows, expected $rows"
  [[ "$table_rows" -eq "$rows" ]] || fail "$name: report.md's table has $table_rows rows, expected $rows"
  if grep -Eiq '(^|,)[-+]?(nan|inf)' "$csv"; then fail "$name: results.csv holds a non-finite number"; fi
  local found=0 png
  while read -r png; do
    found=$((found + 1))
    [[ -s "$dir/$png" ]] || { fail "$name: $png is missing or empty"; continue; }
    [[ "$(head -c 4 "$dir/$png" | tail -c 3)" == "PNG" ]] || fail "$name: $png is not a PNG"
  done < <(sed -n 's/^!\[[^]]*\](\([^)]*\))$/\1/p' "$report")
  [[ "$found" -eq "$plots" ]] || fail "$name: report.md shows $found plots, expected $plots"
}

case "$case_name" in
  frame)
    mkdir -p "$out_root"
    list=$("$descent" lab --list) || fail "--list exited non-zero"
    for name in momentum accumulation schedules updates sharpness noise-scale weight-decay; do
      grep -q "^$name " <<< "$list" || fail "--list does not show $name"
    done
    "$descent" lab no-such-thing > "$out_root/unknown.log" 2>&1
    [[ $? -eq 2 ]] || fail "an unknown experiment should exit 2"
    grep -q "unknown experiment no-such-thing; the experiments are .*momentum" "$out_root/unknown.log" ||
      fail "an unknown experiment should list the known ones: $(head -1 "$out_root/unknown.log")"
    "$descent" lab > "$out_root/none.log" 2>&1
    [[ $? -eq 2 ]] || fail "no experiment should exit 2"
    "$descent" lab accumulation --smoke --data-dir "$out_root/no-such-dir" --out "$out_root/nodata" > "$out_root/nodata.log" 2>&1
    [[ $? -eq 1 ]] || fail "a missing dataset should exit 1"
    grep -q "dataset-fashion-mnist" "$out_root/nodata.log" || fail "a missing dataset should name its package: $(cat "$out_root/nodata.log")"
    ;;
  momentum)
    check_report momentum 8 4
    csv="$out_root/momentum/results.csv"
    sgd=$(cell "$csv" "steps to tolerance" quadratic SGD)
    ball=$(cell "$csv" "steps to tolerance" quadratic "heavy ball")
    # The closed-form claim: on kappa = 100, heavy ball's rate 9/11 beats gradient descent's 99/101.
    [[ "$sgd" =~ ^[0-9]+$ && "$ball" =~ ^[0-9]+$ && "$ball" -lt "$sgd" ]] ||
      fail "momentum: heavy ball ($ball steps) should beat SGD ($sgd steps) on the quadratic"
    ;;
  accumulation)
    check_report accumulation 8 1
    csv="$out_root/accumulation/results.csv"
    # The claim: in float64, k micro-batches give one batch's weights to rounding (<= 1e-12).
    worst=$(awk -F, 'NR > 1 && $1 == "float64" { if ($5 + 0 > m) m = $5 + 0 } END { printf "%.17g", m + 0 }' "$csv")
    awk -v w="$worst" 'BEGIN { exit !(w <= 1e-12) }' || fail "accumulation: float64 weight difference $worst > 1e-12"
    ;;
  schedules) check_report schedules 5 2 ;;
  updates) check_report updates 4 2 ;;
  sharpness) check_report sharpness 2 1 ;;
  noise-scale) check_report noise-scale 10 2 ;;
  weight-decay) check_report weight-decay 8 2 ;;
  *)
    fail "unknown case $case_name"
    ;;
esac

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "lab $case_name: ok"
