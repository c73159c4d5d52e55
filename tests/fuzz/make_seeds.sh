#!/usr/bin/env bash
# make_seeds.sh - regenerates the seed corpora in tests/fuzz/corpus/ from
# the real binary: an archive signed with the fixed fuzz key (the same
# seed 00..1f as fuzz_util.h), a few ingested messages, then envelopes,
# record bytes, segment files, proofs, checkpoints and configuration
# files, valid and deliberately broken. Every seed stays small (a few KiB).
#
#   CUSTOS=./custos GEN=build/rel/bench/gen_messages bash tests/fuzz/make_seeds.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CUSTOS=${CUSTOS:-$root/custos}
GEN=${GEN:-$root/build/rel/bench/gen_messages}
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for t in envelope record segment proof checkpoint config idmap_run; do
	mkdir -p "$corpus/fuzz_$t"
done

# The archive: fixed key, small segments so that the first one is sealed.
a=$work/a
"$CUSTOS" init -d "$a" --origin fuzz.example/custos >/dev/null
python3 - "$a/keys/archive.key" <<'PY'
import base64, sys
der = bytes.fromhex("302e020100300506032b657004220420") + bytes(range(32))  # PKCS#8 Ed25519
open(sys.argv[1], "w").write("-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n"
                             % base64.b64encode(der).decode())
PY
python3 - "$a/custos.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["segment_max_bytes"] = 1200
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
"$GEN" -n 8 --seed 7 >"$work/msgs.jsonl"
"$CUSTOS" ingest -d "$a" --batch 2 "$work/msgs.jsonl" >/dev/null
"$CUSTOS" verify -d "$a" >/dev/null

# ---- envelopes
e=$corpus/fuzz_envelope
head -n 1 "$work/msgs.jsonl" | tr -d '\n' >"$e/valid-generated"
printf '%s' '{"platform":"matrix","conversation":"!r:example.org","sender":"@a:example.org","ts":"2024-05-01T12:00:00Z","id":7,"body":"Straße grün","recipients":["@b:example.org"],"reply_to":"$x","thread":"$t","target":"$y","kind":"edit","raw":{"k":[1,2]}}' >"$e/valid-all-fields"
printf '%s' '{"platform":"xmpp","conversation":"room@muc.example","sender":"a@example","ts":0,"id":"x","body":""}' >"$e/valid-empty-body"
printf '%s' '{"platform":"matrix","conversation":"c","sender":"s","ts":-1,"id":"x","body":"b"}' >"$e/bad-negative-ts"
printf '%s' '{"platform":"matrix","platform":"xmpp","conversation":"c","sender":"s","ts":1,"id":"x","body":"b"}' >"$e/bad-duplicate-key"
printf '%s' '{"platform":"matrix","conversation":"c","sender":"s","ts":1,"id":"x","body":"b","kind":"audit"}' >"$e/bad-kind"
printf '%s' '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' >"$e/bad-nesting"
printf '%s' '{"platform":"matrix","conversation":"c","sender":"s","ts":1,"id":"x","body":"\ud800"}' >"$e/bad-surrogate"
printf '{"platform":"matrix","conversation":"c","sender":"s","ts":1,"id":"x","body":"w\355\240\200"}' >"$e/bad-raw-surrogate"
printf '{"platform":"matrix","conversation":"c","sender":"s","ts":1,"id":"x","body":"b","\300\257":1}' >"$e/bad-overlong-key"

# ---- records (the exact leaf data of records 0 and 3)
r=$corpus/fuzz_record
for s in 0 3; do
	"$CUSTOS" show -d "$a" "$s" --json --proof | python3 -c \
		'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["leaf_data"]))' \
		>"$r/record-$s"
done
head -c 59 "$r/record-0" >"$r/bad-short"
python3 - "$r/record-0" "$r/bad-tag-order" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[60] = 14  # first field tag out of order
open(sys.argv[2], "wb").write(b)
PY

# ---- segments: mode byte 1 (fix checksums) or 0, then the file
g=$corpus/fuzz_segment
ls "$a/segments" >"$work/segs"
[ "$(wc -l <"$work/segs")" -ge 2 ] || { echo "make_seeds: expected a sealed segment" >&2; exit 1; }
{ printf '\001'; cat "$a/segments/seg-00000001.cseg"; } >"$g/sealed"
{ printf '\000'; cat "$a/segments/seg-00000001.cseg"; } >"$g/sealed-nofix"
# Encrypted at rest (custos init --kek): the harness has no key, so these
# frames are checked the way verify checks them without the key.
"$CUSTOS" keygen --kek "$work/kek" >/dev/null
"$CUSTOS" init -d "$work/enc" --origin fuzz.example/custos --kek "$work/kek" >/dev/null
cp "$a/keys/archive.key" "$work/enc/keys/archive.key"
head -n 3 "$work/msgs.jsonl" | "$CUSTOS" ingest -d "$work/enc" --batch 2 - >/dev/null
{ printf '\001'; cat "$work/enc/segments/seg-00000001.cseg"; } >"$g/encrypted"
{ printf '\001'; head -c 120 "$a/segments/seg-00000001.cseg"; } >"$g/header-only"
{ printf '\001'; head -c 300 "$a/segments/seg-00000001.cseg"; } >"$g/torn"
# zstd bombs: one frame whose zeros compress to a few KiB. 32 MiB is the
# cap on a frame's raw size (decompressed, then refused as entries); the
# 64 MiB one is refused before decompression, whether its header claims
# the real size or less.
head -c $((32 << 20)) /dev/zero | zstd -q -19 -c >"$work/bomb32.zst"
head -c $((64 << 20)) /dev/zero | zstd -q -19 -c >"$work/bomb64.zst"
python3 - "$a/segments/seg-00000001.cseg" "$work" "$g" <<'PY'
import struct, sys
seg = open(sys.argv[1], "rb").read()
hdr = seg[:120]
def frame(raw_len, comp):
    h = b"CUFR" + bytes([1, 1, 0, 0]) + struct.pack(">IIQI", len(comp), raw_len, 0, 1)
    h += b"\0" * 4 + b"\0" * 16
    return h + comp
for name, bomb, raw in (("bomb-32m", "bomb32", 32 << 20), ("bomb-64m-declared-1m", "bomb64", 1 << 20),
                        ("bomb-64m", "bomb64", 64 << 20)):
    comp = open(sys.argv[2] + "/" + bomb + ".zst", "rb").read()
    open(sys.argv[3] + "/" + name, "wb").write(b"\1" + hdr + frame(raw, comp))
PY

# ---- proofs and checkpoints
p=$corpus/fuzz_proof
"$CUSTOS" show -d "$a" 5 --json --proof >"$p/inclusion"
"$CUSTOS" prove -d "$a" --from 3 --to 8 --json >"$p/consistency"
sed 's/"tree_size": *[0-9]*/"tree_size": 9/' "$p/inclusion" >"$p/bad-tree-size"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["record"]["body"]="forged"; print(json.dumps(j))' \
	"$p/inclusion" >"$p/forged-record"
printf '%s' '{"first_size":0,"first_root":"","second_size":1,"second_root":"00","consistency":[]}' >"$p/bad-hex"
c=$corpus/fuzz_checkpoint
"$CUSTOS" checkpoint -d "$a" >"$c/current"
"$CUSTOS" checkpoint -d "$a" --size 3 >"$c/size-3"
sed 's/^8$/9/' "$c/current" >"$c/bad-size"
{ cat "$c/current"; echo "— witness.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; } >"$c/extra-witness"

# ---- configuration and token files
f=$corpus/fuzz_config
cp "$a/custos.json" "$f/custos"
printf '%s' '{"origin":"o","server":{"listen":"127.0.0.1:0","threads":2,"max_body_bytes":4096,"metrics_public":true}}' >"$f/server"
printf '%s' '{"origin":"o","server":{"listen":"[::1]:8443","tls":{"cert_file":"c.pem","key_file":"k.pem"}}}' >"$f/server-tls"
printf '%s' '{"origin":"o","server":{"thread":2}}' >"$f/bad-unknown-key"
printf '%s' '{"version":1,"tokens":[{"name":"alice","role":"officer","sha256":"'"$(printf '%064d' 0)"'","created":"2024-05-01T12:00:00.000Z"},{"name":"hook","role":"ingest","source":"m1","sha256":"'"$(printf '%064d' 1)"'","created":"2024-05-01T12:00:00.000Z"}]}' >"$f/tokens"

# ---- duplicate map runs (the mode byte first: 0 the file as it is, 1 shaped by the harness)
i=$corpus/fuzz_idmap_run
{ printf '\0'; cat "$a"/idmap/run-*; } >"$i/real-run"
printf '\0' >"$i/empty"
python3 - "$i/shaped-entries" <<'PY'
import hashlib, sys
keys = sorted(hashlib.sha256(b"k%d" % i).digest()[:16] for i in range(30))
body = b"".join(k + i.to_bytes(8, "big") for i, k in enumerate(keys))
open(sys.argv[1], "wb").write(b"\x01" + body + bytes(64 + 8))  # filter and fence left zero
PY

du -sh "$corpus"/* | sed 's/^/make_seeds: /'
