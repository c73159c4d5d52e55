#!/usr/bin/env bash
# SIGKILL during concurrent ingest: nothing acknowledged is lost or doubled
# (tests/integration/api_crash.py; API_CRASH_ROUNDS for longer runs).
set -euo pipefail
exec python3 "$(dirname "$0")/api_crash.py"
