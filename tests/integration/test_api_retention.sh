#!/usr/bin/env bash
# Retention and legal holds over HTTP, and the daemon's retention scheduler
# (tests/integration/api_retention.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_retention.py"
