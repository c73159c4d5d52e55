#!/usr/bin/env bash
# Who sees which records, on every route that reads them
# (tests/integration/api_visibility.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_visibility.py"
