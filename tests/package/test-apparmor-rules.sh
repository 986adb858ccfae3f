#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-apparmor.py tells the layouts apart: the hook in /usr/sbin linked from hooks/qemu.d
# (and the hook as a file in hooks/qemu.d) pass libvirtd's profile; the old layout, a link to
# /usr/libexec/srvm/srvm-hook, and a /usr/local/sbin one do not. Needs no root.
#
# Usage: test-apparmor-rules.sh CHECK_APPARMOR HOOK_BINARY
set -euo pipefail

check=$1
hook=$2
tmp=$(mktemp -d /tmp/srvm-test-apparmor.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

failures=0
# layout NAME WANT TARGET: a root whose hooks/qemu.d/srvm links to TARGET (or is the binary
# itself when TARGET is "file"); check-apparmor.py must exit WANT.
layout() {
        local name=$1 want=$2 target=$3 root=$tmp/$1 got=0
        mkdir -p "$root/etc/libvirt/hooks/qemu.d"
        if [ "$target" = file ]; then
                install -m 0755 "$hook" "$root/etc/libvirt/hooks/qemu.d/srvm"
        else
                install -D -m 0755 "$hook" "$root$target"
                ln -s "$target" "$root/etc/libvirt/hooks/qemu.d/srvm"
        fi
        "$check" "$root" > "$tmp/$name.log" 2>&1 || got=$?
        if [ "$got" -eq "$want" ]; then
                echo "ok: $name: exit $got ($(head -n1 "$tmp/$name.log"))"
        else
                echo "FAIL: $name: exit $got, want $want: $(cat "$tmp/$name.log")"
                failures=$((failures + 1))
        fi
}
layout sbin 0 /usr/sbin/srvm-hook
layout in-hooks-dir 0 file
layout libexec 1 /usr/libexec/srvm/srvm-hook
layout usr-local 1 /usr/local/sbin/srvm-hook
# A link to nothing: no executable there, whatever the rules say.
mkdir -p "$tmp/dangling/etc/libvirt/hooks/qemu.d"
ln -s /usr/sbin/srvm-hook "$tmp/dangling/etc/libvirt/hooks/qemu.d/srvm"
if "$check" "$tmp/dangling" > "$tmp/dangling.log" 2>&1; then
        echo "FAIL: dangling: a link to nothing passed: $(cat "$tmp/dangling.log")"
        failures=$((failures + 1))
else
        echo "ok: dangling: refused ($(head -n1 "$tmp/dangling.log"))"
fi

[ "$failures" -eq 0 ] || { echo "test-apparmor-rules: $failures failed"; exit 1; }
echo "test-apparmor-rules: all passed"
