#!/usr/bin/env bash
# Whole-process figures for `runbook list` over 2,000 runbook files, against `cat` of the same
# files in the same run (the floor for anything that reads them): warm (the catalog cache holds
# every file) and cold (no cache: every file is parsed and the cache written), plus how many
# cores loading keeps busy. Usage: benches/list_whole_process.sh [N_FILES] [OTHER_BINARY]
# OTHER_BINARY (an older build, say) is measured in the same run for a before/after figure.
# Needs hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
other="${2:-}"
cargo build --release --quiet
bin="$PWD/target/release/runbook"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 2,000 files made from the bundled runbooks and the parser fixtures, each with its own name.
mapfile -t sources < <(find runbooks tests/fixtures/mdx -name '*.md' ! -name README.md | sort)
mkdir "$work/files"
for ((i = 0; i < n; i++)); do
  src="${sources[i % ${#sources[@]}]}"
  cp "$src" "$work/files/rb-$i-$(basename "$src")"
done
bytes=$(cat "$work"/files/*.md | wc -c)
echo "corpus: $n files, $bytes bytes"

commands=(
  "cat $work/files/*.md > /dev/null"
  "RUNBOOK_CACHE_DIR=$work/warm $bin list --no-bundled $work/files > /dev/null 2>&1"
  "RUNBOOK_CACHE_DIR=$work/cold $bin list --no-bundled $work/files > /dev/null 2>&1"
)
if [[ -n "$other" ]]; then
  commands+=("RUNBOOK_CACHE_DIR=$work/other $other list --no-bundled $work/files > /dev/null 2>&1")
fi
# The warm cache is filled once; the cold one is removed before every run of its command.
RUNBOOK_CACHE_DIR="$work/warm" "$bin" list --no-bundled "$work/files" > /dev/null 2>&1
hyperfine --warmup 3 --runs 30 --export-json "$work/h.json" \
  --command-name cat --command-name warm --command-name cold ${other:+--command-name other} \
  --prepare "true" --prepare "true" --prepare "rm -rf $work/cold" ${other:+--prepare "true"} \
  "${commands[@]}"
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
cat = r[0]
for x in r:
    print(f"{x['command']:5} median {x['median']*1000:7.1f} ms  ratio to cat {x['median']/cat['median']:.2f}x  "
          f"user {x['user']*1000:6.1f} ms + system {x['system']*1000:6.1f} ms over {x['mean']*1000:6.1f} ms wall "
          f"= {(x['user']+x['system'])/x['mean']:.2f} cores busy")
PY
