#!/usr/bin/env bash
# Whole-process figures for the TUI, in a real terminal (tmux, 160x48):
#  1. start to first frame with the bundled catalog (median of 10), against the time tmux
#     takes to show `echo` output (the floor);
#  2. peak RSS of runbook while a step prints 500 MB, against its RSS when idle;
#  3. time from a keypress to the screen change while a step streams output (median of 20).
# Usage: benches/tui_whole_process.sh    (needs tmux, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/runbook"
fixtures="$PWD/tests/fixtures/tui"
sock="rb-bench-$$"
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null || true' EXIT
now() { date +%s.%N; }
wait_for() { # pattern timeout_s
  local end; end=$(python3 -c "import time; print(time.time()+$2)")
  until t capture-pane -p -t b 2>/dev/null | grep -q -- "$1"; do
    python3 -c "import sys,time; sys.exit(0 if time.time()<$end else 1)" || { echo "timeout waiting for $1" >&2; return 1; }
    sleep 0.005
  done
}
median() { python3 -c "import sys,statistics; v=[float(x) for x in sys.argv[1:]]; print(f'{statistics.median(v)*1000:.1f}')" "$@"; }

starts=(); floors=()
for _ in $(seq 10); do
  s=$(now); t new-session -d -x 160 -y 48 -s b "echo ready; sleep 30"; wait_for ready 10; e=$(now); t kill-session -t b
  floors+=("$(python3 -c "print($e-$s)")")
  s=$(now); t new-session -d -x 160 -y 48 -s b "$bin"; wait_for "scenarios" 10; e=$(now); t kill-session -t b
  starts+=("$(python3 -c "print($e-$s)")")
done
echo "start to first frame: median $(median "${starts[@]}") ms (tmux shows echo output in $(median "${floors[@]}") ms)"

t new-session -d -x 160 -y 48 -s b "$bin --path $fixtures bench/flood"
wait_for "Floods of Output" 10
pid=$(pgrep -n -f "$bin --path $fixtures bench/flood")
idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
t send-keys -t b Enter
s=$(now)
wait_for "exit 0" 300
e=$(now)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "500 MB step: $(python3 -c "print(f'{$e-$s:.1f}')") s; runbook RSS idle $((idle / 1024)) MiB, peak $((peak / 1024)) MiB"

t send-keys -t b j Enter
wait_for "running" 10
lat=()
for i in $(seq 20); do
  if (( i % 2 )); then key=k; want="▶ ✔ 1."; else key=j; want="▶ ⠋\|▶ ⠙\|▶ ⠹\|▶ ⠸\|▶ ⠼\|▶ ⠴\|▶ ⠦\|▶ ⠧\|▶ ⠇\|▶ ⠏"; fi
  s=$(now); t send-keys -t b "$key"; wait_for "$want" 10; e=$(now)
  lat+=("$(python3 -c "print($e-$s)")")
done
echo "keypress to screen change while streaming: median $(median "${lat[@]}") ms"
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "peak RSS after streaming: $((peak / 1024)) MiB"
t send-keys -t b x
