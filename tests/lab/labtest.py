# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the lab tests share: running the lab command, the 1 ms probe, srvmctl migrations, the
guest's bond as srvm-guest reports it, and the frame every test runs in (root, one lab test at
a time, lab up, logs saved, lab down)."""
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAB = HERE / "lab"
PHASES = ("preflight", "failover", "unplug", "migrate", "plug", "link", "failback")
MIGRATION_TIMEOUT_S = 300


def lab(*args, **kwargs):
    return subprocess.run([str(LAB), *args], **kwargs)


def lab_env():
    out = lab("env", check=True, capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = shlex.split(value)[0]
    return env


def other(host):
    return "B" if host == "A" else "A"


def start_probe(env, ip=None):
    """The 1 ms probe of the guest at ip (default: guest 1's)."""
    state = Path(env["SRVM_LAB_STATE"])
    output = state / "probe.json"
    output.unlink(missing_ok=True)
    probe = subprocess.Popen(["nsenter", f"--net={env['SRVM_LAB_NETNS']}", "python3",
                              str(HERE / "probe.py"), ip or env["SRVM_LAB_GUEST_IP"],
                              "--output", str(output)])
    # nsenter execs the probe: the same pid, which `lab down` stops if the test dies.
    (state / "probe.pid").write_text(f"{probe.pid}\n")
    return probe, output


def stop_probe(probe, output):
    probe.send_signal(signal.SIGTERM)
    probe.wait(timeout=30)
    return json.loads(output.read_text())


def migrate_command(src, dst, env):
    return ["ctl", src, "migrate", env["SRVM_LAB_DOMAIN"], env[f"SRVM_LAB_URI_{dst}"],
            "--migrate-uri", env[f"SRVM_LAB_MIGRATE_URI_{dst}"], "--wait", "--json"]


def migrate(src, dst, env, name="test"):
    """Run one srvmctl migration; return (job JSON or None, error text)."""
    cmd = migrate_command(src, dst, env)
    print(f"{name}: lab {' '.join(cmd)}", flush=True)
    try:
        run = lab(*cmd, capture_output=True, text=True, timeout=MIGRATION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"srvmctl did not return within {MIGRATION_TIMEOUT_S} s"
    sys.stderr.write(run.stderr)
    try:
        return json.loads(run.stdout), ""
    except ValueError:
        return None, f"srvmctl exited {run.returncode} without job JSON: {run.stdout.strip()}"


def evacuate(src, dst, env, name="test"):
    """Empty host src to dst with srvmctl evacuate; return (the lab domain's job JSON or None,
    error text). Its one domain must be the only one evacuated, and srvmctl must exit 0 when
    that job succeeded, 1 when it did not."""
    cmd = ["ctl", src, "evacuate", env[f"SRVM_LAB_URI_{src}"], env[f"SRVM_LAB_URI_{dst}"],
           "--migrate-uri", env[f"SRVM_LAB_MIGRATE_URI_{dst}"], "--json"]
    print(f"{name}: lab {' '.join(cmd)}", flush=True)
    try:
        run = lab(*cmd, capture_output=True, text=True, timeout=MIGRATION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"srvmctl evacuate did not return within {MIGRATION_TIMEOUT_S} s"
    sys.stderr.write(run.stderr)
    try:
        jobs = json.loads(run.stdout)
    except ValueError:
        return None, f"srvmctl evacuate exited {run.returncode} without JSON: {run.stdout.strip()}"
    if [j.get("domain") for j in jobs] != [env["SRVM_LAB_DOMAIN"]]:
        return None, f"srvmctl evacuate moved {[j.get('domain') for j in jobs]}, not [{env['SRVM_LAB_DOMAIN']!r}]"
    want = 0 if jobs[0].get("result") == "succeeded" else 1
    if run.returncode != want:
        return None, f"srvmctl evacuate exited {run.returncode} for a job that {jobs[0].get('result')}"
    return jobs[0], ""


# What srvmctl said the last time show_job() got no job, for the failure report.
last_show_error = ""


def show_job(host, job_id):
    """The job's JSON as the host's srvmd tells it, or None if it does not answer."""
    global last_show_error
    run = lab("ctl", host, "show", str(job_id), "--json", capture_output=True, text=True)
    try:
        return json.loads(run.stdout)
    except ValueError:
        last_show_error = f"exit {run.returncode}: {(run.stdout + run.stderr).strip()[:2000]}"
        return None


def diagnose(env, host, name):
    """Print what a stuck job leaves to look at: what srvmctl last said, whether the host's
    srvmd lives, its log's tail and every thread's stack (gdb, if the machine has it)."""
    d = Path(env["SRVM_LAB_STATE"]) / host.lower()
    print(f"{name}: diagnosis of host {host}: srvmctl show last said: {last_show_error or '(nothing)'}")
    try:
        pid = int((d / "srvmd.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError) as e:
        print(f"{name}: srvmd on {host} is not running: {e}")
        pid = None
    try:
        tail = (d / "srvmd.log").read_text(errors="replace").splitlines()[-60:]
        print(f"{name}: the last lines of {host}'s srvmd log:\n    " + "\n    ".join(tail))
    except OSError as e:
        print(f"{name}: no srvmd log on {host}: {e}")
    kernel = subprocess.run(["dmesg"], capture_output=True, text=True, errors="replace").stdout
    crashes = [line for line in kernel.splitlines() if "srvmd" in line or "segfault" in line][-10:]
    print(f"{name}: the kernel on crashes: " + ("\n    " + "\n    ".join(crashes) if crashes else "nothing"))
    if pid and shutil.which("gdb"):
        run = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                             capture_output=True, text=True, timeout=120)
        stacks = [line for line in run.stdout.splitlines() if line.startswith(("#", "Thread"))]
        print(f"{name}: srvmd's threads on {host}:\n    " + "\n    ".join(stacks))


def wait_job(host, job_id, until, timeout_s=MIGRATION_TIMEOUT_S, poll_s=0.05):
    """Poll the job until until(job) holds; return the job, or None after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = show_job(host, job_id)
        if job is not None and until(job):
            return job
        time.sleep(poll_s)
    return None


def bond_status(host, env):
    """srvm-guest's view of bond0, asked through the guest agent on the given host."""
    run = subprocess.run([str(HERE / "guest-exec"), env[f"SRVM_LAB_URI_{host}"],
                          env["SRVM_LAB_DOMAIN"], "/usr/sbin/srvm-guest", "status",
                          "--bond", "bond0"], capture_output=True, text=True, timeout=60)
    try:
        return json.loads(run.stdout.splitlines()[0])
    except (ValueError, IndexError):
        return {"error": (run.stdout + run.stderr).strip()}


def active_driver(status):
    for slave in status.get("slaves", []):
        if slave.get("active"):
            return slave.get("driver")
    return None


def check_vf_active(host, env, failures, after):
    """The bond's active slave on host is that host's VF model (e1000e, or on B the model of
    `lab up --vf-model-b`)."""
    status = bond_status(host, env)
    driver = active_driver(status)
    model = env.get(f"SRVM_LAB_VF_MODEL_{host}", "e1000e")
    print(f"bond0 on {host}: active {status.get('active_slave')} ({driver})")
    if driver != model:
        failures.append(f"after {after}: bond0's active slave on {host} is not the {model}: "
                        f"{json.dumps(status)}")


def print_job(name, job):
    print(f"{name}: {job.get('result')}, vm_downtime_ms {job.get('vm_downtime_ms')}, "
          f"standby_ms {job.get('standby_ms')}")
    for p in job.get("phases", []):
        print(f"    {p.get('name'):<18} {p.get('duration_us', 0) / 1000:>9.1f} ms  {p.get('result')}")
    for command, a in job.get("agent", {}).items():
        count = a.get("count", 0)
        print(f"    agent {command:<18} {count:>3} x, mean {a.get('total_ms', 0) / max(count, 1):.1f} ms, "
              f"max {a.get('max_ms', 0):.1f} ms")
    for e in job.get("events", []):
        print(f"    event: {e.get('message')}")


def phase_windows(jobs, names):
    return [(p["start_us"], p["start_us"] + p["duration_us"])
            for job in jobs for p in job.get("phases", [])
            if p.get("name") in names and "start_us" in p and "duration_us" in p]


def lost_by_phase(report, jobs):
    """How many lost probes fell into each phase (or between jobs)."""
    counts = {}
    for probe in report["lost_probes"]:
        where = "between jobs"
        for job in jobs:
            for p in job.get("phases", []):
                if p.get("start_us", 0) <= probe["send_us"] <= p.get("start_us", 0) + p.get("duration_us", 0):
                    where = p["name"]
        counts[where] = counts.get(where, 0) + 1
    return counts


def check_probe(report, jobs, failures, max_lost_outside, pause_phases=("migrate",)):
    """At most max_lost_outside probes lost outside the phases that hold the VM pause."""
    windows = phase_windows(jobs, pause_phases)
    outside = [p for p in report["lost_probes"]
               if not any(lo <= p["send_us"] <= hi for lo, hi in windows)]
    print(f"probe: sent {report['sent']}, lost {report['lost']}, lost outside "
          f"{'/'.join(pause_phases)} {len(outside)}, longest gap {report['longest_gap_ms']} ms")
    print("probe: lost by phase: " + ", ".join(
        f"{name} {n}" for name, n in sorted(lost_by_phase(report, jobs).items())))
    if len(outside) > max_lost_outside:
        failures.append(f"probe: {len(outside)} probes lost outside the {'/'.join(pause_phases)} "
                        f"phases (at most {max_lost_outside} allowed)")
    if report["sent"] == 0:
        failures.append("probe: sent nothing")


def domain_host(env):
    """The host the domain runs on: A on a fresh lab, B if a kept lab was left there."""
    for host in ("A", "B"):
        run = subprocess.run(["virsh", "-c", env[f"SRVM_LAB_URI_{host}"], "domstate",
                              env["SRVM_LAB_DOMAIN"]], capture_output=True, text=True)
        if run.stdout.strip() == "running":
            return host
    return None


def save_artifacts(env, dest, name):
    state = Path(env["SRVM_LAB_STATE"])
    for path in state.rglob("*"):
        rel = path.relative_to(state)
        if path.is_file() and path.suffix in (".log", ".json") and rel.parts[1:2] != ("run",):
            (dest / name / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / name / rel)
    print(f"{name}: logs in {dest / name}")


# The guest kernel's own word that a virtqueue it shares with QEMU was corrupted: a used
# descriptor that it never made available. Guests died so, or rebooted as they arrived, when
# QEMU 7.2 under TCG lost their writes during a migration; tests/lab/qemu-lab works around that
# QEMU bug (tests/lab/README.md). Either now fails the test it happens in.
VIRTQUEUE_CORRUPTION = re.compile(r"virtio\S* virtio\d+: [\w.]+:id \d+ (?:is not a head!|out of range)")
# The guest kernel's word that it hit a fault: a BUG, an oops, a protection fault, a panic (a
# guest whose memory went stale in a migration says one of these first).
KERNEL_FAULT = re.compile(r"\] (?:BUG: |Oops: |general protection fault|Kernel panic)")
BOOT_BANNER = "] Linux version "
REBOOT = "it rebooted by itself"


def guest_died(env):
    """Whether the guest's kernel died during this lab's life, from its console: a corrupted
    virtqueue, or a reboot nobody asked for (a panic or a triple fault; the lab's guests
    restart on reboot, so the console keeps both lives). Returns (what, its last words) or
    None."""
    try:
        console = (Path(env["SRVM_LAB_STATE"]) / "guest-console.log").read_text(errors="replace")
    except OSError:
        return None
    lines = console.splitlines()
    for i, line in enumerate(lines):
        if VIRTQUEUE_CORRUPTION.search(line):
            return "its kernel says a virtqueue was corrupted", lines[max(0, i - 5):i + 15]
        if KERNEL_FAULT.search(line):
            return "its kernel hit a fault", lines[max(0, i - 5):i + 15]
    banners = 0
    for i, line in enumerate(lines):
        if line.startswith("--- lab: "):
            banners = 0  # a guest the lab created anew
        elif BOOT_BANNER in line:
            banners += 1
            if banners > 1:
                return REBOOT, lines[max(0, i - 20):i + 1]
    return None


def run(name, body, up_args=()):
    """Run body(env, failures) in a lab of its own: root, the lab's test lock, lab up (with
    up_args); then the logs saved (SRVM_LAB_ARTIFACTS=DIR) and the lab down (unless
    SRVM_LAB_KEEP=1). A guest that died during the run (see guest_died) fails the test, which
    prints the guest's last console lines. The test runs once. Returns the exit code: 0 pass,
    1 fail, 77 skip."""
    if os.geteuid() != 0:
        print(f"{name}: SKIP: the lab needs root")
        return 77
    env = lab_env()
    # Two runs of lab tests (two build dirs' `meson test`) would fight over the one lab.
    lock = open(env["SRVM_LAB_STATE"] + ".test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    failures = []
    try:
        if lab("up", *up_args).returncode != 0:
            failures.append("lab up failed")
        else:
            env = lab_env()  # up may have changed it (--vf-model-b)
            if domain_host(env) is None:
                failures.append(f"{env['SRVM_LAB_DOMAIN']} runs on neither host")
            else:
                body(env, failures)
            died = guest_died(env)
            if died:
                failures.append(f"the guest died during the test: {died[0]}")
                print(f"{name}: the guest died: {died[0]}; its console:\n    " + "\n    ".join(died[1]), flush=True)
    finally:
        if os.environ.get("SRVM_LAB_ARTIFACTS"):
            save_artifacts(env, Path(os.environ["SRVM_LAB_ARTIFACTS"]), name)
        if os.environ.get("SRVM_LAB_KEEP") != "1":
            lab("down")
    for failure in failures:
        print(f"{name}: FAIL: {failure}", file=sys.stderr)
    print(f"{name}: " + ("FAIL" if failures else "PASS"))
    return 1 if failures else 0


# --- what the stress targets share (tests/lab/repro-plain, tests/lab/stress) ------------------

class ConsoleWatch:
    """Reads a guest's console log as it grows and says what its kernel said since the last
    look: a corrupted virtqueue or a kernel fault, or a boot (after the first one the lab saw: a reboot nobody
    asked for)."""

    def __init__(self, path):
        self.path = Path(path)
        self.offset = 0
        self.boots = 0
        # The 20 lines before the first reboot news() found, and its boot line.
        self.context = []

    def news(self):
        """(signature lines, reboot lines) written since the last call."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return [], []
        # Only whole lines: a line still being written is read next time.
        end = data.rfind(b"\n") + 1
        self.offset += end
        corrupt, reboots = [], []
        lines = data[:end].decode(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("--- lab: "):
                self.boots = 0
            elif BOOT_BANNER in line:
                self.boots += 1
                if self.boots > 1:
                    if not reboots:
                        self.context = lines[max(0, i - 20):i + 1]
                    reboots.append(line)
            elif VIRTQUEUE_CORRUPTION.search(line) or KERNEL_FAULT.search(line):
                corrupt.append(line)
        return corrupt, reboots


def guest_answers(env, host, domain, ip, timeout_s=15):
    """'' if domain runs on host and answers ping and the agent's guest-ping within timeout_s,
    else what did not."""
    deadline = time.monotonic() + timeout_s
    what = ""
    while time.monotonic() < deadline:
        state = subprocess.run(["virsh", "-c", env[f"SRVM_LAB_URI_{host}"], "domstate", domain],
                               capture_output=True, text=True).stdout.strip()
        if state != "running":
            what = f"domstate on {host} is {state or 'unknown'!r}"
        elif subprocess.run(["nsenter", f"--net={env['SRVM_LAB_NETNS']}", "ping", "-c", "1", "-W", "1", ip],
                            capture_output=True).returncode != 0:
            what = f"{ip} does not answer ping"
        elif subprocess.run(["virsh", "-c", env[f"SRVM_LAB_URI_{host}"], "qemu-agent-command", "--timeout", "5",
                             domain, '{"execute":"guest-ping"}'], capture_output=True).returncode != 0:
            what = "the guest agent does not answer"
        else:
            return ""
        time.sleep(0.5)
    return what


class HostLoad:
    """N busy loops (the host's other work: compilers on the same cores), and a command run
    every interval_s (the polling of a test that waits on a job), until stop()."""

    def __init__(self, busy=0, poll=None, interval_s=0.05):
        self.busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(busy)]
        self.poll = poll
        self.interval_s = interval_s
        self.polls = 0
        self.stopping = False
        self.thread = None
        if poll:
            import threading
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()

    def _poll(self):
        while not self.stopping:
            subprocess.run(self.poll(), capture_output=True)
            self.polls += 1
            time.sleep(self.interval_s)

    def stop(self):
        self.stopping = True
        for p in self.busy:
            p.kill()
            p.wait()
        if self.thread:
            self.thread.join(timeout=30)


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def distribution(values):
    """'min/median/p90/max' of values (ms), or 'none'."""
    if not values:
        return "none"
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]
    return f"{v[0]:.0f}/{pick(0.5):.0f}/{pick(0.9):.0f}/{v[-1]:.0f} ms"


def save_death(env, console, what):
    """Copy the console of a guest that died, and both hosts' QEMU logs, to
    ./<what>.log (the lab's state goes with `lab down`); return that path."""
    state = Path(env["SRVM_LAB_STATE"])
    out = Path.cwd() / f"{what}.log"
    parts = [console] + sorted(state.glob("[ab]/log/qemu/*.log"))
    with open(out, "w") as f:
        for path in parts:
            f.write(f"===== {path}\n")
            try:
                f.write(Path(path).read_text(errors="replace"))
            except OSError as e:
                f.write(f"({e})\n")
    return out
