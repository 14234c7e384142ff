#!/usr/bin/env bash
# Writing a 10,000-service output, in one run: `emit --mapping` (writing), `--dry-run` of the same
# mapping (resolving only), and the floor: `cp -r` of the finished OUT to a new folder plus one
# `sync -f` on it. This disk is shared and noisy: compare figures within one run only.
#   benches/generations.sh [OTHER_BINARY...]   (each other binary is measured the same way)
#   IMAGEDEF_BIN=path/to/imagedef benches/generations.sh   (measure that build instead of building)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${IMAGEDEF_BIN:-}" ]; then
    cargo build --profile dist --locked -q
    IMAGEDEF_BIN=$PWD/target/dist/imagedef
fi
bins=("$IMAGEDEF_BIN" "$@")
services=${SERVICES:-10000}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/imagedef-generations.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir web
printf '{"ImageURI":"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web@sha256:%s","ImageTags":["latest","v1"]}' \
    "$(printf '5%.0s' $(seq 64))" >web/imageDetail.json
python3 - "$services" >mapping.json <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"services": {f"svc{i:05}": {"containers": {"app": {"artifact": "Web"}}, "blueGreen": "app"} for i in range(n)}}))
PY
seconds() { local start=$EPOCHREALTIME; "$@" >/dev/null; echo "$EPOCHREALTIME - $start" | bc; }
printf '%-40s %10s %10s %10s %8s\n' binary write dry-run floor ratio
for run in 1 2; do
    for bin in "${bins[@]}"; do
        rm -rf out copy
        sync -f .
        write=$(seconds "$bin" -q emit --mapping mapping.json --out out Web=web)
        dry=$(seconds "$bin" -q emit --mapping mapping.json --out out --dry-run Web=web)
        sync -f .
        floor=$(seconds sh -c 'cp -r out copy && sync -f copy')
        printf '%-40s %10.2f %10.2f %10.2f %8.2f\n' "${bin: -38} #$run" \
            "$write" "$dry" "$floor" "$(echo "$write / $floor" | bc -l)"
    done
done
echo "($services services, $(find out -type f | wc -l) files, $(du -sh out | cut -f1) in OUT)"
