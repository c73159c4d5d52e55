# Erasure orders (GDPR Art. 17, court orders): refused with an explanation
# for records under hold, four-eyes approval, real deletion with a
# certificate naming the order; bad input and archive records refused.
. "$(dirname "$0")/lib.sh"
scan="python3 $(dirname "$0")/retention_scan.py"

expect_exit 0 "$CUSTOS" init -d a
cat > m.jsonl <<'J'
{"platform":"xmpp","conversation":"amt@conference.ex.org","sender":"anna@ex.org","ts":"2025-01-01T09:00:00Z","id":"x1","body":"Protected message Ferngeheim under the hold."}
{"platform":"xmpp","conversation":"buero@conference.ex.org","sender":"ben@ex.org","ts":"2025-01-02T09:00:00Z","id":"x2","body":"Personal data Datenloeschwunsch of Ben, phone 0176555444."}
{"platform":"xmpp","conversation":"buero@conference.ex.org","sender":"ben@ex.org","ts":"2025-01-03T09:00:00Z","id":"x3","body":"More Datenloeschwunsch about Ben."}
{"platform":"xmpp","conversation":"buero@conference.ex.org","sender":"clara@ex.org","ts":"2025-01-04T09:00:00Z","id":"x4","body":"Unrelated Kaffeeplan for the week."}
J
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl
expect_exit 0 "$CUSTOS" hold add -d a --matter "2 BvR 1/25" --reason "Verfassungsbeschwerde" --by lisa --conversation-pattern 'amt@*'
hold=$out

# Usage errors: exit 2, nothing stored.
n0=$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')
expect_exit 2 "$CUSTOS" erase -d a --seq 1 --by anna
expect_exit 2 "$CUSTOS" erase -d a --reason r --by anna
expect_exit 2 "$CUSTOS" erase -d a --seq 1x --reason r --by anna
expect_exit 2 "$CUSTOS" erase -d a --seq 1 --reason r
expect_exit 2 "$CUSTOS" erase -d a --query 'from:(' --reason r --by anna
expect_exit 1 "$CUSTOS" erase -d a --seq 999 --reason r --by anna
# The hold record itself is evidence, not erasable content.
expect_exit 1 "$CUSTOS" erase -d a --seq "$hold" --reason r --by anna
grep -q "archive's own" <<<"$out" || fail "archive records are not erasable: $out"

# A record under hold: the whole order is refused, naming hold and matter.
expect_exit 1 "$CUSTOS" erase -d a --seq 0,1 --reason "Art. 17 request" --by anna
grep -q "under legal hold" <<<"$out" || fail "refusal explains the hold: $out"
grep -q "record 0 is under hold $hold (matter 2 BvR 1/25)" <<<"$out" || fail "refusal names the hold: $out"
expect_exit 1 "$CUSTOS" erase -d a --seq 1 --seq 0 --reason "Art. 17 request" --by anna --json
assert_eq "$(echo "$out" | sed -n '/^{/,$p' | json_get - '[r["seq"] for r in j["refused"]]')" "[0]" "refused list"
assert_eq "$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')" "$n0" "refused orders store nothing"

# By query: both of Ben's messages.
expect_exit 0 "$CUSTOS" erase -d a --query Datenloeschwunsch --reason "Art. 17 DSGVO, Antrag vom 3.2." --by anna --json
plan=$(echo "$out" | json_get - 'j["plan"]')
assert_eq "$(echo "$out" | json_get - 'j["groups"][0]["seqs"]')" "[1, 2]" "query resolved to Ben's messages"
expect_exit 1 "$CUSTOS" retention execute -d a "$plan"
expect_exit 1 "$CUSTOS" retention approve -d a "$plan" --by Anna
grep -q "four-eyes" <<<"$out" || fail "four-eyes on erasure: $out"
expect_exit 0 "$CUSTOS" retention approve -d a "$plan" --by dpo
expect_exit 0 "$CUSTOS" retention execute -d a "$plan" --json
cert=$(echo "$out" | json_get - 'j["certificate"]')
assert_eq "$(echo "$out" | json_get - 'j["erased_now"]')" 2 "erased"
assert_eq "$("$CUSTOS" search -d a --json Datenloeschwunsch | json_get - 'j["total"]')" 0 "gone from search"
assert_eq "$("$CUSTOS" search -d a --json Kaffeeplan | json_get - 'j["total"]')" 1 "others stay"
assert_eq "$($scan a Datenloeschwunsch 0176555444)" "" "no trace in the data directory"
expect_exit 0 "$CUSTOS" retention certificates -d a --json
c='j["certificates"][0]'
assert_eq "$(echo "$out" | json_get - "$c[\"certificate\"][\"type\"]")" erasure "certificate type"
assert_eq "$(echo "$out" | json_get - "$c[\"certificate\"][\"order\"][\"reason\"]")" "Art. 17 DSGVO, Antrag vom 3.2." "order named"
assert_eq "$(echo "$out" | json_get - "$c[\"certificate\"][\"groups\"][0][\"basis\"]")" "erasure order" "basis"
assert_eq "$(echo "$out" | json_get - "$c[\"signature_valid\"]")" True "signed"
assert_eq "$(echo "$out" | json_get - "$c[\"id\"]")" "$cert" "id"

# Erasing a deleted record again is refused.
expect_exit 1 "$CUSTOS" erase -d a --seq 1 --reason again --by anna
grep -q "deleted already" <<<"$out" || fail "already deleted: $out"

# A hold placed after the order was approved still wins at execution.
expect_exit 0 "$CUSTOS" erase -d a --seq 3 --reason "Art. 17" --by anna
plan2=$(echo "$out" | sed -n 's/.*stored as plan \([0-9]*\).*/\1/p')
expect_exit 0 "$CUSTOS" retention approve -d a "$plan2" --by dpo
expect_exit 0 "$CUSTOS" hold add -d a --matter "4 K 2/26" --reason "Kaffee-Streit" --by lisa --sender 'clara@ex.org'
expect_exit 0 "$CUSTOS" retention execute -d a "$plan2" --json
assert_eq "$(echo "$out" | json_get - 'j["certificate"]')" None "nothing deleted: no certificate"
assert_eq "$(echo "$out" | json_get - '[r["seq"] for r in j["skipped"]["held"]["records"]]')" "[3]" "held at execution"
assert_eq "$("$CUSTOS" search -d a --json Kaffeeplan | json_get - 'j["total"]')" 1 "held record stays"
expect_exit 0 "$CUSTOS" verify -d a
