#!/usr/bin/env bash
# Unknown Matrix AS requests get M_UNRECOGNIZED (tests/integration/api_matrix_errors.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_matrix_errors.py"
