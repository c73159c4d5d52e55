# Exports end to end through the CLI: every format (zip, and BagIt also as
# tar) exported and verified offline; each package checked against its
# specification by an independent checker (RSMF manifest against the
# official JSON schema, BagIt RFC 8493, DAT, EDRM XML); the README's
# plain-tool steps (sha256sum, openssl, jq) actually work; the exports are
# in the log with the package digest; HTML is escaped; tampering (a byte
# in a message, a removed or added file, one record exchanged for another
# record of the archive, a forged RSMF body, the checkpoint, the key, the
# directory name) is caught and named; usage errors.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
H="$here/export_check.py"
SCHEMA="$here/../data/rsmf_schema_2_0_0.json"

expect_exit 0 "$CUSTOS" init -d a --origin archive.example.gov/custos
"$CUSTOS" pubkey -d a > pub.pem
cat > msgs.jsonl <<'J'
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@anna:stadt.example","ts":"2024-05-01T09:00:00Z","id":"$m1","body":"Der Antrag AZ 12-345/2024 ist eingegangen.","recipients":["@ben:stadt.example"]}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@ben:stadt.example","ts":"2024-05-01T09:05:00Z","id":"$m2","body":"Danke, ich prüfe die Anträge.\nZweite Zeile <script>alert(1)</script> & mehr","reply_to":"$m1"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@ben:stadt.example","ts":"2024-05-01T09:06:00Z","id":"$m3","body":"Danke, ich prüfe den Antrag.","target":"$m2","kind":"edit"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@anna:stadt.example","ts":"2024-05-01T09:07:00Z","id":"$m4","body":"👍","target":"$m2","kind":"reaction"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@cem:stadt.example","ts":"2024-05-01T09:08:00Z","id":"$m5","body":"👍","target":"$m2","kind":"reaction"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@cem:stadt.example","ts":"2024-05-01T10:00:00Z","id":"$m6","body":"join","kind":"membership"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@cem:stadt.example","ts":"2024-05-02T08:00:00Z","id":"$m7","body":"Im Thread: Straße gesperrt","thread":"$m1"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@cem:stadt.example","ts":"2024-05-02T08:01:00Z","id":"$m8","body":"Falscher Raum","reply_to":"$m7"}
{"platform":"matrix","conversation":"!bau:stadt.example","sender":"@cem:stadt.example","ts":"2024-05-09T08:02:00Z","id":"$m9","body":"","target":"$m8","kind":"redaction"}
{"platform":"xmpp","conversation":"amt@conference.stadt.example","sender":"dora@stadt.example","ts":"2024-05-01T11:00:00Z","id":"x1","body":"Þórr schreibt þ und ®","recipients":["emil@stadt.example"]}
{"platform":"threema","conversation":"ECHOECHO","sender":"ABCDEFGH","ts":"2024-05-03T12:00:00Z","id":"t1","body":"Anderer Tag, anderer Chat","recipients":["ECHOECHO"]}
J
expect_exit 0 "$CUSTOS" ingest -d a msgs.jsonl
gen 300 5 > gen.jsonl
expect_exit 0 "$CUSTOS" ingest -d a gen.jsonl
records=$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')

# ---- every format, verified and checked against its specification ----
exp() { # exp FORMAT OUT [more options]: export the conversation !bau with the edit/redaction after it
	local f=$1 o=$2
	shift 2
	expect_exit 0 "$CUSTOS" export -d a --conversation '!bau:stadt.example' --from 2024-05-01 --to 2024-05-02 \
		--format "$f" --by "officer anna" -o "$o" --json "$@"
	echo "$out" | tail -n 1 > "$o.json"
}
exp rsmf r.zip
exp dat d.zip
exp edrm e.zip
exp bagit b.zip --organization "Stadt Beispiel, Bauamt"
exp bagit b.tar
for p in r.zip d.zip e.zip b.zip b.tar; do
	assert_eq "$(json_get "$p.json" 'j["records"]')" 9 "$p records (8 of 2 days + the later redaction)"
	expect_exit 0 "$CUSTOS" verify-export --pubkey pub.pem "$p"
	grep -q "^OK: export .* 9 record(s)" <<<"$out" || fail "verify-export $p: $out"
	expect_exit 0 "$CUSTOS" verify-export --pubkey pub.pem --json "$p"
	assert_eq "$(echo "$out" | json_get - 'j["ok"]')" True "verify-export --json $p"
	assert_eq "$(echo "$out" | json_get - 'j["key_from_package"]')" False "key from --pubkey"
done
expect_exit 0 "$CUSTOS" verify-export b.zip
grep -q "checked with the key inside the package" <<<"$out" || fail "no --pubkey must be said: $out"

expect_exit 0 python3 "$H" rsmf r.zip "$SCHEMA"
rs=$out
assert_eq "$(echo "$rs" | json_get - 'j["files"]')" 2 "one RSMF file per conversation and day"
assert_eq "$(echo "$rs" | json_get - 'j["edits"]')" 1 "RSMF edits"
assert_eq "$(echo "$rs" | json_get - 'j["deleted"]')" 1 "RSMF deleted (redaction)"
assert_eq "$(echo "$rs" | json_get - 'j["reactions"]')" 2 "RSMF reactions"
assert_eq "$(echo "$rs" | json_get - 'j["parents"]')" 3 "RSMF parents (reply, thread, reply)"
assert_eq "$(echo "$rs" | json_get - 'j["collections"]')" 1 "one event collection for the conversation"
expect_exit 0 python3 "$H" bagit b.zip
grep -q '"container": "zip"' <<<"$out" || fail "bagit zip: $out"
grep -q '"transcripts": 1' <<<"$out" || fail "one transcript: $out"
expect_exit 0 python3 "$H" bagit b.tar
grep -q '"container": "tar"' <<<"$out" || fail "bagit tar: $out"
expect_exit 0 python3 "$H" dat d.zip
assert_eq "$(echo "$out" | json_get - 'j["rows"]')" 9 "DAT rows"
expect_exit 0 python3 "$H" edrm e.zip
assert_eq "$(echo "$out" | json_get - 'j["documents"]')" 9 "EDRM documents"

# ---- the README's steps with plain tools ----
mkdir ub ud
(cd ub && unzip -q ../b.zip)
(cd ud && unzip -q ../d.zip)
bag=$(echo ub/*)
dat=$(echo ud/*)
(cd "$bag" && sha256sum -c --quiet manifest-sha256.txt && sha512sum -c --quiet manifest-sha512.txt \
	&& sha256sum -c --quiet tagmanifest-sha256.txt) || fail "BagIt manifests with sha256sum/sha512sum"
(cd "$dat" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS with sha256sum"
grep -q "^Source-Organization: Stadt Beispiel, Bauamt$" "$bag/bag-info.txt" || fail "Source-Organization"
cmp -s "$bag/data/proof/archive.pub" pub.pem || fail "the package carries the archive's key"
head -n 3 "$bag/data/proof/checkpoint.txt" > note.txt
sed -n 5p "$bag/data/proof/checkpoint.txt" | cut -d' ' -f3 | base64 -d | tail -c 64 > sig.bin
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in note.txt -sigfile sig.bin | grep -q "Signature Verified Successfully" \
	|| fail "checkpoint signature with openssl"
fp=$(openssl pkey -pubin -in pub.pem -outform DER | openssl dgst -sha256 -r | cut -c1-64)
grep -q "$fp" "$bag/data/README.txt" || fail "README names the key fingerprint"
sel=$(jq -j '"\(.seq) \(.leaf_hash)\n"' "$bag/data/proof/inclusion.jsonl" |
	while read -r s h; do printf '%016x%s' "$s" "$h"; done | xxd -r -p | sha256sum | cut -c1-64)
grep -q "Selection SHA-256:  $sel" "$bag/data/custody.txt" || fail "selection digest recomputed by hand ($sel)"
sed -n 2p "$bag/data/proof/inclusion.jsonl" > p2.json
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem p2.json
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem "$bag/data/proof/custody.json"
lh=$( { printf '\0'; jq -r .leaf_data p2.json | base64 -d; } | sha256sum | cut -c1-64)
assert_eq "$lh" "$(jq -r .leaf_hash p2.json)" "leaf hash by hand"
# Escaping: the message's markup is text in the transcript.
t=$(echo "$bag"/data/transcripts/*.html)
grep -q "&lt;script&gt;alert(1)&lt;/script&gt; &amp; mehr" "$t" || fail "transcript escapes the body"
! grep -q "<script>" "$t" || fail "a raw <script> in the transcript"
grep -q "Content-Security-Policy" "$t" || fail "transcript forbids scripts"
# DAT: the text file holds the message; þ in data does not break fields.
grep -q "Zweite Zeile <script>" "$dat/text/CUSTOS0000002.txt" || fail "DAT text file holds the body"

# ---- the log records every export with the package digest ----
"$CUSTOS" log -d a --from "$records" > log.jsonl
assert_eq "$(grep -c '"kind":"export"' log.jsonl)" 10 "two export records per export"
for p in r.zip d.zip e.zip b.zip b.tar; do
	h=$(sha256sum "$p" | cut -c1-64)
	# (no grep -q at the end of a pipe: with pipefail an early exit is a failure)
	grep -F "\"package_sha256\":\"$h\"" log.jsonl | grep -F '/produced"' > /dev/null \
		|| fail "the log names the digest of $p"
done

# ---- a query export takes the later edit and reactions along ----
expect_exit 0 "$CUSTOS" export -d a --query 'Anträge' --format bagit --by officer -o q.zip --json
q_records=$(echo "$out" | tail -n 1 | json_get - 'j["records"]')
unzip -p q.zip '*/data/records.jsonl' > q.jsonl
grep -q '"id":"$m2"' q.jsonl || fail "the query's match"
grep -q '"id":"$m3"' q.jsonl || fail "its later edit"
grep -q '"id":"$m4"' q.jsonl || fail "its reaction"
[ "$q_records" -ge 4 ] || fail "query export records: $q_records"
expect_exit 0 "$CUSTOS" verify-export --pubkey pub.pem q.zip

# ---- tampering: each change is caught and named ----
tampered() { # tampered PKG OP ARGS... -- EXPECTED MESSAGE
	local pkg=$1 op=$2 args=() want
	shift 2
	while [ "$1" != "--" ]; do args+=("$1"); shift; done
	want=$2
	rm -f t.pkg
	python3 "$H" tamper "$pkg" t.pkg "$op" "${args[@]}" || fail "tamper $op"
	expect_exit 1 "$CUSTOS" verify-export --pubkey pub.pem t.pkg
	grep -qF -- "$want" <<<"$out" || fail "tamper $op ${args[*]}: expected '$want', got: $out"
}
# One byte in a message.
tampered d.zip flip text/CUSTOS0000002.txt -- "text/CUSTOS0000002.txt: its SHA-256 does not match SHA256SUMS"
tampered d.zip flip-fix text/CUSTOS0000002.txt -- "text/CUSTOS0000002.txt: differs from what the proven records"
tampered b.zip flip data/records.jsonl -- "data/records.jsonl: its SHA-256 does not match manifest-sha256.txt"
tampered b.zip flip-fix data/records.jsonl -- "data/records.jsonl: differs from what the proven records"
tampered e.zip flip-fix edrm.xml -- "edrm.xml: differs from what the proven records"
tampered r.zip rsmf-body -- ".rsmf: differs from what the proven records"
tampered b.tar flip-fix bag-info.txt -- "bag-info.txt: differs"
# One file removed, one added.
tampered d.zip remove text/CUSTOS0000003.txt -- "text/CUSTOS0000003.txt: listed in SHA256SUMS but missing"
tampered d.zip remove-fix text/CUSTOS0000003.txt -- "text/CUSTOS0000003.txt: missing from the package"
tampered b.zip remove data/proof/inclusion.jsonl -- "data/proof/inclusion.jsonl: listed in manifest-sha256.txt but missing"
tampered d.zip add notes.txt -- "notes.txt: in the package but not listed in SHA256SUMS"
tampered d.zip add-fix notes.txt -- "notes.txt: not part of the export"
tampered b.zip add-fix data/extra.txt -- "data/extra.txt: not part of the export"
# One record exchanged for another record of the archive, with valid
# proofs against the same checkpoint and all manifests fixed.
"$CUSTOS" log -d a --count 20 > head.jsonl
oseq=$(grep -m1 'amt@conference' head.jsonl | json_get - 'j["seq"]')
for p in b.zip d.zip; do
	# the other record's proof against the same checkpoint as the package's
	n=$(json_get "$p.json" 'j["tree_size"]')
	"$CUSTOS" show -d a "$oseq" --json --proof --tree-size "$n" | jq -c 'del(.record)' > "other-$p.json"
	expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem "other-$p.json"
	tampered "$p" swap-proof 3 "other-$p.json" -- "are not the 9 the custody record selected"
done
"$CUSTOS" show -d a "$oseq" --json > other_rec.json
tampered b.zip swap-record 3 other_rec.json -- "data/records.jsonl: differs from what the proven records"
# The checkpoint, the key, the directory.
tampered d.zip flip-fix proof/checkpoint.txt -- "proof/checkpoint.txt"
"$CUSTOS" init -d other >/dev/null
"$CUSTOS" pubkey -d other > other.pem
expect_exit 1 "$CUSTOS" verify-export --pubkey other.pem d.zip
grep -q "is not the key given with --pubkey" <<<"$out" || fail "another archive's key: $out"
tampered d.zip rename-base -- "top directory"
# A proof line whose record bytes were changed.
python3 - "$dat/proof/inclusion.jsonl" <<'PY'
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()
d = json.loads(lines[0])
b = bytearray(base64.b64decode(d["leaf_data"])); b[-1] ^= 1
d["leaf_data"] = base64.b64encode(bytes(b)).decode()
lines[0] = json.dumps(d, separators=(",", ":"))
open("bad_line.json", "w").write(lines[0])
PY
tampered d.zip swap-proof 1 bad_line.json -- "line 1: leaf_data does not hash to leaf_hash"
# Not a package at all.
printf 'not a package' > junk.zip
expect_exit 1 "$CUSTOS" verify-export junk.zip
grep -q "not a zip or tar package" <<<"$out" || fail "junk: $out"

# ---- usage and refusals ----
expect_exit 2 "$CUSTOS" export -d a --conversation '!bau:stadt.example' --format bagit -o u.zip
expect_exit 2 "$CUSTOS" export -d a --conversation '!bau:stadt.example' --by x -o u.zip
expect_exit 2 "$CUSTOS" export -d a --conversation '!bau:stadt.example' --format pdf --by x -o u.zip
expect_exit 2 "$CUSTOS" export -d a --format bagit --by x -o u.zip
expect_exit 2 "$CUSTOS" export -d a --from 2024-05-02 --to 2024-05-01 --format bagit --by x -o u.zip
expect_exit 2 "$CUSTOS" export -d a --query 'Antrag AND (' --format bagit --by x -o u.zip
grep -q "position" <<<"$out" || fail "query syntax error names the position: $out"
before=$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')
expect_exit 1 "$CUSTOS" export -d a --conversation '!nobody:x' --format bagit --by x -o u.zip
grep -q "no record matches" <<<"$out" || fail "empty selection: $out"
expect_exit 1 "$CUSTOS" export -d a --conversation '!bau:stadt.example' --format bagit --by x -o b.zip
grep -q "refusing to overwrite" <<<"$out" || fail "existing output: $out"
assert_eq "$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')" "$before" "refused exports leave the log alone"
[ ! -e u.zip ] || fail "a refused export left a file"
ls | grep -q '\.tmp-' && fail "a temporary package file was left behind"
expect_exit 2 "$CUSTOS" verify-export
expect_exit 1 "$CUSTOS" verify-export missing.zip
expect_exit 0 "$CUSTOS" verify-export --pubkey pub.pem "$(pwd)/r.zip"
echo "ok"
