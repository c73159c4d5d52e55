#!/usr/bin/env bash
# bench_http.sh - sustained concurrent ingest over HTTP with durable
# acknowledgements, and search while ingesting, side by side with the
# peer on the same machine and messages: `custos ingest` (the CLI's durable
# ingest of the same file).
#
#   (a) custos ingest of the messages: the CLI's durable rate (the peer)
#   (b) custos serve, 8 clients (keep-alive) posting batches of 100
#       messages for BENCH_SECONDS: messages/s and the acknowledgement
#       latency (p50/p99); the daemon's resident memory every second.
#       The clients pass over the file again and again with fresh ids and
#       times moved on by the file's span, a stream in time order as live
#       traffic is (http_load.py)
#   (c) 2 search clients on an idle daemon (index caught up): req/s, p95
#   (d) the same searches while 8 clients ingest: req/s, p95 (live
#       traffic again: its times follow on after those of (b))
#
# Targets: (b) >= 0.5 of (a) messages/s, p99
# acknowledgement <= 50 ms, (d) p95 <= 2x (c) p95, memory flat: the heap
# (RssAnon) at the end of (b) <= 1.1x the heap half-way, each the median of
# the samples over a twentieth of the run (at least 5 s), so that one
# sample at the top of a passing peak (a full commit queue, an index
# transaction) decides nothing; the peak and the slope over the second
# half are printed too.
#
# BENCH_N messages (default 200000), BENCH_SECONDS (default 60; 600 for
# the 10-minute memory run), BENCH_SEARCH_SECONDS (default 10),
# BENCH_CLIENTS (8), BENCH_BATCH (100), BENCH_INDEX_WAIT (seconds to wait
# for the index to catch up before the idle search phase, 1800). See bench/lib.sh for CUSTOS, GEN,
# BENCH_TMPDIR, BENCH_OUT, BENCH_KEEP, BENCH_STRICT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

bench_init http
bench_need python3 awk curl

N=${BENCH_N:-200000}
SECS=${BENCH_SECONDS:-60}
SSECS=${BENCH_SEARCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
BATCH=${BENCH_BATCH:-100}
SEED=${BENCH_SEED:-1}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1000 ] || bench_die "BENCH_N must be a number >= 1000"
in=$BENCH_TMP/messages.jsonl
load="python3 $here/http_load.py"

echo "custos HTTP benchmark: N=$N messages, $CLIENTS clients x $BATCH per request, ${SECS}s ingest, ${SSECS}s search phases"
bench_machine
load_before=$(cut -d' ' -f1 /proc/loadavg)

bench_run gen "$GEN" -n "$N" --seed "$SEED" -o "$in"
python3 "$here/search_queries.py" "$in" > "$BENCH_TMP/queries.tsv"
bench_warm "$in"

# (a) the peer: the CLI's durable ingest of the same file.
"$CUSTOS" init -d "$BENCH_TMP/cli" > /dev/null
bench_run cli "$CUSTOS" ingest -d "$BENCH_TMP/cli" --json "$in"
cli_rate=$(bench_div "$N" "$cli_s")

# The daemon on a fresh archive, on a port the kernel picks.
dir=$BENCH_TMP/archive
"$CUSTOS" init -d "$dir" > /dev/null
ingest_tok=$("$CUSTOS" token add -d "$dir" --role ingest --source bench --name bench-ingest 2> /dev/null)
officer_tok=$("$CUSTOS" token add -d "$dir" --role officer --name bench-officer 2> /dev/null)
admin_tok=$("$CUSTOS" token add -d "$dir" --role admin --name bench-admin 2> /dev/null)
: > "$BENCH_TMP/serve.log"
"$CUSTOS" serve -d "$dir" --listen 127.0.0.1:0 2>> "$BENCH_TMP/serve.log" &
serve_pid=$!
trap 'kill "$serve_pid" 2> /dev/null || true; [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$BENCH_TMP"' EXIT
port=""
for _ in $(seq 100); do
	port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$BENCH_TMP/serve.log")
	[ -n "$port" ] && break
	kill -0 "$serve_pid" 2> /dev/null || bench_die "custos serve exited: $(cat "$BENCH_TMP/serve.log")"
	sleep 0.05
done
[ -n "$port" ] || bench_die "custos serve did not start"

metric() { # metric NAME : its value from /metrics
	curl -sf -H "Authorization: Bearer $admin_tok" "http://127.0.0.1:$port/metrics" |
		awk -v m="$1" '$1 == m && !done { print $2; done = 1 }'
}
wait_index() { # until the search index has caught up; sets idx_lag0, idx_wait_s
	local lag t0 t1
	idx_lag0=$(metric custos_index_lag_records)
	t0=$(date +%s%N)
	while :; do
		lag=$(metric custos_index_lag_records)
		[ "${lag:-1}" = 0 ] && break
		t1=$(date +%s%N)
		[ $(((t1 - t0) / 1000000000)) -lt "${BENCH_INDEX_WAIT:-1800}" ] || bench_die "the search index did not catch up (lag $lag)"
		sleep 0.5
	done
	t1=$(date +%s%N)
	idx_wait_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# (b) sustained ingest with memory samples.
$load ingest --port "$port" --token "$ingest_tok" --file "$in" --clients "$CLIENTS" --batch "$BATCH" \
	--seconds "$SECS" --rss-pid "$serve_pid" > "$BENCH_TMP/ingest.json"
http_rate=$(jget "$BENCH_TMP/ingest.json" messages_per_s)
http_p50=$(jget "$BENCH_TMP/ingest.json" p50_ms)
http_p99=$(jget "$BENCH_TMP/ingest.json" p99_ms)
http_err=$(jget "$BENCH_TMP/ingest.json" errors)
# Memory: anonymous memory (heap; RssAnon) half-way and at the end (the
# medians of the samples in a window of a twentieth of the run, at least
# 5 s: around half-way, and the last), and its slope over the second half
# (least squares), so that warm-up is not taken for a leak; VmRSS also
# counts index file pages SQLite maps, which grow with the index and are
# page cache, not the daemon's own memory.
read -r rss_mid rss_end rss_max rss_slope vm_end < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1])).get("rss_kib", [])
if len(s) < 2:
    print(0, 0, 0, 0, 0)
else:
    h = s[len(s) // 2:]
    n = len(h)
    mt = sum(x[0] for x in h) / n
    mv = sum(x[2] for x in h) / n
    var = sum((x[0] - mt) ** 2 for x in h)
    slope = sum((x[0] - mt) * (x[2] - mv) for x in h) / var * 60 if var else 0
    t0, t1 = s[0][0], s[-1][0]
    w = max(5.0, (t1 - t0) / 20)
    def median(lo, hi):
        v = sorted(x[2] for x in s if lo <= x[0] <= hi) or [s[-1][2]]
        return v[len(v) // 2]
    mid = (t0 + t1) / 2
    print(median(mid - w / 2, mid + w / 2), median(t1 - w, t1), max(x[2] for x in s), "%.1f" % slope,
          s[-1][1])' "$BENCH_TMP/ingest.json")
commits=$(metric custos_commits_total)
crecs=$(metric custos_commit_records_total)

# (c) search on an idle daemon, index caught up.
wait_index
$load search --port "$port" --token "$officer_tok" --queries "$BENCH_TMP/queries.tsv" --seconds "$SSECS" \
	> "$BENCH_TMP/search-idle.json"
idle_rps=$(jget "$BENCH_TMP/search-idle.json" requests_per_s)
idle_p95=$(jget "$BENCH_TMP/search-idle.json" p95_ms)

# (d) the same searches while ingest runs.
$load ingest --port "$port" --token "$ingest_tok" --file "$in" --clients "$CLIENTS" --batch "$BATCH" \
	--seconds "$SSECS" --tag busy- --first-pass 10000 > "$BENCH_TMP/ingest-busy.json" &
ingest_bg=$!
$load search --port "$port" --token "$officer_tok" --queries "$BENCH_TMP/queries.tsv" --seconds "$SSECS" \
	> "$BENCH_TMP/search-busy.json"
wait "$ingest_bg"
busy_rps=$(jget "$BENCH_TMP/search-busy.json" requests_per_s)
busy_p95=$(jget "$BENCH_TMP/search-busy.json" p95_ms)
busy_ingest=$(jget "$BENCH_TMP/ingest-busy.json" messages_per_s)
search_err=$(($(jget "$BENCH_TMP/search-idle.json" errors) + $(jget "$BENCH_TMP/search-busy.json" errors)))

kill -TERM "$serve_pid"
wait "$serve_pid" || bench_die "custos serve did not stop cleanly: $(tail -5 "$BENCH_TMP/serve.log")"
records=$("$CUSTOS" stats -d "$dir" --json 2> /dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("records", 0))' || echo 0)

echo
printf '  %-44s %12s %12s %12s\n' "" "msgs/s" "p50 ms" "p99 ms"
printf '  %-44s %12s %12s %12s\n' "(a) custos ingest (CLI, durable)" "$(bench_fmt "$cli_rate" 0)" - -
printf '  %-44s %12s %12s %12s\n' "(b) HTTP ingest, $CLIENTS clients x $BATCH" "$(bench_fmt "$http_rate" 0)" \
	"$(bench_fmt "$http_p50" 1)" "$(bench_fmt "$http_p99" 1)"
printf '  %-44s %12s\n' "    records per group commit" "$(bench_fmt "$(bench_div "$crecs" "$commits")" 1)"
printf '  %-44s %s records left after (b), indexed in %s s (%s records/s)\n' "search index catch-up" \
	"$idx_lag0" "$(bench_fmt "$idx_wait_s" 1)" "$(bench_fmt "$(bench_div "$idx_lag0" "$idx_wait_s")" 0)"
printf '  %-44s %12s %12s\n' "" "req/s" "p95 ms"
printf '  %-44s %12s %12s\n' "(c) search, idle" "$(bench_fmt "$idle_rps" 0)" "$(bench_fmt "$idle_p95" 1)"
printf '  %-44s %12s %12s   (ingest meanwhile %s msgs/s)\n' "(d) search while ingesting" \
	"$(bench_fmt "$busy_rps" 0)" "$(bench_fmt "$busy_p95" 1)" "$(bench_fmt "$busy_ingest" 0)"
printf '  %-44s %s MiB half-way, %s MiB at the end (window medians), %s MiB peak, second half %s KiB/min\n' \
	"daemon heap (RssAnon) during (b)" "$(bench_fmt "$(bench_div "$rss_mid" 1024)" 1)" \
	"$(bench_fmt "$(bench_div "$rss_end" 1024)" 1)" "$(bench_fmt "$(bench_div "$rss_max" 1024)" 1)" "$rss_slope"
printf '  %-44s %s MiB at the end (with mapped index pages)\n' "daemon VmRSS" "$(bench_fmt "$(bench_div "$vm_end" 1024)" 1)"
echo "  errors: ingest $http_err, search $search_err; archive holds $records records"
echo
r_rate=$(bench_div "$http_rate" "$cli_rate")
r_search=$(bench_div "$busy_p95" "$idle_p95")
r_mem=$(bench_div "$rss_end" "$rss_mid")
bench_target "HTTP / CLI durable ingest rate" "$r_rate" ">=" 0.5
bench_target "p99 acknowledgement (ms)" "$http_p99" "<=" 50
bench_target "search p95 busy / idle" "$r_search" "<=" 2
bench_target "heap end / half-way" "$r_mem" "<=" 1.1

load_after=$(cut -d' ' -f1 /proc/loadavg)
bench_json_line "$(bench_out_file)" bench=http commit="$(bench_commit)" n="$N" seconds="$SECS" \
	search_seconds="$SSECS" index_lag_after_ingest="$idx_lag0" index_catchup_s="$idx_wait_s" clients="$CLIENTS" batch="$BATCH" cores="$(nproc)" load_before="$load_before" \
	load_after="$load_after" cli_msgs_per_s="$cli_rate" http_msgs_per_s="$http_rate" http_p50_ms="$http_p50" \
	http_p99_ms="$http_p99" records_per_commit="$(bench_div "$crecs" "$commits")" search_idle_rps="$idle_rps" \
	search_idle_p95_ms="$idle_p95" search_busy_rps="$busy_rps" search_busy_p95_ms="$busy_p95" \
	busy_ingest_msgs_per_s="$busy_ingest" rss_mid_kib="$rss_mid" rss_slope_kib_per_min="$rss_slope" rss_end_kib="$rss_end" \
	rss_max_kib="$rss_max" vmrss_end_kib="$vm_end" ingest_errors="$http_err" search_errors="$search_err" missed="$BENCH_MISSED"
echo "result appended to $(bench_out_file)"
[ "${BENCH_STRICT:-0}" = 1 ] && [ "$BENCH_MISSED" -gt 0 ] && exit 3
exit 0
