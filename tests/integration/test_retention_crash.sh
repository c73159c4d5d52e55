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
# 14 writes and 6 fsyncs here (certificate frame, head, seal, two
# segments rewritten); the bounds go a little past that, and the last run
# of each kind must have succeeded untouched.
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
	echo "$out" | grep -q "(12 deleted)" || fail "$1:$2: after the re-run not all 12 are deleted: $out"
	n=$("$CUSTOS" retention certificates -d w --json | json_get - 'len(j["certificates"])')
	assert_eq "$n" 1 "$1:$2: exactly one certificate"
	assert_eq "$("$CUSTOS" search -d w --json Crashwort5 | json_get - 'j["total"]')" 0 "$1:$2: gone from search"
}
for n in $(seq 1 16); do check_run write "$n"; done
assert_eq "$frc" 0 "write:16 is past the execution's writes"
assert_eq "$($scan w Crashwort)" "" "no trace after a faulted run and its re-run"
for n in $(seq 1 8); do check_run fsync "$n"; done
assert_eq "$frc" 0 "fsync:8 is past the execution's fsyncs"
assert_eq "$($scan w Crashwort)" "" "no trace after a faulted run and its re-run"
# Leftover temporary files would hold the old content: none may remain.
ls w/segments | grep -v '^seg-[0-9]*\.cseg$' && fail "temporary files left in segments/"
true
