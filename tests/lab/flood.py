#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Flood srvmd's reads open to everyone: THREADS threads, each with a bus connection of its own
to BUS, call ListDomains, ListVFs and twice GetDomainPolicy (of a domain named anew each time,
so that these reads cannot be shared) in turn, as fast as srvmd answers, until stdin closes. Then
print {"ok", "limits", "other", "other_errors"} as JSON: calls answered, calls refused with
org.freedesktop.DBus.Error.LimitsExceeded, and calls that failed otherwise (the first few
errors). Meant to run as an unprivileged user.

Usage: flood.py BUS THREADS"""
import json
import sys
import threading

import dbus

NAME, PATH, MANAGER = "org.srvm.srvm1", "/org/srvm/srvm1", "org.srvm.srvm1.Manager"
LIMITS = "org.freedesktop.DBus.Error.LimitsExceeded"


def main():
    bus, n = sys.argv[1], int(sys.argv[2])
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"ok": 0, "limits": 0, "other": 0, "other_errors": [], "limits_said": ""}

    def flood(t):
        conn = dbus.bus.BusConnection(bus)
        mgr = dbus.Interface(conn.get_object(NAME, PATH, introspect=False), MANAGER)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 4 == 0:
                    mgr.ListDomains(timeout=60)
                elif i % 4 == 1:
                    mgr.ListVFs(timeout=60)
                else:
                    mgr.GetDomainPolicy("flood-%d-%d" % (t, i), timeout=60)
                key = "ok"
            except dbus.DBusException as e:
                if e.get_dbus_name() == LIMITS:
                    key = "limits"
                    with lock:
                        counts["limits_said"] = e.get_dbus_message()
                elif e.get_dbus_name() == "org.srvm.srvm1.Error.NoSuchPolicy":
                    key = "ok"  # an answer: there is no such domain
                else:
                    key = "other"
                    with lock:
                        if len(counts["other_errors"]) < 3:
                            counts["other_errors"].append(str(e))
            with lock:
                counts[key] += 1
        conn.close()

    threads = [threading.Thread(target=flood, args=(t,), daemon=True) for t in range(n)]
    for t in threads:
        t.start()
    sys.stdin.read()
    stop.set()
    for t in threads:
        t.join(timeout=70)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
