"""export_api.py - exports over the HTTP API: POST /v1/exports starts a
job (officer only), GET /v1/exports/{job} reports progress and result,
GET /v1/exports/{job}/file serves the package, which custos verify-export
accepts and whose SHA-256 the log's "produced" record names; bad bodies,
unknown jobs and other roles are refused; a query export uses the index."""

import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402

arch = Archive()
srv = Server(arch)
ing = Client(srv, arch.tokens["ingest"])
off = Client(srv, arch.tokens["officer"])
aud = Client(srv, arch.tokens["auditor"])
ing.json("POST", "/v1/ingest", [envelope(i) for i in range(30)], expect=200)
ing.json("POST", "/v1/ingest", [envelope(100 + i, conv="!other:example.org", body="Bauantrag %d" % i)
                                for i in range(5)], expect=200)


def wait(job, limit=30):
    deadline = time.time() + limit
    while time.time() < deadline:
        _, doc = off.json("GET", "/v1/exports/%d" % job, expect=200)
        if doc["state"] != "running":
            return doc
        time.sleep(0.05)
    check(False, "export job %d did not finish: %r" % (job, doc))


st, doc = off.json("POST", "/v1/exports", {"format": "bagit", "conversation": "!room:example.org"}, expect=202)
check(doc["state"] in ("running", "done") and doc["location"] == "/v1/exports/%d" % doc["id"], "start: %r" % doc)
check(doc["requested_by"] == "officer1", "requested_by: %r" % doc)
job = doc["id"]
doc = wait(job)
check(doc["state"] == "done", "job: %r" % doc)
res = doc["result"]
check(res["records"] == 30 and res["package_sha256"] and res["files"] > 5, "result: %r" % res)

st, hdrs, data = off.request("GET", "/v1/exports/%d/file" % job)
check(st == 200 and hdrs["content-type"] == "application/zip", "file: %d %r" % (st, hdrs))
check(hashlib.sha256(data).hexdigest() == res["package_sha256"] and len(data) == res["package_bytes"],
      "the file is not the package the job reported")
with open("api.zip", "wb") as f:
    f.write(data)
_, pub, _ = run("pubkey", "-d", arch.dir)
with open("pub.pem", "w") as f:
    f.write(pub)
_, out, _ = run("verify-export", "--pubkey", "pub.pem", "--json", "api.zip")
v = json.loads(out)
check(v["ok"] and v["records"] == 30 and v["by"] == "officer1" and v["export_id"] == res["export_id"],
      "verify-export: %r" % v)

# Refusals.
off.json("POST", "/v1/exports", {"format": "pdf", "conversation": "!room:example.org"}, expect=400)
off.json("POST", "/v1/exports", {"format": "dat"}, expect=400)
off.json("POST", "/v1/exports", "not json", expect=400)
off.json("POST", "/v1/exports", {"format": "dat", "conversation": "c", "bogus": 1}, expect=400)
off.json("GET", "/v1/exports/999", expect=404)
off.json("GET", "/v1/exports/999/file", expect=404)
off.json("GET", "/v1/exports/x", expect=400)
aud.json("POST", "/v1/exports", {"format": "dat", "conversation": "c"}, expect=403)
aud.json("GET", "/v1/exports/%d" % job, expect=403)
aud.json("GET", "/v1/exports/%d/file" % job, expect=403)
# Nothing matches: the job fails and says why; its file is a conflict.
_, doc = off.json("POST", "/v1/exports", {"format": "dat", "conversation": "!nobody:example.org"}, expect=202)
bad = wait(doc["id"])
check(bad["state"] == "failed" and "no record matches" in bad["error"]["message"], "empty: %r" % bad)
off.json("GET", "/v1/exports/%d/file" % doc["id"], expect=409)

# A query export, once the index has caught up.
deadline = time.time() + 20
while time.time() < deadline:
    _, s = off.json("GET", "/v1/search?q=Bauantrag", expect=200)
    if s["total"] == 5:
        break
    time.sleep(0.1)
_, doc = off.json("POST", "/v1/exports", {"format": "rsmf", "query": "Bauantrag", "container": "tar"}, expect=202)
q = wait(doc["id"])
check(q["state"] == "done" and q["result"]["records"] == 5, "query export: %r" % q)
st, hdrs, data = off.request("GET", "/v1/exports/%d/file" % doc["id"])
check(st == 200 and hdrs["content-type"] == "application/x-tar", "tar file: %d %r" % (st, hdrs))
with open("api.tar", "wb") as f:
    f.write(data)
run("verify-export", "--pubkey", "pub.pem", "api.tar")

# The audit trail names the jobs; the log has both export records.
_, a = aud.json("GET", "/v1/audit?limit=50", expect=200)
starts = [r for r in a["records"] if r["meta"]["route"] == "export_start" and r["meta"]["status"] == 202]
check(len(starts) == 3 and all("job" in r["meta"] for r in starts), "audit: %r" % starts[:1])
check(srv.stop() == 0, "custos serve did not stop cleanly")
recs = [r for r in arch.log() if r.get("kind") == "export"]
produced = [r for r in recs if r["id"].endswith("/produced")]
check(len(recs) == 4 and len(produced) == 2, "export records in the log: %d" % len(recs))
check(any(r["meta"]["package_sha256"] == res["package_sha256"] for r in produced),
      "the log names the package digest")

# Stopping the server while an export runs: the job is cancelled and
# waited for, no partial package is left, the archive stays intact.
srv = Server(arch)
ing = Client(srv, arch.tokens["ingest"])
off = Client(srv, arch.tokens["officer"])
for b in range(6):
    ing.json("POST", "/v1/ingest", [envelope(1000 + b * 1000 + i, conv="!big:example.org")
                                    for i in range(1000)], expect=200)
off.json("POST", "/v1/exports", {"format": "dat", "conversation": "!big:example.org"}, expect=202)
check(srv.stop() == 0, "custos serve did not stop cleanly during an export")
left = [f for f in os.listdir(os.path.join(arch.dir, "exports")) if ".tmp-" in f]
check(not left, "partial packages left behind: %r" % left)
run("verify", "-d", arch.dir)
print("ok")
