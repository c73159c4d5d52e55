#!/usr/bin/env bash
# SIGTERM finishes in-flight requests (tests/integration/api_shutdown.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_shutdown.py"
