#!/usr/bin/env bash
# `publish` of 50 bundles into a versioned bucket of a moto server on loopback, vs what a buildspec
# does without imagedef: one `aws s3 cp` per bundle (awscli). Both in one run, against the same
# server; then the second, unchanged publish, which must send no PUT. Requests are counted in
# moto's request log.
#   benches/publish.sh        (needs the venv of .ci/deps-aws: moto[server], awscli)
#   IMAGEDEF_BIN=target/debug/imagedef benches/publish.sh   (skip the dist build)
# Only loopback is contacted: instance metadata is off and no profile file is read.
set -euo pipefail
cd "$(dirname "$0")/.."
bundles=${BUNDLES:-50}

# shellcheck source=benches/moto.sh
source benches/moto.sh publish

# BUNDLES services, one image artifact each, emitted as bundles; two versioned buckets.
"$venv/bin/python" - "$work" "$bundles" <<'PY'
import boto3, json, os, sys
work, n = sys.argv[1], int(sys.argv[2])
s3 = boto3.client("s3")
for b in ("bench-imagedef", "bench-awscli"):
    s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
services = {}
for i in range(n):
    repo = f"bench/svc{i:03}"
    services[f"svc{i:03}"] = {"containers": {"app": {"repository": repo}}}
    digest = "sha256:%064x" % (i + 1)
    folder = os.path.join(work, "artifacts", f"img{i:03}")
    os.makedirs(folder)
    with open(os.path.join(folder, "imageDetail.json"), "w") as f:
        json.dump({"ImageDigest": digest, "RegistryId": "123456789012", "RepositoryName": repo,
                   "ImageURI": f"123456789012.dkr.ecr.us-west-2.amazonaws.com/{repo}@{digest}",
                   "ImageTags": ["v1"]}, f)
with open(os.path.join(work, "mapping.json"), "w") as f:
    json.dump({"services": services}, f)
PY
"$bin" -q emit "$work"/artifacts/img* --mapping "$work/mapping.json" --bundle --out "$work/out"

count() { grep -c "\"$1 /" "$work/moto.log" || true; }
seconds() { local start=$EPOCHREALTIME; "$@" >/dev/null; echo "$EPOCHREALTIME - $start" | bc; }

puts=$(count PUT) heads=$(count HEAD)
first=$(seconds "$bin" publish "$work/out" --bucket bench-imagedef)
first_puts=$(( $(count PUT) - puts )) first_heads=$(( $(count HEAD) - heads ))

puts=$(count PUT) heads=$(count HEAD)
again=$(seconds "$bin" publish "$work/out" --bucket bench-imagedef)
again_puts=$(( $(count PUT) - puts )) again_heads=$(( $(count HEAD) - heads ))

puts=$(count PUT) heads=$(count HEAD)
loop() {
    for zip in "$work"/out/*.zip; do
        "$venv/bin/aws" s3 cp --only-show-errors "$zip" "s3://bench-awscli/$(basename "$zip")"
    done
}
awscli=$(seconds loop)
awscli_puts=$(( $(count PUT) - puts )) awscli_heads=$(( $(count HEAD) - heads ))

versions() {
    "$venv/bin/python" -c 'import boto3, sys; print(sum(1 for _ in boto3.client("s3").list_object_versions(Bucket=sys.argv[1]).get("Versions", [])))' "$1"
}

printf '%-44s %10s %6s %6s\n' "" seconds PUTs HEADs
printf '%-44s %10.3f %6d %6d\n' "imagedef publish, first ($bundles bundles)" "$first" "$first_puts" "$first_heads"
printf '%-44s %10.3f %6d %6d\n' "imagedef publish, again (unchanged)" "$again" "$again_puts" "$again_heads"
printf '%-44s %10.3f %6d %6d\n' "aws s3 cp x $bundles (loop)" "$awscli" "$awscli_puts" "$awscli_heads"
printf 'ratio: the first publish is %.0fx faster than the loop; object versions: imagedef %s, awscli %s\n' \
    "$(echo "$awscli / $first" | bc -l)" "$(versions bench-imagedef)" "$(versions bench-awscli)"
