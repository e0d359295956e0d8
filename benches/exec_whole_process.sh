#!/usr/bin/env bash
# Whole-process benchmarks of `runbook run` (release build), with hyperfine and GNU time.
#
# (a) throughput: a step printing SIZE bytes (`yes | head -c SIZE`) run by `runbook run` with
#     output to /dev/null, against `bash -c 'yes | head -c SIZE' | cat > /dev/null` (the same
#     bytes through one extra pipe). Target: >= 0.8x the speed of the floor; peak RSS <= 32 MiB
#     and independent of size (checked at 1 GiB and, with --with-10g, at 10 GiB).
# (b) per-step overhead: 200 steps of `true` in one `runbook run`, against a bash loop
#     starting 200 `bash -c true` (the same 200 processes, no engine), a bash loop of the
#     builtin `true` (no processes), and `mask` running a maskfile command `true` 200 times.
#     Own overhead per step = (runbook - bash loop of processes) / 200. Target: <= 3 ms/step.
#
# Usage: benches/exec_whole_process.sh [--with-10g]      (needs hyperfine; `mask` optional:
#        cargo install mask)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
RB="$PWD/target/release/runbook"
BIG="$PWD/tests/fixtures/exec/big.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== (a) throughput: 1 GiB =="
hyperfine --warmup 1 --runs 5 --export-json "$tmp/tp.json" \
  -n floor "bash -c 'yes | head -c 1G' | cat > /dev/null" \
  -n runbook "$RB run $BIG --var size=1G > /dev/null"
python3 - "$tmp/tp.json" <<'EOF'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
gib = 1.0
print(f"floor   {r['floor']:.3f} s  {gib / r['floor']:.2f} GiB/s")
print(f"runbook {r['runbook']:.3f} s  {gib / r['runbook']:.2f} GiB/s")
print(f"runbook speed / floor speed = {r['floor'] / r['runbook']:.2f}x (target >= 0.8x)")
EOF

peak() { /usr/bin/time -f '%M' "$RB" run "$BIG" --var "size=$1" 2>&1 >/dev/null | tail -1; }
echo "peak RSS (KiB): 16 MiB -> $(peak 16M), 1 GiB -> $(peak 1G)"
if [[ "${1:-}" == "--with-10g" ]]; then
  start=$(date +%s.%N)
  echo "peak RSS (KiB): 10 GiB -> $(peak 10G)"
  end=$(date +%s.%N)
  python3 -c "print(f'10 GiB in {$end - $start:.1f} s = {10 / ($end - $start):.2f} GiB/s')"
fi

echo "== (b) per-step overhead: 200 steps of true =="
{
  printf '# Bench\n\n## Scenario - Trivial Steps {#trivial}\n\n### Debug Steps\n\n'
  for i in $(seq 200); do printf '%d. Step %d.\n\n   ```bash\n   true\n   ```\n\n' "$i" "$i"; done
} > "$tmp/steps200.md"
printf '# Tasks\n\n## t\n\n```bash\ntrue\n```\n' > "$tmp/maskfile.md"
cmds=(-n "runbook run (200 steps)" "$RB run $tmp/steps200.md > /dev/null"
      -n "bash loop of 200 bash -c true" "bash -c 'for i in {1..200}; do bash -c true; done'"
      -n "bash loop of 200 builtin true" "bash -c 'for i in {1..200}; do true; done'")
if command -v mask > /dev/null; then
  cmds+=(-n "mask t x200" "bash -c 'for i in {1..200}; do mask --maskfile $tmp/maskfile.md t; done'")
fi
hyperfine --warmup 1 --runs 5 --export-json "$tmp/steps.json" "${cmds[@]}"
python3 - "$tmp/steps.json" <<'EOF'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
rb = r["runbook run (200 steps)"]
loop = r["bash loop of 200 bash -c true"]
print(f"runbook: {rb * 1000 / 200:.2f} ms/step; bash -c loop: {loop * 1000 / 200:.2f} ms/step")
print(f"ratio runbook / bash loop of processes = {rb / loop:.2f}x")
print(f"own overhead = {(rb - loop) * 1000 / 200:.2f} ms/step (target <= 3 ms)")
if "mask t x200" in r:
    m = r["mask t x200"]
    print(f"mask: {m * 1000 / 200:.2f} ms/run; ratio runbook / mask = {rb / m:.2f}x")
EOF
