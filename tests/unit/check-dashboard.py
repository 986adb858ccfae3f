#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Grafana dashboard: every selector honours $job and $instance, the job families count
migrations only (kind="migrate"), a table panel's queries return tables, and every metric it
names is one srvmd exports (check-metrics.py's list).

Usage: check-dashboard.py DASHBOARD_JSON CHECK_METRICS_PY"""
import json
import os
import re
import runpy
import sys

KINDED = ("srvm_migrations_total", "srvm_rollbacks_total", "srvm_migration_phase_duration_seconds",
          "srvm_migration_standby_seconds")


def main():
    dashboard = json.load(open(sys.argv[1]))
    expected = runpy.run_path(sys.argv[2], run_name="check_metrics")["EXPECTED"]
    known = set()
    for name, kind in expected.items():
        known.add(name + "_total" if kind == "counter" else name)
    failures = []
    for panel in dashboard["panels"]:
        for t in panel.get("targets", []):
            expr = t["expr"]
            for m in re.finditer(r"([a-z_]+)\{([^}]*)\}", expr):
                name, labels = m.group(1), m.group(2)
                if '$job' not in labels or '$instance' not in labels:
                    failures.append("panel %r: %s{%s} ignores $job or $instance" % (panel["title"], name, labels))
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if base not in known and name not in known:
                    failures.append("panel %r: %s is no metric srvmd exports" % (panel["title"], name))
                if base.startswith(KINDED) and 'kind="migrate"' not in labels:
                    failures.append("panel %r: %s counts every kind of job" % (panel["title"], name))
            if panel["type"] == "table" and t.get("format") != "table":
                failures.append("table panel %r: query %s is not format table" % (panel["title"], t["refId"]))
    for f in failures:
        print("FAIL: " + f)
    print("check-dashboard: %s" % ("all passed" if not failures else "%d failed" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
