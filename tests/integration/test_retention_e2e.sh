# Retention end to end: old and young messages, legal holds on part of
# them (by conversation, by query, one placed after the plan), plan,
# four-eyes approval, execution; then the due records are gone from
# search, from show, from the log and from every byte of the data
# directory, held and young ones stay, the certificate lists exactly the
# deleted records and verifies offline, `custos verify` passes, and a
# checkpoint from before the deletion is consistent with one after it.
. "$(dirname "$0")/lib.sh"
scan="python3 $(dirname "$0")/retention_scan.py"

expect_exit 0 "$CUSTOS" init -d a
set_config a segment_max_bytes 500
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Each file is one commit; the small segment limit spreads the records
# over several segments, so deletion rewrites sealed segments too.
cat > m1.jsonl <<'J'
{"platform":"matrix","conversation":"!team:ex.org","sender":"@anna:ex.org","ts":"2016-03-01T09:00:00Z","id":"t1","body":"Quokkaxylophon Bericht zur Sitzung, bitte vertraulich behandeln und nicht weiterleiten."}
{"platform":"matrix","conversation":"!team:ex.org","sender":"@ben:ex.org","ts":"2016-03-01T09:05:00Z","id":"t2","body":"Zweiter Vermerk Quokkaxylophon mit Aktenzeichen 77-ZX/2016 und Telefonnummer 0301234567."}
J
cat > m2.jsonl <<'J'
{"platform":"matrix","conversation":"!court:ex.org","sender":"@anna:ex.org","ts":"2016-04-01T09:00:00Z","id":"c1","body":"Heldwombat Akte fuer das Verfahren, bitte aufbewahren solange es laeuft."}
{"platform":"matrix","conversation":"!team:ex.org","sender":"@carl:ex.org","ts":"2016-04-02T09:00:00Z","id":"t3","body":"Heldwombat auch hier erwaehnt, in einem ganz anderen Raum des Amtes."}
J
cat > m3.jsonl <<'J'
{"platform":"matrix","conversation":"!team:ex.org","sender":"@dora:ex.org","ts":"2017-05-01T09:00:00Z","id":"t4","body":"Latewalrus Nachricht von Dora, auf die spaeter ein Verfahren zielt."}
J
printf '{"platform":"matrix","conversation":"!team:ex.org","sender":"@anna:ex.org","ts":"%s","id":"t5","body":"Youngnarwhal ist neu und noch lange aufzubewahren."}\n' "$now" > m4.jsonl
for f in m1 m2 m3 m4; do "$CUSTOS" ingest -d a $f.jsonl > /dev/null; done
segs=$("$CUSTOS" stats -d a --json | json_get - 'j["segments"]')
[ "$segs" -ge 2 ] || fail "expected several segments, got $segs"
"$CUSTOS" pubkey -d a > pub.pem
for s in 0 1; do "$CUSTOS" show -d a $s --json | json_get - 'j["leaf_hash"]' >> leaves_before.txt; done

# Policy: chat messages are kept one year, then destroyed.
expect_exit 0 "$CUSTOS" policy add -d a --name chat-1y --keep 1y --action destroy --by admin
# Two holds; record 2 is under both.
expect_exit 0 "$CUSTOS" hold add -d a --matter "3 O 123/24" --reason "Klage Mueller" --by lisa --conversation '!court:ex.org'
h1=$out
expect_exit 0 "$CUSTOS" hold add -d a --matter "VG 5 K 9/25" --reason "Auskunftsklage" --by lisa --query Heldwombat
h2=$out
expect_exit 0 "$CUSTOS" hold show -d a "$h2" --json
assert_eq "$(echo "$out" | json_get - 'j["seqs"]')" "[2, 3]" "query hold covers both Heldwombat messages"
expect_exit 0 "$CUSTOS" hold show -d a "$h1" --json
assert_eq "$(echo "$out" | json_get - 'j["seqs"]')" "[2]" "conversation hold"

# A dry run stores nothing.
size0=$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')
expect_exit 0 "$CUSTOS" retention plan -d a --by alice --dry-run --json
assert_eq "$(echo "$out" | json_get - '[x["seq"] for x in j["items"]]')" "[0, 1, 4]" "dry run lists due, unheld"
assert_eq "$(echo "$out" | json_get - 'j["plan"]')" "None" "dry run stores no plan"
assert_eq "$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')" "$size0" "dry run wrote nothing"

expect_exit 0 "$CUSTOS" retention plan -d a --by alice --json
plan=$(echo "$out" | json_get - 'j["plan"]')
assert_eq "$(echo "$out" | json_get - '[x["seq"] for x in j["items"]]')" "[0, 1, 4]" "plan items"
assert_eq "$(echo "$out" | json_get - 'sorted(x["seq"] for x in j["held"]["records"])')" "[2, 3]" "held excluded"
assert_eq "$(echo "$out" | json_get - '[x["holds"] for x in j["held"]["records"] if x["seq"] == 2][0]')" "[$h1, $h2]" \
	"record 2 is under two holds"

# Not yet approved: execution refused. The planner cannot approve (also
# not by changing the case of the name).
expect_exit 1 "$CUSTOS" retention execute -d a "$plan"
grep -q "approval of a second person" <<<"$out" || fail "execute before approval: $out"
expect_exit 1 "$CUSTOS" retention approve -d a "$plan" --by alice
grep -q "four-eyes" <<<"$out" || fail "self-approval must name the four-eyes rule: $out"
expect_exit 1 "$CUSTOS" retention approve -d a "$plan" --by " ALICE"
# A hold placed after the plan but before execution protects record 4.
expect_exit 0 "$CUSTOS" hold add -d a --matter "LG 1 O 5/26" --reason "neue Klage" --by lisa --sender-pattern '@dora:*'
expect_exit 0 "$CUSTOS" retention approve -d a "$plan" --by bob
expect_exit 1 "$CUSTOS" retention approve -d a "$plan" --by carol
grep -q "approved already" <<<"$out" || fail "second approval: $out"

"$CUSTOS" checkpoint -d a > cp_before.txt
size_before=$(sed -n 2p cp_before.txt)
expect_exit 0 "$CUSTOS" retention execute -d a "$plan" --by carol --json
cert=$(echo "$out" | json_get - 'j["certificate"]')
assert_eq "$(echo "$out" | json_get - 'j["erased_now"]')" 2 "two records erased"
assert_eq "$(echo "$out" | json_get - '[x["seq"] for x in j["skipped"]["held"]["records"]]')" "[4]" \
	"the late hold is honoured at execution"

# Gone from search and show; held and young records stay findable.
assert_eq "$("$CUSTOS" search -d a --json Quokkaxylophon | json_get - 'j["total"]')" 0 "deleted words not found"
assert_eq "$("$CUSTOS" search -d a --json 77-ZX/2016 | json_get - 'j["total"]')" 0 "deleted identifier not found"
assert_eq "$("$CUSTOS" search -d a --json Heldwombat | json_get - 'j["total"]')" 2 "held records found"
assert_eq "$("$CUSTOS" search -d a --json Latewalrus | json_get - 'j["total"]')" 1 "late-held record found"
assert_eq "$("$CUSTOS" search -d a --json Youngnarwhal | json_get - 'j["total"]')" 1 "young record found"
for s in 0 1; do
	"$CUSTOS" show -d a $s --json > s$s.json
	assert_eq "$(json_get s$s.json 'j.get("deleted")')" True "record $s is a stub"
	assert_eq "$(json_get s$s.json 'j["deletion_seq"]')" "$cert" "stub names the certificate"
	assert_eq "$(json_get s$s.json '"body" in j')" False "stub has no body"
	# Its proof shows only what the stub proves, and verifies.
	"$CUSTOS" show -d a $s --json --proof > sp$s.json
	assert_eq "$(json_get sp$s.json 'sorted(j["record"])')" "['deleted', 'leaf_hash', 'seq']" "stub record in a proof"
	expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem sp$s.json
	jq ".record.deletion_seq = $cert" sp$s.json > spf.json
	expect_exit 1 "$CUSTOS" verify-proof --pubkey pub.pem spf.json
done
grep -q Heldwombat <<<"$("$CUSTOS" show -d a 2)" || fail "held record shows its body"
grep -q Youngnarwhal <<<"$("$CUSTOS" show -d a 5)" || fail "young record shows its body"

# Not a trace in any byte of the data directory: raw files (index, WAL,
# id map ...) and every segment frame decompressed.
"$CUSTOS" log -d a > log.jsonl
grep -qi quokka log.jsonl && fail "the log still holds the deleted words"
grep -q 'Heldwombat' log.jsonl || fail "the log holds the kept words"
hits=$($scan a Quokkaxylophon 77-ZX Telefonnummer vertraulich)
assert_eq "$hits" "" "no trace of the deleted words in the data directory"
hits=$($scan a Heldwombat Youngnarwhal)
grep -q "frame" <<<"$hits" || fail "the scan sees words that are there: $hits"

# Verify passes; the certificate lists exactly the deleted records with
# their leaf hashes, names planner and approver, and its signature checks
# out offline with the archive's public key.
expect_exit 0 "$CUSTOS" verify -d a
grep -q "(2 deleted)" <<<"$out" || fail "verify counts the stubs: $out"
expect_exit 0 "$CUSTOS" retention certificates -d a --json
echo "$out" > certs.json
assert_eq "$(json_get certs.json 'len(j["certificates"])')" 1 "one certificate"
assert_eq "$(json_get certs.json 'j["certificates"][0]["id"]')" "$cert" "certificate id"
assert_eq "$(json_get certs.json 'j["certificates"][0]["signature_valid"]')" True "signature valid"
assert_eq "$(json_get certs.json 'sum([g["seqs"] for g in j["certificates"][0]["certificate"]["groups"]], [])')" "[0, 1]" \
	"certificate lists exactly the deleted records"
assert_eq "$(json_get certs.json '"\n".join(sum([g["leaves"] for g in j["certificates"][0]["certificate"]["groups"]], []))')" \
	"$(cat leaves_before.txt)" "certificate names their leaf hashes"
c0='j["certificates"][0]["certificate"]'
assert_eq "$(json_get certs.json "$c0[\"planned_by\"] + ' ' + $c0[\"approved_by\"] + ' ' + $c0[\"executed_by\"]")" \
	"alice bob carol" "who planned, approved, executed"
assert_eq "$(json_get certs.json "$c0[\"groups\"][0][\"policy\"]")" "chat-1y" "which policy"
grep -q "signature valid" <<<"$("$CUSTOS" retention certificates -d a)" || fail "human listing"
expect_exit 0 "$CUSTOS" retention certificates -d a --export "$cert" --out cert
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in cert.json -sigfile cert.sig > /dev/null ||
	fail "certificate signature does not verify with openssl"
printf 'x' >> cert.json
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in cert.json -sigfile cert.sig > /dev/null 2>&1 &&
	fail "a changed certificate must not verify"

# The checkpoint from before the deletion is consistent with the current one.
"$CUSTOS" prove -d a --from "$size_before" --json > cons.json
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem cons.json
old_root=$(sed -n 3p cp_before.txt | base64 -d | od -An -tx1 | tr -d ' \n')
assert_eq "$(json_get cons.json 'j["first_root"]')" "$old_root" "proof starts at the saved checkpoint's root"
# Inclusion proofs still work for a deleted record (its leaf hash stays).
"$CUSTOS" show -d a 0 --proof > p0.json 2>/dev/null
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem p0.json

# Executing again finishes nothing new; the plan cannot be approved again.
expect_exit 0 "$CUSTOS" retention execute -d a "$plan" --json
assert_eq "$(echo "$out" | json_get - 'j["erased_now"]')" 0 "re-run erases nothing new"
assert_eq "$(echo "$out" | json_get - 'j["resumed"]')" True "re-run resumes the certificate"
expect_exit 0 "$CUSTOS" retention plans -d a
grep -q "executed" <<<"$out" || fail "plan listed as executed: $out"

# Releasing the holds makes their records due in the next plan.
expect_exit 0 "$CUSTOS" hold release -d a "$h1" --by lisa --reason "Verfahren beendet" --json
rel=$(echo "$out" | json_get - 'j["plan"]')
expect_exit 0 "$CUSTOS" retention approve -d a "$rel" --by otto
expect_exit 1 "$CUSTOS" hold release -d a "$h1" --by lisa --reason again
expect_exit 0 "$CUSTOS" retention plan -d a --by alice --dry-run --json
assert_eq "$(echo "$out" | json_get - '[x["seq"] for x in j["items"]]')" "[]" "record 2 still under the query hold"
expect_exit 0 "$CUSTOS" hold release -d a "$h2" --by lisa --reason "Verfahren beendet" --json
expect_exit 0 "$CUSTOS" retention approve -d a "$(echo "$out" | json_get - 'j["plan"]')" --by otto
expect_exit 0 "$CUSTOS" retention plan -d a --by alice --dry-run --json
assert_eq "$(echo "$out" | json_get - '[x["seq"] for x in j["items"]]')" "[2, 3]" "released records become due"
expect_exit 0 "$CUSTOS" hold list -d a --all --json
assert_eq "$(echo "$out" | json_get - '[h["status"] for h in j["holds"]]')" "['released', 'released', 'active']" "hold states"
expect_exit 0 "$CUSTOS" verify -d a
