#!/usr/bin/env bash
# Whole-process benchmark of `runbook diagnose --fleet` (release build) with GNU time.
#
# For N in 1, 10 and 100: ONE `runbook lab --palette --clusters N` process serves N practice
# clusters (each seeded with one scenario, round robin, plus healthy ones) and the Palette API
# stand-in. Measured in the same run, each against its baseline:
#   fleet       `runbook diagnose --fleet --palette --json` (kubeconfigs fetched from the
#               stand-in, then every cluster diagnosed, 16 at a time): wall time, peak RSS,
#               Kubernetes requests and lists per cluster (from its stderr totals line);
#   contexts    `runbook diagnose --fleet --contexts '*' --json` over the fleet's merged
#               kubeconfig (no Palette downloads);
#   sequential  the baseline: N runs of `runbook diagnose --palette-cluster practice-XX --json`,
#               one after the other: total wall time, the largest peak RSS.
# Targets (issue 14): 100 clusters in <= 5 s and <= 300 MiB, one list per resource kind per
# cluster.
#
# Usage: benches/fleet_whole_process.sh [N ...]        (default: 1 10 100)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet --bin runbook
RB="$PWD/target/release/runbook"
tmp=$(mktemp -d)
lab_pid=""
cleanup() {
  if [[ -n "$lab_pid" ]]; then kill "$lab_pid" 2>/dev/null || true; wait "$lab_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# GNU time's wall seconds and peak RSS (KiB) of a command, its stderr kept in $tmp/err.
timed() {
  /usr/bin/time -o "$tmp/time" -f '%e %M' "$@" > "$tmp/out" 2> "$tmp/err" || true
  cat "$tmp/time"
}

printf '%-5s %-11s %8s %9s %10s %8s\n' N run wall_s peak_MiB req/clust lists/cl
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1 10 100)
for size in "${sizes[@]}"; do
  {
    rm -f "$tmp/palette.env"
    HOME="$tmp" "$RB" lab --palette --clusters "$size" --palette-env "$tmp/palette.env" > "$tmp/lab.out" &
    lab_pid=$!
    for _ in $(seq 600); do [[ -s "$tmp/palette.env" ]] && break; sleep 0.1; done
    [[ -s "$tmp/palette.env" ]] || { echo "the fleet did not start" >&2; cat "$tmp/lab.out" >&2; exit 1; }
    set -a
    # shellcheck source=/dev/null
    . "$tmp/palette.env"
    set +a
    kubeconfig=$(sed -n 's/^Every cluster.s context: export KUBECONFIG=//p' "$tmp/lab.out")

    read -r wall rss < <(HOME="$tmp" timed "$RB" diagnose --fleet --palette --json)
    per=$(sed -n 's/.*(\([0-9]*\) per cluster, \([0-9]*\) of them lists).*/\1 \2/p' "$tmp/err")
    reached=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(c["error"] is None for c in d["clusters"]))' "$tmp/out")
    [[ "$reached" == "$size" ]] || { echo "fleet: only $reached of $size reached" >&2; cat "$tmp/err" >&2; exit 1; }
    read -r req lists <<< "$per"
    printf '%-5s %-11s %8s %9.1f %10s %8s\n' "$size" fleet "$wall" "$(echo "$rss / 1024" | bc -l)" "$req" "$lists"
    fleet_wall=$wall

    read -r wall rss < <(HOME="$tmp" KUBECONFIG="$kubeconfig" timed "$RB" diagnose --fleet --contexts '*' --json)
    read -r req lists <<< "$(sed -n 's/.*(\([0-9]*\) per cluster, \([0-9]*\) of them lists).*/\1 \2/p' "$tmp/err")"
    printf '%-5s %-11s %8s %9.1f %10s %8s\n' "$size" contexts "$wall" "$(echo "$rss / 1024" | bc -l)" "$req" "$lists"

    start=$(date +%s.%N)
    max_rss=0
    for i in $(seq "$size"); do
      width=$(( ${#size} < 2 ? 2 : ${#size} ))
      name=$(printf "practice-%0${width}d" "$i")
      read -r _ rss < <(HOME="$tmp" timed "$RB" diagnose --palette-cluster "$name" --json)
      (( rss > max_rss )) && max_rss=$rss
    done
    end=$(date +%s.%N)
    seq_wall=$(echo "$end - $start" | bc -l)
    printf '%-5s %-11s %8.2f %9.1f %10s %8s\n' "$size" sequential "$seq_wall" "$(echo "$max_rss / 1024" | bc -l)" - -
    printf '%-5s fleet wall / sequential wall = %.2f\n' "$size" "$(echo "$fleet_wall / $seq_wall" | bc -l)"

    kill "$lab_pid"; wait "$lab_pid" 2>/dev/null || true; lab_pid=""
  }
done
