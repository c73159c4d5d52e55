#!/usr/bin/env bash
# The HTTP API end to end against the real daemon (tests/integration/api_basic.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_basic.py"
