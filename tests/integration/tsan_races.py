"""tsan_races.py - the daemon's concurrent paths at once, so that a data
race in them shows up under ThreadSanitizer (make TSAN=1 test-tsan): two
searches with different sort orders on two connections (two index
handles sort their hits at the same time), and an export job rendering a
BagIt package while a transfer renders its offer package. Under the
normal build it checks that every answer is right."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402

N = 2000
arch = Archive()
# A transfer policy that makes every record due at once (added before the
# server starts, so it takes effect without a pending change).
run("policy", "add", "-d", arch.dir, "--name", "xfer", "--keep", "1d", "--action", "transfer", "--by", "admin")
off2 = arch.add_token("officer", "officer2")
srv = Server(arch)
ing = Client(srv, arch.tokens["ingest"])
for k in range(0, N, 200):
    ing.json("POST", "/v1/ingest", [envelope(i, conv="!room%d:example.org" % (i % 7), body="gleich wort %d" % i)
                                    for i in range(k, k + 200)], expect=200)
ing.close()
off = Client(srv, arch.tokens["officer"])
off_b = Client(srv, off2)


def wait_indexed():
    for _ in range(400):
        _, doc = off.json("GET", "/v1/search?q=gleich&limit=1", expect=200)
        if doc["total"] >= N:
            return
        threading.Event().wait(0.05)
    check(False, "index did not catch up")


wait_indexed()
errors = []


def searcher(sort, rounds):
    c = Client(srv, arch.tokens["officer"])
    try:
        for _ in range(rounds):
            st, doc = c.json("GET", "/v1/search?q=gleich&limit=50&sort=" + sort)
            seqs = [r["seq"] for r in doc.get("results", [])]
            want = sorted(seqs, reverse=(sort == "newest"))
            if st != 200 or len(seqs) != 50 or (sort != "relevance" and seqs != want):
                errors.append("search sort=%s: %d %r" % (sort, st, seqs[:5]))
                return
    finally:
        c.close()


started = threading.Event()
transfer_done = threading.Event()


def exporter():
    """Export jobs one after another (the daemon runs one at a time) until
    the transfer has finished, so that they render while it renders."""
    c = Client(srv, arch.tokens["officer"])
    try:
        for _ in range(50):
            if transfer_done.is_set():
                return
            st, doc = c.json("POST", "/v1/exports", {"format": "bagit", "query": "gleich"})
            if st != 202:
                errors.append("export start: %d %r" % (st, doc))
                return
            job = doc["id"]
            started.set()
            for _ in range(1200):
                _, doc = c.json("GET", "/v1/exports/%d" % job)
                if doc["state"] != "running":
                    break
                threading.Event().wait(0.05)
            if doc["state"] != "done" or doc["result"]["records"] != N:
                errors.append("export job: %r" % doc)
                return
    finally:
        started.set()
        c.close()


# The transfer: a disposition of the due records, approved by a second
# officer, executed (it renders the offer package) while the exports run.
_, plan = off.json("POST", "/v1/dispositions", {}, expect=201)
off_b.json("POST", "/v1/dispositions/%d/approve" % plan["plan"], expect=200)
threads = [threading.Thread(target=searcher, args=("newest", 40)),
           threading.Thread(target=searcher, args=("oldest", 40)),
           threading.Thread(target=searcher, args=("relevance", 20)),
           threading.Thread(target=exporter)]
for t in threads:
    t.start()
started.wait(60)
st, rep = off.json("POST", "/v1/dispositions/%d/execute" % plan["plan"])
transfer_done.set()
for t in threads:
    t.join()
check(st == 200 and rep.get("offered") == N, "transfer execute: %d %r" % (st, rep))
check(not errors, "; ".join(errors))
srv.stop()
print("ok: concurrent searches, exports and a transfer")
