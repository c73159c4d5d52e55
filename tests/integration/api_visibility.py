"""api_visibility.py - who sees which records (docs/API.md "Visibility"):
an officer never sees the audit trail or the archive's other records
(holds, policies, plans, certificates ...) on any route that reads
records: not in search results or counts, whatever kind: the query names,
not as /v1/records/{seq}, not in conversation context, not in an export,
and not through a hold's or an erasure's query; an auditor reads the
audit trail through /v1/audit, and its counts hold audit records only."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope  # noqa: E402

arch = Archive()
srv = Server(arch)
ing = Client(srv, arch.tokens["ingest"])
off = Client(srv, arch.tokens["officer"])
aud = Client(srv, arch.tokens["auditor"])
adm = Client(srv, arch.tokens["admin"])

_, doc = ing.json("POST", "/v1/ingest", [envelope(i, body="hallo %d" % i) for i in range(3)], expect=200)
msg_seqs = set(range(doc["first_seq"], doc["last_seq"] + 1))

# The archive's own records: an auditor's search of the audit trail for a
# word (its audit record holds the word), an officer's hold.
aud.json("GET", "/v1/audit?q=geheimwort", expect=200)
_, doc = off.json("POST", "/v1/holds", {"matter": "M-1", "reason": "geheimwort case", "all": True}, expect=201)
hold_seq = doc["hold"]
_, doc = aud.json("GET", "/v1/audit?limit=50", expect=200)
audit_seqs = {r["seq"] for r in doc["records"]}
check(audit_seqs and not audit_seqs & msg_seqs, "audit records: %r" % sorted(audit_seqs))


def search(q, client=off):
    st, doc = client.json("GET", "/v1/search?q=" + q.replace(" ", "%20").replace(":", "%3A"))
    check(st == 200, "search %r: %d %r" % (q, st, doc))
    return doc


deadline = time.time() + 10  # the index follows the log in the background
while search("hallo")["total"] != 3 and time.time() < deadline:
    time.sleep(0.05)
# the audit trail is in the index too (the auditor's q needs it)
_, doc = aud.json("GET", "/v1/audit?q=geheimwort", expect=200)
check(doc["total"] >= 1 and all(r["kind"] == "audit" for r in doc["records"]),
      "the auditor does not find the audit trail: %r" % doc)

# ---- search: results and counts hold content only, whatever kind: says
for q in ("kind:audit", "kind:audit geheimwort", "geheimwort", "kind:hold", "kind:audit OR kind:hold",
          "from:auditor1", "from:auditor1 kind:audit", "-kind:message", "kind:audit -hallo",
          "platform:custos", "platform:custos kind:audit"):
    doc = search(q)
    check(doc["total"] == 0 and doc["results"] == [], "officer search %r shows the archive's records: %r" % (q, doc))
for q in ("hallo OR kind:audit", "hallo OR kind:hold", "kind:message OR kind:audit", "hallo OR geheimwort"):
    doc = search(q)
    seqs = {h["seq"] for h in doc["results"]}
    check(doc["total"] == 3 and seqs == msg_seqs, "officer search %r: %r" % (q, doc))

# ---- records: 404 for the archive's own, with nothing of them shown
for seq in sorted(audit_seqs)[:3] + [hold_seq]:
    st, doc = off.json("GET", "/v1/records/%d" % seq)
    check(st == 404 and "record" not in doc, "officer reads record %d: %d %r" % (seq, st, doc))
    check("geheimwort" not in str(doc), "record %d: the refusal shows content: %r" % (seq, doc))
for seq in msg_seqs:
    off.json("GET", "/v1/records/%d" % seq, expect=200)

# ---- conversation context: content only
_, doc = off.json("GET", "/v1/conversations/!room:example.org/messages?before=50", expect=200)
check({m["seq"] for m in doc["messages"]} == msg_seqs, "context: %r" % doc)

# ---- exports: a query selects content only, and a job that matches only
# the archive's records looks exactly like one that matches nothing


def export(body):
    _, doc = off.json("POST", "/v1/exports", body, expect=202)
    deadline = time.time() + 20
    while doc["state"] == "running" and time.time() < deadline:
        time.sleep(0.05)
        _, doc = off.json("GET", "/v1/exports/%d" % doc["id"], expect=200)
    return doc


doc = export({"format": "dat", "query": "hallo OR kind:audit OR kind:hold"})
check(doc["state"] == "done" and doc["result"]["records"] == 3, "export: %r" % doc)
hidden = export({"format": "dat", "query": "kind:audit"})
nothing = export({"format": "dat", "query": "kind:audit nosuchword"})
check((hidden["state"], hidden.get("progress"), hidden.get("error", {}).get("code")) ==
      (nothing["state"], nothing.get("progress"), nothing.get("error", {}).get("code")),
      "an export of the audit trail differs from one of nothing:\n%r\n%r" % (hidden, nothing))

# ---- a hold's and an erasure's query: the archive's records never match
st1, doc1 = off.json("POST", "/v1/erasures", {"query": "kind:audit", "reason": "r"})
st2, doc2 = off.json("POST", "/v1/erasures", {"query": "kind:audit nosuchword", "reason": "r"})
check(st1 == st2 and "audit record" not in str(doc1) and
      str(doc1).replace("kind:audit", "Q") == str(doc2).replace("kind:audit nosuchword", "Q"),
      "an erasure by a query for the audit trail answers differently:\n%d %r\n%d %r" % (st1, doc1, st2, doc2))
st, doc = off.json("POST", "/v1/holds", {"matter": "M-2", "reason": "r", "query": "kind:audit"})
if st == 201:
    _, doc = off.json("GET", "/v1/holds/%d" % doc["hold"], expect=200)
    check(doc["records"] == 0 and doc["seqs"] == [], "a hold by a query for the audit trail covers %r" % doc)

# ---- other roles: the auditor's counts hold audit records only; admins
# and auditors read no records through the officer's routes
_, doc = aud.json("GET", "/v1/audit?q=hallo", expect=200)
check(all(r["kind"] == "audit" for r in doc["records"]) and doc["total"] == len(doc["records"]),
      "auditor's q=hallo: %r" % doc)
for c in (aud, adm):
    c.json("GET", "/v1/search?q=kind%3Aaudit", expect=403)
    c.json("GET", "/v1/records/%d" % min(audit_seqs), expect=403)
adm.json("GET", "/v1/audit", expect=403)

check(srv.stop() == 0, "serve did not stop cleanly")
print("ok: %d audit records, hold %d, 3 messages: the officer sees the messages only" % (len(audit_seqs), hold_seq))
