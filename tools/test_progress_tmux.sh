#!/usr/bin/env bash
# The progress bar on a real terminal (ctest tools_progress_tmux): `descent train` runs in a tmux
# pane of 60, 80 and 120 columns; while it runs, the bar is one line no wider than the pane
# (capture-pane), it widens when the pane does (SIGWINCH), and at the end only the epoch lines
# remain. (A pane made narrower rewraps the line already drawn, as every terminal does; the bar
# drawn after it fits again.)
# Usage: test_progress_tmux.sh DESCENT_EXECUTABLE WORK_DIR
set -euo pipefail
descent=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
command -v tmux >/dev/null || { echo "FAIL: tmux not found (scripts/install-deps installs it)"; exit 1; }

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A tmux server of this test alone, ended on every way out.
socket="descent-progress-$$"
tmux_() { tmux -L "$socket" "$@"; }
trap 'tmux -L "$socket" kill-server 2>/dev/null || true' EXIT
# A session that lives for the whole test keeps the server up: killing a case's session must not
# end the server, or the next case's new-session can reach it while it exits ("server exited
# unexpectedly", seen in CI).
tmux_ new-session -d -s keeper -x 80 -y 10 "sleep 3600"

# Lines of the pane that hold a piece of the bar (the epoch lines have none of these).
bar_pattern='it/s|s/it|samples/s|%\||[0-9]+/[0-9]+ \['

# run_in_pane WIDTH [RESIZE_TO]: trains in a detached pane WIDTH columns wide, capturing it every
# 0.1 s; with RESIZE_TO (wider), the window is resized to that width once the bar shows, and the
# bar must then use more than WIDTH columns.
run_in_pane() {
  local width=$1 resize_to=${2:-} case="w$1${2:+-to-$2}"
  tmux_ new-session -d -s "$case" -x "$width" -y 40 \
    "'$descent' train --model mlp --dataset spirals --epochs 4 --batch-size 1 --threads 1 --out '$work/$case'; \
     echo EXIT \$?; sleep 60"
  local current=$width seen=0 resized=0 widened=0 pane
  for _ in $(seq 1 600); do
    pane=$(tmux_ capture-pane -p -t "$case")
    local bars
    bars=$(grep -E -c "$bar_pattern" <<<"$pane" || true)
    if [[ $bars -gt 1 ]]; then
      fail "$case: the bar takes $bars lines of the pane:"$'\n'"$pane"
      break
    fi
    if [[ $bars -eq 1 ]]; then
      local line
      line=$(grep -E "$bar_pattern" <<<"$pane")
      if [[ ${#line} -ge $current ]]; then
        fail "$case: a bar of ${#line} characters in $current columns: $line"
        break
      fi
      if [[ $line == "epoch "* ]]; then seen=$((seen + 1)); fi
      if [[ $resized -eq 1 && ${#line} -ge $width ]]; then widened=1; fi
      if [[ -n $resize_to && $resized -eq 0 && $seen -ge 2 ]]; then
        tmux_ resize-window -t "$case" -x "$resize_to"
        resized=1
        sleep 0.3  # the bar redraws at most ten times a second
        current=$resize_to
        seen=0
      fi
    fi
    grep -q '^EXIT ' <<<"$pane" && break
    sleep 0.1
  done
  pane=$(tmux_ capture-pane -p -J -t "$case")
  grep -q '^EXIT 0$' <<<"$pane" || fail "$case: the run did not end with exit 0:"$'\n'"$pane"
  [[ $seen -gt 0 ]] || fail "$case: the bar was never seen${resize_to:+ after the resize}"
  [[ -z $resize_to || $widened -eq 1 ]] || fail "$case: the bar did not widen after the resize"
  # At the end the bar is gone: its line became the epoch line.
  grep -E -q "$bar_pattern" <<<"$pane" && fail "$case: a bar is left in the pane:"$'\n'"$pane"
  for epoch in 1 2 3 4; do
    [[ $(grep -c "^epoch $epoch/4  train loss" <<<"$pane") -eq 1 ]] || fail "$case: not one line for epoch $epoch:"$'\n'"$pane"
  done
  tmux_ kill-session -t "$case"
}

run_in_pane 60
run_in_pane 80
run_in_pane 120
run_in_pane 60 120

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
