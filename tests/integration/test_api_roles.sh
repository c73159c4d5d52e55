#!/usr/bin/env bash
# Every endpoint against every role and no token (tests/integration/api_roles.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_roles.py"
