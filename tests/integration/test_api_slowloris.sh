#!/usr/bin/env bash
# Slow clients cannot starve the daemon: connection and per-address limits
# and a header timeout (tests/integration/api_slowloris.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_slowloris.py"
