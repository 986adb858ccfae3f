#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# srvmd's unit as systemd scores its exposure (systemd-analyze security, offline: no systemd
# as PID 1 needed). The score is in README's Security section; a change that loosens the
# sandbox past the threshold fails here and has to say why.
#
# Usage: test-unit-security.sh UNIT   (exit 77: skipped)
set -euo pipefail

unit=$1
threshold=2.5

command -v systemd-analyze >/dev/null || { echo "test-unit-security: no systemd-analyze; skipped"; exit 77; }
dir=$(mktemp -d /tmp/srvm-test-unit.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$unit" "$dir/srvmd.service"
out=$(systemd-analyze security --offline=true --no-pager "$dir/srvmd.service" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for srvmd.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || { echo "test-unit-security: no score from systemd-analyze:"; echo "$out"; exit 1; }
grep -F '✗' <<<"$out" || true
echo "test-unit-security: exposure $score (threshold $threshold)"
if awk -v s="$score" -v t="$threshold" 'BEGIN { exit !(s <= t) }'; then
        echo "test-unit-security: passed"
else
        echo "test-unit-security: FAIL: exposure $score is above $threshold"
        exit 1
fi
