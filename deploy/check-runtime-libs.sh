#!/usr/bin/env bash
# Checks that the Dockerfile's runtime stage provides every shared library a built `recrl` links.
#
#   deploy/check-runtime-libs.sh [--require-static-swift] PATH/TO/recrl
#
# Run it on a Debian bookworm machine (the runtime stage's release) where the binary was built:
# 1. reads the runtime stage's packages from the Dockerfile (between the
#    recrl-runtime-packages-begin/-end markers) and expands them with their dependencies
#    (Depends and Pre-Depends, recursively, first alternative of each choice, as apt installs them)
#    from `apt-cache show`; adds the packages every debian:bookworm-slim image has that a Swift
#    binary may link (BASE_PACKAGES);
# 2. lists the binary's libraries with `ldd` and finds the Debian package owning each (`dpkg -S`);
# 3. fails when a library's package is not in that set.
# Libraries of the Swift toolchain (libswiftCore, libFoundation, ...) belong to no Debian package:
# the image links them statically (--static-swift-stdlib), so they are reported, and they fail
# only with --require-static-swift (use it on the binary built by the Dockerfile's build stage).
# Exit status: 0 all covered, 1 a library is not covered, 2 usage or environment error.
set -euo pipefail

require_static=0
if [ "${1:-}" = "--require-static-swift" ]; then require_static=1; shift; fi
binary=${1:?usage: check-runtime-libs.sh [--require-static-swift] PATH/TO/recrl}
[ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 2; }
for tool in ldd dpkg apt-cache; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (run this on Debian)" >&2; exit 2; }
done
dockerfile=${DOCKERFILE:-"$(cd "$(dirname "$0")/.." && pwd)/Dockerfile"}  # DOCKERFILE: another file (tests)

# Packages of debian:bookworm-slim itself that a Swift/C++ binary links: glibc, the GCC runtime
# and the C++ standard library (apt, part of every slim image, depends on it), zlib.
BASE_PACKAGES="libc6 libgcc-s1 libstdc++6 zlib1g"

runtime=$(awk '/recrl-runtime-packages-begin/ {on=1; next} /recrl-runtime-packages-end/ {on=0}
               on { gsub(/\\/, ""); for (i = 1; i <= NF; i++) if ($i !~ /^#/) print $i }' "$dockerfile")
[ -n "$runtime" ] || { echo "error: no package list between the markers in $dockerfile" >&2; exit 2; }
runtime=$(printf '%s\n' $runtime | sed 's/=.*//')

depends() {  # the first alternative of each Depends/Pre-Depends entry of package $1
    apt-cache show --no-all-versions "$1" 2>/dev/null \
        | awk -F': ' '/^(Pre-)?Depends: / { print $2 }' \
        | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true
}

declare -A have=()
queue=($runtime $BASE_PACKAGES)
while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    [ -n "${have[$p]:-}" ] && continue
    have[$p]=1
    for d in $(depends "$p"); do [ -n "${have[$d]:-}" ] || queue+=("$d"); done
done

owner() {  # the Debian package that ships library path $1 (usr-merge aware), or nothing
    local path=$1 real candidates c
    real=$(readlink -f "$path")
    candidates=("$real" "$path" "${path/#\/lib\//\/usr\/lib\/}" "${path/#\/usr\/lib\//\/lib\/}"
                "${real/#\/usr\/lib\//\/lib\/}")
    for c in "${candidates[@]}"; do
        if out=$(dpkg -S "$c" 2>/dev/null); then echo "${out%%:*}" | cut -d, -f1 | sed 's/:.*//'; return; fi
    done
}

echo "runtime stage packages: $(echo $runtime)"
status=0
while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue          # linux-vdso, the dynamic loader
    [ -e "$path" ] || { echo "MISSING   $name: not found on this machine"; status=1; continue; }
    pkg=$(owner "$path")
    if [ -z "$pkg" ]; then
        if [[ "$path" == */swift/* ]]; then
            if [ $require_static = 1 ]; then
                echo "NOT-STATIC $name ($path): Swift runtime linked dynamically; build with --static-swift-stdlib"; status=1
            else
                echo "swift     $name: Swift toolchain library, linked statically in the image (--static-swift-stdlib)"
            fi
        else
            echo "UNKNOWN   $name ($path): belongs to no Debian package"; status=1
        fi
    elif [ -n "${have[$pkg]:-}" ]; then
        echo "ok        $name: $pkg"
    else
        echo "UNCOVERED $name: $pkg is not installed by the runtime stage (add it to the Dockerfile)"; status=1
    fi
done < <(ldd "$binary")
exit $status
