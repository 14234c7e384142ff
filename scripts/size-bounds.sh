#!/usr/bin/env bash
# Holds an image's size over its base to the bounds README.md states (section "Use it as a
# CodeBuild image"): its "| Size | under N MiB unpacked and under M MiB compressed on top of the
# base" row, and the pull-time note "adds under M MiB compressed to its base", which must agree.
# Bounds rather than figures, so that a build-to-build wobble of a few KiB does not make the README
# wrong, while growth past them fails.
# Usage: scripts/size-bounds.sh README UNPACKED_BYTES COMPRESSED_BYTES
#   (docker/test.sh for the dist build; scripts/release-test.sh for the release's own image)
set -euo pipefail
readme=${1:?README.md}
unpacked=${2:?the bytes the image adds unpacked}
compressed=${3:?the bytes the image adds compressed (gzip, as pulled)}
fail() { echo "size-bounds: $*" >&2; exit 1; }

bounds=$(sed -n 's/^| Size | under \([0-9.]*\) MiB unpacked and under \([0-9.]*\) MiB compressed on top of the base.*/\1 \2/p' "$readme")
[ -n "$bounds" ] || fail "$readme has no '| Size | under N MiB unpacked and under M MiB compressed on top of the base' row"
read -r max_unpacked max_compressed <<<"$bounds"
grep -qF "adds under $max_compressed MiB compressed to its base" "$readme" \
    || fail "$readme's pull-time note does not say 'adds under $max_compressed MiB compressed to its base', as its Size row does"
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
awk -v b="$unpacked" -v m="$max_unpacked" 'BEGIN { exit !(b <= m * 1048576) }' \
    || fail "the image adds $unpacked bytes ($(mib "$unpacked")) unpacked, over the README's $max_unpacked MiB"
awk -v b="$compressed" -v m="$max_compressed" 'BEGIN { exit !(b <= m * 1048576) }' \
    || fail "the image adds $compressed bytes ($(mib "$compressed")) compressed, over the README's $max_compressed MiB"
echo "$(mib "$unpacked") unpacked (under $max_unpacked MiB) and $(mib "$compressed") compressed (under $max_compressed MiB)"
