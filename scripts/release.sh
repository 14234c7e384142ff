#!/usr/bin/env bash
# Builds the imagedef release, offline, from a clean git tree. Into OUT (default target/release-VERSION):
#   imagedef-VERSION-x86_64-unknown-linux-musl.tar.gz    the static binaries, each with the README,
#   imagedef-VERSION-aarch64-unknown-linux-musl.tar.gz   LICENSE-MIT, LICENSE-APACHE, THIRD-PARTY-LICENSES
#   imagedef-VERSION-<target>.cdx.json                    CycloneDX SBOM of each binary
#   imagedef-VERSION-oci.tar                              the image (OCI layout, as an archive)
#   SHA256SUMS                                            of the files above
#   imagedef-VERSION-oci/                                 the same OCI layout, unpacked (for skopeo)
# The image layout holds the tags VERSION (an index of linux/amd64 and linux/arm64), VERSION-amd64
# and VERSION-arm64. How to push them: docker/README.md.
#
# Usage: scripts/release.sh [--out DIR] [--profile PROFILE] [--allow-dirty]
#   --profile      the Cargo profile of the binaries (default dist, the shipped one; CI's image
#                  test may use a cheaper one)
#   --allow-dirty  build from a tree with uncommitted changes (the result is not a release)
#
# The binaries embed their dependency list (cargo auditable; Trivy, Grype and Amazon Inspector read
# it). Reproducible: every timestamp is SOURCE_DATE_EPOCH, the commit's time, and paths of the build
# machine are remapped out of the binaries, so the same commit gives the same SHA256SUMS.
# Needs: the tools of scripts/install-tools.sh, both musl targets, clang and llvm, python3, and the
# busybox-static .debs for amd64 and arm64 in target/release-deps (.ci/deps-image fetches them).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

out=
profile=dist
allow_dirty=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --profile) profile=${2:?--profile needs a Cargo profile name}; shift 2 ;;
        --allow-dirty) allow_dirty=1; shift ;;
        -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "release.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
die() { echo "release.sh: $*" >&2; exit 1; }
step() { echo "== $*"; }

# ---- inputs -----------------------------------------------------------------------------------
if [ "$allow_dirty" = 0 ] && [ -n "$(git status --porcelain)" ]; then
    die "the tree has uncommitted changes (git status); commit them, or pass --allow-dirty for a trial build"
fi
missing=()
for tool in cargo-auditable rust-audit-info cargo-cyclonedx cargo-about; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
command -v python3 >/dev/null || missing+=(python3)
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]}; run scripts/install-tools.sh (and .ci/deps-image) first"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || die "no version = \"...\" line in Cargo.toml's [package]"
revision=$(git rev-parse HEAD)
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD)
export SOURCE_DATE_EPOCH
out=${out:-target/release-$version}
if [ -e "$out" ]; then
    # Only a previous release is replaced, never a directory holding anything else.
    [ -f "$out/SHA256SUMS" ] || [ -z "$(ls -A "$out")" ] || die "$out exists and is not a previous release (no SHA256SUMS); give another --out"
    rm -rf "$out"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Nothing is half-written: a run that stops early removes OUT again.
work=$(mktemp -d "${TMPDIR:-/tmp}/imagedef-release.XXXXXX")
done=0
trap 'rm -rf "$work"; [ "$done" = 1 ] || rm -rf "$out"' EXIT

debs=$repo/target/release-deps
declare -A busybox_deb
for arch in amd64 arm64; do
    busybox_deb[$arch]=$(find "$debs" -maxdepth 1 -name "busybox-static_*_$arch.deb" 2>/dev/null | sort | tail -n 1)
    [ -n "${busybox_deb[$arch]}" ] || die "no busybox-static .deb for $arch in $debs (the image's /bin/sh); run .ci/deps-image"
done
[ -s /etc/ssl/certs/ca-certificates.crt ] || die "no /etc/ssl/certs/ca-certificates.crt (apt-get install ca-certificates)"

targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
declare -A arch_of=([x86_64-unknown-linux-musl]=amd64 [aarch64-unknown-linux-musl]=arm64)
echo "imagedef $version ($revision), profile $profile, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, into $out"

# ---- binaries ---------------------------------------------------------------------------------
# Paths of this machine (the checkout, cargo's registry) would end up in panic locations; they are
# remapped to fixed names so that another checkout of the same commit builds the same bytes.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
remap=("--remap-path-prefix=$repo=/imagedef" "--remap-path-prefix=$cargo_home=/cargo")
config=()
for target in "${targets[@]}"; do
    flags=$(printf '"%s",' "${remap[@]}")
    config+=(--config "target.$target.rustflags=[${flags%,}]")
done
step "cargo auditable build --profile $profile (${targets[*]})"
start=$SECONDS
cargo auditable build --locked --offline --quiet --profile "$profile" "${config[@]}" \
    --target "${targets[0]}" --target "${targets[1]}"
echo "   built in $((SECONDS - start)) s"
target_dir=$(cargo metadata --format-version 1 --no-deps --locked --offline | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
profile_dir=$profile
[ "$profile" != dev ] || profile_dir=debug
declare -A binary
for target in "${targets[@]}"; do
    binary[$target]=$target_dir/$target/$profile_dir/imagedef
    rust-audit-info "${binary[$target]}" >/dev/null || die "${binary[$target]} has no embedded dependency list"
done

# ---- notices and SBOMs ------------------------------------------------------------------------
step "cargo about: third-party notices"
cargo about generate --locked --offline --config about.toml --output-file "$work/THIRD-PARTY-LICENSES" about.hbs 2>"$work/about.log" \
    || { cat "$work/about.log" >&2; die "cargo about failed"; }
step "cargo cyclonedx: SBOMs"
for target in "${targets[@]}"; do
    sbom=imagedef-$version-$target.cdx
    CARGO_NET_OFFLINE=true cargo cyclonedx --format json --target "$target" --spec-version 1.5 --no-build-deps \
        --override-filename "$sbom" >"$work/cyclonedx.log" 2>&1 \
        || { cat "$work/cyclonedx.log" >&2; die "cargo cyclonedx failed"; }
    # The SBOM's serial number is random, its timestamp is now and its references name this
    # checkout's path: all three are made the commit's, so that the same commit gives the same SBOM.
    python3 - "$sbom.json" "$out/$sbom.json" "$revision" "$target" "$repo" <<'EOF'
import datetime, json, os, sys, uuid
source, dest, revision, target, repo = sys.argv[1:]
with open(source, encoding="utf-8") as f:
    bom = json.loads(f.read().replace("file://" + repo, "file:///imagedef"))
os.remove(source)
epoch = int(os.environ["SOURCE_DATE_EPOCH"])
bom["serialNumber"] = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"imagedef:{revision}:{target}"))
bom.setdefault("metadata", {})["timestamp"] = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
with open(dest, "w", encoding="utf-8") as f:
    json.dump(bom, f, indent=2, sort_keys=True)
    f.write("\n")
EOF
done

# ---- tarballs ---------------------------------------------------------------------------------
# tar and gzip with no machine in them: sorted names, owner 0:0, mtime SOURCE_DATE_EPOCH, no gzip name.
pack() {
    local dir=$1
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        --format=ustar -C "$(dirname "$dir")" -cf - "$(basename "$dir")"
}
docs=(README.md LICENSE-MIT LICENSE-APACHE)
step "tarballs"
for target in "${targets[@]}"; do
    name=imagedef-$version-$target
    mkdir -p "$work/$name"
    install -m 0755 "${binary[$target]}" "$work/$name/imagedef"
    for doc in "${docs[@]}"; do install -m 0644 "$doc" "$work/$name/$doc"; done
    install -m 0644 "$work/THIRD-PARTY-LICENSES" "$work/$name/THIRD-PARTY-LICENSES"
    pack "$work/$name" | gzip -9 -n >"$out/$name.tar.gz"
done

# ---- image ------------------------------------------------------------------------------------
step "image: OCI layout (linux/amd64, linux/arm64)"
platforms=()
for target in "${targets[@]}"; do
    arch=${arch_of[$target]}
    mkdir -p "$work/busybox-$arch"
    dpkg-deb -x "${busybox_deb[$arch]}" "$work/busybox-$arch"
    # The applet list is the amd64 busybox's (same package version, so the same applets): the arm64
    # one would need an emulator just to list them.
    platforms+=(--platform "$arch" "${binary[$target]}" "$work/busybox-$arch/bin/busybox" "$work/applets")
done
"$work/busybox-amd64/bin/busybox" --list-full | LC_ALL=C sort >"$work/applets"
layout=imagedef-$version-oci
python3 scripts/oci-image.py --out "$out/$layout" --version "$version" --revision "$revision" \
    --epoch "$SOURCE_DATE_EPOCH" --doc README.md --doc LICENSE-MIT --doc LICENSE-APACHE \
    --doc "$work/THIRD-PARTY-LICENSES" "${platforms[@]}" | sed 's/^/   /'
find "$out/$layout" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$out/$layout" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    --format=ustar -cf "$out/$layout.tar" oci-layout index.json blobs)

# ---- checksums --------------------------------------------------------------------------------
(cd "$out" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort \
    | xargs sha256sum >SHA256SUMS)
done=1
step "release $version in $out"
(cd "$out" && find . -maxdepth 1 -type f -printf '%P\t%s\n' | LC_ALL=C sort | awk -F'\t' '{ printf "   %-50s %10d bytes\n", $1, $2 }')
