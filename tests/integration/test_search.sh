# Full-text search end to end through the CLI: German cases, identifiers,
# operators and fields, --json shape, exit codes and positioned syntax
# errors, injection attempts searched literally, paging by cursor while a
# concurrent ingest appends, reindex giving identical results, and the
# index catching up by itself after ingest.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$CUSTOS" init -d a

cat > msgs.jsonl <<'J'
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@anna.mueller:stadt.example","ts":1714564800000,"id":"$e0","body":"Die Häuser an der Straße werden saniert, Herr Müller prüft den Antrag."}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@ben:stadt.example","ts":1714564860000,"id":"$e1","body":"Das Haus in der Strasse 5 hat drei Anträge gestellt: AZ 12-345/2024."}
{"platform":"xmpp","conversation":"amt@conference.stadt.example","sender":"clara@stadt.example/pc","ts":1714564920000,"id":"x2","body":"Ruf an: +49 30 1234567 oder clara@stadt.example, siehe https://intranet.stadt.example/wiki?p=1"}
{"platform":"threema","conversation":"ABCD1234","sender":"EFGH5678","ts":1714565000000,"id":"t3","body":"The meetings about the running projects; Mueller kommt auch. Kontakt @dora:matrix.example"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@ben:stadt.example","ts":1714565100000,"id":"$e4","kind":"edit","body":"Korrektur: drei Anträge, nicht zwei"}
J
expect_exit 0 "$CUSTOS" ingest -d a msgs.jsonl

# seqs of the hits of a query, newest first: "1 0"
seqs() {
	"$CUSTOS" search -d a --json "$@" | python3 -c 'import json,sys; print(" ".join(str(r["seq"]) for r in json.load(sys.stdin)["results"]))'
}
check() {
	local want=$1
	shift
	assert_eq "$(seqs "$@")" "$want" "search $*"
}

# German: umlauts, ß/ss, inflections; exact phrases stay exact
check "1 0" Häuser
check "1 0" Haus
check "1 0" Strasse
check "1 0" Straße
check "3 0" Mueller
check "3 0" Müller
check "4 1 0" Anträge
check "4 1 0" Antrag
check "0" '"Häuser"'
check "3" meetings
check "3" meeting
check "3" running
# identifiers as typed
check "1" "AZ 12-345/2024"
check "1" '"AZ 12-345/2024"'
check "2" "+49 30 1234567"
check "2" clara@stadt.example
check "2" https://intranet.stadt.example/wiki?p=1
check "3" @dora:matrix.example
# operators
check "1 0" Haus Antrag
check "3 2 1 0" Haus OR +49 OR running
check "4" -- Antrag -Strasse # a word starting with - after the first one: after --
check "0" Antrag NOT '"drei Anträge"'
check "4 1" '"drei Anträge"'
check "4 1 0" 'Antr*'
check "1 0" '(Haus OR Häuser) -meeting'
# fields
check "4 1" from:ben
check "4 1 0" in:!bau:stadt.example
check "2" platform:xmpp
check "4" kind:edit
check "4 3 2" after:2024-05-01T12:02:00Z
check "1 0" before:2024-05-01T12:02:00Z Antrag
check "4" -- 'in:!bau:stadt.example' -Haus
check "3 2" -- -Haus -Antrag

# --json shape and snippets
"$CUSTOS" search -d a --json --limit 1 Antrag > page1.json
python3 - page1.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"total", "results", "next_cursor"}, j
assert j["total"] == 3 and len(j["results"]) == 1 and isinstance(j["next_cursor"], str), j
r = j["results"][0]
assert set(r) == {"seq", "id", "platform", "conversation", "sender", "ts", "snippet"}, r
assert r["seq"] == 4 and r["id"] == "$e4" and r["platform"] == "matrix", r
assert r["ts"] == 1714565100000 and r["sender"] == "@ben:stadt.example", r
assert r["snippet"] == "Korrektur: drei **Anträge**, nicht zwei", r
PY
cursor=$(json_get page1.json 'j["next_cursor"]')
assert_eq "$(seqs --limit 1 --cursor "$cursor" Antrag)" "1" "second page"
expect_exit 0 "$CUSTOS" search -d a Antrag
grep -q "3 results" <<<"$out" || fail "human output: $out"

# usage and syntax errors: exit 2, the position and what was expected
expect_exit 2 "$CUSTOS" search -d a '(Antrag'
grep -q "position 8: expected ')'" <<<"$out" || fail "unclosed paren: $out"
expect_exit 2 "$CUSTOS" search -d a 'Antrag OR'
grep -q "position 10: expected a term after 'OR'" <<<"$out" || fail "dangling OR: $out"
expect_exit 2 "$CUSTOS" search -d a 'kind:nonsense'
grep -q "unknown kind" <<<"$out" || fail "bad kind: $out"
expect_exit 2 "$CUSTOS" search -d a 'after:gestern'
expect_exit 2 "$CUSTOS" search -d a '"offen'
expect_exit 2 "$CUSTOS" search -d a
expect_exit 2 "$CUSTOS" search -d a --limit 0 x
expect_exit 2 "$CUSTOS" search -d a --sort sideways x
expect_exit 2 "$CUSTOS" search -d a --cursor bogus Antrag
expect_exit 2 "$CUSTOS" search -d a --cursor "$cursor" Haus

# injection: FTS5 and SQL syntax is searched literally, never an SQLite error
for q in 'NEAR(Haus Antrag)' 'body:Haus' '{body}:Haus' '^Haus' 'Haus + Antrag' \
	"'; DROP TABLE meta; --" "x' OR '1'='1" 'Haus" OR "x' 'in:"); DROP TABLE meta; --"' \
	'from:"a'"'"' OR 1=1"' '*' 'Haus*)' 'a:b:c' 'rank:1' '%_%'; do
	set +e
	res=$("$CUSTOS" search -d a --json "$q" 2>&1)
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || fail "'$q' exited $rc: $res"
	if grep -qiE "sqlite|fts5|malformed|no such|near \"" <<<"$res"; then
		fail "'$q' leaked an SQL/FTS5 error: $res"
	fi
done
check "" 'NEAR(Haus Antrag)'  # the words NEAR, Haus, Antrag: NEAR is in no message
check "" 'NEAR'
check "1 0" '^Haus'

# the index is derived: rebuilt from the segments it gives the same answers
for q in Haus Antrag 'from:ben' '"AZ 12-345/2024"' 'Antr*' '-Haus'; do
	"$CUSTOS" search -d a --json -- "$q" >> before.json
done
expect_exit 0 "$CUSTOS" reindex -d a
grep -q "indexed 5 records" <<<"$out" || fail "reindex: $out"
for q in Haus Antrag 'from:ben' '"AZ 12-345/2024"' 'Antr*' '-Haus'; do
	"$CUSTOS" search -d a --json -- "$q" >> after.json
done
cmp before.json after.json || fail "reindex changed the results"
# a missing or broken index is rebuilt as well
rm -rf a/index
check "1 0" Haus
echo "garbage" > a/index/index.db
rm -f a/index/index.db-wal a/index/index.db-shm
expect_exit 0 "$CUSTOS" search -d a Haus # rebuilt by the search, with a warning
grep -q "warning: index: .*rebuilt from the segments" <<<"$out" || fail "no warning: $out"
check "1 0" Haus
echo "garbage" > a/index/index.db
expect_exit 0 "$CUSTOS" reindex -d a
check "1 0" Haus

# paging while a concurrent ingest appends: stable pages, nothing twice,
# nothing skipped, the same total on every page
gen 1500 > gen.jsonl
head -n 1000 gen.jsonl > first.jsonl
tail -n 500 gen.jsonl > later.jsonl
expect_exit 0 "$CUSTOS" ingest -d a first.jsonl
split -l 100 later.jsonl chunk.
(for f in chunk.*; do "$CUSTOS" ingest -d a "$f" > /dev/null || exit 1; done) &
ingester=$!
python3 - "$CUSTOS" <<'PY'
import json, subprocess, sys
custos = sys.argv[1]
seen, total, cursor, pages = set(), None, None, 0
while True:
    args = [custos, "search", "-d", "a", "--json", "--limit", "40"]
    if cursor:
        args += ["--cursor", cursor]
    out = subprocess.run(args + ["die"], capture_output=True, check=True, text=True).stdout
    j = json.loads(out)
    if total is None:
        total = j["total"]
    assert j["total"] == total, (j["total"], total)
    for r in j["results"]:
        assert r["seq"] not in seen, r["seq"]
        seen.add(r["seq"])
    pages += 1
    cursor = j["next_cursor"]
    if not cursor:
        break
assert len(seen) == total, (len(seen), total)
assert total > 100 and pages > 2, (total, pages)
PY
wait "$ingester" || fail "concurrent ingest failed"
# once the ingest is done, a new search finds the new messages too
n_all=$("$CUSTOS" search -d a --json --limit 1 die | json_get - 'j["total"]')
n_first=$(grep -ci '\bdie\b' first.jsonl || true)
[ "$n_all" -gt "$n_first" ] || fail "new messages not found: $n_all <= $n_first"
# and the index agrees with the log record by record
expect_exit 0 "$CUSTOS" reindex -d a
assert_eq "$("$CUSTOS" search -d a --json --limit 1 die | json_get - 'j["total"]')" "$n_all" "total after reindex"
echo "search: ok"
