#!/usr/bin/env bash
# Metrics count what was archived when the client went away before its
# answer (tests/integration/api_metrics_gone.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_metrics_gone.py"
