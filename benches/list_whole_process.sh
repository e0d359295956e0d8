#!/usr/bin/env bash
# Whole-process figure for `runbook list` over 2,000 runbook files, against `cat` of the same
# files in the same run (the floor for anything that reads them), plus how many cores loading
# keeps busy. Usage: benches/list_whole_process.sh [N_FILES]   (needs hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
cargo build --release --quiet
bin="$PWD/target/release/runbook"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 2,000 files made from the bundled runbooks and the parser fixtures, each with its own name.
mapfile -t sources < <(find runbooks tests/fixtures/mdx -name '*.md' ! -name README.md | sort)
for ((i = 0; i < n; i++)); do
  src="${sources[i % ${#sources[@]}]}"
  cp "$src" "$work/rb-$i-$(basename "$src")"
done
bytes=$(cat "$work"/*.md | wc -c)
echo "corpus: $n files, $bytes bytes"

hyperfine --warmup 3 --runs 20 --export-json "$work/h.json" \
  "cat $work/*.md > /dev/null" \
  "$bin list --no-bundled $work > /dev/null"
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
cat, rb = r[0], r[1]
print(f"cat median {cat['median']*1000:.1f} ms, runbook list median {rb['median']*1000:.1f} ms, "
      f"ratio {rb['median']/cat['median']:.1f}x")
print(f"runbook list: user {rb['user']*1000:.1f} ms + system {rb['system']*1000:.1f} ms over "
      f"{rb['mean']*1000:.1f} ms wall = {(rb['user']+rb['system'])/rb['mean']:.2f} cores busy")
PY
