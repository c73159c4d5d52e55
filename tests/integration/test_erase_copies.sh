#!/usr/bin/env bash
# An erased record is gone everywhere: derived records (edits, reactions,
# quoting replies), export and transfer packages, expiry, encryption at
# rest, the evidence record of a signed request, records of kind other
# (tests/integration/erase_copies.py).
set -euo pipefail
exec python3 "$(dirname "$0")/erase_copies.py"
