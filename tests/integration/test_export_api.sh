#!/usr/bin/env bash
# Exports over the HTTP API (tests/integration/export_api.py).
set -euo pipefail
exec python3 "$(dirname "$0")/export_api.py"
