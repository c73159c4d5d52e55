# SIGKILL `custos ingest` mid-write many times: the archive always opens,
# verifies, and holds a gap-free prefix of the input, each message once.
. "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-25}
"$CUSTOS" init -d a >/dev/null
set_config a segment_max_bytes 200000 # rotations happen during the run too
set_config a idmap_run_keys 500       # and the id map writes and merges runs
gen 30000 5 > m.jsonl
cut_prefix_ok() { # the archive holds exactly the first N input lines, in order
	python3 - m.jsonl <<'PY'
import json, subprocess, sys, os
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
out = subprocess.run([os.environ["CUSTOS"], "log", "-d", "a"], capture_output=True, check=True, text=True).stdout
got = [json.loads(l)["id"] for l in out.splitlines()]
assert got == ids[:len(got)], "archive is not a gap-free prefix of the input"
print(len(got))
PY
}
prev=0
for i in $(seq 1 "$ROUNDS"); do
	"$CUSTOS" ingest -d a --batch 50 m.jsonl >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(( (RANDOM % 25) + 1 ))"
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	# Verify first (a torn tail is allowed and reported), then open as a writer.
	expect_exit 0 "$CUSTOS" verify -d a
	n=$(cut_prefix_ok) || fail "round $i: not a prefix"
	[ "$n" -ge "$prev" ] || fail "round $i: records lost ($n < $prev)"
	prev=$n
done
expect_exit 0 "$CUSTOS" ingest -d a --json m.jsonl
expect_exit 0 "$CUSTOS" verify -d a
n=$(cut_prefix_ok)
assert_eq "$n" 30000 "all messages exactly once"
echo "crash rounds: $ROUNDS, final records $n"
