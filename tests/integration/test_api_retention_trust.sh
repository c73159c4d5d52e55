#!/usr/bin/env bash
# Legal holds on exact ids (an IPv6-literal Matrix room) and patterns, the
# counts of what they cover, and four eyes for every change that can delete
# sooner, over HTTP (tests/integration/api_retention_trust.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_retention_trust.py"
