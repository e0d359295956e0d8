#!/usr/bin/env bash
# Whole-process benchmarks of `runbook run` (release build), each a ratio against a baseline
# measured in the same run: the commands of a comparison run in turn (A B A B ...), so that a
# busy machine slows them alike, and medians are compared.
#
# (a) streaming: a step printing 1 GiB of 2-, 37- and 120-byte lines (`yes LINE | head -c 1G`)
#     run by `runbook run` with output to /dev/null, against
#     `bash -c 'yes LINE | head -c 1G | cat > /dev/null'` (the same bytes through a bare pipe).
#     Reported as runbook's speed / the pipe's speed. Target: >= 0.8x on 37 and 120 bytes.
#     Peak RSS of runbook at 16 MiB and 1 GiB of output (and 10 GiB with --with-10g).
#     Target: <= 32 MiB, flat in output size.
# (b) per-step overhead: 200 steps of `true` in one `runbook run`, sessions on the disk the
#     build is on (not a tmpfs), against a bash loop starting 200 `bash -c true` (the same 200
#     processes, no engine). Own overhead per step = (runbook - bash loop) / 200. Target:
#     <= 3 ms/step. Also the fsync/fdatasync/rename counts of the run (strace -c).
#
# RB_BEFORE=/path/to/an/older/runbook adds that binary to every comparison (before and after
# from one run). RUNS=N sets the runs per command (default 5, after one warm-up).
#
# Usage: benches/exec_whole_process.sh [--with-10g]      (needs python3 and GNU time;
#        strace optional)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
RB="$PWD/target/release/runbook"
BIG="$PWD/tests/fixtures/exec/big.md"
BEFORE="${RB_BEFORE:-}"
export RUNS="${RUNS:-5}"
tmp=$(mktemp -d)
export RUNBOOK_DATA_DIR="$PWD/target/bench-sessions"
rm -rf "$RUNBOOK_DATA_DIR"
mkdir -p "$RUNBOOK_DATA_DIR"
trap 'rm -rf "$tmp" "$RUNBOOK_DATA_DIR"' EXIT
echo "sessions on $(stat -f -c %T "$RUNBOOK_DATA_DIR"); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# compare NAME=COMMAND...: runs them in turn, prints "NAME median-seconds" per line.
cat > "$tmp/compare.py" <<'EOF'
import os, statistics, subprocess, sys, time
cmds = [a.split("=", 1) for a in sys.argv[1:]]
times = {name: [] for name, _ in cmds}
for i in range(int(os.environ["RUNS"]) + 1):
    for name, cmd in cmds:
        start = time.perf_counter()
        done = subprocess.run(["bash", "-c", cmd], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        # A command that failed measured nothing: say so instead of printing its (short) time.
        if done.returncode != 0:
            sys.exit(f"{name} failed (exit {done.returncode}): {cmd}\n{done.stderr.decode()[-2000:]}")
        if i > 0:  # the first round warms up
            times[name].append(time.perf_counter() - start)
for name, t in times.items():
    print(name, statistics.median(t))
EOF
compare() { python3 "$tmp/compare.py" "$@"; }
med() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

line2="y"
line37="0123456789abcdefghijklmnopqrstuvwxyz"
line120="$(printf 'x%.0s' $(seq 119))"

echo "== (a) streaming 1 GiB through runbook run vs a bare pipe (medians of $RUNS) =="
for line in "$line2" "$line37" "$line120"; do
  bytes=$(( ${#line} + 1 ))
  args=("pipe=yes $line | head -c 1G | cat > /dev/null"
        "runbook=$RB run $BIG --var line=$line --var size=1G > /dev/null")
  if [[ -n "$BEFORE" ]]; then
    args+=("before=$BEFORE run $BIG --var line=$line --var size=1G > /dev/null")
  fi
  compare "${args[@]}" > "$tmp/tp"
  out=$(printf '%3d-byte lines: pipe %.2f s' "$bytes" "$(med pipe "$tmp/tp")")
  for k in runbook before; do
    t=$(med "$k" "$tmp/tp")
    if [[ -n "$t" ]]; then
      out+=$(python3 -c "p = $(med pipe "$tmp/tp"); print(f'; $k {$t:.2f} s = {p / $t:.2f}x the speed of the pipe', end='')")
    fi
  done
  echo "$out (target >= 0.8x)"
done

peak() { /usr/bin/time -f '%M' "$1" run "$BIG" --var "line=$line37" --var "size=$2" 2>&1 >/dev/null | tail -1; }
for bin in "$RB" ${BEFORE:+"$BEFORE"}; do
  label=$([[ "$bin" == "$RB" ]] && echo runbook || echo before)
  echo "$label peak RSS, 37-byte lines: 16 MiB of output -> $(peak "$bin" 16M) KiB, 1 GiB -> $(peak "$bin" 1G) KiB (target <= 32768, flat)"
done
if [[ "${1:-}" == "--with-10g" ]]; then
  start=$(date +%s.%N)
  echo "peak RSS: 10 GiB -> $(peak "$RB" 10G) KiB"
  end=$(date +%s.%N)
  python3 -c "print(f'10 GiB in {$end - $start:.1f} s = {10 / ($end - $start):.2f} GiB/s')"
fi

echo "== (b) per-step overhead: 200 steps of true, sessions on disk (medians of $RUNS) =="
{
  printf '# Bench\n\n## Scenario - Trivial Steps {#trivial}\n\n### Debug Steps\n\n'
  for i in $(seq 200); do printf '%d. Step %d.\n\n   ```bash\n   true\n   ```\n\n' "$i" "$i"; done
} > "$tmp/steps200.md"
args=("loop=for i in {1..200}; do bash -c true; done"
      "runbook=$RB run $tmp/steps200.md")
if [[ -n "$BEFORE" ]]; then
  args+=("before=$BEFORE run $tmp/steps200.md")
fi
compare "${args[@]}" > "$tmp/steps"
loop=$(med loop "$tmp/steps")
python3 -c "print(f'bash loop of 200 bash -c true: {$loop * 1000 / 200:.2f} ms/step')"
for k in runbook before; do
  t=$(med "$k" "$tmp/steps")
  if [[ -n "$t" ]]; then
    python3 -c "print(f'$k: {$t * 1000 / 200:.2f} ms/step = {$t / $loop:.2f}x the loop; own overhead {($t - $loop) * 1000 / 200:+.2f} ms/step (target <= 3 ms)')"
  fi
done
if command -v strace > /dev/null; then
  for bin in "$RB" ${BEFORE:+"$BEFORE"}; do
    strace -f -c -o "$tmp/strace" "$bin" run "$tmp/steps200.md" > /dev/null 2>&1 || true
    awk -v bin="$([[ "$bin" == "$RB" ]] && echo runbook || echo before)" '
      $NF ~ /^(fsync|fdatasync|renameat|rename)$/ { n[$NF] = $4 }
      END { printf "%s, 200 steps: %d fsync, %d fdatasync, %d renames\n", bin,
            n["fsync"], n["fdatasync"], n["renameat"] + n["rename"] }' "$tmp/strace"
  done
fi
