#!/usr/bin/env bash
# Builds the static musl binaries and the CodeBuild image offline with buildah, then uses the image
# the way CodeBuild does: a CodeBuild-like source layout mounted in, the CODEBUILD_* variables set,
# the buildspec's phase commands run through /bin/sh, as root and as uid 1000.
#
# Usage: docker/test.sh [--prebuilt PROFILE] [--inject-failure] [--keep]
#   --prebuilt PROFILE  take the musl binaries already built with that Cargo profile (e.g. by
#                     scripts/release.sh) instead of building them with the shipped profile, dist;
#                     the size budget and the README's size bounds are checked for dist only
#   --inject-failure  append a failing command to the buildspec's build phase in the main run, so
#                     this script must fail (the normal run also proves this on its own, as a check)
#   --keep            keep the work directory (buildah storage, layouts, logs) and print its path
#
# Needs: cargo with both musl targets, clang and llvm (ring's C code), buildah, busybox-static,
# ca-certificates, qemu-user-static, python3 with PyYAML, file (.ci/deps-image installs them). No
# network, no container daemon.
set -euo pipefail

inject_failure=0
keep=0
prebuilt=
while [ $# -gt 0 ]; do
    case "$1" in
        --prebuilt) prebuilt=${2:?--prebuilt needs a Cargo profile name}; shift ;;
        --inject-failure) inject_failure=1 ;;
        --keep) keep=1 ;;
        -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "docker/test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
profile=${prebuilt:-dist}

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

passed=0
pass() { passed=$((passed + 1)); echo "  ok   $*"; }
fail() { echo "  FAIL $*" >&2; echo "image: $passed passed, 1 failed" >&2; exit 1; }
step() { echo "== $*"; }

# ---- tools ----------------------------------------------------------------------------------------
python=
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then
        python=$candidate
        break
    fi
done
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v file >/dev/null || missing+=(file)
[ -n "$python" ] || missing+=("python3 with PyYAML")
[ -n "$qemu" ] || missing+=(qemu-user-static)
[ -x /bin/busybox ] || missing+=("busybox-static (/bin/busybox)")
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
command -v rust-audit-info >/dev/null || missing+=("rust-audit-info (scripts/install-tools.sh)")
command -v dpkg-deb >/dev/null || missing+=(dpkg)
if [ ${#missing[@]} -gt 0 ]; then
    echo "docker/test.sh: missing: ${missing[*]}; run .ci/deps-image first" >&2
    exit 2
fi

start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/var/tmp}/imagedef-image-test.XXXXXX")
B=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)
export BUILDAH_ISOLATION=chroot
cleanup() {
    "${B[@]}" rm --all >/dev/null 2>&1 || true
    if [ "$keep" = 1 ]; then
        echo "kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# ---- 1. static binaries ---------------------------------------------------------------------------
step "static musl binaries (profile $profile${prebuilt:+, prebuilt})"
x86_target=x86_64-unknown-linux-musl
arm_target=aarch64-unknown-linux-musl
# cargo auditable embeds the dependency list that Trivy, Grype and Amazon Inspector read.
[ -n "$prebuilt" ] || cargo auditable build --profile dist --locked --quiet --target "$x86_target" --target "$arm_target"
target_dir=$(cargo metadata --format-version 1 --no-deps --locked | "$python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
profile_dir=$profile
[ "$profile" != dev ] || profile_dir=debug
x86_bin=$target_dir/$x86_target/$profile_dir/imagedef
arm_bin=$target_dir/$arm_target/$profile_dir/imagedef
for bin in "$x86_bin" "$arm_bin"; do
    [ -x "$bin" ] || fail "no $bin: build it with the $profile profile first (scripts/release.sh --profile $profile)"
done
# The binary budget with the AWS SDK in it: 12 MiB, stripped x86_64 (README, "Use it as a CodeBuild
# image").
budget=$((12 * 1024 * 1024))
for bin in "$x86_bin" "$arm_bin"; do
    description=$(file -b "$bin")
    # file(1) says "static-pie linked" for a static position-independent executable (the x86_64
    # default) and "statically linked" otherwise; either way there is no interpreter to load.
    case "$description" in
        *"dynamically linked"* | *interpreter*) fail "$bin is not static: $description" ;;
        *"statically linked"* | *"static-pie linked"*) ;;
        *) fail "$bin: unexpected file(1) output: $description" ;;
    esac
    case "$description" in *stripped*) ;; *) fail "$bin is not stripped: $description" ;; esac
    pass "$(basename "$(dirname "$(dirname "$bin")")"): $(stat -c %s "$bin") bytes; $description"
done
for bin in "$x86_bin" "$arm_bin"; do
    rust-audit-info "$bin" >"$work/audit.json" 2>"$work/audit.err" \
        || { cat "$work/audit.err" >&2; fail "$bin has no embedded dependency list (build it with cargo auditable)"; }
    packages=$("$python" -c 'import json,sys; print(" ".join(sorted(p["name"] for p in json.load(open(sys.argv[1]))["packages"])))' "$work/audit.json")
    for crate in imagedef aws-sdk-ecr aws-sdk-s3 ring zip; do
        [[ " $packages " == *" $crate "* ]] || fail "$bin: the embedded dependency list lacks $crate"
    done
done
pass "both binaries embed their dependency list ($(wc -w <<<"$packages") crates, read back by rust-audit-info)"
case "$(file -b "$x86_bin")" in *x86-64*) ;; *) fail "$x86_bin is not x86-64" ;; esac
case "$(file -b "$arm_bin")" in *aarch64*) ;; *) fail "$arm_bin is not aarch64" ;; esac
x86_size=$(stat -c %s "$x86_bin")
if [ "$profile" = dist ]; then
    [ "$x86_size" -le "$budget" ] || fail "x86_64 binary is $x86_size bytes, over the 12 MiB budget ($budget)"
    pass "x86_64 binary within the 12 MiB budget"
else
    echo "  skip the 12 MiB budget (it holds for the shipped profile, dist; this is $profile)"
fi

# ---- 2. the aarch64 binary under qemu -------------------------------------------------------------
step "aarch64 binary under $(basename "$qemu")"
x86_version=$("$x86_bin" --version)
arm_version=$("$qemu" "$arm_bin" --version)
[ "$arm_version" = "$x86_version" ] || fail "aarch64 --version says '$arm_version', x86_64 '$x86_version'"
pass "aarch64 --version: $arm_version"
# The same emit with both binaries: the outputs must be byte-identical (the output is deterministic).
for arch in x86 arm; do
    mkdir -p "$work/emit-$arch"
    if [ "$arch" = arm ]; then runner=("$qemu" "$arm_bin"); else runner=("$x86_bin"); fi
    env -u CONTAINER_NAME -u CODEBUILD_SRC_DIR "${runner[@]}" -q emit \
        "WebImage=$repo/examples/pipeline/WebImage" --container web \
        --task-definition "$repo/examples/pipeline/source/deploy/web-taskdef.json" \
        --out "$work/emit-$arch" >/dev/null
done
cmp -s "$work/emit-x86/imagedefinitions.json" "$work/emit-arm/imagedefinitions.json" \
    || fail "aarch64 and x86_64 emit wrote different imagedefinitions.json"
pass "aarch64 emit wrote the same imagedefinitions.json as x86_64"

# ---- 3. stand-in base image -----------------------------------------------------------------------
# No registry is reachable here, so the base is made locally: busybox (for /bin/sh and the usual
# commands) and a CA bundle on scratch, the shape of Alpine's minirootfs without apk.
step "stand-in base image (busybox-static + CA bundle, FROM scratch)"
base=localhost/imagedef-test-base:latest
ctr=$("${B[@]}" from scratch)
mnt=$("${B[@]}" mount "$ctr")
mkdir -p "$mnt"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc/ssl/certs,root,tmp}
chmod 0700 "$mnt/root"
chmod 1777 "$mnt/tmp"
install -m 0755 /bin/busybox "$mnt/bin/busybox"
for applet in $(/bin/busybox --list-full); do
    [ -e "$mnt/$applet" ] || [ -L "$mnt/$applet" ] || ln -s /bin/busybox "$mnt/$applet"
done
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$mnt/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$mnt/etc/group"
"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" config --os linux --arch amd64 --cmd /bin/sh \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
"${B[@]}" commit --quiet "$ctr" "$base" >/dev/null
"${B[@]}" rm "$ctr" >/dev/null
pass "built $base"

# ---- 4. the image, from the prebuilt binary -------------------------------------------------------
step "docker/Dockerfile with buildah (BINARY=prebuilt, BASE=$base)"
image=localhost/imagedef:test
mkdir -p docker/dist/amd64
install -m 0755 "$x86_bin" docker/dist/amd64/imagedef
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
version=${x86_version#imagedef }
"${B[@]}" build --quiet --isolation chroot --pull=never --platform linux/amd64 -f docker/Dockerfile \
    --build-arg BINARY=prebuilt --build-arg TARGETARCH=amd64 --build-arg "BASE=$base" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    -t "$image" . >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "buildah build"; }
pass "built $image"

inspect() { "${B[@]}" inspect --type image --format "$1" "$image"; }
[ "$(inspect '{{.OCIv1.Config.Entrypoint}}')" = "[]" ] || fail "the image has an ENTRYPOINT: $(inspect '{{.OCIv1.Config.Entrypoint}}')"
labels=$(inspect '{{range $k, $v := .OCIv1.Config.Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}')
for label in source licenses "version=$version" "revision=$revision"; do
    grep -q "^org.opencontainers.image.$label" <<<"$labels" || fail "missing label org.opencontainers.image.$label"
done
pass "no ENTRYPOINT; CMD $(inspect '{{.OCIv1.Config.Cmd}}'); OCI labels source, licenses, version=$version, revision=${revision:0:12}"

# Runs a command in a fresh container of the image; extra buildah run options before "--".
in_image() {
    local opts=() c rc=0
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    c=$("${B[@]}" from --quiet --pull=never "$image")
    "${B[@]}" run --isolation chroot "${opts[@]}" "$c" -- "$@" || rc=$?
    "${B[@]}" rm "$c" >/dev/null
    return "$rc"
}
[ "$(in_image -- stat -c '%a %u' /usr/local/bin/imagedef)" = "755 0" ] || fail "binary mode is not 0755 root"
as_4242=$(in_image --user 4242:4242 -- imagedef --version 2>&1) || true
[ "$as_4242" = "$x86_version" ] || fail "imagedef does not run as uid 4242: it said '$as_4242', not '$x86_version'"
in_image -- sh -c 'test -s /etc/ssl/certs/ca-certificates.crt' || fail "no CA bundle in the image"
for license in LICENSE-MIT LICENSE-APACHE; do
    [ "$(in_image -- sha256sum "/usr/share/doc/imagedef/$license" | cut -d' ' -f1)" = "$(sha256sum "$license" | cut -d' ' -f1)" ] \
        || fail "the image's /usr/share/doc/imagedef/$license is not the repository's $license"
done
pass "/bin/sh, CA bundle, /usr/local/bin/imagedef 0755, runs as root and as an arbitrary uid (4242); LICENSE-MIT and LICENSE-APACHE in /usr/share/doc/imagedef"

# ---- 4b. the from-source path ---------------------------------------------------------------------
# The real builder image and the crates cannot be fetched here, so a stand-in builder (busybox with
# fake rustup, apt-get and cargo) checks what the from-source stage asks of them: the musl target
# that TARGETARCH maps to, clang and llvm installed (ring's C code), rust-lld as the linker, the
# sources copied in; its "cargo build" hands back the
# binary built above. This proves the stage wiring for both architectures, not the compile itself.
step "docker/Dockerfile from-source stage, with a stand-in builder"
builder=localhost/imagedef-test-builder:latest
ctr=$("${B[@]}" from --quiet --pull=never "$base")
mnt=$("${B[@]}" mount "$ctr")
mkdir -p "$mnt/usr/local/cargo/bin"
cat >"$mnt/usr/local/cargo/bin/rustup" <<'EOF'
#!/bin/sh
[ "$1 $2" = "target add" ] && [ $# -eq 3 ] || { echo "fake rustup: unexpected: $*" >&2; exit 1; }
echo "$3" >>/rustup-targets
EOF
cat >"$mnt/usr/local/cargo/bin/apt-get" <<'EOF'
#!/bin/sh
case "$1" in
    update) ;;
    install) shift; for p in "$@"; do case "$p" in -*) ;; *) echo "$p" >>/apt-installed ;; esac; done ;;
    *) echo "fake apt-get: unexpected: $*" >&2; exit 1 ;;
esac
EOF
cat >"$mnt/usr/local/cargo/bin/cargo" <<'EOF'
#!/bin/sh
set -e
for p in clang llvm; do
    grep -qx "$p" /apt-installed || { echo "fake cargo: $p was not installed (ring's C code needs it)" >&2; exit 1; }
done
[ "$1 $2 $3 $4 $5" = "build --profile dist --locked --target" ] && [ $# -eq 6 ] || { echo "fake cargo: unexpected: $*" >&2; exit 1; }
target=$6
grep -qx "$target" /rustup-targets || { echo "fake cargo: $target was not added with rustup" >&2; exit 1; }
linker_var=CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_LINKER
[ "$(eval echo "\$$linker_var")" = rust-lld ] || { echo "fake cargo: $linker_var is not rust-lld" >&2; exit 1; }
for f in Cargo.toml Cargo.lock .cargo/config.toml src/main.rs schema/mapping.schema.json; do
    [ -f "$f" ] || { echo "fake cargo: $f was not copied in" >&2; exit 1; }
done
mkdir -p "target/$target/dist"
cp "/prebuilt/$target/imagedef" "target/$target/dist/imagedef"
EOF
chmod 0755 "$mnt/usr/local/cargo/bin/rustup" "$mnt/usr/local/cargo/bin/apt-get" "$mnt/usr/local/cargo/bin/cargo"
"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" config --env PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
"${B[@]}" commit --quiet "$ctr" "$builder" >/dev/null
"${B[@]}" rm "$ctr" >/dev/null
mkdir -p "$work/prebuilt/$x86_target" "$work/prebuilt/$arm_target"
cp "$x86_bin" "$work/prebuilt/$x86_target/imagedef"
cp "$arm_bin" "$work/prebuilt/$arm_target/imagedef"
for arch in amd64 arm64; do
    "${B[@]}" build --quiet --isolation chroot --pull=never --platform "linux/$arch" -f docker/Dockerfile \
        --build-arg BINARY=source --build-arg "BASE=$base" \
        --build-arg "RUST_IMAGE=$builder" --build-arg BUILDPLATFORM=linux/amd64 --build-arg "TARGETARCH=$arch" \
        --volume "$work/prebuilt:/prebuilt:ro" -t "localhost/imagedef-source:$arch" . >"$work/build-source-$arch.log" 2>&1 \
        || { cat "$work/build-source-$arch.log" >&2; fail "from-source stage for $arch"; }
    ctr=$("${B[@]}" from --quiet --pull=never --arch "$arch" "localhost/imagedef-source:$arch")
    mnt=$("${B[@]}" mount "$ctr")
    if [ "$arch" = amd64 ]; then expected=$x86_bin; else expected=$arm_bin; fi
    cmp -s "$mnt/usr/local/bin/imagedef" "$expected" || fail "from-source stage for $arch did not produce the $arch binary"
    "${B[@]}" umount "$ctr" >/dev/null
    "${B[@]}" rm "$ctr" >/dev/null
    pass "from-source build for linux/$arch: the $(file -b "$expected" | cut -d, -f2 | sed 's/^ //') binary at /usr/local/bin/imagedef"
done

# ---- 5. CodeBuild-like runs -----------------------------------------------------------------------
# The repository's own buildspec runs on the example pipeline: examples/pipeline/source (with the
# buildspec beside its mapping) is the primary source, and every other examples/pipeline/*/ folder
# is a secondary input named after it; IMAGEDEF_TEST_ARTIFACTS="A B" picks others.
if [ -f buildspec.yml ]; then
    buildspec=$repo/buildspec.yml
    if [ -n "${IMAGEDEF_TEST_ARTIFACTS:-}" ]; then
        read -r -a secondaries <<<"$IMAGEDEF_TEST_ARTIFACTS"
    else
        secondaries=()
        for dir in examples/pipeline/*/; do
            dir=${dir%/}
            [ "${dir##*/}" != source ] && secondaries+=("${dir##*/}")
        done
    fi
else
    buildspec=$repo/docker/test-buildspec.yml
    secondaries=(WebImage)
fi
step "CodeBuild-like runs of ${buildspec#"$repo"/} (secondary inputs: ${secondaries[*]})"

# Lays out one build the way CodeBuild does with pipeline artifacts: the primary source in
# .../src/s3/00 and each further input artifact in a sibling directory (.../s3/01, ...).
make_layout() {
    local root=$1 owner=$2 i=1 name
    local src=$root/codebuild/output/src123/src/s3
    mkdir -p "$src/00"
    cp -R examples/pipeline/source/. "$src/00/"
    cp "$buildspec" "$src/00/buildspec.yml"
    envs=(--env CODEBUILD_SRC_DIR=/codebuild/output/src123/src/s3/00)
    for name in "${secondaries[@]}"; do
        local dir
        dir=$(printf '%02d' "$i")
        mkdir -p "$src/$dir"
        cp -R "examples/pipeline/$name/." "$src/$dir/"
        envs+=(--env "CODEBUILD_SRC_DIR_$name=/codebuild/output/src123/src/s3/$dir")
        i=$((i + 1))
    done
    chown -R "$owner" "$root/codebuild"
}

# codebuild_run NAME USER [INJECT]: runs the buildspec in a fresh container; returns its status.
codebuild_run() {
    local name=$1 user=$2 inject=${3:-} root=$work/$1 script_args=()
    mkdir -p "$root"
    make_layout "$root" "$user"
    [ -z "$inject" ] || script_args=(--inject "$inject")
    "$python" docker/buildspec.py script "$root/codebuild/output/src123/src/s3/00/buildspec.yml" \
        "${script_args[@]}" >"$root/phases.sh"
    local rc=0
    in_image --user "$user" --volume "$root/codebuild:/codebuild:rw" \
        --workingdir /codebuild/output/src123/src/s3/00 \
        "${envs[@]}" \
        --env "CODEBUILD_BUILD_ID=imagedef-image-test:$(cat /proc/sys/kernel/random/uuid)" \
        --env CODEBUILD_INITIATOR=codepipeline/imagedef-image-test \
        --env CODEBUILD_BUILD_SUCCEEDING=1 \
        --env AWS_REGION=us-east-1 --env AWS_DEFAULT_REGION=us-east-1 --env HOME=/root \
        -- sh -c "$(cat "$root/phases.sh")" >"$root/log" 2>&1 || rc=$?
    return "$rc"
}

# check_outputs NAME: the files the buildspec's artifacts name exist, every imagedefinitions.json
# written is a well-formed array, every SHA256SUMS checks.
check_outputs() {
    local src=$work/$1/codebuild/output/src123/src/s3/00 artifact base pattern found
    while IFS=$'\t' read -r artifact base pattern; do
        found=$(cd "$src" && cd "$base" 2>/dev/null && find . -path "./$pattern" -type f | head -n 1)
        [ -n "$found" ] || fail "$1: artifact $artifact: nothing matches $base/$pattern"
    done < <("$python" docker/buildspec.py artifacts "$src/buildspec.yml")
    found=0
    while IFS= read -r -d '' definitions; do
        "$python" - "$definitions" "$src/imagedef.json" <<'EOF' || fail "$1: malformed $definitions"
import json, os, re, sys
data = json.load(open(sys.argv[1], encoding="utf-8"))
# Images from artifacts are digest-pinned; only a mapping's fixed "image" is written as given.
fixed = set()
if os.path.exists(sys.argv[2]):
    mapping = json.load(open(sys.argv[2], encoding="utf-8"))
    for service in mapping["services"].values():
        fixed |= {c["image"] for c in service["containers"].values() if "image" in c}
assert isinstance(data, list) and data, "not a non-empty array"
for entry in data:
    assert set(entry) == {"name", "imageUri"}, entry
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", entry["name"]), entry
    assert entry["imageUri"] in fixed or re.search(r"@sha256:[0-9a-f]{64}$", entry["imageUri"]), entry
EOF
        found=$((found + 1))
    done < <(find "$src" -newer "$src/buildspec.yml" -name imagedefinitions.json -print0)
    [ "$found" -gt 0 ] || fail "$1: no imagedefinitions.json written"
    while IFS= read -r -d '' sums; do
        (cd "$(dirname "$sums")" && sha256sum --quiet -c SHA256SUMS) || fail "$1: $sums does not check"
    done < <(find "$src" -name SHA256SUMS -print0)
    if [ "$buildspec" = "$repo/docker/test-buildspec.yml" ]; then
        cmp -s "$src/out/imagedefinitions.json" "$work/emit-x86/imagedefinitions.json" \
            || fail "$1: out/imagedefinitions.json differs from the one the host binary wrote"
    fi
    echo "$found"
}

injected='imagedef emit --container "not a container name" --out broken'
main_inject=
[ "$inject_failure" = 0 ] || main_inject=$injected
for run in root:0:0 uid1000:1000:1000; do
    name=${run%%:*}
    user=${run#*:}
    if ! codebuild_run "$name" "$user" "$main_inject"; then
        sed 's/^/    | /' "$work/$name/log" >&2
        fail "buildspec as $name (--user $user) failed"
    fi
    count=$(check_outputs "$name")
    pass "buildspec as $name (--user $user): succeeded; $count imagedefinitions.json checked"
done

# The check must be able to fail: the same run with a broken command appended must fail.
if codebuild_run broken 0:0 "$injected"; then
    sed 's/^/    | /' "$work/broken/log" >&2
    fail "a buildspec with a failing command ($injected) succeeded"
fi
grep -q 'Command did not exit successfully' "$work/broken/log" \
    || fail "the failing command was not reported"
pass "buildspec with a failing command appended fails ($(grep -o 'exit status [0-9]*' "$work/broken/log" | tail -n 1))"

# ---- 6. OCI layout, verify --oci, sizes -----------------------------------------------------------
step "OCI layout and sizes"
mkdir -p "$work/oci"
"${B[@]}" push --quiet "$image" "oci:$work/oci/imagedef:test" >/dev/null
"${B[@]}" push --quiet "$base" "oci:$work/oci/base:test" >/dev/null
manifest_digest=$("$python" - "$work/oci/imagedef" <<'EOF'
import json, sys
index = json.load(open(sys.argv[1] + "/index.json"))
print(index["manifests"][0]["digest"])
EOF
)
# Every blob the layout references must hash to its digest and have its size.
"$python" - "$work/oci/imagedef" <<'EOF' || fail "the OCI layout does not check"
import hashlib, json, os, sys
root = sys.argv[1]
def blob(desc):
    alg, hexdigest = desc["digest"].split(":")
    data = open(os.path.join(root, "blobs", alg, hexdigest), "rb").read()
    assert len(data) == desc["size"] and hashlib.sha256(data).hexdigest() == hexdigest, desc
    return data
for m in json.load(open(os.path.join(root, "index.json")))["manifests"]:
    manifest = json.loads(blob(m))
    for desc in [manifest["config"], *manifest["layers"]]:
        blob(desc)
EOF
pass "pushed to an OCI layout ($manifest_digest); every blob matches its descriptor"

if "$x86_bin" verify --help | grep -q -- '--oci'; then
    # An ECR source artifact for the image just built, as if it had been pushed to ECR.
    mkdir -p "$work/oci-artifact"
    printf '{"ImageSizeInBytes":"%s","ImageDigest":"%s","Version":"1.0","ImagePushedAt":"Thu Jan 01 00:00:00 UTC 2026","RegistryId":"111122223333","RepositoryName":"imagedef","ImageURI":"111122223333.dkr.ecr.us-east-1.amazonaws.com/imagedef@%s","ImageTags":["test"]}' \
        "$(du -sb "$work/oci/imagedef" | cut -f1)" "$manifest_digest" "$manifest_digest" \
        >"$work/oci-artifact/imageDetail.json"
    env -u CODEBUILD_SRC_DIR "$x86_bin" -q verify "ImageArtifact=$work/oci-artifact" --oci "$work/oci/imagedef" >"$work/verify-oci.log" 2>&1 \
        || { cat "$work/verify-oci.log" >&2; fail "imagedef verify --oci"; }
    pass "imagedef verify --oci proves the image's digest"
else
    echo "  skip imagedef verify --oci (this imagedef has no --oci yet)"
fi

# ---- 7. the release's image layout ----------------------------------------------------------------
# What scripts/release.sh ships, from these binaries: the image as an OCI layout holding an index of
# linux/amd64 and linux/arm64 and one tag per platform, each proven by imagedef's own check with its
# platforms, and the same bytes when written twice.
step "the release's OCI layout (scripts/oci-image.py): index + one tag per platform"
version=$("$x86_bin" --version | awk '{print $2}')
debs=$repo/target/release-deps
platforms=()
for arch in amd64 arm64; do
    deb=$(find "$debs" -maxdepth 1 -name "busybox-static_*_$arch.deb" 2>/dev/null | sort | tail -n 1)
    [ -n "$deb" ] || fail "no busybox-static .deb for $arch in $debs; run .ci/deps-image"
    mkdir -p "$work/busybox-$arch"
    dpkg-deb -x "$deb" "$work/busybox-$arch"
    if [ "$arch" = amd64 ]; then bin=$x86_bin; else bin=$arm_bin; fi
    platforms+=(--platform "$arch" "$bin" "$work/busybox-$arch/bin/busybox" "$work/applets")
done
"$work/busybox-amd64/bin/busybox" --list-full | LC_ALL=C sort >"$work/applets"
for run in one two; do
    "$python" scripts/oci-image.py --out "$work/release-$run" --version "$version" --revision test \
        --epoch 1767225600 --doc README.md --doc LICENSE-MIT --doc LICENSE-APACHE "${platforms[@]}" >/dev/null
done
diff -r "$work/release-one" "$work/release-two" >/dev/null || fail "scripts/oci-image.py wrote other bytes the second time"
mkdir -p "$work/release-check"
bash scripts/check-layout.sh "$x86_bin" "$work/release-one" "$work/release-check" >/dev/null \
    || fail "the release layout's tags, checked by imagedef verify --oci --platform (scripts/check-layout.sh)"
pass "release layout: $version (linux/amd64, linux/arm64), $version-amd64, $version-arm64, each proven with its platforms by imagedef verify --oci; the same bytes twice"

# Each single-architecture image (what CodeBuild's Lambda compute takes) has /bin/sh, which
# CodeBuild runs every command through, and wget, which Lambda compute requires (curl or wget):
# both busybox applets, linked to /bin/busybox, which runs them under those names.
for arch in amd64 arm64; do
    rootfs=$work/rootfs-$arch
    "$python" - "$work/release-one" "$version-$arch" "$rootfs" <<'EOF' || fail "cannot unpack the $version-$arch image"
import gzip, io, json, os, sys, tarfile
root, tag, dest = sys.argv[1:]
blob = lambda d: open(os.path.join(root, "blobs", *d.split(":")), "rb").read()
entry = next(m for m in json.load(open(os.path.join(root, "index.json")))["manifests"]
             if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
for layer in json.loads(blob(entry["digest"]))["layers"]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layer["digest"])))) as t:
        t.extractall(dest, filter="tar")
EOF
    [ -f "$rootfs/bin/busybox" ] && [ -x "$rootfs/bin/busybox" ] || fail "$version-$arch: no executable /bin/busybox"
    for applet in bin/sh usr/bin/wget; do
        [ "$(readlink "$rootfs/$applet")" = /bin/busybox ] || fail "$version-$arch: /$applet is not a link to /bin/busybox"
    done
    # Run each applet by its name, as the link would (busybox picks the applet from argv[0]).
    mkdir -p "$work/applets-$arch"
    for applet in sh wget; do ln -sf "$rootfs/bin/busybox" "$work/applets-$arch/$applet"; done
    if [ "$arch" = amd64 ]; then run=(); else run=("$qemu"); fi
    [ "$("${run[@]}" "$work/applets-$arch/sh" -c 'echo ok')" = ok ] || fail "$version-$arch: /bin/sh does not run"
    "${run[@]}" "$work/applets-$arch/wget" --help >"$work/wget-$arch.txt" 2>&1 || fail "$version-$arch: wget --help failed: $(cat "$work/wget-$arch.txt")"
    grep -q "Usage: wget" "$work/wget-$arch.txt" || fail "$version-$arch: /usr/bin/wget is not busybox's wget: $(head -n 3 "$work/wget-$arch.txt")"
done
pass "$version-amd64 and $version-arm64 each have /bin/sh and /usr/bin/wget (busybox applets that run), as CodeBuild's Lambda compute needs"

# Sizes: the layers unpacked (disk in the build container) and gzip-compressed (what a registry
# stores and CodeBuild pulls).
sizes=$("$python" - "$work/oci/base" "$work/oci/imagedef" <<'EOF'
import gzip, json, os, sys, zlib
def blob(root, digest):
    alg, hexdigest = digest.split(":")
    return open(os.path.join(root, "blobs", alg, hexdigest), "rb").read()
def size(root):
    index = json.load(open(os.path.join(root, "index.json")))
    manifest = json.loads(blob(root, index["manifests"][0]["digest"]))
    unpacked = packed = 0
    for layer in manifest["layers"]:
        data = blob(root, layer["digest"])
        if layer["mediaType"].endswith("+gzip"):
            packed += len(data)
            data = gzip.decompress(data)
        else:
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
            packed += len(compressor.compress(data) + compressor.flush())
        unpacked += len(data)
    return unpacked, packed
(base_raw, base_gz), (image_raw, image_gz) = size(sys.argv[1]), size(sys.argv[2])
mib = lambda n: f"{n / 1048576:.2f} MiB"
print(f"stand-in base: {base_raw} bytes unpacked ({mib(base_raw)}), {base_gz} gzip ({mib(base_gz)})")
print(f"final image:   {image_raw} bytes unpacked ({mib(image_raw)}), {image_gz} gzip ({mib(image_gz)})")
print(f"over the base: {image_raw - base_raw} bytes unpacked ({mib(image_raw - base_raw)}), {image_gz - base_gz} gzip ({mib(image_gz - base_gz)})")
print(f"over-the-base {image_raw - base_raw} {image_gz - base_gz}")
EOF
)
sed 's/^/  size /' <<<"$sizes" | grep -v "size over-the-base "
if [ "$profile" != dist ]; then
    echo "  skip the README's size bounds (they hold for the shipped profile, dist; this is $profile)"
    echo "== done in $((SECONDS - start)) s"
    echo "image: $passed passed, 0 failed"
    exit 0
fi
# The README states bounds, not figures, so that a build-to-build wobble of a few KiB does not
# make it wrong: the image must stay within them (scripts/release-test.sh checks the same on the
# release's own image).
read -r _ unpacked compressed < <(grep "^over-the-base " <<<"$sizes")
within=$(bash scripts/size-bounds.sh README.md "$unpacked" "$compressed") || fail "the image's size is over README.md's bounds"
pass "the image adds $within over the base, within README.md's bounds"

echo "== done in $((SECONDS - start)) s"
echo "image: $passed passed, 0 failed"
