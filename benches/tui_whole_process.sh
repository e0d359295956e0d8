#!/usr/bin/env bash
# Whole-process figures for the TUI, in a real terminal (tmux, 160x48), each against a baseline
# measured in the same run:
#  1. start to first frame with the bundled catalog (median of 10), against the time tmux
#     takes to show `echo` output (the floor);
#  2. a step printing 500 MB in the TUI against the same step in `runbook run` (headless, to
#     /dev/null), run in turn (median of RUNS each). Target: TUI <= 1.5x headless. Peak RSS of
#     runbook while it streams, against its RSS when idle;
#  3. time from a keypress to the screen change while a step streams output (median of 20),
#     against the same with nothing running (median of 10). Target: <= 100 ms.
# Usage: benches/tui_whole_process.sh    (needs tmux, python3; RUNS=N, default 3; RB=BINARY
#        measures another build, e.g. the one before a change)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="${RB:-$PWD/target/release/runbook}"
fixtures="$PWD/tests/fixtures/tui"
sock="rb-bench-$$"
tmp=$(mktemp -d)
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
now() { echo "$EPOCHREALTIME"; }
wait_for() { # pattern timeout_s: polls the screen; no other process per poll but tmux's
  local end
  end=$(( ${EPOCHREALTIME/./} / 1000 + $2 * 1000 ))
  until t capture-pane -p -t b 2>/dev/null | grep -q -- "$1"; do
    if (( ${EPOCHREALTIME/./} / 1000 > end )); then echo "timeout waiting for $1" >&2; return 1; fi
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

# The 500 MB step alone, for `runbook run`.
sed '/^2\. /,$d' "$fixtures/bench.md" > "$tmp/flood.md"
tui_times=(); run_times=()
for _ in $(seq "${RUNS:-3}"); do
  data=$(mktemp -d -p "$tmp")
  t new-session -d -x 160 -y 48 -s b "RUNBOOK_DATA_DIR=$data $bin --path $fixtures bench/flood"
  wait_for "Floods of Output" 10
  pid=$(pgrep -n -f "^$bin --path $fixtures bench/flood")
  idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  s=$(now); t send-keys -t b Enter; wait_for "exit 0" 300; e=$(now)
  tui_times+=("$(python3 -c "print($e-$s)")")
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  t kill-session -t b
  s=$(now); RUNBOOK_DATA_DIR=$data "$bin" run "$tmp/flood.md" > /dev/null 2>&1; e=$(now)
  run_times+=("$(python3 -c "print($e-$s)")")
done
tui=$(median "${tui_times[@]}"); headless=$(median "${run_times[@]}")
echo "500 MB step: TUI $tui ms, runbook run $headless ms = $(python3 -c "print(f'{$tui / $headless:.2f}')")x (target <= 1.5x); runbook RSS idle $((idle / 1024)) MiB, peak $((peak / 1024)) MiB"

data=$(mktemp -d -p "$tmp")
t new-session -d -x 160 -y 48 -s b "RUNBOOK_DATA_DIR=$data $bin --path $fixtures bench/flood"
wait_for "Floods of Output" 10
pid=$(pgrep -n -f "^$bin --path $fixtures bench/flood")
idle_lat=()
for i in $(seq 10); do
  if (( i % 2 )); then key=j; want="▶ ○ 2."; else key=k; want="▶ ○ 1."; fi
  s=$(now); t send-keys -t b "$key"; wait_for "$want" 10; e=$(now)
  idle_lat+=("$(python3 -c "print($e-$s)")")
done
t send-keys -t b k Enter
wait_for "exit 0" 300
t send-keys -t b j Enter
wait_for "running" 10
lat=()
for i in $(seq 20); do
  if (( i % 2 )); then key=k; want="▶ ✔ 1."; else key=j; want="▶ ⠋\|▶ ⠙\|▶ ⠹\|▶ ⠸\|▶ ⠼\|▶ ⠴\|▶ ⠦\|▶ ⠧\|▶ ⠇\|▶ ⠏"; fi
  s=$(now); t send-keys -t b "$key"; wait_for "$want" 10; e=$(now)
  lat+=("$(python3 -c "print($e-$s)")")
done
idle=$(median "${idle_lat[@]}"); busy=$(median "${lat[@]}")
echo "keypress to screen change: idle $idle ms, while a step streams $busy ms = $(python3 -c "print(f'{$busy / $idle:.2f}')")x (target <= 100 ms)"
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "peak RSS after streaming: $((peak / 1024)) MiB"
t send-keys -t b x
