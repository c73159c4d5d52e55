# verify catches any single changed byte, truncation, removed and
# reordered frames, and swapped segments, and names where.
. "$(dirname "$0")/lib.sh"
tool="python3 $(dirname "$0")/seg_tool.py"

"$CUSTOS" init -d a >/dev/null
set_config a segment_max_bytes 60000
gen 4000 11 > m.jsonl
"$CUSTOS" ingest -d a --batch 50 m.jsonl >/dev/null
expect_exit 0 "$CUSTOS" verify -d a
segs=(a/segments/*.cseg)
[ ${#segs[@]} -ge 4 ] || fail "expected several segments, got ${#segs[@]}"
cp -a a pristine

# 1. Single byte flips at 240 random positions over all segment bytes;
#    each must fail and name the segment (and a frame at or before the byte).
python3 - "${segs[@]}" > flips.txt <<'PY'
import os, random, sys
random.seed(1234)
files = sys.argv[1:]
sizes = [os.path.getsize(f) for f in files]
total = sum(sizes)
for _ in range(240):
    x = random.randrange(total)
    for f, s in zip(files, sizes):
        if x < s:
            print(f, x)
            break
        x -= s
PY
n=0
while read -r f off; do
	$tool flip "$f" "$off"
	set +e
	res=$("$CUSTOS" verify -d a --json)
	rc=$?
	set -e
	$tool flip "$f" "$off" # restore
	[ $rc -eq 1 ] || fail "flip at $f:$off not detected (exit $rc): $res"
	seg=$(echo "$res" | json_get - 'j["error"]["segment"]')
	fo=$(echo "$res" | json_get - 'j["error"]["frame_offset"]')
	[ "$seg" = "$(basename "$f")" ] || fail "flip at $f:$off reported in '$seg'"
	[ "$fo" -le "$off" ] || fail "flip at $f:$off reported at frame offset $fo"
	n=$((n + 1))
done < flips.txt
assert_eq "$n" 240 "flips tested"
expect_exit 0 "$CUSTOS" verify -d a

# 2. Truncation of a sealed segment and of the active one.
cp "${segs[1]}" keep
truncate -s -100 "${segs[1]}"
expect_exit 1 "$CUSTOS" verify -d a
grep -q "$(basename "${segs[1]}")" <<<"$out" || fail "truncation located: $out"
cp keep "${segs[1]}"
last=${segs[-1]}
cp "$last" keep
lastoff=$($tool frames "$last" | tail -1 | cut -d' ' -f1)
truncate -s "$lastoff" "$last" # a whole acknowledged frame gone
expect_exit 1 "$CUSTOS" verify -d a
grep -q "acknowledged" <<<"$out" || fail "removed tail frame detected: $out"
expect_exit 1 "$CUSTOS" show -d a 0 # and the store refuses to open over it
cp keep "$last"
expect_exit 0 "$CUSTOS" verify -d a

# 3. A frame removed from the middle, and two frames swapped.
cp "${segs[0]}" keep
$tool remove "${segs[0]}" 1
expect_exit 1 "$CUSTOS" verify -d a
grep -q "frames missing or reordered" <<<"$out" || fail "removed frame: $out"
cp keep "${segs[0]}"
$tool swap "${segs[0]}" 0 2
expect_exit 1 "$CUSTOS" verify -d a
grep -q "seg-00000001.cseg, frame at offset 120" <<<"$out" || fail "swapped frames: $out"
cp keep "${segs[0]}"

# 4. A segment swapped for another: same archive, other position; and a
#    segment from another archive in its place.
cp "${segs[2]}" keep
cp "${segs[1]}" "${segs[2]}"
expect_exit 1 "$CUSTOS" verify -d a
grep -q "$(basename "${segs[2]}")" <<<"$out" || fail "swapped segment located: $out"
cp keep "${segs[2]}"
"$CUSTOS" init -d other >/dev/null
set_config other segment_max_bytes 60000
"$CUSTOS" ingest -d other --batch 50 m.jsonl >/dev/null
cp other/segments/seg-00000002.cseg "${segs[1]}"
expect_exit 1 "$CUSTOS" verify -d a
grep -q "seg-00000002.cseg" <<<"$out" || fail "foreign segment located: $out"
cp pristine/segments/seg-00000002.cseg "${segs[1]}"
rm "${segs[1]}"
expect_exit 1 "$CUSTOS" verify -d a
grep -q "missing" <<<"$out" || fail "missing segment: $out"
cp pristine/segments/seg-00000002.cseg "${segs[1]}"

# 5. Derived files (tree levels, duplicate-map runs) are checked when they
#    are opened and rebuilt from the segments with a warning; verify
#    reports a damaged one apart from the log (exit 3, the log intact) and
#    has it rebuilt, so a second verify is clean.
lvl=a/tree/level-08
[ -s $lvl ] || fail "level-08 exists"
true_root=$("$CUSTOS" checkpoint -d pristine --size 512 | sed -n 3p)
# A changed level-09 entry would be signed into an older checkpoint.
$tool flip a/tree/level-09 5
assert_eq "$("$CUSTOS" checkpoint -d a --size 512 2>/dev/null | sed -n 3p)" "$true_root" \
	"checkpoint at 512 after a changed tree/level-09 entry"
cp pristine/tree/level-09 a/tree/level-09
# A changed level-08 entry would be in the inclusion proofs through it.
$tool flip $lvl 37
expect_exit 0 "$CUSTOS" show -d a 3 --json --proof
"$CUSTOS" show -d a 3 --json --proof 2>/dev/null > p3.json
"$CUSTOS" pubkey -d a > pub.pem
expect_exit 0 "$CUSTOS" verify-proof --pubkey pub.pem p3.json
expect_exit 3 "$CUSTOS" verify -d a
grep -q "^intact:" <<<"$out" || fail "the log is reported intact: $out"
grep -q "DERIVED FILES DAMAGED.*level-08" <<<"$out" || fail "tree file damage named: $out"
grep -q "rebuilt from the segments now" <<<"$out" || fail "tree file rebuilt: $out"
expect_exit 0 "$CUSTOS" verify -d a
cmp $lvl pristine/tree/level-08 || fail "level-08 rebuilt to its true bytes"
# A writer rebuilds it at open, with a warning.
$tool flip $lvl 5
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl
grep -q "warning: tree/level-09 entry 0 does not match" <<<"$out" || fail "warning at open: $out"
cmp $lvl pristine/tree/level-08 || fail "level-08 rebuilt by the writer"

# 6. A duplicate-map run with changed bytes: found by its checksum, so
#    re-ingesting the same input archives nothing twice.
runs=(a/idmap/run-*)
[ ${#runs[@]} -ge 1 ] || fail "id map runs exist"
python3 - "${runs[@]}" <<'PY'
import sys
for p in sys.argv[1:]:
    d = bytearray(open(p, "rb").read())
    for i in range(64 + 3, min(len(d) - 64, 64 + 24 * 4000), 24 * 5):
        d[i] ^= 0xFF  # the keys of every fifth entry
    open(p, "wb").write(d)
PY
expect_exit 3 "$CUSTOS" verify -d a
grep -q "DERIVED FILES DAMAGED.*idmap/run-.*checksum" <<<"$out" || fail "run damage named: $out"
expect_exit 0 "$CUSTOS" verify -d a
python3 - "${runs[@]}" <<'PY'
import sys
for p in sys.argv[1:]:
    d = bytearray(open(p, "rb").read())
    d[64 + 24 * 9 + 2] ^= 0xFF
    open(p, "wb").write(d)
PY
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl
grep -q "archived 0 messages, 4000 duplicates skipped" <<<"$out" || fail "nothing archived twice: $out"
grep -q "warning: id map: .*damaged" <<<"$out" || fail "warning at open: $out"
assert_eq "$("$CUSTOS" stats -d a --json | json_get - 'j["records"]')" 4000 "no record twice"

# 7. The search index: SQLite finds a file that is not a database (or a
#    corrupt one) when it opens it; a writer of the index (search, ingest,
#    serve) then rebuilds it from the segments instead of failing.
n=$("$CUSTOS" search -d a --json --limit 1 the | json_get - 'j["total"]')
[ "$n" -gt 0 ] || fail "search finds something: $n"
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.write(b"not SQLite, junk"); f.close()' a/index/index.db
expect_exit 0 "$CUSTOS" search -d a --json --limit 1 the
grep -q "warning: index: .*rebuilt from the segments" <<<"$out" || fail "index rebuild warned: $out"
assert_eq "$("$CUSTOS" search -d a --json --limit 1 the | json_get - 'j["total"]')" "$n" "rebuilt index finds the same"
expect_exit 0 "$CUSTOS" verify -d a --index

expect_exit 0 "$CUSTOS" verify -d a
cmp <(cd a/segments && sha256sum *) <(cd pristine/segments && sha256sum *) || fail "restored"
echo ok
