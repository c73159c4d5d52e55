"""api_audit.py - the audit trail tells the truth (issue 15, items 1-3).

1. A query parameter given twice is refused with 400 on every route, and
   the audit record of the refusal shows every pair as received; an
   accepted request's record shows exactly the values the handler used.
2. A path or query parameter that is not strict UTF-8 (a UTF-16
   surrogate, an overlong, a NUL) is refused with 400, and its audit
   record shows what was refused, escaped (%XX); so is a recorded header
   (Content-Type) and an envelope string (raw, or a lone \\ud800 escape);
   the CLI refuses the same bytes in a search query, a hold's texts and
   an export's --by.
3. Every request with a person's valid token is audited whatever the
   answer (404, 405, 413, 400, 403, and public routes); requests without
   a valid token stay unaudited.

Every failed check is reported, then the script exits 1, so that a run
against an old binary shows each hole that is still open."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import CUSTOS, Archive, Client, Server, envelope  # noqa: E402

failures = []


def expect(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    return cond


CAP = 4096
arch = Archive(server={"max_body_bytes": CAP})
srv = Server(arch)
T = arch.tokens
off = Client(srv, T["officer"])
aud = Client(srv, T["auditor"])
adm = Client(srv, T["admin"])
anon = Client(srv)
CONV = "!room:example.org"
Client(srv, T["ingest"]).json("POST", "/v1/ingest",
                              [envelope(i, conv=CONV, body="the secret plan %d" % i) for i in range(3)] +
                              [envelope(10 + i, conv=CONV, body="the weather today %d" % i) for i in range(5)],
                              expect=200)


def size():
    _, doc = anon.json("GET", "/healthz", expect=200)
    return doc["records"]


def last_audit(who):
    """The newest audit record of who (the auditor's own listing is
    audited under auditor1, so who is never auditor1 here)."""
    _, doc = aud.json("GET", "/v1/audit?who=%s&limit=1" % who, expect=200)
    recs = doc["records"]
    return recs[0] if recs else None


def audited(client, who, method, path, status, body=None, headers=None):
    """Sends the request; expects the status and one new audit record of
    who with that status; returns (reply doc, the record's meta)."""
    before = size()
    st, hdrs, data = client.request(method, path, body, headers=headers)
    try:
        doc = json.loads(data) if hdrs.get("content-type", "").startswith("application/json") else data
    except ValueError:
        doc = data
    grew = size() - before
    label = "%s %s as %s" % (method, path, who)
    expect(st == status, "%s: expected %d, got %d %r" % (label, status, st, doc))
    if not expect(grew == 1, "%s: expected one audit record, the archive grew by %d" % (label, grew)):
        return doc, {}
    rec = last_audit(who)
    meta = rec["meta"] if rec else {}
    expect(meta.get("status") == st and meta.get("method") == method,
           "%s: the audit record does not show %s -> %d: %r" % (label, method, st, meta))
    return doc, meta


# The index follows the log in the background: wait until it holds the
# messages, so that the searches below see them (a loaded machine lags).
deadline = time.time() + 30
while off.json("GET", "/v1/search?q=secret", expect=200)[1]["total"] != 3 and time.time() < deadline:
    time.sleep(0.1)

# --- 1. repeated parameters: 400 on every route, audited as received ------
REPEATS = [
    (off, "officer1", "/v1/search?q=secret&q=weather", [["q", "secret"], ["q", "weather"]]),
    (off, "officer1", "/v1/search?q=secret&limit=2&limit=9", [["q", "secret"], ["limit", "2"], ["limit", "9"]]),
    (off, "officer1", "/v1/records/1?tree_size=2&tree_size=8", [["tree_size", "2"], ["tree_size", "8"]]),
    (off, "officer1", "/v1/conversations/%s/messages?around=1&around=5" % CONV, [["around", "1"], ["around", "5"]]),
    (off, "officer1", "/v1/checkpoint?size=1&size=2", [["size", "1"], ["size", "2"]]),
    (off, "officer1", "/v1/holds?all=1&all=0", [["all", "1"], ["all", "0"]]),
    (adm, "admin1", "/v1/policies?all=true&all=false", [["all", "true"], ["all", "false"]]),
    (adm, "admin1", "/v1/tokens?x&x", [["x", None], ["x", None]]),
]
for client, who, path, pairs in REPEATS:
    doc, meta = audited(client, who, "GET", path, 400)
    expect("more than once" in str(doc), "%s: error does not name the repeat: %r" % (path, doc))
    expect(meta.get("query_received") == pairs and "query" not in meta,
           "%s: audit shows %r, not the pairs as received %r" % (path, meta.get("query_received"), pairs))

# the auditor's own route too (the listing then shows the refusal)
before = size()
st, _, _ = aud.request("GET", "/v1/audit?who=a&who=b")
expect(st == 400 and size() - before == 1, "/v1/audit repeated who: %d, grew %d" % (st, size() - before))
_, doc = aud.json("GET", "/v1/audit?who=auditor1&limit=2", expect=200)
m = doc["records"][0]["meta"] if doc["records"] else {}  # made before its own record
expect(m.get("status") == 400 and m.get("query_received") == [["who", "a"], ["who", "b"]],
       "/v1/audit repeated who: audit %r" % m)

# anonymous callers and hooks: refused the same way, nobody audited
for path in ["/healthz?a=1&a=2", "/_matrix/app/v1/users/@a:example.org?access_token=x&access_token=y",
             "/v1/search?q=a&q=b"]:
    before = size()
    st, _, _ = anon.request("GET", path)
    expect(st == 400 and size() == before, "anonymous %s: %d, archive grew by %d" % (path, st, size() - before))

# an accepted request: the record holds exactly the values the handler used
doc, meta = audited(off, "officer1", "GET", "/v1/search?q=secret&limit=2&sort=oldest", 200)
expect(meta.get("query") == {"q": "secret", "limit": "2", "sort": "oldest"} and
       meta.get("results") == len(doc.get("results", [])) == 2 and meta.get("total") == doc.get("total") == 3,
       "search audit %r for reply %r" % (meta, doc))
doc, meta = audited(off, "officer1", "GET", "/v1/conversations/%s/messages?around=1&before=1&after=1" % CONV, 200)
expect(meta.get("query") == {"around": "1", "before": "1", "after": "1"} and meta.get("conversation") == CONV,
       "context audit %r" % meta)

# --- 2. strict UTF-8: refused, and recorded escaped ---------------------
BAD_QUERIES = [
    ("/v1/search?q=word%ED%A0%80", [["q", "word%ED%A0%80"]]),      # U+D800, a surrogate
    ("/v1/search?q=%C0%AF", [["q", "%C0%AF"]]),                    # overlong '/'
    ("/v1/search?q=%F4%90%80%80", [["q", "%F4%90%80%80"]]),        # U+110000
    ("/v1/search?q=secret%00weather", [["q", "secret%00weather"]]),  # NUL would cut the text
    ("/v1/search?q=ok&%ED%A0%80=1", [["q", "ok"], ["%ED%A0%80", "1"]]),  # a bad name
    ("/v1/search?q=gr%C3%BC%C3%9Fe&q=%ED%BF%BF", [["q", "gr\u00fc\u00dfe"], ["q", "%ED%BF%BF"]]),
]
for path, pairs in BAD_QUERIES:
    doc, meta = audited(off, "officer1", "GET", path, 400)
    expect(meta.get("query_received") == pairs, "%s: audit shows %r, expected %r" %
           (path, meta.get("query_received"), pairs))

BAD_PATHS = [
    ("/v1/records/%ED%A0%80", "/v1/records/%ED%A0%80"),
    ("/v1/conversations/%C0%AF/messages", "/v1/conversations/%C0%AF/messages"),
    ("/v1/holds/1%FF", "/v1/holds/1%FF"),
]
for path, shown in BAD_PATHS:
    doc, meta = audited(off, "officer1", "GET", path, 400)
    expect(meta.get("path") == shown and meta.get("path_escaped") is True,
           "%s: audit path %r (escaped %r), expected %r" % (path, meta.get("path"), meta.get("path_escaped"), shown))

# the valid edges pass: U+10FFFF and U+FFFF are characters, not refused
for path in ["/v1/search?q=a%F4%8F%BF%BFb", "/v1/search?q=gr%C3%BC%C3%9Fe"]:
    doc, meta = audited(off, "officer1", "GET", path, 200)
    expect(meta.get("query", {}).get("q", "").startswith(("a", "gr")), "%s: audit %r" % (path, meta))

# a recorded header (the payload type of signed-ingest evidence)
ing = Client(srv, T["ingest"])
st, hdrs, data = ing.request("POST", "/v1/ingest", json.dumps([envelope(50)]),
                             headers={"Content-Type": b"application/json; x=\xed\xa0\x80"})
expect(st == 400 and b"Content-Type" in data, "bad Content-Type: %d %r" % (st, data[:200]))

# envelopes: raw bytes that are not UTF-8, and lone surrogate escapes
# (which yajl turned into '?' or into the surrogate's bytes), are refused
HEAD = b'{"platform":"matrix","conversation":"!r:x","sender":"@a:x","ts":1714564800000,"id":"u%d","body":'
for i, body in enumerate([b'"word\xed\xa0\x80"', b'"\xc0\xaf"', b'"word\\ud800x"', b'"\\udc00"']):
    before = size()
    st, hdrs, data = ing.request("POST", "/v1/ingest", (HEAD % i) + body + b"}",
                                 headers={"Content-Type": "application/json"})
    expect(st == 400 and size() == before, "envelope body %r: %d %r" % (body, st, data[:200]))
st, hdrs, data = ing.request("POST", "/v1/ingest", (HEAD % 9) + b'"ok \\ud83d\\ude00"}',
                             headers={"Content-Type": "application/json"})
expect(st == 200, "envelope with a surrogate pair escape: %d %r" % (st, data[:200]))

# the CLI: a search query and a hold's texts with a surrogate are refused
def cli(*args):
    p = subprocess.run([os.fsencode(CUSTOS)] + [a if isinstance(a, bytes) else a.encode() for a in args],
                       capture_output=True)
    return p.returncode, p.stderr.decode(errors="replace")


srv.stop()
rc, err = cli("search", "-d", arch.dir, b"secret\xed\xa0\x80")
expect(rc != 0 and "UTF-8" in err, "custos search with a surrogate: rc %d %r" % (rc, err))
rc, err = cli("search", "-d", arch.dir, b"\xc0\xaf")
expect(rc != 0 and "UTF-8" in err, "custos search with an overlong: rc %d %r" % (rc, err))
rc, err = cli("hold", "add", "-d", arch.dir, "--matter", "M1", "--reason", b"why\xed\xa0\x80", "--by", "alice",
              "--all")
expect(rc != 0 and "UTF-8" in err, "custos hold add with a surrogate reason: rc %d %r" % (rc, err))
rc, err = cli("hold", "add", "-d", arch.dir, "--matter", b"M\xc0\xaf", "--reason", "r", "--by", "alice", "--all")
expect(rc != 0 and "UTF-8" in err, "custos hold add with an overlong matter: rc %d %r" % (rc, err))
rc, err = cli("hold", "add", "-d", arch.dir, "--matter", "M2", "--reason", "r", "--by", b"al\xffice", "--all")
expect(rc != 0 and "UTF-8" in err, "custos hold add with a bad --by: rc %d %r" % (rc, err))
rc, err = cli("export", "-d", arch.dir, "--query", "secret", "--format", "dat", "--by", b"al\xc0\xafice", "-o",
              os.path.join(os.path.dirname(arch.dir), "x.zip"))
expect(rc != 0 and "UTF-8" in err, "custos export with a bad --by: rc %d %r" % (rc, err))
srv = Server(arch)
off, aud, adm, anon = Client(srv, T["officer"]), Client(srv, T["auditor"]), Client(srv, T["admin"]), Client(srv)

# --- 3. every answer to a person is audited ------------------------------
doc, meta = audited(off, "officer1", "GET", "/v1/nothing/here?x=1", 404)
expect(meta.get("path") == "/v1/nothing/here" and meta.get("query") == {"x": "1"}, "404 audit %r" % meta)
doc, meta = audited(off, "officer1", "DELETE", "/v1/search?q=secret", 405)
expect(meta.get("path") == "/v1/search" and meta.get("query") == {"q": "secret"}, "405 audit %r" % meta)
doc, meta = audited(off, "officer1", "POST", "/v1/holds", 413, body="x" * (2 * CAP))
expect(meta.get("route") == "hold_add", "413 audit %r" % meta)
# Over 4x the cap a body is refused at once, before the role is looked at
# (up to 4x it is read first, and then the role decides: 403 below).
doc, meta = audited(off, "officer1", "POST", "/v1/ingest", 413, body="x" * (5 * CAP))
doc, meta = audited(off, "officer1", "POST", "/v1/ingest", 403, body="[]")
doc, meta = audited(off, "officer1", "GET", "/v1/search?limit=0&q=x", 400)
expect(meta.get("query") == {"q": "x", "limit": "0"}, "400 audit %r" % meta)
doc, meta = audited(off, "officer1", "GET", "/healthz", 200)
doc, meta = audited(adm, "admin1", "GET", "/v1/nothing", 404)
# the next request is served normally on the same connection
off.json("GET", "/v1/search?q=secret", expect=200)

# no valid token: not audited, whatever the answer
for client, method, path, body in [(anon, "GET", "/v1/nothing", None), (anon, "DELETE", "/v1/search", None),
                                   (anon, "POST", "/v1/holds", "x" * (2 * CAP)),
                                   (Client(srv, "cst_" + "x" * 43), "GET", "/v1/nothing", None)]:
    before = size()
    st, _, _ = client.request(method, path, body)
    expect(st in (401, 404, 405, 413) and size() == before,
           "anonymous %s %s: %d, archive grew by %d" % (method, path, st, size() - before))

expect(srv.stop() == 0, "serve did not stop cleanly")
if failures:
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
subprocess.run([CUSTOS, "verify", "-d", arch.dir], check=True, capture_output=True)
print("ok")
