"""api_retention.py - retention and legal holds over HTTP: a hold placed by an
officer, a policy by an admin (an officer is refused), a disposition planned
by one officer, refused approval by the same officer (four-eyes), approved by
a second, executed: held and young messages stay, due ones are gone from
search and shown as deleted, the certificate is listed and its signature
verifies with openssl, an erasure order on held records is refused, and
`custos verify` passes. Then the scheduler: with a short
retention.interval_seconds and an approval-none policy, due records are
deleted automatically with a certificate."""

import base64
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402

OLD_TS = 1714564800000  # 2024-05-01: older than any 30d period
NOW = int(time.time() * 1000)


def env_at(i, conv, word, ts):
    e = envelope(i, conv=conv, body="%s note %d" % (word, i))
    e["ts"] = ts
    return e


arch = Archive()
off2 = arch.add_token("officer", "officer2")  # the second person for four-eyes
_, pub, _ = run("pubkey", "-d", arch.dir)
with open("pub.pem", "w") as f:
    f.write(pub)

srv = Server(arch)
ing = Client(srv, arch.tokens["ingest"])
off = Client(srv, arch.tokens["officer"])
off_b = Client(srv, off2)
adm = Client(srv, arch.tokens["admin"])
aud = Client(srv, arch.tokens["auditor"])

batch = ([env_at(i, "!case-old:example.org", "alpha", OLD_TS + i) for i in range(0, 6)] +
         [env_at(i, "!case-held:example.org", "bravo", OLD_TS + i) for i in range(6, 10)] +
         [env_at(i, "!case-old:example.org", "charlie", NOW - 1000 + i) for i in range(10, 13)] +
         [env_at(i, "!auto:example.org", "delta", OLD_TS + i) for i in range(13, 16)])
st, doc = ing.json("POST", "/v1/ingest", batch, expect=200)
check(doc["accepted"] == len(batch), "ingest: %r" % doc)
seqs = list(range(doc["first_seq"], doc["last_seq"] + 1))
old_seqs, held_seqs, young_seqs, auto_seqs = seqs[0:6], seqs[6:10], seqs[10:13], seqs[13:16]

# ---- holds (officer) ---------------------------------------------------
st, doc = off.json("POST", "/v1/holds", {"matter": "AZ 1/24", "reason": "court case",
                                         "conversation_patterns": ["!case-held:*"]}, expect=201)
hold = doc["hold"]
check(doc["records"] == len(held_seqs), "hold placed: %r" % doc)
off.json("POST", "/v1/holds", {"matter": "x"}, expect=400)                      # no reason
off.json("POST", "/v1/holds", {"matter": "x", "reason": "y"}, expect=400)       # no scope
off.json("POST", "/v1/holds", {"matter": "x", "reason": "y", "conversations": "c"}, expect=400)
off.json("POST", "/v1/holds", {"matter": "x", "reason": "y", "all": True, "from": "yesterday"}, expect=400)
adm.json("POST", "/v1/holds", {"matter": "x", "reason": "y", "all": True}, expect=403)
st, doc = off.json("GET", "/v1/holds", expect=200)
check([h["id"] for h in doc["holds"]] == [hold] and doc["holds"][0]["matter"] == "AZ 1/24" and
      doc["holds"][0]["by"] == "officer1", "hold list: %r" % doc)
st, doc = off.json("GET", "/v1/holds/%d" % hold, expect=200)
check(json.dumps(doc).find("AZ 1/24") >= 0, "hold show: %r" % doc)
off.json("GET", "/v1/holds/999999", expect=404)

# ---- policies (admin) --------------------------------------------------
pol = {"name": "cases", "conversation_patterns": ["!case*"], "keep": "30d", "action": "destroy"}
off.json("POST", "/v1/policies", pol, expect=403)
adm.json("POST", "/v1/policies", dict(pol, keep="30 days"), expect=400)
adm.json("POST", "/v1/policies", dict(pol, action="burn"), expect=400)
st, doc = adm.json("POST", "/v1/policies", pol, expect=201)
check(doc["pending"] is False, "policy add: %r" % doc)
adm.json("POST", "/v1/policies", pol, expect=409)  # same name twice
st, doc = adm.json("GET", "/v1/policies", expect=200)
check([p["name"] for p in doc["policies"]] == ["cases"], "policy list: %r" % doc)
st, doc = adm.json("PUT", "/v1/classes", {"conversation": "!case-old:example.org", "label": "casework"},
                   expect=201)
st, doc = adm.json("GET", "/v1/classes", expect=200)
check("casework" in json.dumps(doc), "class list: %r" % doc)
adm.json("POST", "/v1/policies/nosuch/retire", expect=404)

# ---- disposition: plan, four-eyes, execute -----------------------------
st, doc = off.json("POST", "/v1/dispositions", {"dry_run": True}, expect=200)
check(doc["count"] == len(old_seqs) and doc["plan"] is None, "dry run: %r" % doc)
st, doc = off.json("POST", "/v1/dispositions", {}, expect=201)
plan = doc["plan"]
check(doc["count"] == len(old_seqs) and doc["held"]["count"] == len(held_seqs), "plan: %r" % doc)
st, doc = off.json("GET", "/v1/dispositions", expect=200)
check(plan in [p["id"] for p in doc["plans"]], "plan list: %r" % doc)
off.json("POST", "/v1/dispositions/%d/execute" % plan, expect=403)  # not approved yet
st, doc = off.json("POST", "/v1/dispositions/%d/approve" % plan, expect=403)
check("four-eyes" in doc["error"]["message"], "four-eyes message: %r" % doc)
st, doc = off_b.json("POST", "/v1/dispositions/%d/approve" % plan, expect=200)
check(doc["approved_by"] == "officer2", "approve: %r" % doc)
off_b.json("POST", "/v1/dispositions/%d/approve" % plan, expect=409)  # approved already
off.json("POST", "/v1/dispositions/999999/approve", expect=404)
st, doc = off.json("POST", "/v1/dispositions/%d/execute" % plan, expect=200)
cert = doc["certificate"]
check(isinstance(cert, int), "execute: %r" % doc)


def search_seqs(word):
    """Seqs a search finds once the index holds the whole log."""
    deadline = time.time() + 10
    while True:
        st, doc = off.json("GET", "/v1/search?q=%s&limit=100" % word, expect=200)
        if doc.get("lag", 0) == 0 or time.time() > deadline:
            return sorted(h["seq"] for h in doc["results"])
        time.sleep(0.1)


check(search_seqs("alpha") == [], "due records still found")
check(search_seqs("bravo") == held_seqs, "held records not found")
check(search_seqs("charlie") == young_seqs, "young records not found")
for s in old_seqs:
    st, hd, data = off.request("GET", "/v1/records/%d" % s)
    check(st in (200, 410) and b"alpha" not in data and b"deleted" in data,
          "record %d after deletion: %d %r" % (s, st, data[:300]))
st, hd, data = off.request("GET", "/v1/records/%d" % held_seqs[0])
check(st == 200 and b"bravo" in data, "held record: %d %r" % (st, data[:300]))

# ---- certificates ------------------------------------------------------
st, doc = aud.json("GET", "/v1/certificates", expect=200)
c = [x for x in doc["certificates"] if x["id"] == cert]
check(len(c) == 1 and c[0]["signature_valid"] is True, "certificate list: %r" % doc)
check(sorted(sum([g["seqs"] for g in c[0]["certificate"]["groups"]], [])) == old_seqs,
      "certificate lists exactly the deleted records")
check(c[0]["certificate"]["planned_by"] == "officer1" and c[0]["certificate"]["approved_by"] == "officer2",
      "certificate names planner and approver: %r" % c[0]["certificate"])
st, doc = aud.json("GET", "/v1/certificates/%d" % cert, expect=200)
with open("cert.json", "wb") as f:
    f.write(doc["text"].encode())
with open("cert.sig", "wb") as f:
    f.write(base64.b64decode(doc["signature"]))
p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "cert.json",
                    "-sigfile", "cert.sig"], capture_output=True)
check(p.returncode == 0, "certificate signature does not verify: %r" % p.stderr)
with open("cert.json", "wb") as f:
    f.write(doc["text"].replace("officer2", "officer4").encode())
p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "cert.json",
                    "-sigfile", "cert.sig"], capture_output=True)
check(p.returncode != 0, "a changed certificate must not verify")
aud.json("GET", "/v1/certificates/%d" % plan, expect=404)  # a plan is no certificate
off.json("GET", "/v1/certificates", expect=200)
adm.json("GET", "/v1/certificates", expect=403)

# ---- erasure orders: refused under hold, then approved -------------------
st, doc = off.json("POST", "/v1/erasures", {"seqs": [held_seqs[0]], "reason": "Art. 17"}, expect=403)
check(doc["error"]["refused"][0]["seq"] == held_seqs[0], "erasure refusal names the record: %r" % doc)
off.json("POST", "/v1/erasures", {"reason": "Art. 17"}, expect=400)
st, doc = off.json("POST", "/v1/erasures", {"seqs": [young_seqs[0]], "reason": "Art. 17"}, expect=201)
order = doc["plan"]
off_b.json("POST", "/v1/dispositions/%d/approve" % order, expect=200)
off.json("POST", "/v1/dispositions/%d/execute" % order, expect=200)
check(search_seqs("charlie") == young_seqs[1:], "erased record still found")

# ---- release, offers -----------------------------------------------------
st, doc = off.json("POST", "/v1/holds/%d/release" % hold, {"reason": "case closed"}, expect=202)
off_b.json("POST", "/v1/dispositions/%d/approve" % doc["plan"], expect=200)
off.json("POST", "/v1/holds/%d/release" % hold, {"reason": "again"}, expect=409)
st, doc = off.json("GET", "/v1/holds", expect=200)
check(doc["holds"] == [], "released hold still listed: %r" % doc)
st, doc = off.json("GET", "/v1/holds?all=1", expect=200)
check(len(doc["holds"]) == 1, "released hold not listed with all=1: %r" % doc)
st, doc = off.json("GET", "/v1/offers", expect=200)
check(doc["offers"] == [], "offers: %r" % doc)
off.json("POST", "/v1/offers/%d/answer" % plan, {"accept": True}, expect=404)
off.json("POST", "/v1/offers/%d/answer" % plan, {"accept": "yes"}, expect=400)

check(srv.stop() == 0, "serve did not stop cleanly")
run("verify", "-d", arch.dir)

# ---- the scheduler -------------------------------------------------------
cfg_path = os.path.join(arch.dir, "custos.json")
with open(cfg_path) as f:
    cfg = json.load(f)
cfg["retention"] = {"interval_seconds": "1"}
with open(cfg_path, "w") as f:
    json.dump(cfg, f)
p = subprocess.run([os.environ.get("CUSTOS", "custos"), "serve", "-d", arch.dir, "--listen", "127.0.0.1:0"],
                   capture_output=True, text=True, timeout=10)
check(p.returncode != 0 and "retention.interval_seconds" in p.stderr, "bad retention config accepted: %r" % p.stderr)
cfg["retention"] = {"interval_seconds": 1, "first_run_delay_seconds": 0}
with open(cfg_path, "w") as f:
    json.dump(cfg, f)
t0 = time.time()
srv = Server(arch)
adm = Client(srv, arch.tokens["admin"])
aud = Client(srv, arch.tokens["auditor"])
off = Client(srv, arch.tokens["officer"])
st, doc = adm.json("POST", "/v1/policies", {"name": "auto", "conversation_patterns": ["!auto:*"], "keep": "30d",
                                            "action": "destroy", "approval": "none"}, expect=202)
off.json("POST", "/v1/dispositions/%d/approve" % doc["plan"], expect=200)
deadline = time.time() + 15
auto = []
while time.time() < deadline:
    st, doc = aud.json("GET", "/v1/certificates", expect=200)
    auto = [x for x in doc["certificates"] if x["certificate"].get("automatic")]
    if auto:
        break
    time.sleep(0.2)
check(len(auto) == 1, "no automatic certificate within 15 s: %s" % srv.read_log())
ac = auto[0]["certificate"]
check(sorted(sum([g["seqs"] for g in ac["groups"]], [])) == auto_seqs and ac["approved_by"] is None and
      auto[0]["signature_valid"] is True, "automatic certificate: %r" % auto[0])
check(search_seqs("delta") == [], "automatically deleted records still found")
check(search_seqs("bravo") == held_seqs, "held records (released, but under an approval-required policy) gone")
check("retention: automatic run" in srv.read_log(), "the run is not logged")
time.sleep(1.5)  # further runs find nothing due and write nothing
st, doc = aud.json("GET", "/v1/certificates", expect=200)
check(len([x for x in doc["certificates"] if x["certificate"].get("automatic")]) == 1, "a second automatic run")
check(srv.stop() == 0, "serve did not stop cleanly with the scheduler")
run("verify", "-d", arch.dir)
print("ok: retention over HTTP, four-eyes, certificate, scheduler (%.1f s)" % (time.time() - t0))
