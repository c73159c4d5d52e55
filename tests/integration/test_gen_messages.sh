# The benchmark data generator (bench/gen_messages): deterministic, valid
# JSON Lines of the generic envelope, realistic German and English text,
# unique ids, replies that point backwards, and clean failures.
. "$(dirname "$0")/lib.sh"

: "${GEN:?GEN must name the gen_messages binary}"

# Same seed -> byte-identical output; another seed -> other output.
start=$(date +%s%N)
"$GEN" -n 2000 --seed 42 > a.jsonl
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 3000 ] || fail "2000 messages took ${elapsed_ms} ms"
"$GEN" -n 2000 --seed 42 > b.jsonl
"$GEN" -n 2000 --seed=42 -o c.jsonl
"$GEN" -n 2000 --seed 43 > d.jsonl
sa=$(sha256sum < a.jsonl)
assert_eq "$(sha256sum < b.jsonl)" "$sa" "same seed, same bytes"
assert_eq "$(sha256sum < c.jsonl)" "$sa" "-o FILE and --opt=value give the same bytes"
[ "$(sha256sum < d.jsonl)" != "$sa" ] || fail "a different seed must give different output"
assert_eq "$(wc -l < a.jsonl)" 2000 "line count"
# A prefix of a longer run is the shorter run: the count only stops the stream.
"$GEN" -n 3000 --seed 42 > long.jsonl
head -n 2000 long.jsonl | cmp -s - a.jsonl || fail "-n 2000 is a prefix of -n 3000"

# Every line is strict JSON with the envelope's fields; ids unique per
# platform; replies and threads point at earlier messages of the same
# conversation; timestamps increase from --start-ts.
"$GEN" -n 20000 --seed 7 --start-ts 1700000000000 > m.jsonl
python3 - m.jsonl <<'PY'
import json, re, sys
seen = {"matrix": {}, "xmpp": {}, "threema": {}}
prev = 1700000000000
counts = {"reply_to": 0, "thread": 0, "recipients": 0}
chars = {'"': 0, "\\": 0, "\n": 0, "\t": 0, "\r": 0}
nonascii = 0
fmt = {
    "matrix": (r"^![A-Za-z0-9_-]{18}:[a-z.]+$", r"^@[a-z0-9.]+:[a-z.]+$", r"^\$[A-Za-z0-9_-]{43}$"),
    "xmpp": (r"^[a-z0-9-]+@conference\.[a-z.]+$", r"^[a-z0-9.]+@[a-z.]+$",
             r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    "threema": (r"^[A-Z0-9]{8}$", r"^[A-Z0-9]{8}$", r"^[0-9a-f]{16}$"),
}
with open(sys.argv[1], "rb") as f:
    for no, raw in enumerate(f, 1):
        assert raw.endswith(b"\n"), f"line {no}: no newline"
        d = json.loads(raw.decode("utf-8", errors="strict"))
        for k, t in (("platform", str), ("conversation", str), ("sender", str), ("ts", int),
                     ("id", str), ("body", str), ("kind", str)):
            assert isinstance(d.get(k), t), f"line {no}: field {k} missing or not {t.__name__}"
        assert set(d) <= {"platform", "conversation", "sender", "ts", "id", "body", "reply_to",
                          "thread", "recipients", "kind"}, f"line {no}: unexpected field"
        p = d["platform"]
        assert p in seen, f"line {no}: platform {p}"
        assert d["kind"] == "message"
        conv_re, sender_re, id_re = fmt[p]
        assert re.match(conv_re, d["conversation"]), f"line {no}: conversation {d['conversation']}"
        assert re.match(sender_re, d["sender"]), f"line {no}: sender {d['sender']}"
        assert re.match(id_re, d["id"]), f"line {no}: id {d['id']}"
        assert d["ts"] > prev, f"line {no}: ts does not increase"
        prev = d["ts"]
        assert d["id"] not in seen[p], f"line {no}: duplicate id {d['id']}"
        assert d["body"].strip(), f"line {no}: empty body"
        for k in ("reply_to", "thread"):
            if k in d:
                counts[k] += 1
                assert seen[p].get(d[k]) == d["conversation"], f"line {no}: {k} is not an earlier message here"
        if "recipients" in d:
            counts["recipients"] += 1
            r = d["recipients"]
            assert r and all(isinstance(x, str) for x in r), f"line {no}: recipients"
            assert d["sender"] not in r, f"line {no}: sender among recipients"
        seen[p][d["id"]] = d["conversation"]
        for c in chars:
            chars[c] += c in d["body"]
        nonascii += any(ord(c) > 127 for c in d["body"])
n = sum(len(v) for v in seen.values())
assert n == 20000, n
assert all(len(v) > 1000 for v in seen.values()), {k: len(v) for k, v in seen.items()}
assert all(v > 100 for v in counts.values()), counts
# The characters a JSON writer must escape do occur, and round-trip.
assert all(v > 0 for v in chars.values()), chars
assert nonascii > 2000, nonascii
PY

# German text: umlauts and ß, administrative words and their inflections;
# realistic chat lengths.
"$GEN" -n 5000 --seed 3 --lang de > de.jsonl
python3 - de.jsonl <<'PY'
import json, re, sys, collections
words = collections.Counter()
lens = []
for line in open(sys.argv[1], encoding="utf-8"):
    b = json.loads(line)["body"]
    ws = re.findall(r"\w+", b)
    lens.append(len(b.split()))
    words.update(ws)
for w in ("Antrag", "Anträge", "Bescheid", "Behörde", "Straße", "prüfen", "für", "über"):
    assert words[w] > 0, f"no {w}"
umlaut = sum(k for w, k in words.items() if re.search("[äöüÄÖÜß]", w))
assert umlaut > 0.03 * sum(words.values()), umlaut
assert any(re.search(r"AZ \d+-\d{3}/\d{4}", l) for l in open(sys.argv[1], encoding="utf-8")), "no case number"
assert any("+49 " in l for l in open(sys.argv[1], encoding="utf-8")), "no phone number"
lens.sort()
mid = lens[len(lens) // 2]
assert 4 <= mid <= 15, mid
share = sum(1 for x in lens if 3 <= x <= 25) / len(lens)
assert share > 0.6, share
assert lens[-1] > 60, lens[-1]
PY

"$GEN" -n 2000 --seed 3 --lang en > en.jsonl
python3 - en.jsonl <<'PY'
import json, re, sys, collections
words = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    words.update(w.lower() for w in re.findall(r"\w+", json.loads(line)["body"]))
for w in ("the", "meeting", "please"):
    assert words[w] > 0, f"no {w}"
assert words["und"] == 0 and words["nicht"] == 0 and words["anträge"] == 0, "German words in --lang en"
PY

# Tiny worlds work: one sender, one conversation.
"$GEN" -n 300 --senders 1 --conversations 1 > tiny.jsonl
assert_eq "$(wc -l < tiny.jsonl)" 300 "tiny world"
assert_eq "$(python3 -c 'import json,sys; print(len({json.loads(l)["conversation"] for l in open(sys.argv[1])}))' tiny.jsonl)" 1 "one conversation"

# -n 0 writes nothing; bad usage exits 2; a failed write exits 1.
expect_exit 0 "$GEN" -n 0
assert_eq "$out" "" "-n 0 output"
expect_exit 2 "$GEN"
expect_exit 2 "$GEN" -n abc
expect_exit 2 "$GEN" -n -5
expect_exit 2 "$GEN" -n 10 --lang fr
expect_exit 2 "$GEN" -n 10 --conversations 0
expect_exit 2 "$GEN" -n 10 --bogus 1
expect_exit 2 "$GEN" -n
expect_exit 0 "$GEN" --help
if [ -w /dev/full ]; then
	expect_exit 1 "$GEN" -n 100000 -o /dev/full
	grep -q "write failed" <<<"$out" || fail "write error message: $out"
fi
echo "gen_messages ok"
