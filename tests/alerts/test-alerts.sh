#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The alert rules srvm ships: promtool finds them valid, and its rule unit tests
# (srvm.rules.test.yml) see each alert fire when it should and stay quiet otherwise.
#
# Usage: test-alerts.sh RULES_FILE TEST_FILE   (exit 77: skipped)
set -euo pipefail

command -v promtool >/dev/null || { echo "test-alerts: no promtool (Debian's prometheus; tests/install-deps installs it); skipped"; exit 77; }
rules=$(realpath "$1")
tests=$(realpath "$2")

promtool check rules "$rules"
# The test file names the rules relative to itself.
cd "$(dirname "$tests")"
promtool test rules "$(basename "$tests")"
