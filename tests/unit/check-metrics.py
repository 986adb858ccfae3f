#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parse srvmd's metrics text (standard input) with the Prometheus client's own parser and check
what a scrape must hold: every family srvmd promises, with its type, and histograms whose
buckets are cumulative and end in +Inf equal to _count. Exits 1 and says why otherwise."""
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

# The parser names a counter's family without its _total suffix.
EXPECTED = {
    "srvm_build_info": "gauge",
    "srvm_migrations": "counter",
    "srvm_migration_paths": "counter",
    "srvm_migrations_active": "gauge",
    "srvm_migrations_queued": "gauge",
    "srvm_migration_phase_duration_seconds": "histogram",
    "srvm_migration_vm_downtime_seconds": "histogram",
    "srvm_migration_standby_seconds": "histogram",
    "srvm_rollbacks": "counter",
    "srvm_agent_request_duration_seconds": "histogram",
    "srvm_checks": "counter",
    "srvm_libvirt_connected": "gauge",
    "srvm_jobs_degraded": "gauge",
    "srvm_policy_reload_success": "gauge",
    "srvm_policy_reload_timestamp_seconds": "gauge",
    "srvm_vfs": "gauge",
    "srvm_vfs_updated_timestamp_seconds": "gauge",
    "process_cpu_seconds": "counter",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
}


def check_histogram(family):
    series = {}
    for s in family.samples:
        labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        h = series.setdefault(labels, {"buckets": [], "count": None, "sum": None})
        if s.name.endswith("_bucket"):
            h["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            h["count"] = s.value
        elif s.name.endswith("_sum"):
            h["sum"] = s.value
    for labels, h in series.items():
        where = f"{family.name}{dict(labels)}"
        bounds = [b for b, _ in h["buckets"]]
        counts = [c for _, c in h["buckets"]]
        if not bounds or bounds[-1] != math.inf:
            return f"{where}: no +Inf bucket"
        if bounds != sorted(bounds) or counts != sorted(counts):
            return f"{where}: buckets not cumulative"
        if h["count"] != counts[-1] or h["sum"] is None:
            return f"{where}: _count {h['count']} != +Inf bucket {counts[-1]}, or no _sum"
    return None


def main():
    text = sys.stdin.read()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in EXPECTED.items():
        if name not in families:
            sys.exit(f"check-metrics: family {name} missing")
        if families[name].type != kind:
            sys.exit(f"check-metrics: {name} is a {families[name].type}, not a {kind}")
    for f in families.values():
        if f.type == "histogram":
            err = check_histogram(f)
            if err:
                sys.exit(f"check-metrics: {err}")
    info = families["srvm_build_info"].samples
    if len(info) != 1 or info[0].value != 1 or "version" not in info[0].labels:
        sys.exit("check-metrics: srvm_build_info is not one sample of 1 with a version")
    print(f"check-metrics: {len(families)} families, "
          f"{sum(len(f.samples) for f in families.values())} samples parsed")


if __name__ == "__main__":
    main()
