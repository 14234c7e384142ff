#!/usr/bin/env bash
# Tests the release command: runs scripts/release.sh twice from the same commit and checks what a
# user downloads. The second run reuses the binaries (cargo has nothing to rebuild) and redoes all
# the packaging, so equal SHA256SUMS prove the packaging reproducible; that two builds of the
# binaries from scratch give the same bytes is not proven here.
#
# Usage: scripts/release-test.sh [--profile PROFILE] [--allow-dirty] [--keep]
#   --profile PROFILE  passed to release.sh (default dist, the shipped profile)
#   --allow-dirty      passed to release.sh (a trial from uncommitted changes)
#   --keep             keep both release directories and print where they are
# Needs what release.sh needs, plus skopeo, file and qemu-user-static (.ci/deps-image, .ci/deps-verify).
# With the default dist profile it also holds the image's size to README.md's bounds
# (scripts/size-bounds.sh): the release workflow (.github/workflows/release.yml) runs it first.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
args=()
keep=0
profile=dist
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile=${2:?--profile needs a Cargo profile name}; args+=(--profile "$profile"); shift 2 ;;
        --allow-dirty) args+=(--allow-dirty); shift ;;
        --keep) keep=1; shift ;;
        -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "release-test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

passed=0
pass() { passed=$((passed + 1)); echo "  ok   $*"; }
fail() { echo "  FAIL $*" >&2; echo "release: $passed passed, 1 failed" >&2; exit 1; }
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
for tool in skopeo file python3 rust-audit-info; do
    command -v "$tool" >/dev/null || { echo "release-test.sh: missing $tool (.ci/deps-verify, scripts/install-tools.sh)" >&2; exit 2; }
done
[ -n "$qemu" ] || { echo "release-test.sh: missing qemu-user-static (.ci/deps-image)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/imagedef-release-test.XXXXXX")
if [ "$keep" = 1 ]; then trap 'echo "kept: $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
epoch=$(git log -1 --format=%ct HEAD)
targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)

start=$SECONDS
echo "== scripts/release.sh ${args[*]} (first run)"
bash scripts/release.sh "${args[@]}" --out "$work/one" >"$work/one.log" 2>&1 || { cat "$work/one.log" >&2; fail "scripts/release.sh"; }
sed 's/^/  | /' "$work/one.log"
rel=$work/one

# ---- the file list and the checksums ------------------------------------------------------------
expected=$(printf '%s\n' SHA256SUMS "imagedef-$version-oci.tar" \
    "imagedef-$version-aarch64-unknown-linux-musl.cdx.json" "imagedef-$version-aarch64-unknown-linux-musl.tar.gz" \
    "imagedef-$version-x86_64-unknown-linux-musl.cdx.json" "imagedef-$version-x86_64-unknown-linux-musl.tar.gz" | LC_ALL=C sort)
actual=$(cd "$rel" && find . -maxdepth 1 -type f -printf '%P\n' | LC_ALL=C sort)
[ "$actual" = "$expected" ] || fail "release files: expected
$expected
got
$actual"
[ "$(cut -d' ' -f3 "$rel/SHA256SUMS" | LC_ALL=C sort)" = "$(grep -vx SHA256SUMS <<<"$expected")" ] || fail "SHA256SUMS does not list every other file"
(cd "$rel" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not check"
pass "the release holds the 5 files and SHA256SUMS, which checks"

# ---- tarballs: contents, static binaries, embedded dependency lists -------------------------------
for target in "${targets[@]}"; do
    name=imagedef-$version-$target
    listing=$(TZ=UTC tar -tvzf "$rel/$name.tar.gz" --numeric-owner)
    names=$(tar -tzf "$rel/$name.tar.gz" | LC_ALL=C sort)
    want=$(printf '%s\n' "$name/" "$name/LICENSE-APACHE" "$name/LICENSE-MIT" "$name/README.md" "$name/THIRD-PARTY-LICENSES" "$name/imagedef" | LC_ALL=C sort)
    [ "$names" = "$want" ] || fail "$name.tar.gz holds
$names
not
$want"
    grep -v ' 0/0 ' <<<"$listing" && fail "$name.tar.gz has entries not owned by 0/0"
    stamp=$(TZ=UTC date -d "@$epoch" '+%Y-%m-%d %H:%M')
    grep -vF "$stamp" <<<"$listing" && fail "$name.tar.gz has entries not dated $stamp (the commit's time)"
    mkdir -p "$work/x/$target"
    tar -xzf "$rel/$name.tar.gz" -C "$work/x/$target"
    bin=$work/x/$target/$name/imagedef
    description=$(file -b "$bin")
    case "$target:$description" in
        x86_64*:*x86-64*) ;;
        aarch64*:*aarch64*) ;;
        *) fail "$name/imagedef is not a $target binary: $description" ;;
    esac
    case "$description" in *"dynamically linked"* | *interpreter*) fail "$name/imagedef is not static: $description" ;; esac
    if [ "$target" = "${targets[0]}" ]; then got=$("$bin" --version); else got=$("$qemu" "$bin" --version); fi
    [ "$got" = "imagedef $version" ] || fail "$name/imagedef --version says '$got', not 'imagedef $version'"
    rust-audit-info "$bin" >"$work/audit-$target.json" 2>"$work/audit.err" || { cat "$work/audit.err" >&2; fail "$name/imagedef: rust-audit-info found no dependency list"; }
    python3 - "$work/audit-$target.json" "$version" <<'EOF' || fail "$name/imagedef: the embedded dependency list is not the expected one"
import json, sys
audit = json.load(open(sys.argv[1]))
packages = {p["name"]: p for p in audit["packages"]}
root = [p for p in audit["packages"] if p.get("root")]
assert [(p["name"], p["version"]) for p in root] == [("imagedef", sys.argv[2])], root
for name in ["aws-sdk-s3", "aws-sdk-ecr", "rustls", "ring", "serde_json", "zip"]:
    assert name in packages, f"{name} missing"
# Build-only crates (the cc crate that compiles ring's C code) are listed as build dependencies.
assert packages.get("cc", {}).get("kind", "build") == "build", packages["cc"]
print(f"{len(packages)} packages")
EOF
    pass "$name.tar.gz: the 5 files, 0/0, dated the commit; a static $target binary saying 'imagedef $version', with its dependency list embedded ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]))' "$work/audit-$target.json") packages)"
    for doc in README.md LICENSE-MIT LICENSE-APACHE; do
        cmp -s "$work/x/$target/$name/$doc" "$doc" || fail "$name/$doc is not the repository's $doc"
    done
done
notices=$work/x/${targets[0]}/imagedef-$version-${targets[0]}/THIRD-PARTY-LICENSES
for crate in aws-sdk-s3 rustls ring zlib-rs regex tokio; do
    grep -Eq "^  $crate [0-9]" "$notices" || fail "THIRD-PARTY-LICENSES does not name $crate"
done
grep -q 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION' "$notices" || fail "THIRD-PARTY-LICENSES has no Apache-2.0 text"
grep -q 'Permission is hereby granted, free of charge' "$notices" || fail "THIRD-PARTY-LICENSES has no MIT text"
pass "THIRD-PARTY-LICENSES names aws-sdk-s3, rustls, ring, zlib-rs, regex and tokio, with the license texts"

# ---- SBOMs --------------------------------------------------------------------------------------
for target in "${targets[@]}"; do
    python3 - "$rel/imagedef-$version-$target.cdx.json" "$version" "$epoch" <<'EOF' || fail "imagedef-$version-$target.cdx.json is not the expected SBOM"
import datetime, json, sys
bom = json.load(open(sys.argv[1]))
assert bom["bomFormat"] == "CycloneDX", bom.get("bomFormat")
component = bom["metadata"]["component"]
assert (component["name"], component["version"]) == ("imagedef", sys.argv[2]), component
stamp = datetime.datetime.fromtimestamp(int(sys.argv[3]), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
assert bom["metadata"]["timestamp"] == stamp, bom["metadata"]["timestamp"]
names = {c["name"] for c in bom.get("components", [])}
for name in ["aws-sdk-s3", "rustls", "ring", "serde_json"]:
    assert name in names, f"{name} missing"
assert all(c.get("purl", "").startswith("pkg:cargo/") for c in bom["components"]), "a component without a cargo purl"
EOF
done
pass "CycloneDX SBOMs name imagedef $version and its crates (with purls), dated the commit"

# ---- the image ----------------------------------------------------------------------------------
layout=$rel/imagedef-$version-oci
mkdir -p "$work/archive"
tar -xf "$rel/imagedef-$version-oci.tar" -C "$work/archive"
diff -r "$work/archive" "$layout" >/dev/null || fail "imagedef-$version-oci.tar is not the unpacked layout imagedef-$version-oci/"
refs=$(python3 -c 'import json,sys; [print(m["annotations"]["org.opencontainers.image.ref.name"], m["digest"], m["mediaType"]) for m in json.load(open(sys.argv[1]))["manifests"]]' "$layout/index.json")
[ "$(cut -d' ' -f1 <<<"$refs" | tr '\n' ' ')" = "$version $version-amd64 $version-arm64 " ] || fail "the layout's tags are not $version, $version-amd64, $version-arm64: $refs"
index_type=$(awk -v t="$version" '$1 == t { print $3 }' <<<"$refs")
[ "$index_type" = application/vnd.oci.image.index.v1+json ] || fail "tag $version is a $index_type, not an image index"
index=$(skopeo inspect --raw "oci:$layout:$version")
platforms=$(python3 -c 'import json,sys; print(" ".join(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in json.loads(sys.argv[1])["manifests"]))' "$index")
[ "$platforms" = "linux/amd64 linux/arm64" ] || fail "the $version index lists '$platforms', not 'linux/amd64 linux/arm64'"
for arch in amd64 arm64; do
    inspected=$(skopeo inspect --override-arch "$arch" "oci:$layout:$version-$arch")
    python3 - "$inspected" "$arch" "$version" <<'EOF' || fail "skopeo inspect of $version-$arch: not the expected image"
import json, sys
image, arch, version = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
assert (image["Os"], image["Architecture"]) == ("linux", arch), (image["Os"], image["Architecture"])
assert image["Labels"]["org.opencontainers.image.version"] == version, image["Labels"]
assert image["Labels"]["org.opencontainers.image.licenses"] == "MIT OR Apache-2.0", image["Labels"]
EOF
done
pass "OCI layout: $version is an index of linux/amd64 and linux/arm64; $version-amd64 and $version-arm64 are those images (skopeo reads all three)"

# `skopeo copy --all` of the index, as docker/README.md pushes it, into another layout here.
skopeo copy --quiet --all "oci:$layout:$version" "oci:$work/copied:$version" >/dev/null || fail "skopeo copy --all oci:...:$version"
for arch in amd64 arm64; do
    skopeo copy --quiet "oci:$layout:$version-$arch" "oci:$work/copied:$version-$arch" >/dev/null || fail "skopeo copy oci:...:$version-$arch"
done
pass "skopeo copy --all of $version and copy of $version-amd64, $version-arm64 succeed"

# Each image's files: the binary of its architecture on a base of its architecture, the docs.
for arch in amd64 arm64; do
    python3 - "$layout" "$version-$arch" "$work/rootfs-$arch" <<'EOF' || fail "cannot unpack the $arch image"
import gzip, io, json, os, sys, tarfile
root, tag, dest = sys.argv[1:]
blob = lambda d: open(os.path.join(root, "blobs", *d.split(":")), "rb").read()
entry = next(m for m in json.load(open(os.path.join(root, "index.json")))["manifests"]
             if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
for layer in json.loads(blob(entry["digest"]))["layers"]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layer["digest"])))) as t:
        t.extractall(dest, filter="tar")
EOF
    rootfs=$work/rootfs-$arch
    if [ "$arch" = amd64 ]; then word=x86-64; binary=$work/x/${targets[0]}/imagedef-$version-${targets[0]}/imagedef
    else word=aarch64; binary=$work/x/${targets[1]}/imagedef-$version-${targets[1]}/imagedef; fi
    for f in usr/local/bin/imagedef bin/busybox; do
        case "$(file -b "$rootfs/$f")" in *"$word"*) ;; *) fail "$arch image: /$f is not $word: $(file -b "$rootfs/$f")" ;; esac
    done
    cmp -s "$rootfs/usr/local/bin/imagedef" "$binary" || fail "$arch image: /usr/local/bin/imagedef is not the tarball's binary"
    [ "$(readlink "$rootfs/bin/sh")" = /bin/busybox ] || fail "$arch image: /bin/sh is not busybox"
    [ "$(stat -c %a "$rootfs/usr/local/bin/imagedef")" = 755 ] || fail "$arch image: imagedef is not mode 0755"
    [ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] || fail "$arch image: no CA bundle"
    for doc in README.md LICENSE-MIT LICENSE-APACHE THIRD-PARTY-LICENSES; do
        [ -s "$rootfs/usr/share/doc/imagedef/$doc" ] || fail "$arch image: no /usr/share/doc/imagedef/$doc"
    done
    if [ "$arch" = amd64 ]; then sh_version=$("$rootfs/bin/busybox" sh -c 'echo ok'); else sh_version=$("$qemu" "$rootfs/bin/busybox" sh -c 'echo ok'); fi
    [ "$sh_version" = ok ] || fail "$arch image: its /bin/sh does not run"
    # CodeBuild's Lambda compute, which takes these single-architecture tags, requires curl or
    # wget in the image: busybox's wget, linked as /usr/bin/wget, run under that name.
    [ "$(readlink "$rootfs/usr/bin/wget")" = /bin/busybox ] || fail "$arch image: /usr/bin/wget is not a link to /bin/busybox"
    mkdir -p "$work/applets-$arch"
    ln -sf "$rootfs/bin/busybox" "$work/applets-$arch/wget"
    if [ "$arch" = amd64 ]; then run=(); else run=("$qemu"); fi
    "${run[@]}" "$work/applets-$arch/wget" --help >"$work/wget-$arch.txt" 2>&1 || fail "$arch image: wget --help failed: $(cat "$work/wget-$arch.txt")"
    grep -q "Usage: wget" "$work/wget-$arch.txt" || fail "$arch image: /usr/bin/wget does not run busybox's wget"
    pass "$arch image: $word imagedef (the tarball's) and $word busybox /bin/sh and /usr/bin/wget, CA bundle, README and licenses in /usr/share/doc/imagedef"
done

# What each image adds to its base (its imagedef layer, as pulled and unpacked) is within the
# bounds README.md states, and arm64's is the smaller, as it says.
sizes=$(python3 - "$layout" "$version" <<'EOF'
import gzip, json, os, sys
root, version = sys.argv[1:]
blob = lambda d: open(os.path.join(root, "blobs", *d.split(":")), "rb").read()
refs = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in json.load(open(os.path.join(root, "index.json")))["manifests"]}
for arch in ["amd64", "arm64"]:
    layers = json.loads(blob(refs[f"{version}-{arch}"]["digest"]))["layers"]
    assert len(layers) == 2, f"{arch}: {len(layers)} layers, not the base and imagedef's"
    data = blob(layers[1]["digest"])
    print(len(gzip.decompress(data)), len(data), end=" ")
EOF
) || fail "cannot read the layers' sizes"
read -r amd64_unpacked amd64_compressed arm64_unpacked _ <<<"$sizes"
if [ "$profile" = dist ]; then
    within=$(bash scripts/size-bounds.sh README.md "$amd64_unpacked" "$amd64_compressed") || fail "the amd64 image is over README.md's size bounds"
    [ "$arm64_unpacked" -le "$amd64_unpacked" ] || fail "the arm64 image adds $arm64_unpacked bytes, more than amd64's $amd64_unpacked: README.md says it is smaller"
    pass "the amd64 image adds $within, within README.md's bounds; arm64's adds less ($arm64_unpacked bytes unpacked)"
else
    echo "  skip README.md's size bounds (they hold for the shipped profile, dist; this is $profile)"
fi

# imagedef's own check: each tag's digest, as an ECR source artifact would name it, proven by the
# layout with its platforms.
x86=$work/x/${targets[0]}/imagedef-$version-${targets[0]}/imagedef
bash scripts/check-layout.sh "$x86" "$layout" "$work" >/dev/null || fail "the layout's tags (scripts/check-layout.sh)"
# The check must be able to fail: one byte changed in a copy's layer.
cp -R "$layout" "$work/tampered"
layer=$(python3 -c 'import json,sys,os; r=sys.argv[1]; b=lambda d: os.path.join(r,"blobs",*d.split(":")); m=[x for x in json.load(open(os.path.join(r,"index.json")))["manifests"] if x["annotations"]["org.opencontainers.image.ref.name"].endswith("-arm64")][0]; print(b(json.load(open(b(m["digest"])))["layers"][-1]["digest"]))' "$work/tampered")
printf 'X' | dd of="$layer" bs=1 seek=100 conv=notrunc status=none
if env -u CODEBUILD_SRC_DIR "$x86" -q verify "Image=$work/artifacts/$version-arm64" --oci "$work/tampered" >"$work/verify.log" 2>&1; then
    fail "imagedef verify --oci accepted a layout whose arm64 layer was changed"
fi
pass "imagedef verify --oci proves $version (linux/amd64 and linux/arm64), $version-amd64 and $version-arm64 (each its own platform only), and refuses a changed layer"

# ---- reproducible -------------------------------------------------------------------------------
echo "== scripts/release.sh ${args[*]} (second run)"
bash scripts/release.sh "${args[@]}" --out "$work/two" >"$work/two.log" 2>&1 || { cat "$work/two.log" >&2; fail "scripts/release.sh (second run)"; }
cmp -s "$work/one/SHA256SUMS" "$work/two/SHA256SUMS" || { diff "$work/one/SHA256SUMS" "$work/two/SHA256SUMS" >&2; fail "a second run gave another SHA256SUMS"; }
diff -r "$work/one" "$work/two" >/dev/null || fail "a second run gave other files"
pass "a second run of the same commit gives the same SHA256SUMS and the same bytes"

echo "== done in $((SECONDS - start)) s"
echo "release: $passed passed, 0 failed"
