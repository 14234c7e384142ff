#!/usr/bin/env bash
# The findings gate on 50 images in 5 repositories against a moto server on loopback:
# `verify --ecr --findings ...` vs `verify --ecr` alone, and vs what a buildspec does without
# imagedef: one `aws ecr describe-image-scan-findings` per image (awscli). All in one run, against
# the same server; requests are counted in moto's request log (API calls only, not the seeding
# through moto's own API).
#   benches/findings.sh       (needs the venv of .ci/deps-aws: moto[server], awscli)
#   IMAGEDEF_BIN=target/debug/imagedef benches/findings.sh   (skip the dist build)
# Only loopback is contacted: instance metadata is off and no profile file is read.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${IMAGES:-50}
repos=${REPOS:-5}

# shellcheck source=benches/moto.sh
source benches/moto.sh findings

# Seed: IMAGES images over REPOS repositories, each scanned, with a COMPLETE result of a few
# findings set through moto's API; one artifact folder per image.
"$venv/bin/python" - "$work" "$images" "$repos" "$port" <<'PY'
import boto3, hashlib, json, os, sys, urllib.request
work, images, repos, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ecr = boto3.client("ecr")
for r in range(repos):
    ecr.create_repository(repositoryName=f"bench/repo{r}")
results = []
with open(os.path.join(work, "images.txt"), "w") as listing:
    for i in range(images):
        repo = f"bench/repo{i % repos}"
        config = "sha256:" + hashlib.sha256(f"config {i}".encode()).hexdigest()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": config},
                               "layers": []})
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=f"v{i}", imageDigest=digest,
                      imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json")
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
        findings = [{"name": f"CVE-2024-{i:04}", "severity": "HIGH", "uri": "https://nvd.nist.gov/",
                     "attributes": [{"key": "package_name", "value": "openssl"}]}]
        results.append({"registryId": "123456789012", "repositoryName": repo, "imageId": {"imageDigest": digest},
                        "imageScanStatus": {"status": "COMPLETE", "description": "done"},
                        "imageScanFindings": {"findings": findings, "findingSeverityCounts": {"HIGH": 1, "LOW": 3}}})
        folder = os.path.join(work, "artifacts", f"img{i:03}")
        os.makedirs(folder)
        uri = f"123456789012.dkr.ecr.us-west-2.amazonaws.com/{repo}@{digest}"
        with open(os.path.join(folder, "imageDetail.json"), "w") as f:
            json.dump({"ImageDigest": digest, "RegistryId": "123456789012", "RepositoryName": repo,
                       "ImageURI": uri, "ImageTags": [f"v{i}"]}, f)
        listing.write(f"{repo} {digest}\n")
body = json.dumps({"results": results, "region": "us-west-2"}).encode()
request = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/static/ecr/scan-finding-results",
                                 data=body, headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
PY

requests() { grep -c '"POST / HTTP' "$work/moto.log" || true; }
seconds() { local start=$EPOCHREALTIME; "$@" >/dev/null; echo "$EPOCHREALTIME - $start" | bc; }
# The best of 3 runs of imagedef with these flags: "seconds requests".
best_of_3() {
    local before best= t
    before=$(requests)
    for _ in 1 2 3; do
        t=$(seconds "$bin" -q verify "$work/artifacts" "$@")
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    echo "$best $(( ($(requests) - before) / 3 ))"
}

read -r ecr_s ecr_n < <(best_of_3 --ecr)
read -r findings_s findings_n < <(best_of_3 --ecr --findings CRITICAL=0,HIGH=1)

before=$(requests)
loop() {
    while read -r repo digest; do
        "$venv/bin/aws" ecr describe-image-scan-findings --repository-name "$repo" \
            --image-id "imageDigest=$digest" --output json >/dev/null
    done <"$work/images.txt"
}
awscli=$(seconds loop)
awscli_requests=$(( $(requests) - before ))

printf '%-52s %10s %9s %13s\n' "" seconds requests "per image"
row() { printf '%-52s %10.3f %9d %13.2f\n' "$1" "$2" "$3" "$(echo "$3 / $images" | bc -l)"; }
row "imagedef verify --ecr (best of 3)" "$ecr_s" "$ecr_n"
row "imagedef verify --ecr --findings ... (best of 3)" "$findings_s" "$findings_n"
row "aws ecr describe-image-scan-findings x $images" "$awscli" "$awscli_requests"
printf 'findings cost %.3f s and %d DescribeImageScanFindings calls over --ecr alone (%d images)\n' \
    "$(echo "$findings_s - $ecr_s" | bc -l)" "$(( findings_n - ecr_n ))" "$images"
