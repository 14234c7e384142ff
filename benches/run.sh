#!/usr/bin/env bash
# Benchmarks imagedef against what people use today, on a generated CodeBuild-like layout.
#   benches/run.sh [LAYOUT_DIR]      (default: /tmp/imagedef-bench; needs hyperfine, jq, GNU time)
#   IMAGEDEF_BIN=target/x86_64-unknown-linux-musl/dist/imagedef benches/run.sh   (that binary, e.g.
#   the shipped static one, instead of a host dist build)
# Results: hyperfine tables and peak RSS, printed and written to target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
layout=${1:-/tmp/imagedef-bench}
results=target/bench
mkdir -p "$results"

for tool in hyperfine jq /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "benches/run.sh: needs $tool (apt-get install hyperfine jq time)" >&2; exit 2; }
done

if [ -n "${IMAGEDEF_BIN:-}" ]; then
  bin=$(realpath "$IMAGEDEF_BIN")
else
  cargo build --profile dist --locked -q
  bin=$PWD/target/dist/imagedef
fi
python3 benches/make-layout.py "$layout"
# shellcheck disable=SC1091
source "$layout/env.sh"
roots=("$CODEBUILD_SRC_DIR" "$CODEBUILD_SRC_DIR_Image1" "$CODEBUILD_SRC_DIR_Image2" "$CODEBUILD_SRC_DIR_Image3" "$CODEBUILD_SRC_DIR_Image4" "$CODEBUILD_SRC_DIR_Image5")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Today's way: one buildspec line per service.
{
  echo 'set -e'
  for s in $(seq 0 49); do
    i=$((s % 5 + 1)); svc=$(printf 'svc%02d' "$s")
    echo "mkdir -p \$OUT/$svc"
    echo "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([{\"name\":\"app\",\"imageUri\":d[\"ImageURI\"]}]))' \"\$CODEBUILD_SRC_DIR_Image$i/imageDetail.json\" > \$OUT/$svc/imagedefinitions.json"
  done
} > "$work/python.sh"
{
  echo 'set -e'
  for s in $(seq 0 49); do
    i=$((s % 5 + 1)); svc=$(printf 'svc%02d' "$s")
    echo "mkdir -p \$OUT/$svc"
    echo "jq -c '[{name:\"app\",imageUri:.ImageURI}]' \"\$CODEBUILD_SRC_DIR_Image$i/imageDetail.json\" > \$OUT/$svc/imagedefinitions.json"
  done
} > "$work/jq.sh"

echo "== (a) scan vs find"
hyperfine --warmup 3 --runs 20 -N --export-markdown "$results/scan.md" \
  "find ${roots[*]} -name imageDetail.json" \
  "$bin scan -q ${roots[*]}"

echo "== (b) emit --mapping for 50 services vs per-service one-liners"
export OUT=$work/out
hyperfine --warmup 3 --runs 20 --export-markdown "$results/emit.md" \
  --prepare "rm -rf $work/out" \
  "$bin emit -q --mapping $CODEBUILD_SRC_DIR/imagedef.json --out $work/out" \
  "$bin emit -q --mapping $CODEBUILD_SRC_DIR/imagedef-by-repository.json --out $work/out" \
  "sh $work/python.sh" \
  "sh $work/jq.sh"

echo "== (c) peak memory (max RSS, KiB)"
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
{
  echo "| command | max RSS (KiB) |"
  echo "|---|---|"
  echo "| find | $(rss find "${roots[@]}" -name imageDetail.json) |"
  echo "| imagedef scan | $(rss "$bin" scan -q "${roots[@]}") |"
  rm -rf "$work/out"
  echo "| imagedef emit --mapping (50 services, artifact selectors) | $(rss "$bin" emit -q --mapping "$CODEBUILD_SRC_DIR/imagedef.json" --out "$work/out") |"
  rm -rf "$work/out"
  echo "| imagedef emit --mapping (50 services, repository selectors: walks the monorepo) | $(rss "$bin" emit -q --mapping "$CODEBUILD_SRC_DIR/imagedef-by-repository.json" --out "$work/out") |"
  echo "| python3 one-liner (one of 50) | $(rss python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([{"name":"app","imageUri":d["ImageURI"]}]))' "$CODEBUILD_SRC_DIR_Image1/imageDetail.json") |"
} | tee "$results/rss.md"
echo "results in $results/"
