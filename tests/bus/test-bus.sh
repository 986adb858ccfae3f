#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# srvmd's D-Bus API end to end, without a guest: a private system-like bus with srvmd's own
# policy, srvmd against libvirt's test driver, and every method called by root, by nobody and
# by a member of the admin group (created for the test if missing), through busctl and
# srvmctl. A migration there fails in preflight, which is enough to see a job object appear,
# change and finish, and to see how srvmctl follows it, piped and on a terminal.
#
# Usage: test-bus.sh SRVMD SRVMCTL POLICY_CONF   (exit 77: skipped)
set -euo pipefail

srvmd=$(realpath "$1")
srvmctl=$(realpath "$2")
policy=$(realpath "$3")

[ "$(id -u)" -eq 0 ] || { echo "test-bus: needs root (to call as nobody); skipped"; exit 77; }
for tool in dbus-daemon dbus-monitor busctl setpriv script groupadd groupdel; do
        command -v "$tool" >/dev/null || { echo "test-bus: no $tool; skipped"; exit 77; }
done

dir=$(mktemp -d /tmp/srvm-test-bus.XXXXXX)
chmod 755 "$dir"
bus_pid=
srvmd_pid=
monitor_pid=
made_group=
cleanup() {
        [ -n "$monitor_pid" ] && kill "$monitor_pid" 2>/dev/null
        [ -n "$srvmd_pid" ] && kill "$srvmd_pid" 2>/dev/null && wait "$srvmd_pid" 2>/dev/null
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        [ -n "$made_group" ] && groupdel "$made_group"
        rm -rf "$dir"
}
trap cleanup EXIT

# The admin group srvmd and the bus policy name (srvm unless built with -Dadmin_group=).
admin_group=$(sed -n 's/.*<policy group="\([^"]*\)">.*/\1/p' "$policy")
[ -n "$admin_group" ] || { echo "test-bus: no admin group in $policy"; exit 1; }
if ! getent group "$admin_group" >/dev/null; then
        groupadd --system "$admin_group"
        made_group=$admin_group
fi

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
as_admin() { setpriv --reuid=nobody --regid=nogroup --groups="$admin_group" "$@"; }

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
expect 3 "version without srvmd" "$srvmctl" version
stdout_has "srvmctl "

# Usage errors are found before any bus is opened: exit 2 with no bus at all, not 3.
nobus=(env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/no-bus" DBUS_SESSION_BUS_ADDRESS="unix:path=$dir/no-bus" "$srvmctl")
usage_cases=(
        "migrate" "migrate vm" "migrate vm uri extra" "check" "check vm" "watch" "watch x" "watch 1 2"
        "show" "show /not/a/job" "cancel" "cancel -- -1" "jobs x" "reload x" "version x" "domains x"
        "vf" "vf show" "policy" "policy nope" "policy list x" "policy show" "policy check"
        "evacuate" "evacuate a" "evacuate a a" "help nope" "help migrate check" "nope"
        "--json=long jobs" "--user -H host jobs" "-H -x jobs" "--json cancel 1" "--wait jobs"
        "--concurrency 2 migrate vm uri"
)
for args in "${usage_cases[@]}"; do
        # shellcheck disable=SC2086  # word splitting wanted
        expect 2 "no bus: srvmctl $args is a usage error" "${nobus[@]}" $args
        stderr_has "Try 'srvmctl --help'."
done
expect 3 "no bus: well-formed arguments reach for the bus" "${nobus[@]}" migrate vm uri
expect 3 "  and with --user" "${nobus[@]}" --user watch 3

# -H reaches for srvmd over ssh; a host that does not resolve is unreachable (3), and named.
if command -v ssh >/dev/null; then
        expect 3 "-H with a host that does not resolve" timeout 30 "$srvmctl" -H root@nosuchhost.invalid jobs
        stderr_has "cannot reach srvmd on the system bus of root@nosuchhost.invalid"
fi

# help needs no bus; help COMMAND prints that command's lines only.
expect 0 "help, no bus" "${nobus[@]}" help
stdout_has "^Commands:"
stdout_has "^  help \[COMMAND\]"
if cmp -s "$dir/out" <("$srvmctl" --help); then pass "  the same as --help"; else fail "  help differs from --help"; fi
expect 0 "help migrate, no bus" "${nobus[@]}" help migrate
stdout_has "^  migrate DOMAIN DEST_URI"
if grep -q "watch JOB" "$dir/out"; then fail "  help migrate shows other commands"; else pass "  and no other command"; fi
expect 0 "help policy" "${nobus[@]}" help policy
stdout_has "^  policy check FILE"

# Checking a policy file needs no daemon.
mkdir "$dir/policies"
echo '{ "match": { "names": ["web-*"] }, "guest": { "bond": "bond1" } }' > "$dir/good.json"
echo '{ "guest": { "bond": 7 } }' > "$dir/bad.json"
expect 0 "policy check of a good file, without srvmd" "$srvmctl" policy check "$dir/good.json"
stdout_has "valid policy 'good'"
expect 1 "policy check of a bad file" "$srvmctl" policy check "$dir/bad.json"
stderr_has "bad.json"
expect 0 "policy check --json=pretty" "$srvmctl" policy check --json=pretty "$dir/good.json"
stdout_has '^    "bond": "bond1"'
expect 0 "policy check --json=short" "$srvmctl" policy check --json=short "$dir/good.json"
stdout_has '"guest":{"bond":"bond1"'
expect 0 "policy check --json, piped: short" "$srvmctl" policy check --json "$dir/good.json"
stdout_has '"guest":{"bond":"bond1"'
expect 0 "policy check -j, piped: short" "$srvmctl" -j policy check "$dir/good.json"
stdout_has '"guest":{"bond":"bond1"'
expect 0 "policy check --json=off: text" "$srvmctl" policy check --json=off "$dir/good.json"
stdout_has "valid policy 'good'"
TERM=xterm script -qec "$srvmctl --json policy check $dir/good.json" /dev/null > "$dir/tty" 2>&1 || true
if grep -q '^    "bond": "bond1"' <(tr -d '\r' < "$dir/tty"); then
        pass "policy check --json on a terminal: pretty"
else
        fail "policy check --json on a terminal: $(cat -v "$dir/tty")"
fi
cp "$dir/good.json" "$dir/policies/web.json"

wait_for_srvmd() {
        for _ in $(seq 50); do
                busctl --system status org.srvm.srvm1 >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        return 1
}

# An admin group that does not exist: srvmd still starts, and says so once, naming the
# group and the fix.
missing_group=srvm-test-no-such-group
getent group "$missing_group" >/dev/null && { echo "test-bus: group $missing_group exists"; exit 1; }
"$srvmd" --connect test:///default --state-dir "$dir/state-nogroup" --policy-dir "$dir/policies" \
        --no-metrics --admin-group "$missing_group" > "$dir/srvmd-nogroup.log" 2>&1 &
srvmd_pid=$!
wait_for_srvmd
kill "$srvmd_pid" && wait "$srvmd_pid" 2>/dev/null
srvmd_pid=
if [ "$(grep -c "Admin group '$missing_group' does not exist" "$dir/srvmd-nogroup.log")" -eq 1 ] &&
        grep -q "usermod -aG $missing_group USER" "$dir/srvmd-nogroup.log"; then
        pass "srvmd says once at start that its admin group does not exist, and how to fix it"
else
        fail "srvmd without its admin group did not say so once; it said: $(cat "$dir/srvmd-nogroup.log")"
fi

# An admin group that exists but that no bus policy lets in (daemon): srvmd refuses to start
# rather than run deaf to that group's calls.
expect 1 "srvmd --admin-group that no bus policy names" "$srvmd" --connect test:///default --state-dir "$dir/state" \
        --policy-dir "$dir/policies" --no-metrics --admin-group=daemon
stderr_has "no D-Bus policy in /etc/dbus-1/system.d or /usr/share/dbus-1/system.d lets group 'daemon' call"

# Destinations are root's to allow: here the test driver and unix sockets besides the default.
# srvmd runs with the capabilities its unit leaves it (CapabilityBoundingSet=), none at all.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$(dirname "$0")/../../srvmd/srvmd.service.in")
bounding=-all
for c in $caps; do bounding="$bounding,+${c#CAP_}"; done
setpriv --bounding-set="${bounding,,}" --inh-caps=-all -- "$srvmd" --connect test:///default --state-dir "$dir/state" --policy-dir "$dir/policies" --no-metrics \
        --allow-uri-driver=qemu,test --allow-uri-transport=unix,tls,tcp,ssh,libssh2 --allow-uri-param=socket \
        > "$dir/srvmd.log" 2>&1 &
srvmd_pid=$!
wait_for_srvmd

# Every signal srvmd sends, for the check of JobPhaseChanged below.
dbus-monitor --system "type='signal',sender='org.srvm.srvm1'" > "$dir/signals" 2>&1 &
monitor_pid=$!

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
expect 4 "nobody may not check" as_nobody "$srvmctl" check test test:///default
expect 4 "nobody may not reload" as_nobody "$srvmctl" reload
expect 1 "nobody may not call Reload" as_nobody busctl --system call org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager Reload
stderr_has "Access denied"

# Check takes the arguments of Migrate, validated the same way.
check=(busctl --system call org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager Check 'ssa{sv}')
expect 1 "Check with no domain" "${check[@]}" "" test:///default 0
stderr_has "domain name must not be empty"
expect 1 "Check with an unknown option" "${check[@]}" test test:///default 1 colour s red
stderr_has "Unknown option 'colour'"

# Policies: list, show, reload; a bad file keeps the set in force.
expect 0 "ListPolicies" busctl --system call org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager ListPolicies
stdout_has '"web"'
stdout_has 'names web-\*'
expect 0 "nobody may list policies" as_nobody "$srvmctl" policy list
stdout_has "match: every domain no other policy matches"
expect 0 "policy list --json" "$srvmctl" policy list --json
stdout_has '"name":"web"'
expect 0 "nobody may show a policy" as_nobody "$srvmctl" policy show web
stdout_has '"bond": "bond1"'
expect_error org.srvm.srvm1.Error.NoSuchPolicy "There is no policy 'nope'" "GetPolicy of an unknown policy" \
        "${send[@]}" org.srvm.srvm1.Manager.GetPolicy string:nope
expect_error org.freedesktop.DBus.Error.InvalidArgs "policy name must not be empty" "GetPolicy with no name" \
        "${send[@]}" org.srvm.srvm1.Manager.GetPolicy string:
expect 1 "policy show of an unknown policy" "$srvmctl" policy show nope
cp "$dir/bad.json" "$dir/policies/bad.json"
expect_error org.srvm.srvm1.Error.InvalidPolicy "the ones in force stay: .*bad.json" "Reload with a bad file" \
        "${send[@]}" org.srvm.srvm1.Manager.Reload
expect 1 "srvmctl reload with a bad file" "$srvmctl" reload
stderr_has "bad.json"
expect 0 "the old set stays" "$srvmctl" policy show web
rm "$dir/policies/bad.json"
cp "$dir/good.json" "$dir/policies/web2.json"
expect 0 "the admin group may reload" as_admin "$srvmctl" reload
expect 0 "  and the new set is in force" "$srvmctl" policy show web2
expect 0 "Policies property" busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager Policies
stdout_has '"web2"'
expect 0 "version shows both" as_nobody "$srvmctl" version
stdout_has "srvmd "
expect 0 "version --json" "$srvmctl" version --json
stdout_has '"srvmd":"'

# The policy in force for a domain of the test driver: the default, every value in it.
expect 0 "policy show DOMAIN, as nobody" as_nobody "$srvmctl" policy show test
stdout_has '"matched_by": "default"'
stdout_has '"effective"'
expect 1 "policy show of neither a domain nor a policy" "$srvmctl" policy show no-such-thing
stderr_has "no-such-thing"

# The VF inventory: this machine has no SR-IOV, so an empty list, not an error; anyone may read.
expect 0 "vf list --json, as nobody" as_nobody "$srvmctl" vf list --json
stdout_has '{"pfs":\[\]}'
expect 0 "vf list" "$srvmctl" vf list
stdout_has "No SR-IOV physical function on this host."
expect 2 "vf with no subcommand: usage" "$srvmctl" vf
# The hook's call: no reply, logged; refused to others than root and the admin group.
expect 0 "DomainEvent from root" busctl --system --expect-reply=no call org.srvm.srvm1 /org/srvm/srvm1 \
        org.srvm.srvm1.Manager DomainEvent sss test migrate begin
expect_error org.freedesktop.DBus.Error.InvalidArgs "must not be empty" "DomainEvent with an empty domain" \
        dbus-send --system --print-reply --dest=org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager.DomainEvent \
        string: string:migrate string:begin

# test:///default has no guest agent and is its own destination: preflight refuses.
expect 1 "migrate --wait: a job that fails in preflight" "$srvmctl" migrate test test:///default --wait
stdout_has "preflight         started"
stdout_has "Result:    failed"
stdout_has "VM downtime: n/a"
expect 0 "the job object is there" busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1/job/1 org.srvm.srvm1.Job Result
stdout_has '"failed"'
expect 0 "nobody may read it" as_nobody "$srvmctl" show 1
stdout_has "Domain:    test"
stdout_has "^Started:   20[0-9-]* [0-9:]* [A-Z+0-9-]* by root (uid 0)$"
expect 0 "nobody may list jobs" as_nobody "$srvmctl" jobs --json
stdout_has '"path":"/org/srvm/srvm1/job/1"'
expect 0 "show --json" "$srvmctl" show /org/srvm/srvm1/job/1 --json
stdout_has '"phases":\['
stdout_has '"started_at":"20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z"'
stdout_has '"requested_by":{"uid":0,"user":"root","via":"bus"}'
expect 0 "jobs: a STARTED column" "$srvmctl" jobs
stdout_has '^ID DOMAIN STARTED  *PHASE  *RESULT$'
stdout_has '^ *1 test   20[0-9-]* [0-9:]* [A-Z+0-9-]*  *preflight  *failed$'
expect 0 "show --json=pretty" "$srvmctl" show 1 --json=pretty
stdout_has '^  "phases": \['
expect 0 "jobs --json=pretty" "$srvmctl" jobs --json=pretty
stdout_has '^    "path": "/org/srvm/srvm1/job/1"'
expect 1 "watch a failed job" "$srvmctl" watch 1
stdout_has "preflight         failed"
expect 1 "cancel a finished job" "$srvmctl" cancel 1
stderr_has "already finished"
expect 4 "nobody may not cancel" as_nobody "$srvmctl" cancel 1
expect 0 "the job object introspects" busctl --system introspect org.srvm.srvm1 /org/srvm/srvm1/job/1
stdout_has '^\.Progress  *property  *(uttt)'
stdout_has '^\.Kind  *property  *s  *"migrate"'
expect 0 "Progress before any pre-copy" busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1/job/1 org.srvm.srvm1.Job Progress
stdout_has "(uttt) 0 0 0 0"

# The admin group may check; the check fails in preflight and says why.
expect 1 "the admin group may check" as_admin "$srvmctl" check test test:///default
stdout_has "cannot be migrated to test:///default"
stdout_has "  FAILED  "
job=$(busctl --system call org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager ListJobs | grep -o '/org/srvm/srvm1/job/[0-9]*' | tail -n 1)
expect 0 "a check job is a check" busctl --system get-property org.srvm.srvm1 "$job" org.srvm.srvm1.Job Kind
stdout_has '"check"'
expect 0 "  asked for by the admin group's caller" "$srvmctl" show "${job##*/}" --json=short
stdout_has '"requested_by":{"uid":65534,"user":"nobody","via":"bus"}'
stdout_has '"started_at":"20[0-9-]*T[0-9:]*Z"'
expect 1 "check --json" "$srvmctl" check --json test test:///default
stdout_has '"kind":"check"'

# No URI runs a program or opens a transport root did not allow, whoever asks: each is
# refused with a sentence naming its part, no job starts and the program never runs.
printf '#!/bin/sh\ntouch %s/ran\n' "$dir" > "$dir/evil"
chmod 755 "$dir/evil"
jobs_before=$("$srvmctl" jobs --json | grep -o '"id":' | wc -l)
hostile=(
        "qemu+ext:///system?command=$dir/evil|uses transport 'ext'"
        "qemu+ssh://localhost/system?command=$dir/evil|uses parameter 'command'"
        "qemu+ssh://localhost/system?netcat=$dir/evil|uses parameter 'netcat'"
        "qemu+ssh://localhost/system?%63ommand=$dir/evil|uses parameter '%63ommand'"
        "qemu+ssh://-oProxyCommand=$dir/evil/system|names a host"
        "qemu+unix:///system?socket=/x&keyfile=$dir/evil|uses parameter 'keyfile'"
)
for who in root admin; do
        runner=()
        [ "$who" = admin ] && runner=(as_admin)
        for h in "${hostile[@]}"; do
                uri=${h%%|*}
                for method in Check Migrate; do
                        expect 1 "$method as $who to $uri: refused" "${runner[@]}" busctl --system call org.srvm.srvm1 \
                                /org/srvm/srvm1 org.srvm.srvm1.Manager "$method" 'ssa{sv}' test "$uri" 0
                        stderr_has "${h#*|}"
                done
        done
        expect 1 "Migrate as $who with migrate_uri exec:: refused" "${runner[@]}" busctl --system call org.srvm.srvm1 \
                /org/srvm/srvm1 org.srvm.srvm1.Manager Migrate 'ssa{sv}' test "qemu+tcp://localhost/system" 1 \
                migrate_uri s "exec:$dir/evil"
        stderr_has "uses scheme 'exec'"
        expect 2 "srvmctl migrate --migrate-uri unix: as $who: refused" "${runner[@]}" "$srvmctl" migrate test \
                "qemu+tcp://localhost/system" --migrate-uri "unix://$dir/evil"
        stderr_has "the migrate URI 'unix://$dir/evil' uses scheme 'unix', which this host's srvmd does not allow"
        expect 2 "srvmctl check to qemu+ext as $who: refused" "${runner[@]}" "$srvmctl" check test \
                "qemu+ext:///system?command=$dir/evil"
        stderr_has "Cannot check domain 'test': the destination URI 'qemu+ext:///system?command=$dir/evil' uses transport 'ext'"
done
# The error's name, which busctl does not print.
/usr/bin/python3 - "qemu+ssh://h/system?netcat=$dir/evil" > "$dir/out" 2>&1 <<'PY' || true
import sys, dbus
try:
    dbus.SystemBus().get_object("org.srvm.srvm1", "/org/srvm/srvm1").Check(
        "test", sys.argv[1], dbus.Dictionary({}, signature="sv"), dbus_interface="org.srvm.srvm1.Manager")
except dbus.exceptions.DBusException as e:
    print("Error %s: %s" % (e.get_dbus_name(), e.get_dbus_message()))
PY
if grep -q "^Error org.freedesktop.DBus.Error.InvalidArgs: .*uses parameter 'netcat'" "$dir/out"; then
        pass "the refusal is InvalidArgs"
else
        fail "the refusal is InvalidArgs: $(cat "$dir/out")"
fi
sleep 1
if [ -e "$dir/ran" ]; then fail "a refused URI ran its program"; else pass "no refused URI ran its program"; fi
jobs_after=$("$srvmctl" jobs --json | grep -o '"id":' | wc -l)
if [ "$jobs_after" -eq "$jobs_before" ]; then pass "  and no job started"; else fail "  $((jobs_after - jobs_before)) jobs started"; fi

# srvmctl escapes what srvmd sends before it writes it: here srvmd's refusal quotes the
# caller's own domain name, escape sequence and newline included.
expect 2 "srvmctl escapes srvmd's words" "$srvmctl" check $'vm\e[2J\n<0>x' "qemu+ext:///system"
stderr_has 'domain .vm\\x1b\[2J\\n<0>x.'
if LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' < "$dir/err"); then
        fail "  a control character reached srvmctl's stderr: $(cat -v "$dir/err")"
else
        pass "  no control character on srvmctl's stderr"
fi

# What a watcher prints: plain lines when piped; on a terminal a status line redrawn in place
# that is cleared before every other line and at the end.
expect 1 "migrate --wait, piped" "$srvmctl" migrate test test:///default --wait
if grep -q $'\e' "$dir/out"; then fail "  piped output has escape sequences"; else pass "  no escape sequences when piped"; fi
TERM=xterm script -qec "$srvmctl migrate test test:///default --wait" /dev/null > "$dir/tty" 2>&1 || true
if grep -q "preflight         started" "$dir/tty" && grep -q "Result:    failed" "$dir/tty"; then
        pass "migrate --wait on a terminal"
else
        fail "migrate --wait on a terminal: $(cat -v "$dir/tty")"
fi
# What stays on the screen of each line: the text after its last carriage return (the pty
# ends lines with CR LF), with the clear-to-end-of-line dropped. No status line
# ("preflight   0.012s ...") may be left there.
sed -e 's/\r$//' -e 's/.*\r//' -e 's/\x1b\[K//g' "$dir/tty" > "$dir/screen"
if grep -qE '^[a-z-]+ +[0-9]+\.[0-9]{3}s($|  iteration)' "$dir/screen"; then
        fail "  a status line was left behind: $(cat -v "$dir/tty")"
else
        pass "  no status line left behind"
fi
TERM=xterm script -qec "$srvmctl watch 1" /dev/null > "$dir/tty" 2>&1 || true
if grep -q "preflight         failed" "$dir/tty"; then pass "watch on a terminal"; else fail "watch on a terminal: $(cat -v "$dir/tty")"; fi

# JobPhaseChanged went out for the jobs above, with the phase.
kill "$monitor_pid" 2>/dev/null
monitor_pid=
if grep -A3 "member=JobPhaseChanged" "$dir/signals" | grep -q 'string "preflight"'; then
        pass "JobPhaseChanged signals"
else
        fail "no JobPhaseChanged signal: $(head -c 2000 "$dir/signals")"
fi

# srvmd answers within a bound while jobs come and go: checks back to back, and a property
# read timed meanwhile.
checkers=()
for _ in $(seq 8); do
        "$srvmctl" check test test:///default > /dev/null 2>&1 &
        checkers+=($!)
done
slow=0
for _ in $(seq 20); do
        start=$(date +%s%N)
        timeout 5 busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager ActiveJobs > /dev/null ||
                slow=$((slow + 1))
        end=$(date +%s%N)
        [ $(( (end - start) / 1000000 )) -lt 1000 ] || slow=$((slow + 1))
done
wait "${checkers[@]}" 2>/dev/null || true
if [ "$slow" -eq 0 ]; then pass "srvmd answers within a second while jobs run"; else fail "$slow slow or missing answers while jobs ran"; fi

expect 0 "ActiveJobs back to 0" busctl --system get-property org.srvm.srvm1 /org/srvm/srvm1 org.srvm.srvm1.Manager ActiveJobs
stdout_has "u 0"
expect 2 "usage error" "$srvmctl" show not-a-job

# The domains srvmd would move: the test driver's one domain, under the default policy; its
# interface (type network, no model) is the only candidate for a VF, found by its MAC.
expect 0 "ListDomains, as nobody" as_nobody busctl --system call org.srvm.srvm1 /org/srvm/srvm1 \
        org.srvm.srvm1.Manager ListDomains
stdout_has '^a(sssss) 1 "test" "running" "default" "aa:bb:cc:dd:ee:ff" ""$'
expect 1 "ListDomains with an argument" busctl --system call org.srvm.srvm1 /org/srvm/srvm1 \
        org.srvm.srvm1.Manager ListDomains s test
stderr_has "Invalid arguments"
expect 0 "domains, as nobody" as_nobody "$srvmctl" domains
stdout_has '^DOMAIN  *STATE  *POLICY  *VF'
stdout_has '^test  *running  *default  *aa:bb:cc:dd:ee:ff$'
stdout_has "1 domain listed."
expect 0 "domains --json" "$srvmctl" domains --json
stdout_has '^\[{"name":"test","state":"running","policy":"default","vf":"aa:bb:cc:dd:ee:ff","note":null}\]$'
expect 2 "domains with an argument: usage" "$srvmctl" domains test

# evacuate: the command line and the source URI are checked before anything starts.
nowhere="qemu+unix:///system?socket=$dir/no-libvirt"
expect 2 "evacuate from another host's URI" "$srvmctl" evacuate qemu:///system "$nowhere"
stderr_has "'qemu:///system' is not the URI of the srvmd srvmctl talks to, 'test:///default'"
stderr_has "run evacuate on the source host"
expect 2 "evacuate to its own source" "$srvmctl" evacuate test:///default test:///default
expect 2 "evacuate with one URI" "$srvmctl" evacuate test:///default
for n in 0 65 -1 x 2x ""; do
        expect 2 "evacuate --concurrency '$n'" "$srvmctl" evacuate test:///default "$nowhere" --concurrency "$n"
done
stderr_has "from 1 to 64"
expect 2 "--concurrency on migrate" "$srvmctl" migrate test "$nowhere" --concurrency 2
expect 2 "evacuate --vf" "$srvmctl" evacuate test:///default "$nowhere" --vf ua-vf0
expect 2 "evacuate --wait" "$srvmctl" evacuate test:///default "$nowhere" --wait
jobs_before=$("$srvmctl" jobs --json | grep -o '"id":' | wc -l)

# A policy that names a VF the domain does not have: nothing to move, and why.
echo '{ "match": { "names": ["test"] }, "guest": { "vf": "ua-vf9" } }' > "$dir/policies/pinned.json"
expect 0 "reload with a policy for test" "$srvmctl" reload
expect 0 "domains: no VF, and why" "$srvmctl" domains
stdout_has '^test  *running  *pinned  *-  *the domain has no interface ua-vf9$'
expect 0 "evacuate with no domain to move" "$srvmctl" evacuate test:///default "$nowhere"
stdout_has "^test: skipped: the domain has no interface ua-vf9.$"
stdout_has "^No domain to evacuate from test:///default.$"
expect 0 "  --json: an empty array" "$srvmctl" evacuate --json test:///default "$nowhere"
stdout_has '^\[\]$'
stderr_has "No domain to evacuate"
jobs_after=$("$srvmctl" jobs --json | grep -o '"id":' | wc -l)
if [ "$jobs_after" -eq "$jobs_before" ]; then pass "  no job started"; else fail "  $((jobs_after - jobs_before)) jobs started"; fi
rm "$dir/policies/pinned.json"
expect 0 "reload without it" "$srvmctl" reload

# A policy string that is not UTF-8 is refused by check and by Reload, which changes nothing.
printf '{ "match": { "names": ["caf\xe9"] } }' > "$dir/policies/latin1.json"
expect 1 "policy check: not UTF-8" "$srvmctl" policy check "$dir/policies/latin1.json"
stderr_has "latin1.json: .match.names\[0\]: expected text in UTF-8"
expect 1 "reload: not UTF-8" "$srvmctl" reload
stderr_has "latin1.json: .match.names\[0\]: expected text in UTF-8"
expect 0 "  the policies in force stay readable" "$srvmctl" policy list --json
stdout_has '"name":"default"'
rm "$dir/policies/latin1.json"

# The domain has a VF now: evacuate starts its job, which fails in preflight (no guest
# agent, no destination), and says so.
expect 4 "nobody may not evacuate" as_nobody "$srvmctl" evacuate test:///default "$nowhere"
stderr_has "cannot migrate domain 'test'"
expect 2 "evacuate: an option srvmd rejects is a usage error" "$srvmctl" evacuate test:///default "$nowhere" --bond a/b
stderr_has "not a valid interface name"
expect 1 "evacuate: the job fails" "$srvmctl" evacuate test:///default "$nowhere" --concurrency 2 \
        --migrate-uri tcp://127.0.0.1:1
stdout_has "^Evacuating 1 domain from test:///default to $nowhere, at most 2 at a time.$"
stdout_has "^test: job [0-9]* started$"
stdout_has "^test: job [0-9]* failed, VM downtime n/a, wall time [0-9.]* s: Domain 'test': preflight failed: .*cannot connect to the destination's libvirt"
stdout_has "^0 of 1 domain evacuated in [0-9]*\.[0-9]\{3\} s; 1 failed: test (job [0-9]*, failed).$"
job=$(sed -n 's/^test: job \([0-9]*\) started$/\1/p' "$dir/out")
expect 0 "  the job went to the destination asked for" "$srvmctl" show "$job" --json
stdout_has "\"destination_uri\":\"$nowhere\""
stdout_has '"migrate_uri":"tcp://127.0.0.1:1"'
expect 1 "evacuate --json" "$srvmctl" evacuate --json test:///default "$nowhere"
stdout_has '^\[{"id":[0-9]*,"domain":"test",.*"result":"failed"'
stderr_has "^test: job [0-9]* failed"

# The bus goes away (dbus-daemon restarted, or dead): srvmd must not run on deaf to srvmctl,
# but exit with a failure so that the service manager starts it again.
kill "$bus_pid"
bus_pid=
status=timeout
for _ in $(seq 100); do
        if ! kill -0 "$srvmd_pid" 2>/dev/null; then
                status=0
                wait "$srvmd_pid" || status=$?
                srvmd_pid=
                break
        fi
        sleep 0.1
done
case $status in
0) fail "srvmd exited with 0 when it lost the bus" ;;
timeout) fail "srvmd still runs 10 s after it lost the bus" ;;
*) pass "srvmd exits with $status when it loses the bus" ;;
esac
if grep -q "Lost the connection to the bus; exiting" "$dir/srvmd.log"; then
        pass "  and says why"
else
        fail "  without saying why"
fi

if [ "$failures" -ne 0 ]; then
        echo "test-bus: $failures failed; srvmd said:"
        cat "$dir/srvmd.log"
        exit 1
fi
echo "test-bus: all passed"
