#!/usr/bin/env bash
# srvmd's D-Bus API end to end, without a guest: a private system-like bus with srvmd's own
# policy, srvmd against libvirt's test driver, and every method called by root and by
# nobody, through busctl and srvmctl. A migration there fails in preflight, which is enough
# to see a job object appear, change and finish.
#
# Usage: test-bus.sh SRVMD SRVMCTL POLICY_CONF   (exit 77: skipped)
set -euo pipefail

srvmd=$(realpath "$1")
srvmctl=$(realpath "$2")
policy=$(realpath "$3")

[ "$(id -u)" -eq 0 ] || { echo "test-bus: needs root (to call as nobody); skipped"; exit 77; }
for tool in dbus-daemon busctl setpriv; do
        command -v "$tool" >/dev/null || { echo "test-bus: no $tool; skipped"; exit 77; }
done

dir=$(mktemp -d /tmp/srvm-test-bus.XXXXXX)
chmod 755 "$dir"
bus_pid=
srvmd_pid=
cleanup() {
        [ -n "$srvmd_pid" ] && kill "$srvmd_pid" 2>/dev/null && wait "$srvmd_pid" 2>/dev/null
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT

# The stock system bus rules, then srvmd's policy as installed.
cat > "$dir/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$dir/bus</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$policy</include>
</busconfig>
EOF
bus_pid=$(dbus-daemon --config-file="$dir/bus.conf" --fork --print-pid)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/bus"

failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# expect CODE DESCRIPTION COMMAND...: the exit code, and stderr kept for the next check.
expect() {
        local want=$1 what=$2 got=0
        shift 2
        "$@" > "$dir/out" 2> "$dir/err" || got=$?
        if [ "$got" -eq "$want" ]; then pass "$what"; else fail "$what: exit $got, expected $want: $(cat "$dir/err")"; fi
}
# expect_error ERROR_NAME SENTENCE_PART DESCRIPTION COMMAND...: a dbus-send call that fails so.
expect_error() {
        local name=$1 part=$2 what=$3
        shift 3
        "$@" > "$dir/out" 2>&1 || true
        if grep -q "Error $name: .*$part" "$dir/out"; then pass "$what"; else fail "$what: $(cat "$dir/out")"; fi
}
stderr_has() {
        if grep -q -- "$1" "$dir/err"; then pass "  says '$1'"; else fail "  stderr lacks '$1': $(cat "$dir/err")"; fi
}
stdout_has() {
        if grep -q -- "$1" "$dir/out"; then pass "  shows '$1'"; else fail "  stdout lacks '$1': $(cat "$dir/out")"; fi
}

expect 3 "srvmctl without srvmd: unreachable" "$srvmctl" jobs
stderr_has "cannot reach srvmd on the system bus (org.srvm.srvm1)"

"$srvmd" --connect test:///default --state-dir "$dir/state" > "$dir/srvmd.log" 2>&1 &
srvmd_pid=$!
for _ in $(seq 50); do
        busctl --system status org.srvm.srvm1 >/dev/null 2>&1 && break
        sleep 0.1
done

expect 0 "introspect the manager" busctl --system introspect org.srvm.srvm1 /org/srvm/srvm1
stdout_has "org.srvm.srvm1.Manager"
expect 0 "Version" busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager Version
expect 0 "jobs, none yet" "$srvmctl" jobs
stdout_has "No jobs."

send=(dbus-send --system --print-reply --dest=org.srvm.srvm1 /org/srvm/srvm1)
# dbus-send cannot write variants in a dict: busctl, which shows only the sentence.
call=(busctl --system call org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager Migrate 'ssa{sv}')
expect 1 "Migrate with no domain" "${call[@]}" "" test:///default 0
stderr_has "domain name must not be empty"
expect 1 "Migrate with no destination" "${call[@]}" test "" 0
stderr_has "destination URI for domain 'test' must not be empty"
expect 1 "Migrate with an unknown option" "${call[@]}" test test:///default 1 colour s red
stderr_has "Unknown option 'colour'"
expect 1 "Migrate with a mistyped option" "${call[@]}" test test:///default 1 bond u 1
stderr_has "Option 'bond' must be a string"
expect 2 "srvmctl: arguments srvmd rejects are a usage error" "$srvmctl" migrate test test:///default --bond a/b
stderr_has "not a valid interface name"
expect_error org.srvm.srvm1.Error.NoSuchJob "There is no job 42" "GetJob of an unknown job" \
        "${send[@]}" org.srvm.srvm1.Manager.GetJob uint32:42
expect_error org.srvm.srvm1.Error.NoSuchJob "There is no job 42" "Cancel of an unknown job" \
        "${send[@]}" org.srvm.srvm1.Manager.Cancel uint32:42

expect 4 "nobody may not migrate" as_nobody "$srvmctl" migrate test test:///default
stderr_has "only root"

# test:///default has no guest agent and is its own destination: preflight refuses.
expect 1 "migrate --wait: a job that fails in preflight" "$srvmctl" migrate test test:///default --wait
stdout_has "preflight         started"
stdout_has "Result:    failed"
stdout_has "VM downtime: n/a"
expect 0 "the job object is there" busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1/job/1 org.srvm.srvm1.Job Result
stdout_has '"failed"'
expect 0 "nobody may read it" as_nobody "$srvmctl" show 1
stdout_has "Domain:    test"
expect 0 "nobody may list jobs" as_nobody "$srvmctl" jobs --json
stdout_has '"path":"/org/srvm/srvm1/job/1"'
expect 0 "show --json" "$srvmctl" show /org/srvm/srvm1/job/1 --json
stdout_has '"phases":\['
expect 1 "watch a failed job" "$srvmctl" watch 1
stdout_has "preflight         failed"
expect 1 "cancel a finished job" "$srvmctl" cancel 1
stderr_has "already finished"
expect 4 "nobody may not cancel" as_nobody "$srvmctl" cancel 1
expect 0 "ActiveJobs back to 0" busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager ActiveJobs
stdout_has "u 0"
expect 2 "usage error" "$srvmctl" show not-a-job

if [ "$failures" -ne 0 ]; then
        echo "test-bus: $failures failed; srvmd said:"
        cat "$dir/srvmd.log"
        exit 1
fi
echo "test-bus: all passed"
