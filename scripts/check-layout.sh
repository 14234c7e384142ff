#!/usr/bin/env bash
# Proves every tag of a release's OCI layout with imagedef's own check: each tag's digest, named as
# an ECR source artifact would name it (WORK/artifacts/TAG/imageDetail.json), proven by the layout
# and offering its platforms (VERSION: linux/amd64 and linux/arm64; VERSION-amd64 and VERSION-arm64
# each its own only, refusing the other).
# Usage: scripts/check-layout.sh IMAGEDEF LAYOUT WORK    (used by docker/test.sh, release-test.sh)
set -euo pipefail
bin=${1:?the imagedef binary}
layout=${2:?the OCI layout}
work=${3:?a scratch folder}
fail() { echo "check-layout: $*" >&2; exit 1; }

refs=$(python3 - "$layout" <<'PY'
import json, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    print(m["annotations"]["org.opencontainers.image.ref.name"], m["digest"])
PY
)
[ "$(wc -l <<<"$refs")" = 3 ] || fail "$layout names $(wc -l <<<"$refs") tags, not 3: $refs"
while read -r tag digest; do
    mkdir -p "$work/artifacts/$tag"
    printf '{"ImageSizeInBytes":"1","ImageDigest":"%s","Version":"1.0","ImagePushedAt":"Thu Jan 01 00:00:00 UTC 2026","RegistryId":"111122223333","RepositoryName":"imagedef","ImageURI":"111122223333.dkr.ecr.us-east-1.amazonaws.com/imagedef@%s","ImageTags":["%s"]}' \
        "$digest" "$digest" "$tag" >"$work/artifacts/$tag/imageDetail.json"
    case "$tag" in
        *-amd64) offers=(linux/amd64); lacks=linux/arm64 ;;
        *-arm64) offers=(linux/arm64); lacks=linux/amd64 ;;
        *) offers=(linux/amd64 linux/arm64); lacks=linux/arm/v7 ;;
    esac
    for platform in "${offers[@]}"; do
        env -u CODEBUILD_SRC_DIR "$bin" -q verify "Image=$work/artifacts/$tag" --oci "$layout" --platform "$platform" >"$work/verify.log" 2>&1 \
            || { cat "$work/verify.log" >&2; fail "imagedef verify --oci --platform $platform for $tag ($digest)"; }
    done
    if env -u CODEBUILD_SRC_DIR "$bin" -q verify "Image=$work/artifacts/$tag" --oci "$layout" --platform "$lacks" >"$work/verify.log" 2>&1; then
        fail "imagedef verify --oci --platform $lacks accepted $tag, which does not offer it"
    fi
    echo "$tag ${offers[*]}"
done <<<"$refs"
