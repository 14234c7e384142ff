#!/usr/bin/env bash
# Installs the release tools from crates.io with `cargo install --locked`, into cargo's bin dir:
#   cargo-auditable   embeds the dependency list in the binaries (what Trivy, Grype and Inspector read)
#   rust-audit-info   reads that list back (the release test)
#   cargo-cyclonedx   writes the CycloneDX SBOM
#   cargo-about       writes the third-party license notices
# Usage: scripts/install-tools.sh [TOOL...]   (default: all four; CI's image test needs only
# cargo-auditable and rust-audit-info)
# Idempotent: a tool already installed at its pinned version is left alone, so a second run is quick
# and needs no network. The tools are built with a cheap profile (no LTO, opt-level 1): they run for
# seconds, and this keeps their install inside CI's time.
set -euo pipefail

pinned=(cargo-auditable@0.7.7 rust-audit-info@0.5.4 cargo-cyclonedx@0.5.9 cargo-about@0.9.3)
tools=()
for name in "$@"; do
    found=
    for tool in "${pinned[@]}"; do [ "${tool%@*}" != "$name" ] || found=$tool; done
    [ -n "$found" ] || { echo "install-tools: unknown tool '$name'; known: ${pinned[*]%@*}" >&2; exit 2; }
    tools+=("$found")
done
[ $# -gt 0 ] || tools=("${pinned[@]}")

installed=$(cargo install --list 2>/dev/null || true)
missing=()
for tool in "${tools[@]}"; do
    grep -q "^${tool%@*} v${tool#*@}:" <<<"$installed" || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-tools: all present (${tools[*]})"
    exit 0
fi
echo "install-tools: cargo install --locked ${missing[*]}"
start=$SECONDS
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false
for tool in "${missing[@]}"; do
    # cargo-about's binary needs its `cli` feature (not a default one).
    features=()
    [ "${tool%@*}" != cargo-about ] || features=(--features cli)
    cargo install --locked --quiet "${features[@]}" "$tool"
done
echo "install-tools: installed ${missing[*]} in $((SECONDS - start)) s"
