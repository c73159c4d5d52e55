"""api_faults.py - a full disk or a failed fsync while the daemon runs
(CUSTOS_FAULT, common/fileio.h): the request whose commit failed is
answered 503 (no_space / unavailable) and nothing of it is stored, /healthz
says degraded until a commit succeeds again, every request answered 200
is in the archive exactly once, and `custos verify` passes. A person's
request whose audit record cannot be made durable is refused with 503
audit_failed and shows no data."""

import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402


def health(srv):
    st, doc = Client(srv).json("GET", "/healthz", error_shape=False)
    return st, doc["status"]


n_env = [0]
# Writes of a running daemon: 1 creates the head file, then each commit
# writes its frame (even numbers) and rewrites the head (odd numbers, best
# effort: a failed head write loses nothing and is not an error). So an
# even write fault hits a commit.
for fault, code in [("fsync:15:28", "no_space"), ("fsync:15:5", "unavailable"),
                    ("write:16:28", "no_space"), ("write:16:5", "unavailable")]:
    arch = Archive(path="data-" + fault.replace(":", "-"))
    srv = Server(arch, env={"CUSTOS_FAULT": fault})
    ing = Client(srv, arch.tokens["ingest"])
    acked, refused = [], []
    failed_once = False
    for i in range(60):
        batch = [envelope(n_env[0] + k) for k in range(3)]
        n_env[0] += 3
        st, doc = ing.json("POST", "/v1/ingest", batch)
        if st == 200:
            acked += [e["id"] for e in batch]
            if failed_once:
                check(health(srv) == (200, "ok"), "%s: healthz not ok after a good commit" % fault)
                break
        else:
            check(st == 503 and doc["error"]["code"] == code and "nothing was stored" in doc["error"]["message"],
                  "%s: %d %r" % (fault, st, doc))
            check(health(srv) == (503, "degraded"), "%s: healthz not degraded" % fault)
            refused += [e["id"] for e in batch]
            failed_once = True
    check(failed_once, "%s: the fault never hit a commit" % fault)
    check(srv.stop() == 0, "%s: serve did not stop cleanly" % fault)
    ids = collections.Counter(r.get("id") for r in arch.log())
    check(all(ids[i] == 1 for i in acked), "%s: acknowledged records missing or doubled" % fault)
    check(all(ids[i] == 0 for i in refused), "%s: a refused batch was stored" % fault)
    run("verify", "-d", arch.dir)
    print("%s: %d acknowledged, %d refused, verify ok" % (fault, len(acked), len(refused)))

# The audit record of a read cannot be written: the read is refused.
arch = Archive(path="data-audit")
srv = Server(arch)
Client(srv, arch.tokens["ingest"]).json("POST", "/v1/ingest", [envelope(1)], expect=200)
srv.stop()
srv = Server(arch, env={"CUSTOS_FAULT": "fsync:12:28"})
off = Client(srv, arch.tokens["officer"])
seen = False
for i in range(60):
    st, doc = off.json("GET", "/v1/records/0")
    if st == 503:
        check(doc["error"]["code"] == "audit_failed" and "record" not in doc, "audit failure: %r" % doc)
        seen = True
        break
    check(st == 200, "record read %d" % st)
check(seen, "the fault never hit an audit commit")
st, doc = off.json("GET", "/v1/records/0", expect=200)
check(srv.stop() == 0, "serve did not stop cleanly")
audits = [r for r in arch.log() if r.get("kind") == "audit"]
check(len(audits) == i + 1, "audit records %d for %d answered reads" % (len(audits), i + 1))
run("verify", "-d", arch.dir)
print("ok")
