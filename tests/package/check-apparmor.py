#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The installed libvirt hook is where libvirtd's AppArmor profile lets libvirtd execute it.

usage: check-apparmor.py ROOT [PROFILE]

ROOT is an installed tree (meson install --destdir, or an unpacked package). Every entry of
ROOT/etc/libvirt/hooks/qemu.d/ that belongs to srvm is resolved the way the kernel resolves
it (AppArmor judges a symbolic link by its target) and must match an exec rule of the profile
and no deny rule. The rules are the ones below unless PROFILE names a profile file to read
them from (the test passes /etc/apparmor.d/usr.sbin.libvirtd when it is installed)."""

import os
import re
import sys

# From /etc/apparmor.d/usr.sbin.libvirtd of Debian 12's libvirt-daemon-system
# 9.0.0-4+deb12u2 (profile "libvirtd"): its exec rules (file rules whose mode has x) and its
# deny rules that include x. Update from the package when it changes.
DEBIAN12_RULES = """
  /bin/* PUx,
  /sbin/* PUx,
  /usr/bin/* PUx,
  /usr/sbin/virtlogd pix,
  /usr/sbin/* PUx,
  /{usr/,}lib/udev/scsi_id PUx,
  /usr/{lib,lib64}/xen-common/bin/xen-toolstack PUx,
  /usr/{lib,lib64,libexec}/xen/bin/* Ux,
  /usr/{lib,libexec}/xen-*/bin/libxl-save-helper PUx,
  /usr/{lib,libexec}/xen-*/bin/pygrub PUx,
  /usr/{lib,lib64,lib/qemu,libexec}/vhost-user-gpu PUx,
  /usr/{lib,lib64,lib/qemu,libexec}/virtiofsd PUx,
  /var/lib/libvirt/virtd* ixr,
  audit deny /{usr/,}sbin/apparmor_parser rwxl,
  audit deny /etc/apparmor.d/libvirt/** wxl,
  /usr/lib/libvirt/* PUxr,
  /usr/lib/libvirt/libvirt_parthelper ix,
  /usr/lib/libvirt/libvirt_iohelper ix,
  /etc/libvirt/hooks/** rmix,
  /etc/xen/scripts/** rmix,
"""

RULE = re.compile(r"^\s*(audit\s+)?(deny\s+)?(/\S+)\s+([a-zA-Z]+)\s*,\s*$")


def glob_to_regex(glob):
    """AppArmor's globbing: ** any path, * within one component, ? one character, {a,b}."""
    out = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "{":
            out.append("(?:")
        elif c == "}":
            out.append(")")
        elif c == "," and "{" in glob[:i]:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def exec_rules(text):
    """(allow, deny): lists of (glob, mode) of the rules whose mode executes."""
    allow, deny = [], []
    for line in text.splitlines():
        m = RULE.match(line)
        if not m or "x" not in m.group(4).lower():
            continue
        (deny if m.group(2) else allow).append((m.group(3), m.group(4)))
    return allow, deny


def resolve(root, path):
    """The path the kernel executes for ROOT/path, symbolic links followed inside ROOT."""
    seen = 0
    while True:
        full = root + path
        if not os.path.islink(full):
            return path
        seen += 1
        if seen > 8:
            raise RuntimeError(f"{path}: too many symbolic links")
        target = os.readlink(full)
        path = target if target.startswith("/") else os.path.normpath(os.path.join(os.path.dirname(path), target))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip())
    root = sys.argv[1].rstrip("/")
    if len(sys.argv) == 3:
        with open(sys.argv[2], encoding="utf-8") as f:
            text, source = f.read(), sys.argv[2]
    else:
        text, source = DEBIAN12_RULES, "Debian 12 libvirt-daemon-system 9.0.0-4+deb12u2 (copy)"
    allow, deny = exec_rules(text)
    if not allow:
        sys.exit(f"check-apparmor: no exec rule found in {source}")

    hookdir = "/etc/libvirt/hooks/qemu.d"
    hooks = sorted(os.listdir(root + hookdir)) if os.path.isdir(root + hookdir) else []
    hooks = [h for h in hooks if h.startswith("srvm")]
    if not hooks:
        sys.exit(f"check-apparmor: FAIL: no srvm hook in {root}{hookdir}")

    failures = 0
    for name in hooks:
        path = f"{hookdir}/{name}"
        target = resolve(root, path)
        full = root + target
        if not (os.path.isfile(full) and os.access(full, os.X_OK)):
            print(f"FAIL: {path} -> {target}: not an installed executable")
            failures += 1
            continue
        denied = [g for g, _ in deny if glob_to_regex(g).match(target)]
        allowed = [f"{g} {m}" for g, m in allow if glob_to_regex(g).match(target)]
        if denied or not allowed:
            why = f"denied by {denied[0]}" if denied else "no exec rule matches it"
            print(f"FAIL: {path} -> {target}: libvirtd may not execute it ({why}; rules from {source})")
            failures += 1
        else:
            print(f"ok: {path} -> {target}: executable by libvirtd under '{allowed[0]}' ({source})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
