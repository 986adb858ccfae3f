#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson dist makes the release tarball, and the tarball builds, passes its unit suite and
# installs. meson dist's own check would run every suite, the lab's too (root, two libvirt
# hosts), so the release is made with --no-tests and this test does the check instead, with
# the unit suite only.
#
# Usage: test-dist.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: test-dist.sh BUILD_DIR}" && pwd -P)
tmp=$(mktemp -d /tmp/srvm-test-dist.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --allow-dirty: the tarball is what git has committed; a test run on a tree being edited
# still checks the committed state.
if ! meson dist -C "$build" --no-tests --allow-dirty --formats xztar > "$tmp/dist.log" 2>&1; then
        cat "$tmp/dist.log"
        echo "test-dist: FAIL: meson dist failed"
        exit 1
fi
tarball=$(ls "$build"/meson-dist/srvm-*.tar.xz)
echo "ok: meson dist made $(basename "$tarball") ($(stat -c %s "$tarball") bytes)"

tar -xf "$tarball" -C "$tmp"
tree=$(ls -d "$tmp"/srvm-*/)
for f in COPYING NEWS README.md meson.build; do
        [ -s "$tree/$f" ] || { echo "test-dist: FAIL: the tarball has no $f"; exit 1; }
done
echo "ok: the tarball has COPYING, NEWS, README.md"
[ ! -e "$tree/build" ] || { echo "test-dist: FAIL: the tarball carries a build directory"; exit 1; }

step() {
        local what=$1; shift
        if "$@" > "$tmp/step.log" 2>&1; then
                echo "ok: the tarball: $what"
        else
                tail -n 40 "$tmp/step.log"
                echo "test-dist: FAIL: the tarball: $what failed"
                exit 1
        fi
}
step "meson setup" meson setup "$tmp/b" "$tree" -Dwerror=true
step "ninja" ninja -C "$tmp/b"
step "unit suite" meson test -C "$tmp/b" --suite unit --print-errorlogs
step "meson install --destdir" meson install -C "$tmp/b" --no-rebuild --destdir "$tmp/dest"
echo "test-dist: all passed"
