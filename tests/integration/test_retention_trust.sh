# Legal holds, scopes and four eyes on the command line (issue 15, items 5
# and 6): --conversation and --sender are exact ids compared byte for byte
# (a hold on a Matrix room of an IPv6-literal server protects its record
# against a plan and an erasure order), --conversation-pattern and
# --sender-pattern are patterns; a hold's count shows what it covers; the
# changes that can delete sooner are only proposed by one invocation and
# wait for a second person (`retention approve --by OTHER`), the proposer
# cannot approve them; releasing needs a reason.
. "$(dirname "$0")/lib.sh"

due() { # the seqs a dry-run plan lists
	"$CUSTOS" retention plan -d a --by planner --dry-run --json | json_get - '[x["seq"] for x in j["items"]]'
}

expect_exit 0 "$CUSTOS" init -d a
cat > m.jsonl <<'J'
{"platform":"matrix","conversation":"!evid:[2001:db8::1]","sender":"@a:[2001:db8::1]","ts":"2020-01-01T09:00:00Z","id":"a","body":"evidence"}
{"platform":"matrix","conversation":"!evid:2","sender":"@b:ex.org","ts":"2020-01-01T09:00:00Z","id":"b","body":"other room"}
{"platform":"matrix","conversation":"!pat:x","sender":"@b:ex.org","ts":"2020-01-01T09:00:00Z","id":"c","body":"pattern"}
J
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl
expect_exit 0 "$CUSTOS" policy add -d a --name all-1y --keep 1y --action destroy --by admin

# An exact id is that id: the held record stays, the other room does not.
expect_exit 0 "$CUSTOS" hold add -d a --matter "7 O 1/26" --reason evidence --by lisa --conversation '!evid:[2001:db8::1]' --json
assert_eq "$(echo "$out" | grep -c 'covers no archived record' || true)" 0 "no warning for a hold that covers"
hold=$(echo "$out" | json_get - 'j["hold"]')
assert_eq "$(due)" "[1, 2]" "a plan keeps the record of the held IPv6-literal room"
expect_exit 1 "$CUSTOS" erase -d a --seq 0 --reason "Art. 17" --by olga
grep -q "under hold $hold" <<<"$out" || fail "an erasure order of the held record is refused: $out"
expect_exit 0 "$CUSTOS" hold list -d a --json
assert_eq "$(echo "$out" | json_get - '[h["records"] for h in j["holds"]]')" "[1]" "the hold covers 1"
# A pattern given as a pattern; a pattern given as an id covers nothing, and says so.
expect_exit 0 "$CUSTOS" hold add -d a --matter m --reason r --by lisa --sender-pattern '@b:*' --json
assert_eq "$(echo "$out" | json_get - 'j["records"]')" 2 "a sender pattern covers 2"
expect_exit 0 "$CUSTOS" hold add -d a --matter m --reason r --by lisa --conversation '!pat:*'
grep -q "covers no archived record; --conversation and --sender take exact ids" <<<"$out" ||
	fail "a hold covering nothing warns: $out"
expect_exit 0 "$CUSTOS" hold show -d a "$hold"
grep -q "covers 1 records now" <<<"$out" || fail "hold show counts: $out"

# Releasing: a reason, and a second person.
expect_exit 2 "$CUSTOS" hold release -d a "$hold" --by lisa
expect_exit 0 "$CUSTOS" hold release -d a "$hold" --by lisa --reason "case closed" --json
rel=$(echo "$out" | json_get - 'j["plan"]')
assert_eq "$(echo "$out" | json_get - 'j["released"]')" False "one invocation does not release"
expect_exit 0 "$CUSTOS" hold list -d a --json
assert_eq "$(echo "$out" | json_get - '[h["status"] for h in j["holds"] if h["id"] == '"$hold"']')" "['active']" \
	"the hold stays active until approved"
expect_exit 1 "$CUSTOS" retention approve -d a "$rel" --by " LISA "
grep -q "four-eyes" <<<"$out" || fail "the proposer cannot approve: $out"
expect_exit 0 "$CUSTOS" retention approve -d a "$rel" --by otto
expect_exit 0 "$CUSTOS" hold list -d a --all --json
assert_eq "$(echo "$out" | json_get - '[h["status"] for h in j["holds"] if h["id"] == '"$hold"']')" "['released']" \
	"released once a second person approved"

# Approval none: proposed only; the scheduler deletes nothing until a second person approves.
expect_exit 0 "$CUSTOS" init -d b
expect_exit 0 "$CUSTOS" ingest -d b m.jsonl
expect_exit 0 "$CUSTOS" policy add -d b --name auto --keep 1y --action destroy --approval none --by admin --json
assert_eq "$(echo "$out" | json_get - 'j["pending"]')" True "approval none waits for a second person"
auto=$(echo "$out" | json_get - 'j["plan"]')
expect_exit 0 "$CUSTOS" retention run -d b --json
assert_eq "$(echo "$out" | json_get - 'j["plan"]')" None "nothing deleted by one person's policy"
expect_exit 1 "$CUSTOS" retention approve -d b "$auto" --by admin
expect_exit 0 "$CUSTOS" retention approve -d b "$auto" --by officer
# Shortening a keep period: retire the long policy (waits), add a short one.
expect_exit 0 "$CUSTOS" init -d c
expect_exit 0 "$CUSTOS" ingest -d c m.jsonl
expect_exit 0 "$CUSTOS" policy add -d c --name long-30y --keep 30y --action destroy --by admin
expect_exit 0 "$CUSTOS" policy retire -d c long-30y --by admin --json
assert_eq "$(echo "$out" | json_get - 'j["pending"]')" True "retiring waits for a second person"
ret=$(echo "$out" | json_get - 'j["plan"]')
expect_exit 0 "$CUSTOS" policy add -d c --name short-1y --keep 1y --action destroy --by admin
assert_eq "$("$CUSTOS" retention plan -d c --by p --dry-run --json | json_get - 'j["count"]')" 0 \
	"one admin cannot shorten 30y to 1y"
expect_exit 2 "$CUSTOS" retention reject -d c "$ret" --by officer
expect_exit 0 "$CUSTOS" retention reject -d c "$ret" --by officer --reason "keep 30y"
expect_exit 1 "$CUSTOS" retention approve -d c "$ret" --by otto
grep -q "rejected" <<<"$out" || fail "a rejected change cannot be approved: $out"
expect_exit 0 "$CUSTOS" verify -d a
