#!/usr/bin/env bash
# Fault injection at every write and fsync site a small job reaches: short
# writes, ENOSPC, EIO and failed fsync, (1) in the archive during
# `custos ingest` (CUSTOS_FAULT, common/fileio.h), (2) in the search index
# during `custos search` (catch-up) and `custos reindex`, (3) in the
# segment rewrite of `custos retention execute` (erasure). SQLite's writes
# do not go through common/fileio.c, so the index is reached through an
# interposed write layer (faultshim.c, LD_PRELOAD), which also counts how
# many sites each job reaches: N runs from 1 to one past the last call.
#
# After each fault: the command failed with a clear message (or the site
# is one whose failure is tolerated and the job is complete), the archive
# opens and verifies, everything the command reported as done is there,
# and a re-run without the fault completes the job exactly once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# Checks on the log (custos log: every record in seq order, JSON Lines),
# with jq: a python start per check would cost more than the whole case.
ids() { "$CUSTOS" log -d "$1" | jq -r 'select(.kind == "message") | .id'; }
# check_prefix DIR REPORTED : DIR holds exactly the first k messages of the
# input (gap-free, in order, each once) with k >= REPORTED; prints k
check_prefix() {
	local k
	ids "$1" >got.txt || { echo "custos log fails"; return 1; }
	k=$(wc -l <got.txt)
	head -n "$k" ids.txt | cmp -s - got.txt || { echo "not a gap-free prefix of the input"; return 1; }
	[ "$k" -ge "$2" ] || { echo "the command reported $2 messages archived, the archive holds $k"; return 1; }
	echo "$k"
}
# check_once DIR : every input message is in DIR exactly once
check_once() {
	ids "$1" | sort >got.txt
	sort ids.txt | cmp -s - got.txt || { echo "not every message exactly once ($(wc -l <got.txt) records)"; return 1; }
}
# check_erased DIR : every record of log0.jsonl (before the erasure) is in
# DIR unchanged, except that seqs 2 and 5 may be stubs with the same leaf
# hash; prints how many of them are stubs
check_erased() {
	local norm='del(.deleted, .deletion_seq) | if .seq == 2 or .seq == 5 then {seq, leaf_hash} else . end'
	"$CUSTOS" log -d "$1" >after.jsonl || { echo "custos log fails"; return 1; }
	jq -c "$norm" log0.jsonl >a.txt
	head -n "$(wc -l <log0.jsonl)" after.jsonl | jq -c "$norm" >b.txt
	cmp -s a.txt b.txt || { echo "records lost or changed: $(diff a.txt b.txt | head -c 300)"; return 1; }
	jq -r 'select(.deleted and (.seq == 2 or .seq == 5)) | .seq' after.jsonl | wc -l
}
jget() { jq -r "$2" "$1"; } # jget FILE FILTER

problems=()
problem() { # records a failed expectation and goes on (all are listed at the end)
	problems+=("$*")
	echo "PROBLEM: $*" >&2
}

cc -shared -fPIC -O1 -o shim.so "$here/faultshim.c" -ldl || fail "cannot build faultshim.c"
# The sanitizer runtime must come first unless told otherwise.
shim() { env LD_PRELOAD="$PWD/shim.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"; }
# count PART EXCLUDE CMD... : "W F", the writes and fsyncs CMD makes on files
# whose path contains PART but not EXCLUDE
count() {
	local part=$1 excl=$2
	shift 2
	rm -f count.txt
	shim FAULTSHIM_PATH="$part" FAULTSHIM_EXCLUDE="$excl" FAULTSHIM_COUNT="$PWD/count.txt" "$@" \
		>/dev/null 2>&1 || fail "counting run of $* failed"
	awk '{n[$1] += $2} END {print n["write"] + 0, n["fsync"] + 0}' count.txt
}
fresh() { # fresh SRC : arch becomes a copy of SRC
	rm -rf arch
	cp -a "$1" arch
}
# sample W : the N to try among W SQLite sites: 1..6, about ten spread over
# the rest, the last three and one past the end (SQLite makes many similar
# page writes per transaction; the archive's own sites are all tried)
sample() {
	python3 -c 'import sys; w = int(sys.argv[1]); s = set(range(1, min(w, 6) + 1))
s |= set(range(7, w - 2, max(1, (w - 9) // 10))) | set(range(max(1, w - 2), w + 2))
print(" ".join(map(str, sorted(s))))' "$1"
}
errtext() { # the strerror text a message must carry for an injected errno
	case $1 in 28) echo "No space left on device" ;; 5) echo "Input/output error" ;; esac
}

gen 10 5 >msgs.jsonl
jq -r .id msgs.jsonl >ids.txt
"$CUSTOS" init -d base --origin faults.example/custos >/dev/null

# ---- 1. the archive during ingest (4 batches of 3, 3, 3, 1) ------------
fresh base
read -r W F < <(count "$PWD/arch/" ".db" "$CUSTOS" ingest -d arch --batch 3 msgs.jsonl)
echo "ingest: $W write and $F fsync calls in the archive (SQLite's id map not counted)"
[ "$W" -ge 9 ] && [ "$F" -ge 5 ] || fail "ingest reached too few sites ($W writes, $F fsyncs)"
rm -rf arch

ingest_case() { # OP ERRNO N [BATCH]
	local tag="ingest --batch ${4:-3} $1:$3:$2" rc reported k b=${4:-3}
	fresh base
	set +e
	CUSTOS_FAULT=$1:$3:$2 "$CUSTOS" ingest -d arch --batch "$b" --json msgs.jsonl >out.json 2>err.txt
	rc=$?
	set -e
	reported=$(jget out.json .accepted 2>/dev/null) || { problem "$tag: no JSON summary (exit $rc)"; return; }
	case $rc in
	0) ;; # a tolerated site (the head file is a best-effort lower bound)
	1) grep -q "$(errtext "$2")" err.txt || problem "$tag: unclear message: $(cat err.txt)" ;;
	*) problem "$tag: exit $rc: $(cat err.txt)"; return ;;
	esac
	"$CUSTOS" stats -d arch >/dev/null 2>&1 || { problem "$tag: archive does not open"; return; }
	"$CUSTOS" verify -d arch >verify.txt 2>&1 || { problem "$tag: verify fails: $(cat verify.txt)"; return; }
	k=$(check_prefix arch "$reported") || { problem "$tag: $k"; k=; }
	if [ "$rc" -eq 0 ] && [ "$k" != 10 ]; then
		problem "$tag: succeeded but archived $k of 10"
	fi
	"$CUSTOS" ingest -d arch --batch 3 --json msgs.jsonl >out.json 2>err.txt ||
		{ problem "$tag: re-run failed: $(cat err.txt)"; return; }
	[ -z "$k" ] || [ "$(jget out.json .duplicates)" = "$k" ] ||
		problem "$tag: re-run skipped $(jget out.json .duplicates) duplicates, expected $k"
	k=$(check_once arch) || problem "$tag: after re-run: $k"
	"$CUSTOS" verify -d arch >verify.txt 2>&1 || problem "$tag: verify after re-run: $(cat verify.txt)"
}
for n in $(seq 1 $((W + 1))); do
	ingest_case write 28 "$n"
	ingest_case write 5 "$n"
done
for n in $(seq 1 $((F + 1))); do
	ingest_case fsync 5 "$n"
done
# The same in one commit (a process that writes the head file only once).
for n in 1 2 3; do
	ingest_case write 28 "$n" 100
	ingest_case fsync 5 "$n" 100
done
# One past the last call the fault is never hit: the count was right.
fresh base
CUSTOS_FAULT=write:$((W + 1)):5 "$CUSTOS" ingest -d arch --batch 3 msgs.jsonl >/dev/null 2>err.txt ||
	fail "ingest with a fault past its last write failed: $(cat err.txt)"
fresh base
CUSTOS_FAULT=fsync:$((F + 1)):5 "$CUSTOS" ingest -d arch --batch 3 msgs.jsonl >/dev/null 2>err.txt ||
	fail "ingest with a fault past its last fsync failed: $(cat err.txt)"
echo "ingest: $((2 * (W + 1) + F + 1)) fault runs done (${SECONDS}s)"

# ---- 2. the search index: ingest's indexing, catch-up, reindex ----------
cp -a base ibase
"$CUSTOS" ingest -d ibase --no-index msgs.jsonl >/dev/null
read -r q1 q2 < <(python3 - msgs.jsonl <<'PY'
import collections, json, sys
c = collections.Counter(w.strip(".,?!").lower() for l in open(sys.argv[1])
                        for w in json.loads(l)["body"].split() if len(w.strip(".,?!")) >= 4)
print(" ".join(w for w, _ in c.most_common(2)))
PY
)
fresh ibase
"$CUSTOS" search -d arch --json "$q1" >ref1.json
"$CUSTOS" search -d arch --json "$q2 OR $q1" >ref2.json
[ "$(jget ref1.json .total)" -ge 1 ] || fail "reference search for '$q1' found nothing"
cp -a arch iidx # with a complete index
rm -rf arch

# job_src JOB : the archive a job starts from
job_src() { case $1 in ingest) echo base ;; search) echo ibase ;; reindex) echo iidx ;; esac; }
# job_args JOB : sets args to the command line of ingest (indexes on its
# own thread), search (catches the index up first) or reindex
job_args() {
	case $1 in
	ingest) args=(ingest -d arch --batch 3 msgs.jsonl) ;;
	search) args=(search -d arch --json "$q1") ;;
	reindex) args=(reindex -d arch) ;;
	esac
}
# index_case OP ERRNO N JOB
index_case() {
	local tag="$4 $1:$3:$2 (index)" rc
	fresh "$(job_src "$4")"
	job_args "$4"
	set +e
	shim FAULTSHIM="$1:$3:$2:$PWD/arch/index/" "$CUSTOS" "${args[@]}" >out.json 2>err.txt
	rc=$?
	set -e
	case $rc in
	0) [ "$4" != search ] || cmp -s out.json ref1.json || problem "$tag: succeeded with wrong results" ;;
	1) grep -Eqi "disk is full|disk I/O error|no space|input/output" err.txt ||
		problem "$tag: unclear message: $(cat err.txt)" ;;
	*) problem "$tag: exit $rc: $(cat err.txt)"; return ;;
	esac
	"$CUSTOS" verify -d arch >verify.txt 2>&1 || problem "$tag: verify fails: $(cat verify.txt)"
	if [ "$4" = ingest ] && [ $rc -ne 0 ]; then # an ingest stopped by the index: finish it
		"$CUSTOS" ingest -d arch --batch 3 msgs.jsonl >/dev/null 2>err.txt ||
			problem "$tag: re-run failed: $(cat err.txt)"
	fi
	# Without the fault the index is right again: caught up or rebuilt.
	"$CUSTOS" search -d arch --json "$q1" >out.json 2>err.txt && cmp -s out.json ref1.json ||
		problem "$tag: search afterwards is wrong: $(cat err.txt out.json | head -c 300)"
	"$CUSTOS" search -d arch --json "$q2 OR $q1" >out.json 2>err.txt && cmp -s out.json ref2.json ||
		problem "$tag: second search afterwards is wrong"
	check_once arch >/dev/null || problem "$tag: the log changed"
}
for job in ingest search reindex; do
	fresh "$(job_src $job)"
	job_args $job
	read -r W F < <(count "$PWD/arch/index/" "//" "$CUSTOS" "${args[@]}")
	rm -rf arch
	echo "$job: $W write and $F fsync calls in the index"
	[ "$W" -ge 1 ] && [ "$F" -ge 1 ] || fail "$job reached no index write sites"
	for n in $(sample "$W"); do # ENOSPC and EIO on alternate sites
		index_case write $((n % 2 ? 28 : 5)) "$n" $job
	done
	for n in $(seq 1 $((F + 1))); do
		index_case fsync 5 "$n" $job
	done
	echo "$job: index faults done (${SECONDS}s)"
done

# ---- 3. the segment rewrite of an erasure --------------------------------
cp -a ibase ebase
"$CUSTOS" erase -d ebase --seq 2,5 --reason "court order 3 C 1/24" --by alice --json >plan.json
plan=$(jget plan.json .plan)
"$CUSTOS" retention approve -d ebase "$plan" --by bob >/dev/null
"$CUSTOS" log -d ebase >log0.jsonl
fresh ebase
read -r W F < <(count "$PWD/arch/" ".db" "$CUSTOS" retention execute -d arch "$plan" --by bob)
rm -rf arch
echo "retention execute: $W write and $F fsync calls outside SQLite"

erase_case() { # OP ERRNO N
	local tag="retention execute $1:$3:$2" rc stubs certs
	fresh ebase
	set +e
	CUSTOS_FAULT=$1:$3:$2 "$CUSTOS" retention execute -d arch "$plan" --by bob --json >out.json 2>err.txt
	rc=$?
	set -e
	case $rc in
	0) ;;
	1) grep -q "$(errtext "$2")" err.txt || problem "$tag: unclear message: $(cat err.txt)" ;;
	*) problem "$tag: exit $rc: $(cat err.txt)"; return ;;
	esac
	"$CUSTOS" stats -d arch >/dev/null 2>&1 || { problem "$tag: archive does not open"; return; }
	"$CUSTOS" verify -d arch >verify.txt 2>&1 || { problem "$tag: verify fails: $(cat verify.txt)"; return; }
	# Every record is still there: untouched, or (seqs 2, 5) a stub.
	stubs=$(check_erased arch) || { problem "$tag: $stubs"; return; }
	[ "$rc" -ne 0 ] || [ "$stubs" = 2 ] || problem "$tag: succeeded but erased $stubs of 2"
	"$CUSTOS" retention execute -d arch "$plan" --by bob --json >out.json 2>err.txt ||
		{ problem "$tag: re-run failed: $(cat err.txt)"; return; }
	stubs=$(check_erased arch) || { problem "$tag: after re-run: $stubs"; return; }
	[ "$stubs" = 2 ] || problem "$tag: after re-run $stubs of 2 erased"
	certs=$("$CUSTOS" log -d arch | jq -r 'select(.kind == "deletion") | .seq' | wc -l)
	[ "$certs" = 1 ] || problem "$tag: $certs deletion certificates after the re-run"
	"$CUSTOS" verify -d arch >verify.txt 2>&1 || problem "$tag: verify after re-run: $(cat verify.txt)"
	"$CUSTOS" search -d arch --json "$q1" >/dev/null 2>&1 || problem "$tag: search fails after re-run"
}
for n in $(seq 1 $((W + 1))); do
	erase_case write 28 "$n"
	erase_case write 5 "$n"
done
for n in $(seq 1 $((F + 1))); do
	erase_case fsync 5 "$n"
done
echo "retention execute: faults done (${SECONDS}s)"

# ---- 4. the daemon: a full disk in the segment and in the id map ----------
# Whichever file meets the full disk first, POST /v1/ingest answers 503
# no_space (the id map's runs are written in the background, so its turn
# comes once its memory is full, see below), and
# once space is free (the shim's stop file) the next request is stored.
# The real full disk: test_faults_disk.sh.
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT
serve_case() { # WHAT FAULTSHIM-SPEC [IDMAP_RUN_KEYS]
	local tag="serve, ENOSPC in the $1" port= body code
	fresh ibase # an archive whose id map exists: the fault hits a commit, not the start
	if [ -n "${3:-}" ]; then
		jq ".idmap_run_keys = $3" arch/custos.json >cfg.json && mv cfg.json arch/custos.json
	fi
	tok=$("$CUSTOS" token add -d arch --role ingest --name hook1 --source hook1 2>/dev/null)
	# A simple command, not the shim function, so that $! is the daemon's pid.
	env LD_PRELOAD="$PWD/shim.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		FAULTSHIM="$2" FAULTSHIM_STOP="$PWD/space-freed" "$CUSTOS" serve -d arch --listen 127.0.0.1:0 2>serve.log &
	pid=$!
	for _ in $(seq 200); do
		port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' serve.log)
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$port" ] || { problem "$tag: serve did not start: $(cat serve.log)"; kill "$pid" 2>/dev/null; pid=; return; }
	rm -f space-freed
	acked=() refused=() got503=0
	for i in 1 2 3; do
		post "f$i"
		case $code in
		200) acked+=("f$i") ;;
		503) refused+=("f$i")
		     got503=1
		     [ "$(jget out.json .error.code)" = no_space ] || problem "$tag: answered 503 $(cat out.json)" ;;
		*) problem "$tag: answered $code $(cat out.json)" ;;
		esac
	done
	[ $got503 = 1 ] || problem "$tag: a full disk was never answered 503"
	touch space-freed
	for id in "${refused[@]}"; do
		post "$id"
		[ "$code" = 200 ] && acked+=("$id") || problem "$tag: after freeing space $id answered $code $(cat out.json)"
	done
	kill -TERM "$pid"
	wait "$pid" || problem "$tag: serve did not stop cleanly"
	pid=
	for id in "${acked[@]}"; do
		check_once_id arch "$id" || problem "$tag: $id is not archived exactly once"
	done
	"$CUSTOS" verify -d arch >verify.txt 2>&1 || problem "$tag: verify fails: $(cat verify.txt)"
}
post() { # post ID : ingests one envelope; sets $code, body in out.json
	local body='[{"platform":"matrix","conversation":"!r:example.org","sender":"@a:example.org","ts":1714564800000,"id":"'$1'","body":"x"}]'
	code=$(curl -sS -o out.json -w '%{http_code}' -H "Authorization: Bearer $tok" \
		-H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$port/v1/ingest")
}
check_once_id() { [ "$("$CUSTOS" log -d "$1" | jq -r "select(.id == \"$2\") | .seq" | wc -l)" = 1 ]; }
serve_case "segment" "writeall:1:28:$PWD/arch/segments/"
# The id map writes a run once it holds idmap_run_keys keys, in its own
# thread: with 1, the first request's commit starts a run that cannot be
# written, the second fills the map's memory, the third is refused.
serve_case "id map" "writeall:1:28:$PWD/arch/idmap/" 1
echo "serve: faults done (${SECONDS}s)"

if [ ${#problems[@]} -gt 0 ]; then
	echo "${#problems[@]} problems:" >&2
	printf '  %s\n' "${problems[@]}" >&2
	exit 1
fi
echo ok
