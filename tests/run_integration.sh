#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh against the real binary ($CUSTOS),
# each in its own temporary directory, and prints one summary line.
# TESTS="name ..." runs a subset.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${CUSTOS:?CUSTOS must name the custos binary}"
export CUSTOS GEN
pass=0
fail=0
failed=()
list=${TESTS:-$(cd "$here/integration" && ls test_*.sh 2>/dev/null | sed 's/\.sh$//')}
for name in $list; do
	t="$here/integration/$name.sh"
	work=$(mktemp -d)
	start=$(date +%s)
	if (cd "$work" && TESTDIR="$work" bash "$t") >"$work.log" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $name ($(( $(date +%s) - start ))s)"
		rm -rf "$work" "$work.log"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL $name ($(( $(date +%s) - start ))s) -- last lines:"
		tail -n 30 "$work.log" | sed 's/^/    /'
		rm -rf "$work"
	fi
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
