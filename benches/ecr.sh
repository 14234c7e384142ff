#!/usr/bin/env bash
# `verify --ecr` on 50 images in 5 repositories against a moto server on loopback, vs what a
# buildspec does without imagedef: one `aws ecr batch-get-image` per image (awscli). Both in one
# run, against the same server; requests are counted in moto's request log.
#   benches/ecr.sh            (needs the venv of .ci/deps-aws: moto[server], awscli)
#   IMAGEDEF_BIN=target/debug/imagedef benches/ecr.sh   (skip the dist build)
# Only loopback is contacted: instance metadata is off and no profile file is read.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${IMAGES:-50}
repos=${REPOS:-5}

# shellcheck source=benches/moto.sh
source benches/moto.sh ecr

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
