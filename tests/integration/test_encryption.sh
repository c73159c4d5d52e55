# Encryption at rest: a stolen data directory reveals no message text;
# with the key everything works and verifies; without it verify still
# checks frames, chain, tree and seals; a wrong key or a changed byte fails.
. "$(dirname "$0")/lib.sh"
tool="python3 $(dirname "$0")/seg_tool.py"

expect_exit 0 "$CUSTOS" keygen --kek kek.hex
[ "$(stat -c %a kek.hex)" = 600 ] || fail "KEK mode 0600"
expect_exit 1 "$CUSTOS" keygen --kek kek.hex # never overwrites
expect_exit 0 "$CUSTOS" init -d a --kek kek.hex
set_config a segment_max_bytes 40000
gen 2000 9 > m.jsonl
echo '{"platform":"matrix","conversation":"!c:x","sender":"@s:x","ts":1,"id":"m1","body":"Zauberwortgeheimnis im Klartext"}' >> m.jsonl
expect_exit 0 "$CUSTOS" ingest -d a --batch 100 m.jsonl
expect_exit 0 "$CUSTOS" verify -d a --json
assert_eq "$(echo "$out" | json_get - 'j["records_not_decrypted"]')" 0 "all records decrypted"
grep -q Zauberwortgeheimnis <<<"$("$CUSTOS" log -d a)" || fail "readable with the key"

# Nothing readable on disk: not in the files, not in any decompressed frame.
! grep -rq Zauberwortgeheimnis a || fail "plaintext in the data directory"
python3 - a/segments <<'PY'
import glob, subprocess, sys
for f in glob.glob(sys.argv[1] + "/*.cseg"):
    d = open(f, "rb").read()
    i = d.find(b"CUFR")
    while i >= 0:
        n = int.from_bytes(d[i + 8:i + 12], "big")
        out = subprocess.run(["zstd", "-dc"], input=d[i + 48:i + 48 + n], capture_output=True).stdout
        assert b"Zauberwort" not in out, "decompressible plaintext"
        i = d.find(b"CUFR", i + 48 + n)
PY

# Without the key: reading is refused clearly; verify still checks structure.
mv kek.hex kek.away
expect_exit 1 "$CUSTOS" show -d a 3
grep -q "key-encryption key" <<<"$out" || fail "clear error without key: $out"
expect_exit 0 "$CUSTOS" verify -d a --json
assert_eq "$(echo "$out" | json_get - 'j["records_not_decrypted"]')" 2001 "checked by stored leaves"
# A wrong key is an error, not a silent skip.
"$CUSTOS" keygen --kek other.hex >/dev/null
expect_exit 1 "$CUSTOS" verify -d a --kek other.hex
grep -q "not the one" <<<"$out" || fail "wrong KEK named: $out"
mv kek.away kek.hex

# Tampering: one byte of ciphertext, with and without the key.
seg=a/segments/seg-00000001.cseg
off=$($tool frames $seg | sed -n 2p | cut -d' ' -f1)
$tool flip $seg $((off + 48 + 100 * 32 + 40))
expect_exit 1 "$CUSTOS" verify -d a
grep -q "seg-00000001.cseg, frame at offset $off" <<<"$out" || fail "located: $out"
$tool flip $seg $((off + 48 + 100 * 32 + 40))
expect_exit 0 "$CUSTOS" verify -d a

# Proofs work as for any archive.
"$CUSTOS" pubkey -d a > pub.pem
"$CUSTOS" show -d a 1500 --json --proof > p.json
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem p.json
echo ok
