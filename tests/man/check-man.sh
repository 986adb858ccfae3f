#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages: groff and man find nothing to warn about in any of them, every long option a
# program's --help prints is in its page, and srvmctl's page and --help name the same
# commands. (exit 77: skipped)
#
# Usage: check-man.sh MANDIR SRVMD SRVMCTL SRVM_GUEST (SRVM_GUEST empty: not built)
set -euo pipefail

mandir=$1
srvmd=$2
srvmctl=$3
srvm_guest=$4

for tool in groff man; do
        command -v "$tool" >/dev/null || { echo "check-man: no $tool (tests/install-deps installs it); skipped"; exit 77; }
done

failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

pages=("$mandir"/*.[1-8])
for page in "${pages[@]}"; do
        name=$(basename "$page")
        out=$(groff -ww -z -man "$page" 2>&1)
        if [ -z "$out" ]; then pass "$name: groff -ww has no warning"; else fail "$name: groff -ww: $out"; fi
        out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        if [ -z "$out" ]; then pass "$name: man --warnings has no warning"; else fail "$name: man --warnings: $out"; fi
done

# The hook's page is written with the hook; checked above once it is there.
[ -e "$mandir/srvm-hook.8" ] && pass "srvm-hook.8 is there" || echo "note: no srvm-hook.8 yet"

# The page as a reader sees it, plain ASCII: "\-\-foo" reads "--foo".
render() {
        groff -man -Tascii -P-cbou "$1" 2>/dev/null
}

# check_options PROGRAM PAGE: every --option of PROGRAM --help is in PAGE.
check_options() {
        local program=$1 page=$2 text opts opt
        text=$(render "$page")
        opts=$("$program" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
        [ -n "$opts" ] || { fail "$(basename "$program") --help prints no long option"; return; }
        for opt in $opts; do
                if grep -qF -- "$opt" <<<"$text"; then
                        pass "$(basename "$page") documents $opt"
                else
                        fail "$(basename "$page") lacks $opt, which $(basename "$program") --help prints"
                fi
        done
}

check_options "$srvmd" "$mandir/srvmd.8"
check_options "$srvmctl" "$mandir/srvmctl.1"
if [ -n "$srvm_guest" ]; then
        check_options "$srvm_guest" "$mandir/srvm-guest.8"
else
        echo "note: srvm-guest not built (-Dguest=false); its options not checked"
fi

# srvmctl's commands, from --help ("  policy show NAME   ..." gives "policy show") and from the
# tags of the page's COMMANDS section (".BI migrate \" DOMAIN\"", ".B policy list").
help_commands=$("$srvmctl" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z]\+\)\( \([a-z]\+\)\)\?\( .*\)\?$/\1 \3/p' |
        sed 's/ *$//' | sort -u)
page_commands=$(sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$mandir/srvmctl.1" | sed -n '/^\.TP/{n;p}' |
        sed -e 's/^\.BI\? //' -e 's/^"\([^"]*\)".*/\1/' -e 's/ *"[^"]*"$//' -e 's/ *\\fR.*//' |
        sed 's/^\([a-z]\+\)\( \([a-z]\+\)\)\?.*/\1 \3/' | sed 's/ *$//' | sort -u)
missing=$(comm -23 <(echo "$help_commands") <(echo "$page_commands"))
extra=$(comm -13 <(echo "$help_commands") <(echo "$page_commands"))
if [ -z "$missing" ]; then pass "srvmctl.1 describes every command of --help"; else fail "srvmctl.1 lacks: $missing"; fi
if [ -z "$extra" ]; then pass "srvmctl --help lists every command of srvmctl.1"; else fail "srvmctl --help lacks: $extra"; fi

if [ "$failures" -ne 0 ]; then
        echo "check-man: $failures failed"
        exit 1
fi
echo "check-man: all passed"
