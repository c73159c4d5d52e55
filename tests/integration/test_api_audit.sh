#!/usr/bin/env bash
# The audit trail tells the truth: repeated and non-UTF-8 parameters are
# refused and recorded as received, every answer to a person is audited
# (tests/integration/api_audit.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_audit.py"
