#!/usr/bin/env bash
# run_all.sh - runs every bench/bench_*.sh one after another (never in
# parallel: they would measure each other) and prints one summary line.
# BENCHES="ingest search" runs a subset; the environment (BENCH_N, CUSTOS,
# GEN, BENCH_TMPDIR, BENCH_OUT ...) is passed through, see bench/README.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
failed=()
list=${BENCHES:-$(cd "$here" && ls bench_*.sh 2> /dev/null | sed 's/^bench_//; s/\.sh$//')}
for name in $list; do
	script="$here/bench_$name.sh"
	if [ ! -f "$script" ]; then
		echo "run_all: no benchmark $script" >&2
		fail=$((fail + 1))
		failed+=("$name")
		continue
	fi
	echo "=== $name ==="
	start=$(date +%s)
	if bash "$script"; then
		pass=$((pass + 1))
		echo "=== $name done ($(($(date +%s) - start))s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "=== $name FAILED ($(($(date +%s) - start))s)"
	fi
	echo
done
echo "bench: $pass completed, $fail failed${failed[*]:+ (${failed[*]})}"
[ "$fail" -eq 0 ]
