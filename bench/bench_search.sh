#!/usr/bin/env bash
# bench_search.sh - full-text search measured side by side with the peer a
# records office would use instead: PostgreSQL 15 with a GIN index on
# to_tsvector('german', body), on the same generated messages and the same
# fixed query set, in the same run:
#   ingest + index throughput   custos ingest, then the index brought up to
#                               the log  vs  psql loading 1000-row COPY
#                               transactions into a table whose indexes are
#                               maintained on insert (target >= 4x)
#   p95 latency                 over the query set (rare and common words,
#                               phrase, prefix, OR, NOT, identifier, sender,
#                               conversation, date and platform filters),
#                               newest first, limit 50, with total and
#                               snippets  (target <= 0.5x)
#   bytes                       segments + index  vs  the table with its
#                               indexes and TOAST (target <= 0.5x)
#
# BENCH_N messages (default 1,000,000), BENCH_SEED (default 1),
# BENCH_REPS measured runs per query (default 20, after 2 warm-up runs).
# PostgreSQL runs privately: its own cluster in the scratch directory, a
# Unix socket only, stopped at the end (as the postgres user when run as
# root). See bench/README.md for the environment (CUSTOS, GEN,
# BENCH_TMPDIR, BENCH_OUT, BENCH_KEEP, BENCH_STRICT).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

bench_init search
bench_need python3 psql awk
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || bench_die "no PostgreSQL 15 at $PGBIN (Debian package postgresql-15)"
LAT=${SEARCH_LATENCY:-$BENCH_ROOT/build/rel/bench/search_latency}
[ -x "$LAT" ] || bench_die "no $LAT (run make build/rel/bench/search_latency)"

N=${BENCH_N:-1000000}
SEED=${BENCH_SEED:-1}
REPS=${BENCH_REPS:-20}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1000 ] || bench_die "BENCH_N must be a number >= 1000"
in=$BENCH_TMP/messages.jsonl
dir=$BENCH_TMP/archive
queries=$BENCH_TMP/queries.tsv

echo "custos search benchmark: N=$N messages (seed $SEED), $REPS runs per query"
bench_machine
load_before=$(cut -d' ' -f1 /proc/loadavg)

bench_run gen "$GEN" -n "$N" --seed "$SEED" -o "$in"
python3 "$BENCH_ROOT/bench/search_queries.py" "$in" > "$queries"
python3 "$BENCH_ROOT/bench/search_pg_load.py" "$in" 1000 > "$BENCH_TMP/load.sql"
bench_warm "$in" "$BENCH_TMP/load.sql"

# ---- custos ----------------------------------------------------------
"$CUSTOS" init -d "$dir" > /dev/null
bench_run ingest "$CUSTOS" ingest -d "$dir" --json "$in"
accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$BENCH_TMP/ingest.out")
[ "$accepted" = "$N" ] || bench_die "ingest accepted $accepted of $N messages"
# the index brought up to the log: what `custos search` does first (a
# query that matches nothing, so only the catch-up is timed)
bench_run index "$CUSTOS" search -d "$dir" --limit 1 bench-catch-up-only
grep -q "behind the log" "$BENCH_TMP/index.err" && bench_die "index lagging: $(cat "$BENCH_TMP/index.err")"
custos_s=$(bench_calc "$ingest_s + $index_s")
seg_bytes=$(bench_bytes "$dir"/segments/*)
idx_bytes=$(bench_bytes "$dir"/index/*)
custos_bytes=$((seg_bytes + idx_bytes))
"$LAT" -d "$dir" -f "$queries" -r "$REPS" -w 2 > "$BENCH_TMP/custos-lat.tsv"

# ---- PostgreSQL --------------------------------------------------------
pg=$BENCH_TMP/pg
mkdir -p "$pg"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	# initdb refuses root: the cluster belongs to the postgres user
	id postgres > /dev/null 2>&1 || bench_die "running as root needs the postgres user"
	chmod 711 "$BENCH_TMP"
	chown postgres "$pg"
	as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$PGBIN/initdb" -D "$pg/data" -A trust -U bench --no-locale -E UTF8 > "$BENCH_TMP/initdb.log" 2>&1 ||
	bench_die "initdb failed: $(tail -n 5 "$BENCH_TMP/initdb.log")"
cat >> "$pg/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$pg'
shared_buffers = 512MB
work_mem = 64MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
EOF
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pg/data" -l "$pg/log" -w start > /dev/null ||
	bench_die "PostgreSQL did not start: $(tail -n 5 "$pg/log")"
pg_stop() {
	"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pg/data" -m fast -w stop > /dev/null 2>&1 || true
}
trap 'pg_stop; [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$BENCH_TMP"' EXIT
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$pg" -U bench -d postgres)
# the table keeps what the archive keeps; the indexes serve the same
# questions (words, sender, conversation, time), maintained on insert
"${PSQL[@]}" -c "CREATE TABLE messages(seq bigserial PRIMARY KEY, platform text NOT NULL,
	conversation text NOT NULL, sender text NOT NULL, ts bigint NOT NULL, id text NOT NULL,
	kind text NOT NULL, body text NOT NULL, payload text NOT NULL);
	CREATE INDEX messages_fts ON messages USING gin (to_tsvector('german', body));
	CREATE INDEX messages_ts ON messages (ts);
	CREATE INDEX messages_sender ON messages (sender, ts);
	CREATE INDEX messages_conv ON messages (conversation, ts);"
bench_run pgload "${PSQL[@]}" -f "$BENCH_TMP/load.sql"
pg_rows=$("${PSQL[@]}" -Atc "SELECT count(*) FROM messages")
[ "$pg_rows" = "$N" ] || bench_die "PostgreSQL loaded $pg_rows of $N rows"
# statistics for the planner, as autovacuum would gather them (not timed)
"${PSQL[@]}" -c "VACUUM ANALYZE messages" -c "CHECKPOINT"
pg_bytes=$("${PSQL[@]}" -Atc "SELECT pg_total_relation_size('messages')")
python3 - "$queries" "$REPS" > "$BENCH_TMP/pg-queries.sql" <<'PY'
import sys
reps = int(sys.argv[2])
print("\\o /dev/null")
print("\\timing on")
for line in open(sys.argv[1], encoding="utf-8"):
    name, cat, _, cond, tsq = line.rstrip("\n").split("\t")
    snippet = "ts_headline('german', body, %s, 'MaxWords=35, MinWords=15')" % tsq if tsq else "left(body, 240)"
    count = "SELECT count(*) FROM messages WHERE %s;" % cond
    page = ("SELECT seq, id, platform, conversation, sender, ts, %s FROM messages WHERE %s "
            "ORDER BY ts DESC, seq DESC LIMIT 50;" % (snippet, cond))
    for _ in range(reps + 2):
        print(count)
        print(page)
PY
"${PSQL[@]}" -f "$BENCH_TMP/pg-queries.sql" > "$BENCH_TMP/pg-times.txt"
pg_stop

# ---- figures -----------------------------------------------------------
python3 - "$queries" "$REPS" "$BENCH_TMP/custos-lat.tsv" "$BENCH_TMP/pg-times.txt" > "$BENCH_TMP/lat.txt" <<'PY'
import sys
qfile, reps, cfile, pfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
order, cat = [], {}
for line in open(qfile, encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    order.append(f[0])
    cat[f[0]] = f[1]
cus = {q: [] for q in order}
tot = {}
for line in open(cfile):
    name, _, ms, total = line.split("\t")
    cus[name].append(float(ms))
    tot[name] = int(total)
times = [float(l.split()[1]) for l in open(pfile) if l.startswith("Time:")]
assert len(times) == len(order) * (reps + 2) * 2, (len(times), len(order))
pgq, i = {}, 0
for q in order:
    runs = []
    for r in range(reps + 2):
        t = times[i] + times[i + 1]  # count + page
        i += 2
        if r >= 2:
            runs.append(t)
    pgq[q] = runs

def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]

print("  %-22s %-12s %9s %9s %9s %9s %8s" % ("query", "category", "hits", "custos p50", "pg p50", "custos p95", "pg p95"))
for q in order:
    print("  %-22s %-12s %9d %9.2f %9.2f %9.2f %9.2f" % (q, cat[q], tot.get(q, -1), pct(cus[q], 50),
          pct(pgq[q], 50), pct(cus[q], 95), pct(pgq[q], 95)))
allc = [x for q in order for x in cus[q]]
allp = [x for q in order for x in pgq[q]]
filt = [q for q in order if cat[q] in ("sender", "conversation")]
fc = [x for q in filt for x in cus[q]]
fp = [x for q in filt for x in pgq[q]]
print("RESULT %f %f %f %f %f %f" % (pct(allc, 50), pct(allp, 50), pct(allc, 95), pct(allp, 95),
      pct(fc, 95), pct(fp, 95)))
PY
grep -v '^RESULT' "$BENCH_TMP/lat.txt"
read -r _ c50 p50 c95 p95 cf95 pf95 < <(grep '^RESULT' "$BENCH_TMP/lat.txt")

echo
bench_row_header
bench_row "custos ingest" "$ingest_s" - "$(bench_div "$N" "$ingest_s")" "$ingest_rss"
bench_row "custos index catch-up" "$index_s" - "$(bench_div "$N" "$index_s")" "$index_rss"
bench_row "custos ingest + index" "$custos_s" - "$(bench_div "$N" "$custos_s")" -
bench_row "PostgreSQL load (1000-row txns)" "$pgload_s" - "$(bench_div "$N" "$pgload_s")" -
echo
printf '  %-40s %12s %12s\n' "" custos PostgreSQL
printf '  %-40s %12s %12s\n' "bytes (segments+index / table+indexes)" "$custos_bytes" "$pg_bytes"
printf '  %-40s %12.1f %12.1f\n' "bytes per message" "$(bench_div "$custos_bytes" "$N")" "$(bench_div "$pg_bytes" "$N")"
printf '  %-40s %12s\n' "  custos segments / index" "$seg_bytes / $idx_bytes"
printf '  %-40s %12.2f %12.2f\n' "latency p50 (ms)" "$c50" "$p50"
printf '  %-40s %12.2f %12.2f\n' "latency p95 (ms)" "$c95" "$p95"
printf '  %-40s %12.2f %12.2f\n' "  sender/conversation-filtered p95 (ms)" "$cf95" "$pf95"
echo
ingest_ratio=$(bench_div "$pgload_s" "$custos_s")
p95_ratio=$(bench_div "$c95" "$p95")
f95_ratio=$(bench_div "$cf95" "$pf95")
bytes_ratio=$(bench_div "$custos_bytes" "$pg_bytes")
bench_target "ingest+index rate custos/PostgreSQL" "$ingest_ratio" ">=" 4
bench_target "p95 latency custos/PostgreSQL" "$p95_ratio" "<=" 0.5
bench_target "filtered p95 latency custos/PostgreSQL" "$f95_ratio" "<=" 0.5
bench_target "bytes custos/PostgreSQL" "$bytes_ratio" "<=" 0.5

bench_json_line "$(bench_out_file)" bench=search commit="$(bench_commit)" n="$N" seed="$SEED" reps="$REPS" \
	cores="$(nproc)" load_before="$load_before" \
	ingest_s="$ingest_s" index_s="$index_s" custos_msgs_per_s="$(bench_div "$N" "$custos_s")" \
	pg_load_s="$pgload_s" pg_msgs_per_s="$(bench_div "$N" "$pgload_s")" \
	custos_bytes="$custos_bytes" segment_bytes="$seg_bytes" index_bytes="$idx_bytes" pg_bytes="$pg_bytes" \
	custos_p50_ms="$c50" pg_p50_ms="$p50" custos_p95_ms="$c95" pg_p95_ms="$p95" \
	custos_filtered_p95_ms="$cf95" pg_filtered_p95_ms="$pf95" \
	ratio_ingest="$ingest_ratio" ratio_p95="$p95_ratio" ratio_filtered_p95="$f95_ratio" \
	ratio_bytes="$bytes_ratio" targets_missed="$BENCH_MISSED"
echo "result appended to $(bench_out_file)"
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$BENCH_MISSED" -gt 0 ]; then
	exit 3
fi
