#!/usr/bin/env bash
# The Matrix Application Service API against the real daemon (tests/integration/matrix_as.py).
set -euo pipefail
exec python3 "$(dirname "$0")/matrix_as.py"
