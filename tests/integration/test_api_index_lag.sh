#!/usr/bin/env bash
# The search index's lag stays bounded under full-speed HTTP ingest
# (tests/integration/api_index_lag.py).
set -euo pipefail
exec python3 "$(dirname "$0")/api_index_lag.py"
