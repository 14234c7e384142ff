#!/usr/bin/env bash
# The platform check on 50 images in 5 repositories, against a moto server and a real registry
# (Debian's docker-registry) on loopback: `verify --ecr --platform linux/amd64` vs `verify --ecr`
# alone, for single-manifest images (one config blob each) and for image indexes (no blob). Requests
# are counted in moto's log (API calls) and the registry's access log (blob GETs).
#   benches/platform.sh       (needs the venv of .ci/deps-aws and docker-registry, .ci/deps-verify)
#   IMAGEDEF_BIN=target/debug/imagedef benches/platform.sh   (skip the dist build)
# Only loopback is contacted: instance metadata is off and no profile file is read.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${IMAGES:-50}
repos=${REPOS:-5}

# shellcheck source=benches/moto.sh
source benches/moto.sh platform

# The registry, with its access log on (one line per request).
registry_port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$registry_port
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$registry_port/v2/" 2>/dev/null && break
    sleep 0.1
done
export IMAGEDEF_REGISTRY_URL=http://127.0.0.1:$registry_port

# Seed: per kind (single, index), IMAGES images over REPOS repositories: a config blob (linux/amd64)
# and its manifest pushed to the registry through its HTTP API, the same manifest bytes put into
# moto with their digest; for an index, an index of that manifest and an arm64 one.
"$venv/bin/python" - "$work" "$images" "$repos" "$registry_port" <<'PY'
import boto3, hashlib, json, os, sys, urllib.request
work, images, repos, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
registry = f"http://127.0.0.1:{port}"
ecr = boto3.client("ecr")
sha = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
def push_blob(repo, data):
    start = urllib.request.urlopen(urllib.request.Request(f"{registry}/v2/{repo}/blobs/uploads/", method="POST"))
    location = start.headers["Location"]
    location = location if location.startswith("http") else registry + location
    sep = "&" if "?" in location else "?"
    urllib.request.urlopen(urllib.request.Request(f"{location}{sep}digest={sha(data)}", data=data, method="PUT",
                                                  headers={"Content-Type": "application/octet-stream"}))
def push_manifest(repo, data, media_type, tag):
    urllib.request.urlopen(urllib.request.Request(f"{registry}/v2/{repo}/manifests/{tag}", data=data, method="PUT",
                                                  headers={"Content-Type": media_type}))
    ecr.put_image(repositoryName=repo, imageManifest=data.decode(), imageTag=tag, imageDigest=sha(data),
                  imageManifestMediaType=media_type)
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
def image(repo, i, arch):
    config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "config": {"Labels": {"n": str(i)}}}).encode()
    push_blob(repo, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
                           "layers": []}).encode()
    push_manifest(repo, manifest, MANIFEST, f"{arch}-{i}")
    return manifest
for kind in ["single", "index"]:
    for r in range(repos):
        ecr.create_repository(repositoryName=f"{kind}/repo{r}")
    for i in range(images):
        repo = f"{kind}/repo{i % repos}"
        amd = image(repo, i, "amd64")
        digest = sha(amd)
        if kind == "index":
            arm = image(repo, i, "arm64")
            index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
                {"mediaType": MANIFEST, "digest": sha(amd), "size": len(amd), "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": MANIFEST, "digest": sha(arm), "size": len(arm), "platform": {"architecture": "arm64", "os": "linux"}},
            ]}).encode()
            push_manifest(repo, index, INDEX, f"v{i}")
            digest = sha(index)
        folder = os.path.join(work, kind, f"img{i:03}")
        os.makedirs(folder)
        uri = f"123456789012.dkr.ecr.us-west-2.amazonaws.com/{repo}@{digest}"
        with open(os.path.join(folder, "imageDetail.json"), "w") as f:
            json.dump({"ImageDigest": digest, "RegistryId": "123456789012", "RepositoryName": repo,
                       "ImageURI": uri, "ImageTags": [f"v{i}"]}, f)
PY

api() { grep -c '"POST / HTTP' "$work/moto.log" || true; }
blobs() { grep -c '"GET /v2/[^ ]*/blobs/' "$work/registry.log" || true; }
seconds() { local start=$EPOCHREALTIME; "$@" >/dev/null; echo "$EPOCHREALTIME - $start" | bc; }
# The best of 3 runs of imagedef verify on a kind with these flags: "seconds api-calls blob-GETs".
best_of_3() {
    local kind=$1 a b best= t
    shift
    a=$(api) b=$(blobs)
    for _ in 1 2 3; do
        t=$(seconds "$bin" -q verify "$work/$kind" "$@")
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    echo "$best $(( ($(api) - a) / 3 )) $(( ($(blobs) - b) / 3 ))"
}

printf '%-58s %9s %9s %10s\n' "" seconds "API calls" "blob GETs"
row() { printf '%-58s %9.3f %9d %10d\n' "$1" "$2" "$3" "$4"; }
for kind in single index; do
    read -r s n g < <(best_of_3 "$kind" --ecr)
    row "$kind manifests: verify --ecr (best of 3)" "$s" "$n" "$g"
    read -r s n g < <(best_of_3 "$kind" --ecr --platform linux/amd64)
    row "$kind manifests: verify --ecr --platform linux/amd64" "$s" "$n" "$g"
done
echo "($images images in $repos repositories per kind)"
