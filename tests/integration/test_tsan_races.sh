#!/usr/bin/env bash
# Concurrent searches with different sort orders, export jobs and a
# transfer at once (tests/integration/tsan_races.py); the ThreadSanitizer
# pass (make TSAN=1 test-tsan) runs it to catch shared sort state.
set -euo pipefail
exec python3 "$(dirname "$0")/tsan_races.py"
