# SPDX-License-Identifier: LGPL-2.1-or-later
"""srvmd-sim on a bus of its own: a private dbus-daemon, a fresh state and policy directory, and
metrics on a free port. Shared by the bus suite's test-bus-sim and tests/bench/bench-control.
Needs /usr/bin/python3 with Debian's python3-dbus."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import dbus

NAME = "org.srvm.srvm1"
PATH = "/org/srvm/srvm1"
MANAGER = "org.srvm.srvm1.Manager"
JOB = "org.srvm.srvm1.Job"
PROPERTIES = "org.freedesktop.DBus.Properties"
PHASES = ["preflight", "failover", "unplug", "migrate", "plug", "link", "failback"]
# srvmd answers scrapes within this long of a render with that render (METRICS_HTTP_CACHE_USEC).
METRICS_CACHE_S = 1.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimDaemon:
    """One srvmd-sim and its bus. start() brings both up and waits until srvmd-sim owns its
    name and serves metrics; stop() ends them and removes the directory unless keep."""

    def __init__(self, srvmd_sim, scale, workdir=None, monitor=False, keep=False, max_migrations=None,
                 extra_args=()):
        self.srvmd_sim = srvmd_sim
        self.max_migrations = max_migrations
        self.extra_args = list(extra_args)
        self.scale = scale
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="srvm-sim.", dir=workdir)
        self.address = "unix:path=%s/bus" % self.dir
        self.port = free_port()
        self.metrics_url = "http://127.0.0.1:%d/metrics" % self.port
        self.log_path = os.path.join(self.dir, "srvmd-sim.log")
        self.signals_path = os.path.join(self.dir, "signals")
        self.want_monitor = monitor
        self.bus_pid = None
        self.proc = None
        self.monitor = None
        self.last_scrape = 0.0

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=10):
        os.makedirs(os.path.join(self.dir, "policies"))
        out = subprocess.run(["dbus-daemon", "--session", "--address=" + self.address, "--fork", "--print-pid"],
                             check=True, capture_output=True, text=True).stdout
        self.bus_pid = int(out.split()[0])
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        env.pop("JOURNAL_STREAM", None)
        if self.want_monitor:
            self.monitor = subprocess.Popen(["dbus-monitor", "--address", self.address,
                                             "type='signal',sender='%s'" % NAME],
                                            stdout=open(self.signals_path, "w"), stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while "member=NameLost" not in self.signals():
                if time.monotonic() > deadline:
                    raise RuntimeError("dbus-monitor did not start")
                time.sleep(0.02)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([self.srvmd_sim, "--user", "--state-dir", os.path.join(self.dir, "state"),
                                          "--policy-dir", os.path.join(self.dir, "policies"),
                                          "--metrics-listen", "127.0.0.1:%d" % self.port,
                                          "--sim-scale", str(self.scale)] +
                                         (["--max-migrations", str(self.max_migrations)]
                                          if self.max_migrations else []) + self.extra_args,
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        conn = self.connect()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("srvmd-sim exited with %d: %s" % (self.proc.returncode, self.log()))
            try:
                if conn.name_has_owner(NAME):
                    self.scrape()
                    break
            except (OSError, dbus.DBusException):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("srvmd-sim did not come up: " + self.log())
            time.sleep(0.02)
        conn.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.monitor:
            self.monitor.terminate()
            self.monitor.wait()
        if self.bus_pid:
            try:
                os.kill(self.bus_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def signals(self):
        with open(self.signals_path, errors="replace") as f:
            return f.read()

    def connect(self):
        """A connection of its own (python-dbus calls block; one per thread)."""
        return dbus.bus.BusConnection(self.address)

    def scrape(self, timeout=10):
        self.last_scrape = time.monotonic()
        with urllib.request.urlopen(self.metrics_url, timeout=timeout) as r:
            return r.read().decode()

    def scrape_fresh(self):
        """A scrape srvmd renders anew: past the time it answers with its last render."""
        wait = self.last_scrape + METRICS_CACHE_S + 0.1 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return self.scrape()

    def cpu_seconds(self):
        """srvmd-sim's user + system CPU time so far."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status_kib(self, key):
        """A /proc/PID/status figure: VmHWM (peak RSS), VmRSS in KiB; Threads."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)


def manager(conn):
    return dbus.Interface(conn.get_object(NAME, PATH, introspect=False), MANAGER)


def migrate(mgr, domain, destination="qemu+tcp://sim-b/system"):
    return str(mgr.Migrate(domain, destination, dbus.Dictionary({}, signature="sv")))


def active_jobs(conn):
    return int(conn.get_object(NAME, PATH, introspect=False).Get(MANAGER, "ActiveJobs", dbus_interface=PROPERTIES))


def job_property(conn, path, prop):
    return conn.get_object(NAME, path, introspect=False).Get(JOB, prop, dbus_interface=PROPERTIES)


def metric(text, name):
    """A sample's value from the Prometheus text, by its full name with labels; None if absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None
