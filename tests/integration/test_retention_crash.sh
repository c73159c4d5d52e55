# Faults during execution (CUSTOS_FAULT, common/fileio.h): the n-th write
# (a torn half write, then EIO) or fsync (EIO) of `custos retention
# execute` fails, for every n the execution performs: the certificate's
# frame, the head, the seal, and each segment rewrite (temp file, frames,
# fsync, rename, directory fsync). After each, the archive opens and
# verifies, and running execute again finishes the job: the due records
# are stubs, there is exactly one certificate, and the words are gone.
. "$(dirname "$0")/lib.sh"
scan="python3 $(dirname "$0")/retention_scan.py"

expect_exit 0 "$CUSTOS" init -d a
set_config a segment_max_bytes 600
python3 - <<'PY'
import json
for part in range(2):
    with open(f"p{part}.jsonl", "w") as f:
        for i in range(part * 6, part * 6 + 6):
            f.write(json.dumps({"platform": "matrix", "conversation": "!r:ex.org", "sender": "@a:ex.org",
                                "ts": f"2016-01-{i + 1:02d}T09:00:00Z", "id": str(i),
                                "body": f"Crashwort{i} Inhalt {i}"}) + "\n")
PY
for i in 0 1; do "$CUSTOS" ingest -d a p$i.jsonl > /dev/null; done
[ "$("$CUSTOS" stats -d a --json | json_get - 'j["segments"]')" -ge 2 ] || fail "want several segments"
expect_exit 0 "$CUSTOS" policy add -d a --name p --keep 1y --action destroy --by admin
plan=$("$CUSTOS" retention plan -d a --by alice --json | json_get - 'j["plan"]')
expect_exit 0 "$CUSTOS" retention approve -d a "$plan" --by bob
"$CUSTOS" search -d a --json Crashwort3 > /dev/null # builds the index before the copies
cp -a a pristine

# One frame per segment keeps the count small: an execution makes about
# 10 writes and 6 fsyncs here (certificate frame, head, seal, the
# segments rewritten). The count varies with the segments the random
# salts make, so each kind is faulted at n = 1, 2, ... until four runs in
# a row pass untouched (some faults are tolerated by design: the head is
# best effort, a failed seal is retried by the next append).
check_run() { # check_run OP N
	rm -rf w
	cp -a pristine w
	set +e
	CUSTOS_FAULT="$1:$2:5" "$CUSTOS" retention execute -d w "$plan" > fault.out 2>&1
	frc=$?
	set -e
	expect_exit 0 "$CUSTOS" verify -d w
	expect_exit 0 "$CUSTOS" retention execute -d w "$plan" --json
	expect_exit 0 "$CUSTOS" verify -d w
	grep -q "(12 deleted)" <<<"$out" || fail "$1:$2: after the re-run not all 12 are deleted: $out"
	n=$("$CUSTOS" retention certificates -d w --json | json_get - 'len(j["certificates"])')
	assert_eq "$n" 1 "$1:$2: exactly one certificate"
	assert_eq "$("$CUSTOS" search -d w --json Crashwort5 | json_get - 'j["total"]')" 0 "$1:$2: gone from search"
}
fault_every() { # fault_every OP MIN_FAILED MAX_N
	local n passed=0 failed=0
	for n in $(seq 1 "$3"); do
		check_run "$1" "$n"
		if [ "$frc" -eq 0 ]; then passed=$((passed + 1)); else passed=0 failed=$((failed + 1)); fi
		[ "$passed" -lt 4 ] || break
	done
	[ "$passed" -ge 4 ] || fail "$1: still failing at n = $3"
	[ "$failed" -ge "$2" ] || fail "$1: only $failed runs failed, want at least $2"
	assert_eq "$($scan w Crashwort)" "" "no trace after a faulted run and its re-run"
}
fault_every write 6 40
fault_every fsync 4 20
# Leftover temporary files would hold the old content: none may remain.
ls w/segments | grep -v '^seg-[0-9]*\.cseg$' && fail "temporary files left in segments/"
true
