#!/usr/bin/env bash
# run.sh - bounded fuzzing of the libFuzzer targets (make fuzz-run), or a
# replay of their inputs with a plain build (make fuzz-replay).
#
#   tests/fuzz/run.sh BIN...           fuzz each target for FUZZ_SECONDS
#                                      (default 20) over its seed corpus
#   tests/fuzz/run.sh --replay BIN...  run every seed and regression input
#                                      once through each target
#
# For target fuzz_X the seeds are tests/fuzz/corpus/fuzz_X/ and the inputs
# that once crashed it are tests/fuzz/regressions/fuzz_X/. Fuzzing first
# replays the regressions, then explores from the seeds into a scratch
# directory (the committed corpus is never modified). Any crash, leak,
# timeout or out-of-memory input is copied into the regressions directory
# (so that it is replayed from then on; commit it with the fix) and the run
# fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rel=tests/fuzz
mode=fuzz
if [ "${1:-}" = "--replay" ]; then
	mode=replay
	shift
fi
[ $# -gt 0 ] || { echo "usage: $0 [--replay] BIN..." >&2; exit 2; }
secs=${FUZZ_SECONDS:-20}
# Per-input limits: a slow or memory-hungry input is a finding too.
timeout_s=${FUZZ_TIMEOUT:-20}
rss_mb=${FUZZ_RSS_MB:-1024}
work=$(mktemp -d)
export TMPDIR=$work # the targets' temporary archives go here too
trap 'rm -rf "$work"' EXIT

failed=()
for bin in "$@"; do
	t=$(basename "$bin")
	corpus=$here/corpus/$t
	reg=$here/regressions/$t
	log=$work/$t.log
	inputs=()
	[ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null)" ] && inputs+=("$reg")

	if [ "$mode" = replay ]; then
		[ -d "$corpus" ] && inputs+=("$corpus")
		if [ ${#inputs[@]} -eq 0 ]; then
			echo "skip $t: no seeds or regression inputs"
			continue
		fi
		if "$bin" "${inputs[@]}" >"$log" 2>&1; then
			echo "ok   $t ($(tail -n 1 "$log" | sed 's/^replay: //'))"
		else
			echo "FAIL $t -- last lines:"
			tail -n 30 "$log" | sed 's/^/    /'
			failed+=("$t")
		fi
		continue
	fi

	# 1. Inputs that crashed before must not crash now.
	if [ ${#inputs[@]} -gt 0 ]; then
		if ! "$bin" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" "$reg"/* >"$log" 2>&1; then
			echo "FAIL $t: a regression input crashes again -- last lines:"
			grep -E 'ERROR|SUMMARY|runtime error|Running: ' "$log" | head -n 10 | sed 's/^/    /'
			tail -n 15 "$log" | sed 's/^/    /'
			failed+=("$t")
			continue
		fi
	fi
	# 2. Explore from the seeds for a bounded time.
	mkdir -p "$work/$t.new" "$work/$t.art"
	seeds=()
	if [ -d "$corpus" ]; then
		seeds+=("$corpus")
	else
		echo "warning: $t has no seed corpus ($rel/corpus/$t)"
	fi
	"$bin" -max_total_time="$secs" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
		-print_final_stats=1 -artifact_prefix="$work/$t.art/" \
		"$work/$t.new" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	# 3. Whatever it found becomes a regression input.
	found=0
	for f in "$work/$t.art"/*; do
		[ -f "$f" ] || continue
		mkdir -p "$reg"
		cp "$f" "$reg/"
		echo "     new regression input: $rel/regressions/$t/$(basename "$f")"
		found=1
	done
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
		echo "FAIL $t (exit $rc) -- last lines:"
		grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$log" | head -n 10 | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    /'
		failed+=("$t")
	else
		echo "ok   $t (${secs}s, ${runs:-?} runs, ${cov:-cov: ?})"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} failed: ${failed[*]}"
	exit 1
fi
echo "fuzz: $# targets ok"
