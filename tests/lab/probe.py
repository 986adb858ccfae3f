#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The lab's loss probe: one ICMP echo request every millisecond to the guest, from inside the
lab's network namespace, over a raw socket (root). Each probe's send time is taken on
CLOCK_MONOTONIC in microseconds, the clock srvmd stamps its phases with, so a lost probe can
be placed in the phase it fell into. Runs until SIGTERM/SIGINT or --max-seconds, waits a
moment for late replies, then writes JSON:

  {"target", "interval_ms", "start_us", "end_us", "sent", "answered", "lost",
   "lost_probes": [{"seq", "send_us"}], "longest_gap_ms"}

longest_gap_ms is the longest time between the send times of two consecutive answered
probes: how long, at worst, nothing got through.
"""
import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time

LATE_REPLY_GRACE_S = 0.3


def now_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def echo_request(ident, seq):
    # The full 32-bit sequence number rides in the payload: the ICMP field wraps after 65 s.
    payload = struct.pack("!I", seq) + b"srvm-lab-probe"
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF)
    return struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq & 0xFFFF) + payload


def parse_reply(packet, ident):
    """The probe's 32-bit sequence number if packet (IP header included) is our echo reply."""
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 12:
        return None
    kind, _, _, rid, _ = struct.unpack("!BBHHH", icmp[:8])
    if kind != 0 or rid != ident:
        return None
    return struct.unpack("!I", icmp[8:12])[0]


class Probe:
    def __init__(self, target, interval_ms):
        self.target = target
        self.interval_us = int(interval_ms * 1000)
        self.ident = os.getpid() & 0xFFFF
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.setblocking(False)
        self.send_us = []       # index: sequence number
        self.answered = set()
        self.stopping = False

    def receive_pending(self):
        while True:
            try:
                packet = self.sock.recv(2048)
            except BlockingIOError:
                return
            seq = parse_reply(packet, self.ident)
            if seq is not None and seq < len(self.send_us):
                self.answered.add(seq)

    def send_one(self):
        seq = len(self.send_us)
        self.send_us.append(now_us())
        try:
            self.sock.sendto(echo_request(self.ident, seq), (self.target, 0))
        except OSError:
            pass  # counted as lost: the guest was unreachable

    def run(self, max_seconds):
        start = now_us()
        next_send = start
        deadline = start + int(max_seconds * 1e6)
        while not self.stopping and now_us() < deadline:
            t = now_us()
            if t >= next_send:
                self.send_one()
                # Keep the 1 ms grid; after a stall, do not burst to catch up.
                next_send = max(next_send + self.interval_us, t)
            timeout = max(0, next_send - now_us()) / 1e6
            readable, _, _ = select.select([self.sock], [], [], timeout)
            if readable:
                self.receive_pending()
        end = now_us()
        grace_end = time.monotonic() + LATE_REPLY_GRACE_S
        while time.monotonic() < grace_end:
            select.select([self.sock], [], [], 0.05)
            self.receive_pending()
        return start, end

    def report(self, start, end):
        lost = [s for s in range(len(self.send_us)) if s not in self.answered]
        answered = sorted(self.answered)
        longest_gap_us = 0
        for a, b in zip(answered, answered[1:]):
            longest_gap_us = max(longest_gap_us, self.send_us[b] - self.send_us[a])
        return {
            "target": self.target,
            "interval_ms": self.interval_us / 1000,
            "start_us": start,
            "end_us": end,
            "sent": len(self.send_us),
            "answered": len(self.answered),
            "lost": len(lost),
            "lost_probes": [{"seq": s, "send_us": self.send_us[s]} for s in lost],
            "longest_gap_ms": round(longest_gap_us / 1000, 3),
        }


def main():
    parser = argparse.ArgumentParser(description="1 ms ICMP loss probe for the srvm lab")
    parser.add_argument("target", help="IPv4 address to probe")
    parser.add_argument("--output", "-o", required=True, help="where to write the JSON report")
    parser.add_argument("--interval-ms", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()

    probe = Probe(args.target, args.interval_ms)

    def stop(signum, frame):
        probe.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    start, end = probe.run(args.max_seconds)
    report = probe.report(start, end)
    tmp = args.output + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.replace(tmp, args.output)
    print(f"probe: sent {report['sent']}, lost {report['lost']}, "
          f"longest gap {report['longest_gap_ms']} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
