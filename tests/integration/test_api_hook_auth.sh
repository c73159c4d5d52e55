#!/usr/bin/env bash
# A hook's 401 does not tell which sources exist (tests/integration/api_hook_auth.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_hook_auth.py"
