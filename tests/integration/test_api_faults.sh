#!/usr/bin/env bash
# Disk full and failed fsync under the daemon (tests/integration/api_faults.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_faults.py"
