#!/usr/bin/env bash
# `verify --ecr` on 50 images in 5 repositories against a moto server on loopback, vs what a
# buildspec does without imagedef: one `aws ecr batch-get-image` per image (awscli). Both in one
# run, against the same server; requests are counted in moto's request log.
#   benches/ecr.sh            (needs the venv of .ci/deps-aws: moto[server], awscli)
# Only loopback is contacted: instance metadata is off and no profile file is read.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps-aws >/dev/null
venv=${IMAGEDEF_MOTO_VENV:-target/moto-venv}
target=x86_64-unknown-linux-musl
cargo build --release --locked -q --target "$target"
bin=$PWD/target/$target/release/imagedef
images=${IMAGES:-50}
repos=${REPOS:-5}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/imagedef-ecr-bench.XXXXXX")
moto_pid=
cleanup() {
    [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$port" 2>"$work/moto.log" &
moto_pid=$!
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null && break
    sleep 0.1
done

# Everything AWS from here on talks to moto only.
for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_EC2_METADATA_DISABLED=true \
    AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-west-2 \
    AWS_DEFAULT_REGION=us-west-2 AWS_CONFIG_FILE=$work/none AWS_SHARED_CREDENTIALS_FILE=$work/none

# Seed: IMAGES images over REPOS repositories; one artifact folder per image.
"$venv/bin/python" - "$work" "$images" "$repos" <<'PY'
import boto3, hashlib, json, os, sys
work, images, repos = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ecr = boto3.client("ecr")
for r in range(repos):
    ecr.create_repository(repositoryName=f"bench/repo{r}")
with open(os.path.join(work, "images.txt"), "w") as listing:
    for i in range(images):
        repo = f"bench/repo{i % repos}"
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "n": i})
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=f"v{i}", imageDigest=digest,
                      imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json")
        folder = os.path.join(work, "artifacts", f"img{i:03}")
        os.makedirs(folder)
        uri = f"123456789012.dkr.ecr.us-west-2.amazonaws.com/{repo}@{digest}"
        with open(os.path.join(folder, "imageDetail.json"), "w") as f:
            json.dump({"ImageDigest": digest, "RegistryId": "123456789012", "RepositoryName": repo,
                       "ImageURI": uri, "ImageTags": [f"v{i}"]}, f)
        listing.write(f"{repo} {digest}\n")
PY

requests() { grep -c '"POST / HTTP' "$work/moto.log" || true; }
seconds() { local start=$EPOCHREALTIME; "$@" >/dev/null; echo "$EPOCHREALTIME - $start" | bc; }

before=$(requests)
best=
for _ in 1 2 3; do
    t=$(seconds "$bin" -q verify --ecr "$work/artifacts")
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
imagedef_requests=$(( ($(requests) - before) / 3 ))

before=$(requests)
loop() {
    while read -r repo digest; do
        "$venv/bin/aws" ecr batch-get-image --repository-name "$repo" \
            --image-ids "imageDigest=$digest" --output json >/dev/null
    done <"$work/images.txt"
}
awscli=$(seconds loop)
awscli_requests=$(( $(requests) - before ))

printf '%-44s %10s %9s\n' "" seconds requests
printf '%-44s %10.3f %9d\n' "imagedef verify --ecr (best of 3)" "$best" "$imagedef_requests"
printf '%-44s %10.3f %9d\n' "aws ecr batch-get-image x $images (loop)" "$awscli" "$awscli_requests"
printf 'ratio: imagedef is %.0fx faster, with %d requests for %d repositories\n' \
    "$(echo "$awscli / $best" | bc -l)" "$imagedef_requests" "$repos"
