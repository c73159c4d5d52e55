# Days the calendar does not have are refused everywhere a date is taken,
# never rolled over into the next month: the search query (after:,
# before:), legal holds (CLI and API), exports (CLI and API), the audit
# filter. A record whose ts is near INT64_MAX is never due for disposition
# (the due date saturates instead of wrapping into the past).
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$CUSTOS" init -d a
cat > m.jsonl <<'J'
{"platform":"matrix","conversation":"!r:ex.org","sender":"@a:ex.org","ts":"2024-03-01T09:00:00Z","id":"1","body":"maerz wort"}
{"platform":"matrix","conversation":"!r:ex.org","sender":"@a:ex.org","ts":9223372036854775000,"id":"2","body":"ende wort"}
{"platform":"matrix","conversation":"!r:ex.org","sender":"@a:ex.org","ts":"2015-01-01T00:00:00Z","id":"3","body":"alt wort"}
J
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl

for bad in 2024-02-30 2023-02-29 1900-02-29 2024-04-31 2024-13-01 2024-00-10 2024-01-32 2024-01-00 \
	2024-05-01T24:00:00Z 2016-12-31T23:59:60Z; do
	expect_exit 2 "$CUSTOS" search -d a "wort after:$bad"
	grep -q "invalid time" <<<"$out" || fail "search after:$bad: $out"
	expect_exit 2 "$CUSTOS" hold add -d a --matter m --reason r --conversation '!r:ex.org' --from "$bad" --by alice
	grep -q "is not a date" <<<"$out" || fail "hold --from $bad: $out"
	expect_exit 2 "$CUSTOS" export -d a --conversation '!r:ex.org' --from "$bad" --format bagit --by alice -o x.zip
	[ -e x.zip ] && fail "export --from $bad wrote a package"
done
expect_exit 0 "$CUSTOS" search -d a --json "wort after:2024-02-29"
assert_eq "$(echo "$out" | json_get - 'j["total"]')" 2 "a real Feb 29 is taken"

# Retention: the record at the end of time is not due under a 1-day policy.
expect_exit 0 "$CUSTOS" policy add -d a --name short --keep 1d --action destroy --by admin
expect_exit 0 "$CUSTOS" retention plan -d a --by alice --dry-run --json
assert_eq "$(echo "$out" | json_get - 'sorted(x["seq"] for x in j["items"])')" "[0, 2]" "only the past records are due"

# The API takes the same dates through the same parser.
TESTSRC=$(cd "$(dirname "$0")" && pwd) python3 - <<'PY'
import os, sys
sys.path.insert(0, os.environ["TESTSRC"])
from api_lib import Archive, Client, Server, check  # noqa: E402
arch = Archive("b")
srv = Server(arch)
off = Client(srv, arch.tokens["officer"])
aud = Client(srv, arch.tokens["auditor"])
for bad in ("2024-02-30", "2023-02-29", "2024-13-01", "2024-05-01T24:00:00Z"):
    off.json("POST", "/v1/holds", {"matter": "m", "reason": "r", "conversations": ["!r:ex.org"], "from": bad}, expect=400)
    off.json("GET", "/v1/search?q=wort%20after:" + bad, expect=400)
    off.json("POST", "/v1/exports", {"format": "bagit", "conversation": "!r:ex.org", "from": bad}, expect=400)
    aud.json("GET", "/v1/audit?since=" + bad, expect=400)
off.json("POST", "/v1/holds", {"matter": "m", "reason": "r", "conversations": ["!r:ex.org"], "from": "2024-02-29"}, expect=201)
srv.stop()
PY
echo ok
