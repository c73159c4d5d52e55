"""api_index_lag.py - the search index's lag is bounded while clients
ingest at full speed: with index_max_lag 50, group commits of at most 500
records and index transactions of 8192 (the pacing counts the records the
open index transaction has processed), /metrics never shows the index
more than 8742 records behind,
ingest is seen waiting for it (custos_ingest_throttled_seconds_total), every
request is acknowledged, and each acknowledged message is in the archive
once. An audit record (a person's search) is not held back meanwhile."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope  # noqa: E402

BOUND, BATCH, STEP, CLIENTS, REQUESTS, PER = 50, 500, 8192, 4, 40, 100

arch = Archive(server={"index_max_lag": BOUND, "commit_batch_records": BATCH})
srv = Server(arch)
errors = []
max_lag = [0]
done = threading.Event()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def watch():
    c = Client(srv, arch.tokens["auditor"])
    while not done.is_set():
        st, _, body = c.request("GET", "/metrics")
        lag = metric(body.decode(), "custos_index_lag_records") if st == 200 else None
        if lag is not None:
            max_lag[0] = max(max_lag[0], lag)
        time.sleep(0.005)
    c.close()


def ingest(k):
    c = Client(srv, arch.tokens["ingest"])
    for r in range(REQUESTS):
        base = (k * REQUESTS + r) * PER
        batch = [envelope(base + i, body="Bericht Nummer %d über den Antrag %d" % (base + i, r))
                 for i in range(PER)]
        st, doc = c.json("POST", "/v1/ingest", batch)
        if st != 200 or doc.get("accepted") != PER:
            errors.append("request %d/%d answered %d %r" % (k, r, st, doc))
    c.close()


w = threading.Thread(target=watch)
w.start()
threads = [threading.Thread(target=ingest, args=(k,)) for k in range(CLIENTS)]
for t in threads:
    t.start()
# While ingest waits for the index, a person's request (audited) is served.
off = Client(srv, arch.tokens["officer"])
t0 = time.time()
st, _ = off.json("GET", "/v1/search?q=Antrag&limit=5")
search_s = time.time() - t0
check(st == 200, "search during ingest answered %d" % st)
for t in threads:
    t.join()
done.set()
w.join()
check(not errors, "; ".join(errors[:3]))
aud = Client(srv, arch.tokens["auditor"])
st, _, body = aud.request("GET", "/metrics")
throttled = metric(body.decode(), "custos_ingest_throttled_seconds_total")
srv.stop()
total = CLIENTS * REQUESTS * PER
print("max index lag %d records (bound %d + one commit of %d + one index transaction of %d), "
      "ingest waited %.2f s, search %.3f s" % (max_lag[0], BOUND, BATCH, STEP, throttled or 0, search_s))
check(max_lag[0] <= BOUND + BATCH + STEP, "the index lagged %d records behind (bound %d + %d + %d)"
      % (max_lag[0], BOUND, BATCH, STEP))
check(throttled is not None and throttled > 0, "ingest never waited for the index: %r" % throttled)
ids = [e["id"] for e in arch.log() if e.get("platform") == "matrix"]
check(len(ids) == total and len(set(ids)) == total, "%d messages archived (%d distinct) of %d"
      % (len(ids), len(set(ids)), total))
print("ok: %d messages, lag bounded" % total)
