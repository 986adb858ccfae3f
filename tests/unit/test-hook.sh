#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# srvm-hook end to end: the built hook, run the way libvirt runs it, must exit 0 quickly
# whatever it is given, print XML only for an incoming srvm domain, and tell srvmd on a bus
# of its own (a private dbus-daemon watched by dbus-monitor) without waiting on anyone.
#
#   test-hook.sh HOOK
#
# $SRVM_HOOK_WRAPPER (e.g. "valgrind --error-exitcode=66 --leak-check=full") runs each hook
# under it, with a looser time bound.
set -euo pipefail

hook=$1
tmp=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT

# The bound tells "returns" from "waits on the bus": a hook that waited on a mute bus would run
# into its own 10 s alarm or sd-bus's 25 s default, while a slow machine (sanitizers, a busy CI)
# must not fail the test. Typical runs take 30-600 ms.
limit_ms=5000
[ -z "${SRVM_HOOK_WRAPPER:-}" ] || limit_ms=30000

fail() { echo "FAIL: $*" >&2; exit 1; }

# Never the machine's own system bus, never its policies.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/no-bus"
export SRVM_POLICY_DIR="$tmp/policies"
mkdir "$tmp/policies"

# run NAME STDIN-FILE ARGS...: exit 0 within the bound; stdout kept in $tmp/NAME.out.
run() {
        local name=$1 input=$2; shift 2
        local start end rc=0
        start=$(date +%s%N)
        ${SRVM_HOOK_WRAPPER:-} "$hook" "$@" <"$input" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
        end=$(date +%s%N)
        [ "$rc" = 0 ] || fail "$name: exit $rc"
        local ms=$(( (end - start) / 1000000 ))
        [ "$ms" -lt "$limit_ms" ] || fail "$name: took $ms ms"
        echo "ok $name (${ms} ms)"
}
empty() { [ ! -s "$tmp/$1.out" ] || fail "$1: printed $(head -c 200 "$tmp/$1.out")"; }

plan_xml="$tmp/plan.xml"
cat >"$plan_xml" <<'XML'
<domain type='qemu'>
  <name>vm1</name>
  <uuid>0f6a4d3e-1111-4c55-9d3e-2a7c1e6f9b10</uuid>
  <metadata><srvm:plan xmlns:srvm="https://srvm.dev/xmlns/srvm/1" vf-alias="ua-vf0" bond="bond0" job="3"/></metadata>
  <devices>
    <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/><model type='virtio'/><alias name='ua-net0'/></interface>
    <interface type='bridge'><mac address='52:54:00:aa:00:02'/><source bridge='br0'/><model type='e1000e'/><alias name='ua-vf0'/></interface>
  </devices>
</domain>
XML
sed -e 's/<metadata>.*<\/metadata>//' "$plan_xml" >"$tmp/plain.xml"
: >"$tmp/empty"
printf 'not <xml' >"$tmp/garbage"
head -c 1000 /dev/urandom >"$tmp/random"
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$tmp/huge"

# Garbage in, nothing out, exit 0.
run no-args "$tmp/empty"; empty no-args
run two-args "$tmp/garbage" vm1 migrate; empty two-args
run six-args "$tmp/garbage" vm1 migrate begin - extra; empty six-args
run unknown-op "$tmp/garbage" vm1 explode begin -; empty unknown-op
for input in empty garbage random huge plain.xml; do
        run "migrate-$input" "$tmp/$input" vm1 migrate begin -
        empty "migrate-$input"
done
grep -q 'larger than' "$tmp/migrate-huge.err" || fail "huge input: no reason logged"
grep -q 'not a domain' "$tmp/migrate-garbage.err" || fail "garbage: no reason logged"

# An incoming srvm domain that still has its VF: libvirt would refuse a changed device
# count, so the hook says what it found and lets the XML through unchanged.
run migrate-plan "$plan_xml" vm1 migrate begin -
empty migrate-plan
grep -q "interface ua-vf0 (52:54:00:aa:00:02) still present" "$tmp/migrate-plan.err" ||
        fail "plan: VF not reported: $(cat "$tmp/migrate-plan.err")"

# Every operation, with no bus at all.
for op in "prepare begin" "start begin" "started begin" "stopped end" "release end" \
          "migrate begin" "restore begin" "reconnect begin" "attach begin"; do
        run "nobus-${op// /-}" "$tmp/plain.xml" vm1 $op -
        empty "nobus-${op// /-}"
done

# A bus that accepts the connection but never answers: bounded by the hook's own timeout.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$tmp/mute-bus" &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/mute-bus" ] && break; sleep 0.05; done
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/mute-bus" run mute-bus "$tmp/plain.xml" vm1 started begin -
grep -q 'Connection timed out\|timed out' "$tmp/mute-bus.err" || fail "mute bus: no timeout logged"

# A real bus: the DomainEvent call arrives, with its three arguments, no reply expected.
cat >"$tmp/bus.conf" <<CONF
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/bus" ] && break; sleep 0.05; done
dbus-monitor --address "unix:path=$tmp/bus" \
        "type='method_call',interface='org.srvm.srvm1.Manager'" >"$tmp/monitor" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q NameAcquired "$tmp/monitor" 2>/dev/null && break; sleep 0.05; done
sleep 0.2

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus"
run bus-started "$tmp/plain.xml" vm1 started begin -
run bus-migrate "$plan_xml" vm1 migrate begin -
run bus-prepare "$tmp/plain.xml" vm1 prepare begin -
sleep 0.3
cat "$tmp/monitor"
n=$(grep -c 'member=DomainEvent' "$tmp/monitor" || true)
[ "$n" = 2 ] || fail "expected 2 DomainEvent calls on the bus, saw $n"
grep -A3 'member=DomainEvent' "$tmp/monitor" | grep -q 'string "started"' || fail "no started event"
grep -A3 'member=DomainEvent' "$tmp/monitor" | grep -q 'string "migrate"' || fail "no migrate event"
grep 'member=DomainEvent' "$tmp/monitor" | grep -q 'path=/org/srvm/srvm1' || fail "wrong path"
[ ! -s "$tmp/bus-started.err" ] || fail "bus-started: $(cat "$tmp/bus-started.err")"

echo ok
