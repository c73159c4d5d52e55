"""api_basic.py - the HTTP API end to end against the real daemon: ingest
(array, JSON Lines, idempotency, bad input, caps), records and proofs equal
to the CLI's, context, checkpoint, consistency, audit trail, tokens over
the API and SIGHUP reload, verification job, health and metrics, and the
context of a quiet conversation in a busy archive (through the index, and
with records the index does not hold yet)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, fail, run  # noqa: E402

arch = Archive(server={"max_body_bytes": 65536, "max_records_per_request": 50,
                       "max_header_bytes": 8192, "threads": 2})
srv = Server(arch)
T = arch.tokens
ing = Client(srv, T["ingest"])
off = Client(srv, T["officer"])
aud = Client(srv, T["auditor"])
adm = Client(srv, T["admin"])

# --- ingest -------------------------------------------------------------
st, doc = ing.json("POST", "/v1/ingest", [envelope(i) for i in range(5)], expect=200)
check(doc == {"accepted": 5, "duplicates": 0, "first_seq": 0, "last_seq": 4}, "first ingest: %r" % doc)

lines = "\n".join(json.dumps(envelope(i)) for i in range(3, 8)) + "\n"
st, doc = ing.json("POST", "/v1/ingest", lines, expect=200)
check(doc == {"accepted": 3, "duplicates": 2, "first_seq": 5, "last_seq": 7}, "JSON Lines ingest: %r" % doc)

# the same request again: all duplicates, nothing new
st, doc = ing.json("POST", "/v1/ingest", lines, expect=200)
check(doc == {"accepted": 0, "duplicates": 5, "first_seq": None, "last_seq": None}, "repeat: %r" % doc)

# duplicates within one request, and across concurrent requests that the
# commit queue merges into one commit
st, doc = ing.json("POST", "/v1/ingest", [envelope(40), envelope(40), envelope(41)], expect=200)
check(doc["accepted"] == 2 and doc["duplicates"] == 1, "in-request duplicate: %r" % doc)
results = []


def same_batch():
    results.append(Client(srv, T["ingest"]).json("POST", "/v1/ingest", [envelope(i) for i in range(50, 80)],
                                                 expect=200)[1])


workers = [threading.Thread(target=same_batch) for _ in range(6)]
for w in workers:
    w.start()
for w in workers:
    w.join()
check(sorted(r["accepted"] for r in results) == [0] * 5 + [30] and all(r["accepted"] + r["duplicates"] == 30
      for r in results), "concurrent identical requests: %r" % results)

# an empty array is fine
st, doc = ing.json("POST", "/v1/ingest", [], expect=200)
check(doc["accepted"] == 0, "empty array: %r" % doc)

# exact bytes of array elements are the payloads (spacing kept)
raw = '[ {"platform":"matrix", "conversation":"!room:example.org","sender":"@bob:example.org",' \
      '"ts":1714564900000,"id":"raw1","body":"spaced  out", "x-extra": [1, 2]} ,\n' \
      '{"platform":"xmpp","conversation":"room@muc.example.org","sender":"bob@example.org",' \
      '"ts":"2024-05-01T12:00:00Z","id":"raw2","body":"zwei"}]'
st, doc = ing.json("POST", "/v1/ingest", raw, expect=200)
check(doc["accepted"] == 2, "raw array: %r" % doc)
first_raw = doc["first_seq"]

# bad input: nothing of the request is stored
before = len(arch.log())
for body, code in [("", "bad_request"), ("   \n", "bad_request"), ("[", "bad_json"),
                   ("[{]", "bad_json"), (json.dumps([envelope(99)]) + " x", "bad_json"), ("[1, 2]", "bad_json"),
                   ('{"platform":"matrix"}', "bad_envelope"), ("not json", "bad_envelope"),
                   (json.dumps([envelope(100), {"platform": "matrix", "id": "x"}]), "bad_envelope"),
                   (json.dumps([dict(envelope(101), kind="audit")]), "bad_envelope")]:
    st, doc = ing.json("POST", "/v1/ingest", body)
    check(st == 400 and doc["error"]["code"] == code, "bad body %r: %d %r" % (body[:40], st, doc))
st, doc = ing.json("POST", "/v1/ingest", json.dumps([envelope(100), {"platform": "matrix"}]))
check("envelope 2" in doc["error"]["message"], "error names the envelope: %r" % doc)
# caps: records per request, body size
st, doc = ing.json("POST", "/v1/ingest", [envelope(200 + i) for i in range(51)])
check(st == 413 and doc["error"]["code"] == "too_many_records", "record cap: %d %r" % (st, doc))
big = [envelope(300, body="x" * 70000)]
st, doc = ing.json("POST", "/v1/ingest", big)
check(st == 413 and doc["error"]["code"] == "payload_too_large", "body cap: %d %r" % (st, doc))
# the same without Content-Length (chunked): read, dropped, 413
st, hdrs, data = ing.request("POST", "/v1/ingest", iter([b"[", json.dumps(big[0]).encode(), b"]"]))
check(st == 413, "chunked body cap: %d %r" % (st, data[:200]))
check(len(arch.log()) == before, "refused requests stored records")

# header too large: refused by the HTTP layer
st, hdrs, data = ing.request("GET", "/healthz", headers={"X-Big": "y" * 9000})
check(st in (413, 431), "oversized header: %d" % st)

# --- records and proofs equal the CLI's ---------------------------------
size = len(arch.log())
st, doc = off.json("GET", "/v1/records/3?tree_size=%d" % size, expect=200)
_, out, _ = run("show", "-d", arch.dir, "3", "--json", "--proof", "--tree-size", str(size))
check(doc == json.loads(out), "GET /v1/records/3 differs from custos show --json --proof")
check(doc["record"]["source"] == "hook1" and doc["record"]["id"] == "m3", "record: %r" % doc["record"])
check(doc["record"]["auth"] == {"method": "bearer", "token": "ingest1"}, "auth: %r" % doc["record"].get("auth"))
st, doc = off.json("GET", "/v1/records/%d" % first_raw, expect=200)
check(doc["record"]["payload"].startswith('{"platform":"matrix", "conversation"') and
      doc["record"]["payload"].endswith('"x-extra": [1, 2]}'), "payload not exact: %r" % doc["record"]["payload"])
with open("proof.json", "w") as f:
    json.dump(doc, f)
_, pem, _ = run("pubkey", "-d", arch.dir)
with open("pub.pem", "w") as f:
    f.write(pem)
run("verify-proof", "--pubkey", "pub.pem", "proof.json")
off.json("GET", "/v1/records/99999", expect=404)
off.json("GET", "/v1/records/abc", expect=400)
off.json("GET", "/v1/records/1?tree_size=1", expect=400)

size = len(arch.log())
st, doc = aud.json("GET", "/v1/proof/consistency?from=2&to=%d" % size, expect=200)
_, out, _ = run("prove", "-d", arch.dir, "--from", "2", "--to", str(size), "--json")
check(doc == json.loads(out), "consistency proof differs from custos prove")
aud.json("GET", "/v1/proof/consistency", expect=400)
aud.json("GET", "/v1/proof/consistency?from=0", expect=400)
aud.json("GET", "/v1/proof/consistency?from=5&to=4", expect=400)

st, hdrs, data = aud.request("GET", "/v1/checkpoint?size=5")
_, out, _ = run("checkpoint", "-d", arch.dir, "--size", "5")
check(st == 200 and hdrs["content-type"].startswith("text/plain") and data.decode() == out,
      "checkpoint differs: %d %r" % (st, data))

# --- search: the same JSON as custos search --json ----------------------
deadline = time.time() + 10
while True:
    st, doc = off.json("GET", "/v1/search?q=message&limit=3&sort=oldest", expect=200)
    if doc["total"] == 40 or time.time() > deadline:
        break
    time.sleep(0.05)
_, out, _ = run("search", "-d", arch.dir, "--json", "--limit", "3", "--sort", "oldest", "message")
cli = json.loads(out)
# the cursor names the snapshot (tree size), which the audit record of the
# request itself has moved on by one
check(dict(doc, next_cursor=None) == dict(cli, next_cursor=None), "GET /v1/search differs from custos search --json: %r / %r" % (doc, out))
check(doc["total"] == 40 and [h["id"] for h in doc["results"]] == ["m0", "m1", "m2"], "search %r" % doc)
st, doc2 = off.json("GET", "/v1/search?q=message&limit=3&sort=oldest&cursor=" +
                    urllib.parse.quote(doc["next_cursor"]), expect=200)
check([h["id"] for h in doc2["results"]] == ["m3", "m4", "m5"], "search page 2 %r" % doc2)
st, doc = off.json("GET", "/v1/search?q=" + urllib.parse.quote('"unclosed'))
check(st == 400 and doc["error"]["code"] == "bad_request", "bad query: %d %r" % (st, doc))
off.json("GET", "/v1/search", expect=400)
off.json("GET", "/v1/search?q=x&sort=random", expect=400)
off.json("GET", "/v1/search?q=x&limit=0", expect=400)
off.json("GET", "/v1/search?q=x&cursor=garbage", expect=400)

# --- conversation context ----------------------------------------------
st, doc = ing.json("POST", "/v1/ingest", [envelope(500 + i, conv="!other:example.org") for i in range(3)],
                   expect=200)
st, doc = off.json("GET", "/v1/conversations/!room:example.org/messages?around=3&before=2&after=2", expect=200)
ids = [m["id"] for m in doc["messages"]]
check(ids == ["m1", "m2", "m3", "m4", "m5"], "context ids %r" % ids)
check(doc["around"] == 3 and doc["more_before"] and doc["more_after"], "context flags %r" % doc)
st, doc = off.json("GET", "/v1/conversations/!other:example.org/messages?before=10", expect=200)
check([m["id"] for m in doc["messages"]] == ["m500", "m501", "m502"], "latest context %r" % doc)
off.json("GET", "/v1/conversations/!other:example.org/messages?around=3", expect=404)
off.json("GET", "/v1/conversations/nobody/messages", expect=404)
off.json("GET", "/v1/conversations/!room:example.org/messages?before=100000", expect=400)

# --- audit trail ---------------------------------------------------------
st, doc = aud.json("GET", "/v1/audit?who=officer1&limit=100", expect=200)
recs = doc["records"]
check(len(recs) >= 10, "officer requests audited: %d" % len(recs))
check(all(r["kind"] == "audit" and r["platform"] == "custos" and r["sender"] == "officer1" for r in recs),
      "audit records shape")
seqs = [r["seq"] for r in recs]
check(seqs == sorted(seqs, reverse=True), "audit newest first")
ctx = [r for r in recs if r["meta"]["route"] == "context" and r["meta"]["status"] == 200]
check(ctx and ctx[-1]["meta"]["query"] == {"around": "3", "before": "2", "after": "2"} and
      ctx[-1]["meta"]["results"] == 5 and ctx[-1]["meta"]["conversation"] == "!room:example.org" and
      ctx[-1]["meta"]["role"] == "officer", "context audit meta: %r" % ctx[-1:])
notfound = [r for r in recs if r["meta"]["status"] == 404]
check(notfound, "failed reads are audited too")
# ingest is not a person: not audited
st, doc = aud.json("GET", "/v1/audit?who=ingest1", expect=200)
check(doc["records"] == [], "ingest requests must not be audited")
# paging with cursor
st, p1 = aud.json("GET", "/v1/audit?limit=2", expect=200)
check(len(p1["records"]) == 2 and p1["next_cursor"] is not None, "page 1 %r" % p1.get("next_cursor"))
st, p2 = aud.json("GET", "/v1/audit?limit=2&cursor=%d" % p1["next_cursor"], expect=200)
check(p2["records"][0]["seq"] < p1["records"][-1]["seq"], "page 2 continues below page 1")
st, doc = aud.json("GET", "/v1/audit?route=record&q=records", expect=200)
check(doc["records"] and all(r["meta"]["route"] == "record" for r in doc["records"]), "route filter")
aud.json("GET", "/v1/audit?since=yesterday", expect=400)
# the audit record of a request exists before its reply: the record of the
# previous auditor request is visible now
st, doc = aud.json("GET", "/v1/audit?who=auditor1&limit=1", expect=200)
check(doc["records"][0]["meta"]["query"] == {"since": "yesterday"}, "previous request audited: %r" % doc)

# --- tokens over the API, SIGHUP reload ---------------------------------
st, doc = adm.json("POST", "/v1/tokens", {"name": "bob", "role": "officer"}, expect=201)
bob = doc["token"]
check(doc["name"] == "bob" and doc["role"] == "officer" and bob.startswith("cst_"), "token add %r" % doc)
st, doc = Client(srv, bob).json("GET", "/v1/records/0", expect=200)
adm.json("POST", "/v1/tokens", {"name": "bob", "role": "officer"}, expect=409)
adm.json("POST", "/v1/tokens", {"name": "x y", "role": "officer"}, expect=400)
adm.json("POST", "/v1/tokens", {"name": "h2", "role": "ingest"}, expect=400)
adm.json("POST", "/v1/tokens", {"name": "h2", "role": "root"}, expect=400)
adm.json("POST", "/v1/tokens", "{", expect=400)
st, doc = adm.json("GET", "/v1/tokens", expect=200)
names = {t["name"]: t for t in doc["tokens"]}
check("bob" in names and names["ingest1"]["source"] == "hook1" and
      all("sha256" not in t and "token" not in t for t in doc["tokens"]), "token list %r" % doc)
st, doc = aud.json("GET", "/v1/audit?who=admin1&route=token_add", expect=200)
check(len(doc["records"]) == 6 and bob not in json.dumps(doc), "token_add audit / secret in audit")
check(doc["records"][-1]["meta"]["token_name"] == "bob" and doc["records"][-1]["meta"]["status"] == 201,
      "token_add audit meta %r" % doc["records"][-1]["meta"])
adm.json("DELETE", "/v1/tokens/bob", expect=200)
Client(srv, bob).json("GET", "/v1/records/0", expect=401)
adm.json("DELETE", "/v1/tokens/bob", expect=404)
with open(os.path.join(arch.dir, "tokens.json")) as f:
    check(bob not in f.read(), "token text stored")

# CLI add/revoke while the daemon runs: custos token signals it (serve.pid)
carl = arch.add_token("officer", "carl")
time.sleep(0.3)
Client(srv, carl).json("GET", "/v1/records/0", expect=200)
run("token", "revoke", "-d", arch.dir, "carl")
time.sleep(0.3)
Client(srv, carl).json("GET", "/v1/records/0", expect=401)
# explicit SIGHUP also reloads
dave = arch.add_token("auditor", "dave")
srv.proc.send_signal(signal.SIGHUP)
time.sleep(0.3)
st, hdrs, data = Client(srv, dave).request("GET", "/v1/checkpoint")
check(st == 200, "token after SIGHUP: %d" % st)
check("reloaded" in srv.read_log(), "SIGHUP not logged")
# SIGHUP rereads the configuration: a per-request limit changes at once
big_batch = [envelope(600 + i) for i in range(55)]
ing.json("POST", "/v1/ingest", big_batch, expect=413)
cfg_path = os.path.join(arch.dir, "custos.json")
with open(cfg_path) as f:
    cfg = json.load(f)
cfg["server"]["max_records_per_request"] = 60
with open(cfg_path, "w") as f:
    json.dump(cfg, f)
srv.proc.send_signal(signal.SIGHUP)
time.sleep(0.3)
ing.json("POST", "/v1/ingest", big_batch, expect=200)
# a configuration that does not parse is refused, the old one kept
cfg["server"]["max_records_per_request"] = "lots"
with open(cfg_path, "w") as f:
    json.dump(cfg, f)
srv.proc.send_signal(signal.SIGHUP)
time.sleep(0.3)
check("reload failed" in srv.read_log(), "bad configuration not reported")
ing.json("POST", "/v1/ingest", [envelope(700 + i) for i in range(58)], expect=200)
cfg["server"]["max_records_per_request"] = 60
with open(cfg_path, "w") as f:
    json.dump(cfg, f)

# --- verification job ----------------------------------------------------
st, doc = aud.json("POST", "/v1/verify", expect=202)
job = doc["job"]
check(doc["location"] == "/v1/verify/%d" % job, "verify location %r" % doc)
deadline = time.time() + 20
while True:
    st, doc = aud.json("GET", "/v1/verify/%d" % job, expect=200)
    if doc["state"] != "running":
        break
    check(time.time() < deadline, "verify job did not finish")
    time.sleep(0.1)
check(doc["state"] == "done" and doc["result"]["intact"] is True and doc["result"]["records"] > 10,
      "verify result %r" % doc)
aud.json("GET", "/v1/verify/%d" % (job + 1), expect=404)
aud.json("GET", "/v1/verify/x", expect=400)

# --- health and metrics --------------------------------------------------
st, doc = Client(srv).json("GET", "/healthz", expect=200)
check(doc["status"] == "ok" and doc["records"] > 0, "healthz %r" % doc)
st, hdrs, data = aud.request("GET", "/metrics")
text = data.decode()
check(st == 200 and hdrs["content-type"].startswith("text/plain"), "metrics %d" % st)
for needle in ['custos_http_requests_total{route="ingest",status="200"}',
               'custos_http_requests_total{route="ingest",status="400"}',
               'custos_http_requests_total{route="record",status="404"}',
               'custos_ingest_records_total{result="accepted"} 158',
               'custos_ingest_records_total{result="duplicate"} 158',
               'custos_http_request_duration_seconds_bucket{route="ingest",le="+Inf"}',
               "custos_commits_total", "custos_store_segments", "custos_store_segment_bytes",
               "custos_commit_pending_records 0", "custos_audit_records_total", "process_resident_memory_bytes"]:
    check(needle in text, "metrics lack %r" % needle)

# --- 404 / 405 / 401 -----------------------------------------------------
st, hdrs, data = off.request("GET", "/v1/nothing")
check(st == 404, "unknown path %d" % st)
st, hdrs, data = off.request("DELETE", "/v1/search")
check(st == 405 and hdrs.get("allow") == "GET", "405 with Allow: %d %r" % (st, hdrs.get("allow")))
st, hdrs, data = off.request("GET", "/v1/records/0", token="cst_" + "A" * 43)
check(st == 401 and "bearer" in hdrs.get("www-authenticate", "").lower(), "bad token %d" % st)
st, hdrs, data = off.request("GET", "/v1/records/0", token=None, headers={"Authorization": "Basic eDp5"})
check(st == 401, "basic auth %d" % st)

# --- SIGTERM: clean stop, then the archive verifies ---------------------
rc = srv.stop()
check(rc == 0, "serve exit status %d" % rc)
check("stopped" in srv.read_log(), "no stop message")
check(not os.path.exists(os.path.join(arch.dir, "serve.pid")), "pid file left behind")
run("verify", "-d", arch.dir)

# --- context of a quiet conversation in a busy archive ------------------
# Three messages of one room among 50000 of others, found through the
# index in origin-time order (which here differs from log order), then two
# more that the index does not hold yet (its write lock is taken, so the
# daemon cannot catch up): they come from the log and are merged in.
T = 1714564800000 + 10 ** 8
QUIET = "!quiet:example.org"
busy = Archive("data_busy")
quiet = {"q1": (10, T + 20000 * 1000 + 500),     # first in the log, second in time
         "q0": (25000, T + 5 * 1000 + 500),      # arrived late: oldest origin time
         "q2": (49990, T + 49000 * 1000 + 500)}
at = {pos: name for name, (pos, _) in quiet.items()}
path = os.path.join(os.path.dirname(busy.dir), "busy.jsonl")
with open(path, "w") as f:
    for i in range(50000):
        if i in at:
            f.write(json.dumps(dict(envelope(0, conv=QUIET, body="quiet " + at[i]), id=at[i],
                                    ts=quiet[at[i]][1])) + "\n")
        f.write(json.dumps(dict(envelope(i, conv="!busy%d:example.org" % (i % 5), prefix="b"),
                                ts=T + i * 1000)) + "\n")
run("ingest", "-d", busy.dir, path)
bsrv = Server(busy)
boff = Client(bsrv, busy.tokens["officer"])
bing = Client(bsrv, busy.tokens["ingest"])
bmet = Client(bsrv, busy.tokens["auditor"])
seq = {}
for m in busy.log():
    if m.get("conversation") == QUIET:
        seq[m["id"]] = m["seq"]
check(sorted(seq) == ["q0", "q1", "q2"] and seq["q1"] < seq["q0"] < seq["q2"], "quiet seqs %r" % seq)


def context(query):
    st, doc = boff.json("GET", "/v1/conversations/%s/messages?%s" % (urllib.parse.quote(QUIET), query),
                        expect=200)
    check(all(m["conversation"] == QUIET for m in doc["messages"]), "foreign record in %r" % doc)
    keys = [(m["ts"], m["seq"]) for m in doc["messages"]]
    check(keys == sorted(keys), "context not in origin-time order: %r" % keys)
    return [m["id"] for m in doc["messages"]], doc["more_before"], doc["more_after"]


def expect_context(cases):
    for query, want in cases:
        got = context(query % seq)
        check(got == want, "context %s: %r, expected %r" % (query % seq, got, want))


def index_lag():
    st, _, body = bmet.request("GET", "/metrics")
    lines = [l for l in body.decode().splitlines() if l.startswith("custos_index_lag_records ")]
    check(st == 200 and lines, "no index lag in /metrics")
    return int(float(lines[0].split()[1]))


expect_context([
    ("around=%(q1)d&before=5&after=5", (["q0", "q1", "q2"], False, False)),
    ("around=%(q1)d&before=1&after=1", (["q0", "q1", "q2"], False, False)),
    ("around=%(q1)d&before=0&after=0", (["q1"], True, True)),
    ("around=%(q0)d&before=5&after=1", (["q0", "q1"], False, True)),
    ("around=%(q2)d&before=1&after=3", (["q1", "q2"], True, False)),
    ("before=2", (["q1", "q2"], True, False)),
    ("before=10", (["q0", "q1", "q2"], False, False)),
])
boff.json("GET", "/v1/conversations/%s/messages?around=%d" % (urllib.parse.quote(QUIET), seq["q1"] + 1),
          expect=404)

# Hold the index's write lock: what is ingested now stays in the log only.
hold = sqlite3.connect(os.path.join(busy.dir, "index", "index.db"), timeout=30, isolation_level=None)
hold.execute("BEGIN IMMEDIATE")
st, doc = bing.json("POST", "/v1/ingest", [
    dict(envelope(0, conv=QUIET, body="quiet q3"), id="q3", ts=T + 1000),               # oldest of all
    dict(envelope(0, conv=QUIET, body="quiet q4"), id="q4", ts=T + 30000 * 1000)],      # between q1 and q2
    expect=200)
seq["q3"], seq["q4"] = doc["first_seq"], doc["last_seq"]
check(index_lag() > 0, "the index caught up although its write lock is held")
tail_cases = [
    ("around=%(q1)d&before=5&after=5", (["q3", "q0", "q1", "q4", "q2"], False, False)),
    ("around=%(q1)d&before=1&after=1", (["q0", "q1", "q4"], True, True)),
    ("around=%(q4)d&before=1&after=5", (["q1", "q4", "q2"], True, False)),
    ("around=%(q3)d&before=3&after=2", (["q3", "q0", "q1"], False, True)),
    ("before=2", (["q4", "q2"], True, False)),
    ("before=10", (["q3", "q0", "q1", "q4", "q2"], False, False)),
]
expect_context(tail_cases)
check(index_lag() >= 2, "the quiet tail was indexed while the lock was held")
hold.execute("ROLLBACK")
hold.close()
# The same answers once the index holds everything.
deadline = time.time() + 30
while index_lag() > 0:
    check(time.time() < deadline, "the index did not catch up")
    context("before=1")  # its audit record wakes the catch-up
    time.sleep(0.1)
expect_context(tail_cases)
check(bsrv.stop() == 0, "busy serve exit status")
print("ok")
