# Transfer to the public archive (BArchG section 5): due records are first
# offered as a verifiable BagIt package; they stay while the offer is
# open, and are destroyed (with a certificate, and the package removed)
# only after the archive accepted or declined.
. "$(dirname "$0")/lib.sh"
scan="python3 $(dirname "$0")/retention_scan.py"

expect_exit 0 "$CUSTOS" init -d a
cat > m.jsonl <<'J'
{"platform":"matrix","conversation":"!minister:ex.org","sender":"@m:ex.org","ts":"2015-01-01T09:00:00Z","id":"1","body":"Kabinettsvorlage Archivwuerdig eins"}
{"platform":"matrix","conversation":"!minister:ex.org","sender":"@s:ex.org","ts":"2015-01-02T09:00:00Z","id":"2","body":"Kabinettsvorlage Archivwuerdig zwei"}
{"platform":"matrix","conversation":"!kantine:ex.org","sender":"@k:ex.org","ts":"2015-01-02T09:00:00Z","id":"3","body":"Speiseplan Unwichtigwort"}
J
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl
"$CUSTOS" pubkey -d a > pub.pem
expect_exit 0 "$CUSTOS" policy add -d a --name minister-5y --conversation-pattern '!minister:*' --keep 5y --action transfer --by admin
expect_exit 0 "$CUSTOS" policy add -d a --name kantine-1y --conversation-pattern '!kantine:*' --keep 1y --action transfer --by admin

expect_exit 0 "$CUSTOS" retention plan -d a --by alice --json
plan=$(echo "$out" | json_get - 'j["plan"]')
assert_eq "$(echo "$out" | json_get - '[x["action"] for x in j["items"]]')" "['transfer', 'transfer', 'transfer']" "offer first"
expect_exit 0 "$CUSTOS" retention approve -d a "$plan" --by bob
expect_exit 0 "$CUSTOS" retention execute -d a "$plan" --json
assert_eq "$(echo "$out" | json_get - 'j["certificate"]')" None "nothing destroyed before an answer"
assert_eq "$(echo "$out" | json_get - 'j["offered"]')" 3 "three offered"
offer=$(echo "$out" | json_get - 'j["offer"]')
expect_exit 0 "$CUSTOS" retention offers -d a --json
pkg=$(echo "$out" | json_get - 'j["offers"][0]["package"]')
assert_eq "$(echo "$out" | json_get - 'j["offers"][0]["state"]')" offered "state offered"
assert_eq "$(echo "$out" | json_get - 'j["offers"][0]["seqs"]')" "[0, 1, 2]" "offered seqs"
[ -f "$pkg" ] || fail "package $pkg missing"
# The package is the export module's BagIt bag, checkable offline.
expect_exit 0 "$CUSTOS" verify-export --pubkey pub.pem "$pkg"
tar -xf "$pkg" -O --wildcards '*manifest-sha256.txt' > /dev/null || fail "package is a bag"
# Records stay while the offer is open; a new plan leaves them out.
assert_eq "$("$CUSTOS" show -d a 0 --json | json_get - 'j["body"]')" "Kabinettsvorlage Archivwuerdig eins" "kept while offered"
expect_exit 0 "$CUSTOS" retention plan -d a --by alice --dry-run --json
assert_eq "$(echo "$out" | json_get - 'j["count"]')" 0 "nothing due while offered"
assert_eq "$(echo "$out" | json_get - 'j["awaiting_transfer_answer"]["count"]')" 3 "waiting"

# The archive accepts; records become due for destruction.
expect_exit 2 "$CUSTOS" retention accept -d a "$offer"
expect_exit 1 "$CUSTOS" retention accept -d a 0 --by archivist
expect_exit 0 "$CUSTOS" retention accept -d a "$offer" --by archivist
expect_exit 1 "$CUSTOS" retention decline -d a "$offer" --by archivist
grep -q "accepted already" <<<"$out" || fail "second answer: $out"
expect_exit 0 "$CUSTOS" retention plan -d a --by alice --json
plan2=$(echo "$out" | json_get - 'j["plan"]')
assert_eq "$(echo "$out" | json_get - '[(x["action"], x["offer"]) for x in j["items"]]')" \
	"[('destroy', $offer), ('destroy', $offer), ('destroy', $offer)]" "destroy after acceptance"
expect_exit 0 "$CUSTOS" retention approve -d a "$plan2" --by bob
expect_exit 0 "$CUSTOS" retention execute -d a "$plan2" --json
assert_eq "$(echo "$out" | json_get - 'j["erased_now"]')" 3 "destroyed"
[ -e "$pkg" ] && fail "the package in the data directory must go with the records"
expect_exit 0 "$CUSTOS" retention offers -d a --json
assert_eq "$(echo "$out" | json_get - 'j["offers"][0]["state"]')" accepted "state accepted"
assert_eq "$(echo "$out" | json_get - 'j["offers"][0]["certificate"]')" \
	"$("$CUSTOS" retention certificates -d a --json | json_get - 'j["certificates"][0]["id"]')" "offer names its certificate"
assert_eq "$($scan a Archivwuerdig Unwichtigwort)" "" "no trace after destruction"
expect_exit 0 "$CUSTOS" verify -d a

# A declined offer also allows destruction.
expect_exit 0 "$CUSTOS" init -d b
head -1 m.jsonl > one.jsonl
expect_exit 0 "$CUSTOS" ingest -d b one.jsonl
expect_exit 0 "$CUSTOS" policy add -d b --name t --keep 1y --action transfer --by admin
p=$("$CUSTOS" retention plan -d b --by alice --json | json_get - 'j["plan"]')
expect_exit 0 "$CUSTOS" retention approve -d b "$p" --by bob
expect_exit 0 "$CUSTOS" retention execute -d b "$p" --package-dir pk --respond-within 30d --json
o=$(echo "$out" | json_get - 'j["offer"]')
ls pk/*.tar > /dev/null || fail "--package-dir honoured"
expect_exit 0 "$CUSTOS" retention decline -d b "$o" --by archivist
p=$("$CUSTOS" retention plan -d b --by alice --json | json_get - 'j["plan"]')
expect_exit 0 "$CUSTOS" retention approve -d b "$p" --by bob
expect_exit 0 "$CUSTOS" retention execute -d b "$p" --json
assert_eq "$(echo "$out" | json_get - 'j["erased_now"]')" 1 "destroyed after decline"
grep -q declined <<<"$("$CUSTOS" retention offers -d b)" || fail "offer listed as declined"
