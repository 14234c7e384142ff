#!/usr/bin/env bash
# Benchmark (not a test): how fast `imagedef verify --oci` hashes a 1 GiB layer, against
# `openssl dgst -sha256` on the same file, in one run. Prints both throughputs and the ratio.
#
# The layout is created outside the repository, in ${TMPDIR:-/tmp}/imagedef-bench-oci (kept
# between runs; delete it to start over). Uses hyperfine when installed (unless NO_HYPERFINE is
# set), else the best of repeated `time`.
# Usage: benches/verify-oci.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-5}"
size=$((1024 * 1024 * 1024))
dir="${TMPDIR:-/tmp}/imagedef-bench-oci"
layout="$dir/layout"

echo "== building the shipped binary (profile dist)"
cargo build --profile dist --locked --quiet
bin="$PWD/target/dist/imagedef"

sha256_of() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }

if [ ! -s "$dir/ready" ]; then
    echo "== creating a 1 GiB layer in $layout"
    rm -rf "$dir"
    mkdir -p "$layout/blobs/sha256" "$dir/art"
    head -c "$size" /dev/urandom >"$dir/layer"
    layer=$(sha256_of "$dir/layer")
    mv "$dir/layer" "$layout/blobs/sha256/$layer"
    printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$dir/config"
    config=$(sha256_of "$dir/config")
    config_size=$(stat -c %s "$dir/config")
    mv "$dir/config" "$layout/blobs/sha256/$config"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$size" >"$dir/manifest"
    manifest=$(sha256_of "$dir/manifest")
    manifest_size=$(stat -c %s "$dir/manifest")
    mv "$dir/manifest" "$layout/blobs/sha256/$manifest"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
        "$manifest" "$manifest_size" >"$layout/index.json"
    printf '{"ImageURI":"111122223333.dkr.ecr.us-east-1.amazonaws.com/bench@sha256:%s"}' "$manifest" \
        >"$dir/art/imageDetail.json"
    echo "$layer" >"$dir/ready"
fi
layer=$(cat "$dir/ready")
blob="$layout/blobs/sha256/$layer"

echo "== checking that verify passes"
"$bin" -q verify "$dir/art" --oci "$layout" >/dev/null
cat "$blob" >/dev/null # into the page cache, for both

verify_cmd="$bin -q verify $dir/art --oci $layout"
openssl_cmd="openssl dgst -sha256 $blob"
echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); sha_ni: $(grep -o -m1 sha_ni /proc/cpuinfo || echo no); load: $(cut -d' ' -f1-3 /proc/loadavg)"

if command -v hyperfine >/dev/null 2>&1 && [ -z "${NO_HYPERFINE:-}" ]; then
    hyperfine --warmup 1 --runs "$runs" --export-json "$dir/hyperfine.json" \
        -n verify "$verify_cmd" -n openssl "$openssl_cmd"
    mean() { jq -r ".results[] | select(.command == \"$1\") | .mean" "$dir/hyperfine.json"; }
    t_verify=$(mean verify)
    t_openssl=$(mean openssl)
else
    best() {
        local best="" t
        for _ in $(seq "$runs"); do
            t=$( { TIMEFORMAT=%R; time sh -c "$1" >/dev/null 2>&1; } 2>&1)
            if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        done
        echo "$best"
    }
    t_verify=$(best "$verify_cmd")
    t_openssl=$(best "$openssl_cmd")
fi

awk -v tv="$t_verify" -v to="$t_openssl" -v size="$size" 'BEGIN {
    mv = size / tv / 1e6; mo = size / to / 1e6;
    printf "imagedef verify --oci: %.3f s, %.0f MB/s\n", tv, mv;
    printf "openssl dgst -sha256:  %.3f s, %.0f MB/s\n", to, mo;
    printf "ratio (imagedef / openssl throughput): %.2f\n", mv / mo;
}'
