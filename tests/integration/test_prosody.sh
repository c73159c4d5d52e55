#!/usr/bin/env bash
# The real Prosody with etc/prosody/mod_custos.lua and slixmpp clients
# (tests/integration/prosody_e2e.py). Uses the Debian python3, which has
# python3-slixmpp; skips (exit 0, "skipped: ...") only if Prosody cannot run.
set -euo pipefail
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec timeout 120 "$py" "$(dirname "$0")/prosody_e2e.py"
