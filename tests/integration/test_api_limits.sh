#!/usr/bin/env bash
# Connection, idle, request-time and backlog limits (tests/integration/api_limits.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_limits.py"
