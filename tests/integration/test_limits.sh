#!/usr/bin/env bash
# Resource limits against the real daemon and the real verifier: huge
# bodies (413), deeply nested JSON (400), gigantic queries (400), many slow
# connections (the connection limit holds, the server stays responsive,
# idle connections are closed), zstd bombs in a corrupted segment (verify
# says corrupt within the frame caps, measured peak RSS), and no leaked file
# descriptors. See limits.py.
set -euo pipefail
exec python3 "$(dirname "$0")/limits.py"
