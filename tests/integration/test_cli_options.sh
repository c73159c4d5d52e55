# Options anywhere on the command line are options, never text: `custos
# search -d DIR word --limit 3` limits to 3 instead of searching
# "word --limit 3"; an unknown option after the arguments is refused (exit
# 2) by every command; "--" ends the options so a query word may start
# with '-'; POSIXLY_CORRECT does not change this; commands without
# arguments refuse stray ones; custos --version names the commit.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$CUSTOS" init -d a
for i in 1 2 3 4 5; do
	echo "{\"platform\":\"matrix\",\"conversation\":\"!r:ex.org\",\"sender\":\"@a:ex.org\",\"ts\":\"2024-05-0${i}T09:00:00Z\",\"id\":\"$i\",\"body\":\"alpha word $i\"}"
done > m.jsonl
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl

# The options after the query.
expect_exit 0 "$CUSTOS" search -d a alpha --limit 3 --json
assert_eq "$(echo "$out" | json_get - '(j["total"], len(j["results"]))')" "(5, 3)" "--limit after the query"
expect_exit 0 "$CUSTOS" search alpha -d a --sort oldest --json --limit 2
assert_eq "$(echo "$out" | json_get - '[r["id"] for r in j["results"]]')" "['1', '2']" "--sort after the query"
expect_exit 0 env POSIXLY_CORRECT=1 "$CUSTOS" search -d a alpha --limit 1 --json
assert_eq "$(echo "$out" | json_get - 'len(j["results"])')" "1" "POSIXLY_CORRECT does not turn options into words"
# Unknown options are refused, never searched.
expect_exit 2 "$CUSTOS" search -d a alpha --limt 3
expect_exit 2 "$CUSTOS" search -d a alpha -beta
# "--" ends the options: the rest is the query, even when it starts with '-'.
expect_exit 0 "$CUSTOS" search -d a --json -- -beta alpha
assert_eq "$(echo "$out" | json_get - 'j["total"]')" "5" "query after --"
expect_exit 0 "$CUSTOS" search -d a --json -- alpha --limit
assert_eq "$(echo "$out" | json_get - 'j["total"]')" "0" "after -- even '--limit' is a word"

# Every command refuses an unknown option after its arguments.
for cmd in "init -d b" "keygen x.kek" "pubkey -d a" "ingest -d a m.jsonl" "show -d a 0" "prove -d a --from 1" \
	"checkpoint -d a" "verify -d a" "verify-proof p.json" "stats -d a" "log -d a" "serve -d a" \
	"token list -d a" "search -d a alpha" "reindex -d a" "policy list -d a" "class list -d a" \
	"hold list -d a" "retention plan -d a" "erase -d a --seq 0" "export -d a --format bagit" \
	"verify-export x.zip" "source list -d a" "matrix-registration -d a"; do
	# shellcheck disable=SC2086
	expect_exit 2 "$CUSTOS" $cmd --no-such-option
done
# Commands without arguments refuse stray ones.
for cmd in checkpoint stats log verify pubkey reindex; do
	expect_exit 2 "$CUSTOS" "$cmd" -d a stray
done

expect_exit 0 "$CUSTOS" --version
grep -Eq '^custos [0-9][^ ]* \(commit [^)]+\)$' <<<"$out" || fail "--version: $out"
echo "ok"
