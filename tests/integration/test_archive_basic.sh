# The archive end to end through the CLI: init, ingest (duplicates, bad
# input, --check), show, proofs checked offline, checkpoints, rotation.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$CUSTOS" init -d a --origin archive.example.gov/custos
expect_exit 1 "$CUSTOS" init -d a
grep -q "refusing" <<<"$out" || fail "second init must refuse: $out"
[ "$(stat -c %a a/keys/archive.key)" = 600 ] || fail "key must be mode 0600"
expect_exit 0 "$CUSTOS" pubkey -d a
grep -q "BEGIN PUBLIC KEY" <<<"$out" || fail "pubkey prints PEM"
"$CUSTOS" pubkey -d a > pub.pem

cat > msgs.jsonl <<'J'
{"platform":"matrix","conversation":"!room:example.org","sender":"@anna:example.org","ts":1704103200000,"id":"$e1","body":"Der Antrag AZ 12-345/2024 ist eingegangen.","x_custom":{"keep":"me"}}
{"platform":"matrix","conversation":"!room:example.org","sender":"@ben:example.org","ts":"2024-01-01T10:01:00+01:00","id":"$e2","body":"Danke, ich prüfe die Anträge.","reply_to":"$e1"}
{"platform":"xmpp","conversation":"amt@conference.example.org","sender":"clara@example.org","ts":1704103300000,"id":42,"body":"Straße gesperrt","recipients":["dora@example.org"],"kind":"message"}
J
expect_exit 0 "$CUSTOS" ingest -d a --json msgs.jsonl
assert_eq "$(echo "$out" | json_get - 'j["accepted"]')" 3 "accepted"
assert_eq "$(echo "$out" | json_get - 'j["last_seq"]')" 2 "last seq"
# The same file again: all duplicates, nothing stored twice.
expect_exit 0 "$CUSTOS" ingest -d a --json msgs.jsonl
assert_eq "$(echo "$out" | json_get - 'j["duplicates"]')" 3 "duplicates"
assert_eq "$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')" 3 "records after re-ingest"
# A different source is a different message stream.
expect_exit 0 "$CUSTOS" ingest -d a --source other --json msgs.jsonl
assert_eq "$(echo "$out" | json_get - 'j["accepted"]')" 3 "other source accepted"

# Unknown fields are kept: the payload is the exact line.
"$CUSTOS" show -d a 0 --json > r0.json
assert_eq "$(json_get r0.json 'json.loads(j["payload"])["x_custom"]["keep"]')" me "unknown field kept"
assert_eq "$(json_get r0.json 'j["payload"]')" "$(head -1 msgs.jsonl)" "payload is the exact line"
assert_eq "$(json_get r0.json 'j["ts"]')" 1704103200000 "ts"
"$CUSTOS" show -d a 1 --json > r1.json
assert_eq "$(json_get r1.json 'j["ts"]')" 1704099660000 "RFC 3339 ts with offset"
assert_eq "$(json_get r1.json 'j["reply_to"]')" '$e1' "reply_to"
grep -q "Straße gesperrt" <<<"$("$CUSTOS" show -d a 2)" || fail "human show prints the body"

# Bad input: the error names the line and the field; nothing of the batch is written.
printf '%s\n' '{"platform":"matrix","conversation":"c","sender":"s","ts":1,"id":"n1","body":"ok"}' \
	'{"platform":"matrix","conversation":"c","sender":"s","ts":"yesterday","id":"n2","body":"bad"}' > bad.jsonl
expect_exit 1 "$CUSTOS" ingest -d a bad.jsonl
grep -q "line 2" <<<"$out" || fail "error names the line: $out"
grep -q "'ts'" <<<"$out" || fail "error names the field: $out"
assert_eq "$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')" 6 "rejected batch wrote nothing"
printf '%s\n' '{"platform":"matrix","sender":"s","ts":1,"id":"n3","body":"x"}' > missing.jsonl
expect_exit 1 "$CUSTOS" ingest -d a missing.jsonl
grep -q "'conversation': missing" <<<"$out" || fail "missing field named: $out"
printf '{"platform":"matrix", nope\n' > broken.jsonl
expect_exit 1 "$CUSTOS" ingest -d a broken.jsonl
grep -q "line 1: invalid JSON" <<<"$out" || fail "invalid JSON reported: $out"
expect_exit 1 "$CUSTOS" ingest --check bad.jsonl
expect_exit 0 "$CUSTOS" ingest --check msgs.jsonl
expect_exit 2 "$CUSTOS" ingest -d a
expect_exit 2 "$CUSTOS" show -d a notanumber
expect_exit 1 "$CUSTOS" show -d a 999
expect_exit 1 "$CUSTOS" show -d nonexistent 0

# Inclusion proof, checked offline with only the public key.
"$CUSTOS" show -d a 1 --json --proof > p1.json
for k in seq leaf_hash leaf_data tree_size root_hash inclusion checkpoint; do
	json_get p1.json "j['$k']" > /dev/null || fail "proof lacks $k"
done
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem p1.json
# The leaf hash is SHA-256(0x00 || leaf_data), checkable with plain tools.
lh=$( { printf '\0'; json_get p1.json 'j["leaf_data"]' | base64 -d; } | sha256sum | cut -d' ' -f1)
assert_eq "$lh" "$(json_get p1.json 'j["leaf_hash"]')" "leaf hash by hand"
python3 - p1.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["tree_size"] += 1
json.dump(j, open("p1bad.json", "w"))
PY
expect_exit 1 "$CUSTOS" verify-proof --pubkey pub.pem p1bad.json
# The readable "record" must be exactly what leaf_data holds: any member
# changed, added or removed fails, and what verify-proof shows as proven
# comes from leaf_data (issue 15 item 9).
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem --json p1.json
python3 -c 'import json,sys; a=json.load(open("p1.json")); b=json.loads(sys.argv[1]); assert b["record"] == a["record"], b' "$out" \
	|| fail "verify-proof --json shows the proven record: $out"
for edit in '.record.body = "forged"' '.record.sender = "mallory@example.org"' \
	'.record.conversation = "elsewhere"' '.record.ts += 1' '.record.kind = "edit"' \
	'.record.payload = "{}"' '.record.subject = "added"' 'del(.record.body)' \
	'.note = "not proven"' '.record = "text"'; do
	jq "$edit" p1.json > forged.json
	expect_exit 1 "$CUSTOS" verify-proof --pubkey pub.pem forged.json
	grep -q "record\|member" <<<"$out" || fail "$edit: the failure names the member: $out"
done
jq '.record.body = "forged"' p1.json > forged.json
expect_exit 1 "$CUSTOS" verify-proof --pubkey pub.pem forged.json
grep -q "record.body is not what leaf_data holds" <<<"$out" || fail "names record.body: $out"
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem p1.json
grep -qF '"sender": "@ben:example.org"' <<<"$out" || fail "verify-proof prints the proven record: $out"
grep -qF 'pr\u00FCfe die Antr\u00E4ge' <<<"$out" || fail "verify-proof prints the proven body: $out"

# Checkpoint: C2SP signed note.
"$CUSTOS" checkpoint -d a > cp.txt
assert_eq "$(sed -n 1p cp.txt)" "archive.example.gov/custos" "origin line"
assert_eq "$(sed -n 2p cp.txt)" 6 "size line"
assert_eq "$(sed -n 4p cp.txt)" "" "blank line"
sed -n 5p cp.txt | grep -q "^— archive.example.gov/custos " || fail "signature line"

# Consistency proof from the old size to the new one.
ingest_more=$(gen 500 7)
echo "$ingest_more" > more.jsonl
expect_exit 0 "$CUSTOS" ingest -d a more.jsonl
"$CUSTOS" prove -d a --from 3 --json > c.json
assert_eq "$(json_get c.json 'j["first_size"]')" 3 "first size"
assert_eq "$(json_get c.json 'j["second_size"]')" 506 "second size"
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem c.json
expect_exit 2 "$CUSTOS" prove -d a

# Rotation: small segments are sealed; everything still verifies and proves.
expect_exit 0 "$CUSTOS" init -d b
set_config b segment_max_bytes 20000
gen 3000 3 > m3.jsonl
expect_exit 0 "$CUSTOS" ingest -d b --batch 200 m3.jsonl
expect_exit 0 "$CUSTOS" verify -d b --json
[ "$(echo "$out" | json_get - 'j["sealed"]')" -ge 3 ] || fail "segments sealed: $out"
assert_eq "$(echo "$out" | json_get - 'j["records"]')" 3000 "records"
"$CUSTOS" pubkey -d b > pubb.pem
for s in 0 199 200 1234 2999; do
	"$CUSTOS" show -d b $s --json --proof > p.json
	expect_exit 0 "$CUSTOS" verify-proof --pubkey pubb.pem p.json
done
"$CUSTOS" show -d b 10 --json --proof --tree-size 100 > p.json
expect_exit 0 "$CUSTOS" verify-proof --pubkey pubb.pem p.json
expect_exit 1 "$CUSTOS" verify-proof --pubkey pub.pem p.json # another archive's key
"$CUSTOS" prove -d b --from 1000 --to 2500 --json > c.json
expect_exit 0 "$CUSTOS" verify-proof --pubkey pubb.pem c.json
# The index follows the log: reconciliation finds nothing missing, then a
# deleted index row is reported.
expect_exit 0 "$CUSTOS" verify -d b --index
grep -q "0 missing" <<<"$out" || fail "index reconciled: $out"
python3 -c 'import sqlite3; c = sqlite3.connect("b/index/index.db"); c.execute("DELETE FROM meta WHERE seq = 10"); c.commit()'
expect_exit 1 "$CUSTOS" verify -d b --index
grep -q "1 missing" <<<"$out" || fail "missing index row reported: $out"
# --json: one document, the index report inside it
expect_exit 1 "$CUSTOS" verify -d b --index --json
echo "$out" | python3 -c 'import json,sys; d = json.load(sys.stdin); sys.exit(0 if d["intact"] and d["index"]["missing_seqs"] == [10] else 1)' ||
	fail "verify --index --json is not one document with the index report: $out"
expect_exit 0 "$CUSTOS" reindex -d b
expect_exit 0 "$CUSTOS" verify -d b --index
# log walks every record in order
assert_eq "$("$CUSTOS" log -d b | wc -l)" 3000 "log lines"
assert_eq "$("$CUSTOS" log -d b --from 2990 --count 5 | head -1 | json_get - 'j["seq"]')" 2990 "log from"
echo ok
