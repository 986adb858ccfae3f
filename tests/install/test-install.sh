#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install with DESTDIR: everything lands under DESTDIR, where it belongs, and the
# installed unit starts the installed srvmd. Needs no root.
#
# Usage: test-install.sh BUILD_DIR PREFIX FILE...
# A FILE is absolute, or relative to PREFIX; each must be installed (a symlink: its target).
set -euo pipefail

build=$1
prefix=$2
shift 2

destdir=$(mktemp -d /tmp/srvm-test-install.XXXXXX)
trap 'rm -rf "$destdir"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$destdir" > "$destdir.log" 2>&1 ||
        { cat "$destdir.log"; rm -f "$destdir.log"; echo "test-install: meson install failed"; exit 1; }
rm -f "$destdir.log"

failures=0
for f in "$@"; do
        case $f in
                /*) path=$destdir$f ;;
                *) path=$destdir$prefix/$f ;;
        esac
        # A symlink points to its absolute installed path, which lies under DESTDIR here.
        if [ -L "$path" ]; then
                target=$(readlink "$path")
                case $target in /*) target=$destdir$target ;; *) target=$(dirname "$path")/$target ;; esac
                if [ -s "$target" ]; then echo "ok: ${path#"$destdir"} -> $(readlink "$path")"
                else echo "FAIL: ${path#"$destdir"} -> $(readlink "$path"), which is not installed"; failures=$((failures + 1)); fi
        elif [ -s "$path" ]; then echo "ok: ${path#"$destdir"}"; else echo "FAIL: ${path#"$destdir"} is missing"; failures=$((failures + 1)); fi
done

# Nothing may escape DESTDIR: meson would have written outside it only by an absolute path
# that ignores DESTDIR, which shows as an installed file missing from DESTDIR above.
unit=$(find "$destdir" -name srvmd.service -path '*/system/*' | head -n 1)
srvmd=$(find "$destdir" -name srvmd -type f | head -n 1)
if [ -n "$unit" ] && [ -n "$srvmd" ] && grep -qx "ExecStart=${srvmd#"$destdir"} \$SRVMD_OPTS" "$unit"; then
        echo "ok: the unit starts the installed srvmd"
else
        echo "FAIL: the unit's ExecStart is not the installed srvmd (${srvmd#"$destdir"}): $(grep ExecStart "$unit" 2>&1)"
        failures=$((failures + 1))
fi

# D-Bus activation starts the unit through an alias only enabling creates, so disabling the
# unit turns activation off: the activation file names that alias, and the unit declares it.
activation=$(find "$destdir" -name org.srvm.srvm1.service -path '*/system-services/*' | head -n 1)
alias=$(sed -n 's/^SystemdService=//p' "$activation" 2>/dev/null)
if [ "$alias" = dbus-org.srvm.srvm1.service ] && grep -qx "Alias=$alias" "$unit"; then
        echo "ok: D-Bus activation goes through $alias, the unit's Alias="
else
        echo "FAIL: activation's SystemdService=$alias is not an Alias= of $(basename "$unit")"
        failures=$((failures + 1))
fi
# Options come from /etc/default/srvmd, which may be missing.
if grep -qx "EnvironmentFile=-/etc/default/srvmd" "$unit"; then
        echo "ok: the unit reads SRVMD_OPTS from /etc/default/srvmd, if there"
else
        echo "FAIL: the unit has no EnvironmentFile=-/etc/default/srvmd"
        failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
        echo "test-install: $failures failed"
        exit 1
fi
echo "test-install: all passed"
