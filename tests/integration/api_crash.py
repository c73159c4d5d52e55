"""api_crash.py - concurrent clients ingest over HTTP while the daemon is
killed with SIGKILL at random moments and restarted. Afterwards every
envelope whose request was answered 200 is in the archive exactly once, no
envelope is there twice (clients resend unanswered batches, as a hook
would; the id map writes and merges runs of 64 keys meanwhile), every
officer read answered 200 has its audit record, and `custos verify` passes.

API_CRASH_ROUNDS (default 8) and API_CRASH_SEED set the rounds and the
random seed; the default suite stays well under 30 s."""

import collections
import http.client
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Server, check, envelope, run  # noqa: E402

ROUNDS = int(os.environ.get("API_CRASH_ROUNDS", "8"))
SEED = int(os.environ.get("API_CRASH_SEED", str(int(time.time()))))
CLIENTS = 4
rng = random.Random(SEED)
print("seed %d, %d rounds" % (SEED, ROUNDS))

# Small id map runs: the kills also land while runs are written and merged.
arch = Archive(config={"idmap_run_keys": 64})
acked = set()            # envelope ids answered 200
sent = set()             # every id ever sent
unanswered = []          # batches whose request got no answer (resent later)
officer_ok = [0]         # officer reads answered 200
lock = threading.Lock()
counter = [0]


def next_batch():
    with lock:
        if unanswered and rng.random() < 0.5:
            return unanswered.pop()
        n = rng.randint(1, 20)
        batch = []
        for _ in range(n):
            counter[0] += 1
            batch.append(envelope(counter[0], conv="!c%d:example.org" % (counter[0] % 5), prefix="c"))
        return batch


def ingester(port, token, stop):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        batch = next_batch()
        with lock:
            sent.update(e["id"] for e in batch)
        try:
            conn.request("POST", "/v1/ingest", body=json.dumps(batch),
                         headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException):
            with lock:
                unanswered.append(batch)
            return
        if r.status == 200:
            doc = json.loads(body)
            check(doc["accepted"] + doc["duplicates"] == len(batch), "counts %r" % doc)
            with lock:
                acked.update(e["id"] for e in batch)
        else:
            with lock:
                unanswered.append(batch)


def reader(port, token, stop):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        try:
            conn.request("GET", "/v1/checkpoint", headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            return
        if r.status == 200:
            with lock:
                officer_ok[0] += 1


t_start = time.time()
for rnd in range(ROUNDS):
    srv = Server(arch)
    stop = threading.Event()
    threads = [threading.Thread(target=ingester, args=(srv.port, arch.tokens["ingest"], stop))
               for _ in range(CLIENTS)]
    threads.append(threading.Thread(target=reader, args=(srv.port, arch.tokens["officer"], stop)))
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.2, 1.2))
    srv.kill()  # SIGKILL, in the middle of commits
    stop.set()
    for t in threads:
        t.join(15)
        check(not t.is_alive(), "a client hung after the kill")
    print("round %d: %d acknowledged, %d unanswered batches" % (rnd + 1, len(acked), len(unanswered)))

# Recovery by a normal start, a resend of what was never answered, a clean stop.
srv = Server(arch)
stop = threading.Event()
conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
for batch in unanswered:
    conn.request("POST", "/v1/ingest", body=json.dumps(batch),
                 headers={"Authorization": "Bearer " + arch.tokens["ingest"]})
    r = conn.getresponse()
    r.read()
    check(r.status == 200, "resend after recovery: %d" % r.status)
    acked.update(e["id"] for e in batch)
check(srv.stop() == 0, "clean stop failed")

records = arch.log()
ids = collections.Counter(r.get("id") for r in records if r.get("kind") == "message")
twice = [i for i, c in ids.items() if c > 1]
check(not twice, "ids archived more than once: %r" % twice[:10])
missing = acked - set(ids)
check(not missing, "acknowledged but missing: %d, e.g. %r" % (len(missing), sorted(missing)[:10]))
check(set(ids) <= sent, "archived ids that were never sent")
check(acked == sent, "every batch was eventually acknowledged")
audits = sum(1 for r in records if r.get("kind") == "audit" and r.get("sender") == "officer1")
check(audits >= officer_ok[0], "officer reads answered 200: %d, audit records: %d" % (officer_ok[0], audits))
run("verify", "-d", arch.dir)
print("ok: %d envelopes, %d records, %d officer reads, %.1f s" %
      (len(acked), len(records), officer_ok[0], time.time() - t_start))
