#!/usr/bin/env bash
# docs/openapi.json checked against the server (tests/integration/api_openapi.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_openapi.py"
