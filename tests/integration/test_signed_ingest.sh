#!/usr/bin/env bash
# Signed generic ingest (Ed25519 and HMAC) against the real daemon
# (tests/integration/signed_ingest.py; python3-nacl signs).
set -euo pipefail
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$(dirname "$0")/signed_ingest.py"
