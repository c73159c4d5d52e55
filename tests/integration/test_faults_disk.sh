#!/usr/bin/env bash
# A real full disk (a small tmpfs; skipped with the reason when mounting is
# not permitted): `custos ingest` fails clearly and loses nothing that was
# reported; when only the search index's disk is full, ingest archives
# everything, warns, and the next search catches the index up; the daemon
# answers POST /v1/ingest 503 no_space, stays responsive, and recovers by
# itself once space is freed (ingest 200, healthz ok, the search index
# catches up). See faults_disk.py.
set -euo pipefail
exec python3 "$(dirname "$0")/faults_disk.py"
