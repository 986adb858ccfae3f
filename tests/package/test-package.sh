#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian packages: dpkg-buildpackage -b builds srvm and srvm-guest from a copy of the tree,
# lintian finds no error, and the host package, installed into a fresh root, has the unit, the
# sysusers entry, the bus policy and activation file, the hook where libvirtd's AppArmor
# profile lets libvirtd run it, and the dashboard; an upgrade does not stop srvmd; the
# packaged srvm-guest is linked dynamically. Needs root, dpkg-dev, debhelper and lintian
# (tests/install-deps); exit 77 (skipped) without them.
#
# Usage: test-package.sh SOURCE_ROOT
set -euo pipefail

src=$(cd "${1:?usage: test-package.sh SOURCE_ROOT}" && pwd -P)
here=$(cd "$(dirname "$0")" && pwd -P)

# dpkg installs into the fresh root as root (files owned by root, as on a host).
[ "$(id -u)" -eq 0 ] || { echo "test-package: needs root (dpkg into a fresh root); skipped"; exit 77; }
for tool in dpkg-buildpackage dh lintian readelf; do
        command -v "$tool" >/dev/null ||
                { echo "test-package: no $tool (tests/install-deps installs it); skipped"; exit 77; }
done

tmp=$(mktemp -d /tmp/srvm-test-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The tree as git has it (tracked and new files, not build directories or ignored ones), or
# as a release tarball has it.
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
tree=$tmp/srvm-$version
mkdir -p "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$src" && git ls-files -co --exclude-standard -z |
                while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
                tar --null -cf - -T -) | tar -xf - -C "$tree"
else
        (cd "$src" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) | tar -xf - -C "$tree"
fi

start=$(date +%s)
if (cd "$tree" && dpkg-buildpackage -b -us -uc) > "$tmp/build.log" 2>&1; then
        pass "dpkg-buildpackage -b -us -uc built the packages in $(( $(date +%s) - start )) s"
else
        tail -n 60 "$tmp/build.log"
        echo "test-package: FAIL: dpkg-buildpackage failed (its log's end above)"
        exit 1
fi

host_deb=$(ls "$tmp"/srvm_"$version"_*.deb)
guest_deb=$(ls "$tmp"/srvm-guest_"$version"_*.deb)
changes=$(ls "$tmp"/srvm_"$version"_*.changes)

# lintian: every tag shown, an error fails. Overrides live in debian/*.lintian-overrides,
# each with the reason beside it.
if lintian --fail-on error --info --display-info "$changes" > "$tmp/lintian.log" 2>&1; then
        pass "lintian: no error ($(grep -c '^[WIP]:' "$tmp/lintian.log" || true) warnings and notes)"
else
        fail "lintian reports errors"
fi
sed 's/^/  lintian: /' "$tmp/lintian.log" | grep -v '^  lintian: N:' || true

# The host package installed by dpkg into a fresh root: an empty dpkg database and an /etc
# with root alone. Its maintainer scripts run outside a chroot with DPKG_ROOT set, the way
# debhelper's snippets support (systemd-sysusers --root, deb-systemd-helper), so nothing on
# this machine changes and no service starts. Its library dependencies are not in that root:
# --force-depends.
root=$tmp/root
mkdir -p "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
if dpkg --root="$root" --force-script-chrootless --force-depends -i "$host_deb" > "$tmp/dpkg.log" 2>&1 &&
        dpkg --root="$root" -s srvm 2>/dev/null | grep -qx 'Status: install ok installed'; then
        pass "dpkg installed srvm into a fresh root"
else
        cat "$tmp/dpkg.log"
        echo "test-package: FAIL: dpkg could not install srvm into a fresh root"
        exit 1
fi
dpkg-deb -e "$host_deb" "$tmp/control"

check_file() {
        local path=$1 what=$2
        if [ -s "$root$path" ]; then pass "$what: $path"; else fail "$what: $path is missing"; fi
}
check_file /lib/systemd/system/srvmd.service "the unit"
grep -qxE 'ExecStart=/usr/sbin/srvmd( .*)?' "$root/lib/systemd/system/srvmd.service" &&
        [ -x "$root/usr/sbin/srvmd" ] && pass "  it starts the packaged /usr/sbin/srvmd" ||
        fail "  its ExecStart is not the packaged /usr/sbin/srvmd"
[ -L "$root/etc/systemd/system/multi-user.target.wants/srvmd.service" ] &&
        pass "  postinst enabled it" || fail "  postinst did not enable srvmd.service"
check_file /usr/lib/sysusers.d/srvm.conf "the sysusers entry"
grep -qE '^g[[:space:]]+srvm[[:space:]]' "$root/usr/lib/sysusers.d/srvm.conf" &&
        pass "  it names the group srvm" || fail "  it does not name the group srvm"
grep -q '^srvm:x:[0-9]*:$' "$root/etc/group" &&
        pass "  postinst created the group: $(grep '^srvm:' "$root/etc/group")" ||
        fail "  postinst did not create the group srvm in the root's /etc/group"
check_file /usr/share/dbus-1/system.d/org.srvm.srvm1.conf "the bus policy"
grep -q '<policy group="srvm">' "$root/usr/share/dbus-1/system.d/org.srvm.srvm1.conf" &&
        pass "  it lets the group srvm act" || fail "  it does not name the group srvm"
check_file /usr/share/dbus-1/system-services/org.srvm.srvm1.service "the bus activation file"
check_file /usr/bin/srvmctl "srvmctl"
check_file /usr/share/bash-completion/completions/srvmctl "srvmctl's completion"
check_file /usr/share/srvm/policies/default.json "the default policy"
[ -d "$root/etc/srvm/policies.d" ] && pass "the local policy directory: /etc/srvm/policies.d" ||
        fail "/etc/srvm/policies.d is missing"
for page in man1/srvmctl.1 man5/srvm-policy.5 man8/srvmd.8 man8/srvm-hook.8; do
        check_file "/usr/share/man/$page.gz" "man page"
done
check_file /usr/share/srvm/dashboards/srvm.json "the Grafana dashboard"
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
        "$root/usr/share/srvm/dashboards/srvm.json" 2>/dev/null &&
        pass "  it is JSON" || fail "  the dashboard is not valid JSON"
[ ! -e "$root/usr/sbin/srvm-guest" ] && pass "the host package has no srvm-guest" ||
        fail "the host package carries srvm-guest, which belongs in guests"

# The hook, where libvirtd's AppArmor profile lets it run: against Debian 12's rules (a copy
# in check-apparmor.py), and against the profile on this machine when libvirt installed it.
if "$here/check-apparmor.py" "$root"; then pass "the hook: AppArmor (Debian 12's rules)"; else fail "the hook: AppArmor (Debian 12's rules)"; fi
profile=/etc/apparmor.d/usr.sbin.libvirtd
if [ -f "$profile" ]; then
        if "$here/check-apparmor.py" "$root" "$profile"; then pass "the hook: AppArmor ($profile)"; else fail "the hook: AppArmor ($profile)"; fi
else
        echo "note: no $profile on this machine; checked against the copy of Debian 12's rules only"
fi

# Maintainer scripts: the group is created at install; an upgrade does not stop srvmd (the
# operator picks when: see debian/rules), only a removal does.
grep -q 'systemd-sysusers.*srvm.conf' "$tmp/control/postinst" &&
        pass "postinst creates the group with systemd-sysusers" ||
        fail "postinst does not run systemd-sysusers for srvm.conf"
if [ -f "$tmp/control/prerm" ] && grep -q 'deb-systemd-invoke stop' "$tmp/control/prerm"; then
        if grep -B3 'deb-systemd-invoke stop' "$tmp/control/prerm" | grep -q '"$1" = remove'; then
                pass "prerm stops srvmd on removal only, not on upgrade"
        else
                fail "prerm stops srvmd on upgrade: $(grep -B3 'deb-systemd-invoke stop' "$tmp/control/prerm")"
        fi
else
        pass "prerm never stops srvmd"
fi
if grep -q 'deb-systemd-invoke restart\|deb-systemd-invoke try-restart' "$tmp/control/postinst"; then
        fail "postinst restarts srvmd on upgrade"
else
        pass "postinst does not restart srvmd on upgrade"
fi

# The guest package: srvm-guest linked dynamically, against libnl-3 and json-c.
groot=$tmp/guest-root
dpkg-deb -x "$guest_deb" "$groot"
if [ -x "$groot/usr/sbin/srvm-guest" ]; then
        needed=$(readelf -d "$groot/usr/sbin/srvm-guest" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
        if grep -q 'libnl-3' <<<"$needed" && grep -q 'libjson-c' <<<"$needed"; then
                pass "srvm-guest is linked dynamically (NEEDED: $needed)"
        else
                fail "srvm-guest is not linked dynamically against libnl-3 and json-c (NEEDED: ${needed:-none})"
        fi
        dpkg-deb -f "$guest_deb" Depends | grep -q 'libnl-3' &&
                pass "  and the package depends on libnl-3 ($(dpkg-deb -f "$guest_deb" Depends))" ||
                fail "  but the package does not depend on libnl-3"
else
        fail "srvm-guest package has no /usr/sbin/srvm-guest"
fi
[ -s "$groot/usr/share/man/man8/srvm-guest.8.gz" ] && pass "srvm-guest's man page" ||
        fail "srvm-guest's man page is missing"

if [ "$failures" -ne 0 ]; then
        echo "test-package: $failures failed"
        exit 1
fi
echo "test-package: all passed"
