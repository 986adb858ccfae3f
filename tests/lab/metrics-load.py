#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Load on a metrics endpoint on the loopback, run inside the lab's namespace, for SECONDS: HOLD
connections opened from 127.0.0.2 and left idle, CLIENTS clients from 127.0.0.3 that each send
GET /metrics and read the answer again and again, and one client from 127.0.0.4 that trickles
its request a byte every 100 ms: a flood, a scraper and a slow client, each from an address of
its own, as they would come. Prints one JSON line: answers, refusals, errors, and how many idle
connections were accepted. ROLE runs a part only: `flood` the idle connections and the slow
client, `scrape` the clients; srvmd shares its connections out per local user, so a test runs
the flood as another user than the scrapers. Default: `all`.

usage: metrics-load.py HOST PORT SECONDS HOLD CLIENTS [all|flood|scrape]"""
import json
import socket
import sys
import threading
import time


def hammer(host, port, deadline, counts, lock):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=5, source_address=("127.0.0.3", 0)) as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                head = s.recv(64)
                while s.recv(65536):
                    pass
            key = "ok" if head.startswith(b"HTTP/1.1 200") else "other"
        except ConnectionRefusedError:
            key = "refused"
        except OSError:
            key = "error"
        with lock:
            counts[key] = counts.get(key, 0) + 1


def trickle(host, port, deadline, counts, lock):
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        with socket.create_connection((host, port), timeout=5, source_address=("127.0.0.4", 0)) as s:
            for byte in request:
                if time.monotonic() >= deadline:
                    break
                s.sendall(bytes([byte]))
                time.sleep(0.1)
        key = "trickled"
    except OSError:
        key = "trickle_dropped"  # the server may hang up on it: that is its right
    with lock:
        counts[key] = counts.get(key, 0) + 1


def hold(host, port, n, counts):
    held = []
    for _ in range(n):
        try:
            held.append(socket.create_connection((host, port), timeout=2, source_address=("127.0.0.2", 0)))
        except OSError:
            counts["hold_refused"] = counts.get("hold_refused", 0) + 1
    counts["held"] = len(held)
    return held


def main():
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    n_hold, n = int(sys.argv[4]), int(sys.argv[5])
    role = sys.argv[6] if len(sys.argv) > 6 else "all"
    if role not in ("all", "flood", "scrape"):
        sys.exit(f"metrics-load.py: unknown role {role!r}")
    deadline = time.monotonic() + seconds
    counts, lock = {}, threading.Lock()
    held, threads = [], []
    if role != "scrape":
        held = hold(host, port, n_hold, counts)
        threads.append(threading.Thread(target=trickle, args=(host, port, deadline, counts, lock)))
    if role != "flood":
        threads += [threading.Thread(target=hammer, args=(host, port, deadline, counts, lock)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in held:
        s.close()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
