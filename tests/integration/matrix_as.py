"""matrix_as.py - the Matrix Application Service API against the real
daemon, as a homeserver (Synapse) would use it: the registration written
by `custos matrix-registration`, transactions with every kind of event,
byte-exact payloads, txnId idempotency (also after a restart), both token
forms, the query and ping endpoints, M_UNRECOGNIZED for everything else,
and a SIGKILL right after a 200 losing nothing."""

import json
import os
import re
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, fail, run  # noqa: E402

arch = Archive()
_, out, _ = run("matrix-registration", "-d", arch.dir, "--url", "http://127.0.0.1:8080", "--source", "synapse")
reg_path = out.strip()
reg = open(reg_path).read()
check(oct(os.stat(reg_path).st_mode & 0o777) == "0o600", "registration file must be 0600")
fields = dict(re.findall(r'^(\w+): "([^"]*)"$', reg, re.M))
for key in ("id", "url", "as_token", "hs_token", "sender_localpart"):
    check(key in fields, "registration lacks %s: %s" % (key, reg))
check(re.search(r'rooms:\n    - exclusive: false\n      regex: "\.\*"', reg), "room namespace: " + reg)
HS = fields["hs_token"]
check(HS != fields["as_token"] and len(HS) >= 40, "tokens")
# A second run refuses to overwrite (it would change the tokens).
rc, _, err = run("matrix-registration", "-d", arch.dir, "--url", "http://x", check_rc=False)
check(rc == 1 and "exists" in err, "second registration must refuse: %d %s" % (rc, err))
_, out, _ = run("source", "list", "-d", arch.dir, "--json")
src = [json.loads(l) for l in out.splitlines()]
check(len(src) == 1 and src[0]["name"] == "synapse" and src[0]["hs_token"] == "set", "source list: %r" % src)
check(HS not in out and HS not in open(os.path.join(arch.dir, "sources.json")).read(), "hs_token stored in clear")

srv = Server(arch)
c = Client(srv)


def mx(method, path, body=None, token=HS, query_token=None, headers=None, expect=None, errcode=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    if query_token is not None:
        path += ("&" if "?" in path else "?") + "access_token=" + urllib.parse.quote(query_token)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    st, hdrs, data = c.request(method, path, body, token=None, headers=h)
    doc = json.loads(data) if data else None
    if expect is not None:
        check(st == expect, "%s %s: expected %d, got %d %r" % (method, path, expect, st, data[:300]))
    if errcode is not None:
        check(isinstance(doc, dict) and doc.get("errcode") == errcode and isinstance(doc.get("error"), str),
              "%s %s: expected errcode %s, got %r" % (method, path, errcode, doc))
    return st, hdrs, doc


def size():
    _, _, data = c.request("GET", "/healthz", token=None)
    return json.loads(data)["records"]


def ev(i, typ="m.room.message", content=None, state_key=None, room="!room:example.org", **extra):
    e = {"type": typ, "room_id": room, "sender": "@alice:example.org", "event_id": "$ev%d" % i,
         "origin_server_ts": 1714564800000 + i, "content": content or {"msgtype": "m.text", "body": "msg %d" % i}}
    if state_key is not None:
        e["state_key"] = state_key
    e.update(extra)
    return e


events = [
    ev(1, content={"msgtype": "m.text", "body": "Gr\u00fc\u00dfe, Antrag 2024/117"}),
    ev(2, content={"msgtype": "m.emote", "body": "winkt"}),
    ev(3, content={"msgtype": "m.notice", "body": "Hinweis"}),
    ev(4, content={"msgtype": "m.file", "body": "plan.pdf", "url": "mxc://example.org/f",
                   "info": {"mimetype": "application/pdf", "size": 1000}}),
    ev(5, content={"msgtype": "m.text", "body": "* korrigiert", "m.new_content": {"msgtype": "m.text", "body": "korrigiert"},
                   "m.relates_to": {"rel_type": "m.replace", "event_id": "$ev1"}}),
    ev(6, "m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$ev1", "key": "\U0001f44d"}}),
    ev(7, content={"msgtype": "m.text", "body": "Antwort", "m.relates_to": {"m.in_reply_to": {"event_id": "$ev1"}}}),
    ev(8, content={"msgtype": "m.text", "body": "im Thread", "m.relates_to": {"rel_type": "m.thread", "event_id": "$ev1"}}),
    ev(9, "m.room.redaction", {"reason": "falsch"}, redacts="$ev2"),
    ev(10, "m.room.encrypted", {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEpAB", "session_id": "s",
                                "sender_key": "k", "device_id": "D"}, room="!secret:example.org"),
    ev(11, "m.room.member", {"membership": "join", "displayname": "Bob"}, state_key="@bob:example.org"),
    ev(12, "m.room.name", {"name": "Bauamt"}, state_key=""),
    ev(13, "m.room.topic", {"topic": "Baugenehmigungen"}, state_key=""),
]
KINDS = ["message", "message", "message", "attachment", "edit", "reaction", "message", "message", "redaction",
         "message", "membership", "state", "state"]

# Synapse's serialisation is compact; keep an odd one to prove the bytes are kept.
parts = [json.dumps(e, separators=(",", ":")) for e in events]
parts[0] = json.dumps(events[0], ensure_ascii=True, indent=1)
body = '{"events": [' + ",\n".join(parts) + '], "ephemeral": []}'

before = size()
mx("PUT", "/_matrix/app/v1/transactions/t1", body, expect=200)
check(size() == before + len(events), "after t1: %d records, expected %d" % (size(), before + len(events)))
recs = {r["id"]: r for r in arch.log() if r.get("platform") == "matrix"}
check(len(recs) == len(events), "log has %d matrix records" % len(recs))
for i, (e, part, kind) in enumerate(zip(events, parts, KINDS)):
    r = recs[e["event_id"]]
    check(r["kind"] == kind, "%s: kind %s, expected %s" % (e["event_id"], r["kind"], kind))
    check(r["payload"] == part, "%s: payload is not the exact bytes sent" % e["event_id"])
    check(r["source"] == "synapse" and r["conversation"] == e["room_id"] and r["sender"] == e["sender"], "fields")
    check(r["auth"]["txn_id"] == "t1" and len(r["auth"]["txn_sha256"]) == 64 and r["auth"]["event_index"] == i, "auth")
    check(r["ts"] == e["origin_server_ts"], "origin ts")
check(recs["$ev10"]["encrypted"] is True and "body" not in recs["$ev10"], "encrypted event not flagged")
check(recs["$ev5"]["target"] == "$ev1" and recs["$ev5"]["body"] == "korrigiert", "edit")
check(recs["$ev6"]["target"] == "$ev1" and recs["$ev6"]["body"] == "\U0001f44d", "reaction")
check(recs["$ev7"]["reply_to"] == "$ev1" and recs["$ev8"]["thread"] == "$ev1", "reply/thread")
check(recs["$ev9"]["target"] == "$ev2", "redaction target")
check(recs["$ev11"]["meta"]["state_key"] == "@bob:example.org", "membership state_key")
check("$ev2" in recs, "the redacted original stays archived")
print("t1: %d events archived with exact payloads" % len(events))

# The same transaction again: 200 and nothing new (a homeserver's retry).
mx("PUT", "/_matrix/app/v1/transactions/t1", body, expect=200)
check(size() == before + len(events), "replay of t1 archived something")

# Legacy path with the access_token query parameter only.
legacy = json.dumps({"events": [ev(20)]})
mx("PUT", "/transactions/t2", legacy, token=None, query_token=HS, expect=200)
check(size() == before + len(events) + 1, "legacy transaction")
check([r for r in arch.log() if r.get("id") == "$ev20"][0]["auth"]["method"] == "access_token", "auth method")

# Both forms: must match.
mx("PUT", "/_matrix/app/v1/transactions/t3", json.dumps({"events": [ev(30)]}), query_token=HS, expect=200)
n = size()
mx("PUT", "/_matrix/app/v1/transactions/t4", json.dumps({"events": [ev(40)]}), query_token=HS + "x",
   expect=403, errcode="M_FORBIDDEN")
mx("PUT", "/_matrix/app/v1/transactions/t4", json.dumps({"events": [ev(40)]}), token="wrong",
   expect=403, errcode="M_FORBIDDEN")
mx("PUT", "/_matrix/app/v1/transactions/t4", json.dumps({"events": [ev(40)]}), token=None,
   expect=401, errcode="M_UNAUTHORIZED")
mx("PUT", "/_matrix/app/v1/transactions/t4", json.dumps({"events": [ev(40)]}), token=fields["as_token"],
   expect=403, errcode="M_FORBIDDEN")
check(size() == n, "refused transactions archived something")

# An event naming a member twice (issue 15): archived with its payload as
# received, both values in it; the record shows the last value, as Synapse's
# and clients' JSON parsers do, and is flagged.
dup = ('{"type":"m.room.message","event_id":"$dup1","room_id":"!room:example.org",'
       '"sender":"@alice:example.org","origin_server_ts":1714564899000,'
       '"content":{"msgtype":"m.text","body":"harmless","body":"Treffen um 3"}}')
n = size()
mx("PUT", "/_matrix/app/v1/transactions/tdup", '{"events": [' + dup + ']}', expect=200)
check(size() == n + 1, "the event with a duplicate key was not archived")
r = [x for x in arch.log() if x.get("id") == "$dup1"][0]
check(r["payload"] == dup, "duplicate-key payload not kept exactly: %r" % r["payload"])
check(r["body"] == "Treffen um 3", "record shows %r, not the last value" % r.get("body"))
check(r.get("duplicate_keys") is True, "record not flagged: %r" % r)
check(all(x.get("duplicate_keys") is None for x in recs.values()), "clean events flagged")
print("duplicate keys: payload kept, last value shown, flagged")
# Head-of-line (issue 15, item 12): the homeserver resends a refused
# transaction for ever and holds every later event back behind it. So a
# body from the homeserver (token checked) is never refused for what it
# holds: what cannot be archived as events is archived as "rejected".
for i, bad in enumerate(('{"events": [', '{"no_events": []}')):
    mx("PUT", "/_matrix/app/v1/transactions/bad%d" % i, bad, expect=200)
    rej = [r for r in arch.log() if r.get("kind") == "rejected" and r.get("payload") == bad]
    check(len(rej) == 1 and rej[0]["meta"]["rejected"] == "matrix transaction body" and
          rej[0]["auth"]["txn_id"] == "bad%d" % i, "bad body not archived as rejected: %r" % rej)
# An event larger than any legal one (over the 4 MiB an event may take):
# kept as "rejected", its neighbours as events, the next transaction too.
huge = ev(60, content={"msgtype": "m.text", "body": "x" * (4 << 20)})
mx("PUT", "/_matrix/app/v1/transactions/t6", json.dumps({"events": [ev(61), huge, ev(62)]}), expect=200)
mx("PUT", "/_matrix/app/v1/transactions/t7", json.dumps({"events": [ev(63)]}), expect=200)
ids = {r.get("id"): r for r in arch.log()}
check(all(("$ev%d" % k) in ids for k in (61, 62, 63)) and "$ev60" not in ids, "events around the huge one")
rej = [r for r in ids.values() if r.get("kind") == "rejected" and r["auth"].get("txn_id") == "t6"]
check(len(rej) == 1 and rej[0]["auth"]["event_index"] == 1 and rej[0]["meta"]["bytes"] > (4 << 20) and
      rej[0]["meta"]["truncated"] is False and rej[0]["payload"] == json.dumps(huge), "huge event: %r" %
      [dict(r, payload=len(r["payload"])) for r in rej])
check(rej[0]["id"].startswith("rejected:"), "rejected id %s" % rej[0]["id"])
officer = Client(srv, arch.tokens["officer"])
deadline = time.time() + 15
while True:
    _, found = officer.json("GET", "/v1/search?q=kind:rejected", expect=200)
    kinds = [x["id"].split(":")[0] for x in found["results"]]
    if len(kinds) == 3 or time.time() > deadline:
        break
    time.sleep(0.2)
check(kinds == ["rejected"] * 3, "search kind:rejected: %r" % found)
officer.close()
# A legal transaction above server.max_body_bytes' 16 MiB default: 100
# events of 200 kB (a 64 KiB event, escaped and with "unsigned", can be
# larger). Accepted whole.
bigtxn = {"events": [ev(100 + k, content={"msgtype": "m.text", "body": "\u00e4" * 100000}) for k in range(100)]}
bigbody = json.dumps(bigtxn)
check(len(bigbody) > (16 << 20), "big transaction is %d bytes" % len(bigbody))
n = size()
mx("PUT", "/_matrix/app/v1/transactions/t8", bigbody, expect=200)
check(size() == n + 100, "big transaction: %d -> %d" % (n, size()))
# Only a caller with a registered hs_token gets the larger cap: anyone else
# keeps server.max_body_bytes, so that nobody can make the server hold
# 64 MiB per connection before the handler refuses them.
for tok in ("not-a-registered-token", None):
    mx("PUT", "/_matrix/app/v1/transactions/t9", bigbody, token=tok, expect=413)
check(size() == n + 100, "an unauthenticated big transaction archived something")
print("bad bodies and events archived as rejected, a 20 MB transaction accepted: nothing is held back")

# Ping, queries, unknown endpoints.
st, _, doc = mx("POST", "/_matrix/app/v1/ping", {"transaction_id": "p1"}, expect=200)
check(doc == {}, "ping body %r" % doc)
mx("POST", "/_matrix/app/v1/ping", {}, token="nope", expect=403, errcode="M_FORBIDDEN")
for path in ("/_matrix/app/v1/users/%40bob%3Aexample.org", "/_matrix/app/v1/rooms/%23team%3Aexample.org",
             "/users/%40bob%3Aexample.org", "/rooms/%23team%3Aexample.org",
             "/_matrix/app/v1/thirdparty/protocol/irc", "/_matrix/app/v1/thirdparty/location?alias=x"):
    mx("GET", path, expect=404, errcode="M_NOT_FOUND")
mx("GET", "/_matrix/app/v1/users/%40bob%3Aexample.org", token="nope", expect=403, errcode="M_FORBIDDEN")
mx("GET", "/_matrix/app/v1/users/%40bob%3Aexample.org", token=None, expect=401, errcode="M_UNAUTHORIZED")
for method, path in (("GET", "/_matrix/app/v1/unknown"), ("POST", "/_matrix/client/v3/login"),
                     ("PUT", "/_matrix/app/v2/transactions/x"), ("DELETE", "/_matrix/app/v1/ping/x"),
                     ("GET", "/_matrix/key/v2/server")):
    mx(method, path, token=None, expect=404, errcode="M_UNRECOGNIZED")
_, hdrs, _ = mx("GET", "/_matrix/app/v1/transactions/t1", expect=405, errcode="M_UNRECOGNIZED")
check(hdrs.get("allow") == "PUT", "Allow header %r" % hdrs.get("allow"))
mx("PUT", "/_matrix/app/v1/ping", "{}", expect=405, errcode="M_UNRECOGNIZED")
print("auth, ping, queries and unknown routes answer as the spec says")

# Durable before 200: SIGKILL right after the answer loses nothing.
n = size()
mx("PUT", "/_matrix/app/v1/transactions/t5", json.dumps({"events": [ev(50), ev(51)]}), expect=200)
srv.proc.send_signal(signal.SIGKILL)
srv.proc.wait()
srv.logf.close()
ids = {r.get("id") for r in arch.log()}
check("$ev50" in ids and "$ev51" in ids, "events answered 200 lost by SIGKILL")

# After the restart, known txnIds still archive nothing again.
srv = Server(arch)
c = Client(srv)
n = size()
mx("PUT", "/_matrix/app/v1/transactions/t1", body, expect=200)
mx("PUT", "/_matrix/app/v1/transactions/t5", json.dumps({"events": [ev(50), ev(51)]}), expect=200)
check(size() == n, "replay after restart archived something: %d -> %d" % (n, size()))
# A reused txnId with another body: its new events are archived, the old ones not again.
mx("PUT", "/_matrix/app/v1/transactions/t5", json.dumps({"events": [ev(50), ev(52)]}), expect=200)
check(size() == n + 1, "reused txnId with a new event: %d -> %d" % (n, size()))
check("another body" in srv.read_log(), "reused txnId not logged")
srv.stop()
rc, out, err = run("verify", "-d", arch.dir, check_rc=False)
check(rc == 0, "custos verify failed: %s %s" % (out, err))
print("restart: transactions idempotent; verify ok")
