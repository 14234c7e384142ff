#!/usr/bin/env bash
# Benchmark (not a test): how `imagedef verify --bundle` grows with the number of zip entries.
# Writes bundles of 1,000, 5,000, 20,000 and 36,000 entries (benches/make-wide-zip.py; 36,000 make
# 3.1 MB, near the 3 MB CodeDeployToECS cap) outside the repository and times verify on each.
# Every bundle is a clean zip, so verify reads all of it and prints its ok line.
#
# Uses hyperfine when installed (unless NO_HYPERFINE is set), else the best of repeated `time`.
# Usage: benches/verify-zip.sh [RUNS] [BINARY]   (default 5 runs, the release build)
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-5}"
bin="${2:-}"
if [ -z "$bin" ]; then
    echo "== building the release binary"
    cargo build --release --locked --quiet
    bin="$PWD/target/release/imagedef"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/imagedef-bench-zip.XXXXXX")
trap 'rm -rf "$dir"' EXIT

for n in 1000 5000 20000 36000; do
    python3 benches/make-wide-zip.py "$dir/w$n.zip" "$n"
    "$bin" -q verify --bundle "$dir/w$n.zip" >/dev/null # must pass
    size=$(stat -c %s "$dir/w$n.zip")
    cmd="$bin -q verify --bundle $dir/w$n.zip"
    if command -v hyperfine >/dev/null 2>&1 && [ -z "${NO_HYPERFINE:-}" ]; then
        hyperfine --warmup 1 --runs "$runs" --export-json "$dir/h$n.json" -n "$n entries" "$cmd" >/dev/null
        t=$(jq -r '.results[0].mean' "$dir/h$n.json")
    else
        t=""
        for _ in $(seq "$runs"); do
            s=$( { TIMEFORMAT=%R; time $cmd >/dev/null 2>&1; } 2>&1)
            if [ -z "$t" ] || awk "BEGIN{exit !($s < $t)}"; then t=$s; fi
        done
    fi
    printf '%6d entries  %8d bytes  %.3f s\n' "$n" "$size" "$t"
done
