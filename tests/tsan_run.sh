#!/usr/bin/env bash
# Runs integration tests ($TESTS) against a ThreadSanitizer build of custos
# ($CUSTOS, from make TSAN=1) and fails on any report. Every custos process
# the tests start (the daemon and the CLI) writes its reports to files
# under one directory (TSAN_OPTIONS log_path) and stops at the first one
# with exit code 66; the run fails when a test fails or any report file or
# "WARNING: ThreadSanitizer" line exists.
#
# gcc 12's TSan cannot map its shadow memory when the kernel randomises
# mmap with many bits (vm.mmap_rnd_bits > 28: "FATAL: ThreadSanitizer:
# unexpected memory mapping"). Then the tests run without address space
# randomisation (setarch -R, inherited by every child process).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${CUSTOS:?CUSTOS must name the TSan build of custos}"
: "${TESTS:?TESTS must list the integration tests to run}"
reports=$(mktemp -d)
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$reports/tsan ${TSAN_OPTIONS:-}"

wrap=()
# The failure is random (it depends on where the kernel puts the
# mappings), so a wide setting is enough to turn randomisation off; a
# probe catches the cases the setting does not predict.
bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
probe=$("$CUSTOS" help 2>&1)
if [ "$bits" -gt 28 ] || grep -q "unexpected memory mapping" <<<"$probe" ||
	grep -q "unexpected memory mapping" "$reports"/tsan.* 2>/dev/null; then
	echo "tsan: the kernel's mmap randomisation (vm.mmap_rnd_bits=$bits) is too wide for TSan; running under setarch -R"
	wrap=(setarch "$(uname -m)" -R)
	rm -f "$reports"/tsan.*
	probe=$("${wrap[@]}" "$CUSTOS" help 2>&1)
fi
if ! grep -q "^usage: custos" <<<"$probe"; then
	echo "tsan: $CUSTOS does not run: $probe" >&2
	cat "$reports"/tsan.* 2>/dev/null >&2
	exit 1
fi

"${wrap[@]}" env TESTS="$TESTS" bash "$here/run_integration.sh"
rc=$?
if ls "$reports"/tsan.* >/dev/null 2>&1 || grep -rqs "WARNING: ThreadSanitizer" "$reports"; then
	echo "tsan: ThreadSanitizer reported:" >&2
	cat "$reports"/tsan.* >&2
	rc=1
fi
rm -rf "$reports"
[ $rc -eq 0 ] && echo "tsan: no reports"
exit $rc
