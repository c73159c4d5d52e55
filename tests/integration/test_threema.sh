#!/usr/bin/env bash
# The Threema Gateway callback against the real daemon, with NaCl boxes from
# Debian's python3-nacl (tests/integration/threema_gw.py).
set -euo pipefail
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$(dirname "$0")/threema_gw.py"
