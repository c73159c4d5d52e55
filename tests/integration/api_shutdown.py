"""api_shutdown.py - SIGTERM finishes in-flight requests: a request whose
body is still arriving when the signal comes is completed (200, records
durable), new connections are refused, the daemon exits 0, and requests of
concurrent clients answered 200 are all in the archive."""

import collections
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402

arch = Archive()
srv = Server(arch)
token = arch.tokens["ingest"]

# Concurrent ingest during the stop.
acked = []
lock = threading.Lock()
stop = threading.Event()


def ingester(k):
    c = Client(srv, token)
    i = 0
    while not stop.is_set():
        batch = [envelope(100000 * (k + 1) + i * 10 + j) for j in range(5)]
        i += 1
        try:
            st, _, _ = c.request("POST", "/v1/ingest", batch)
        except OSError:
            return
        if st == 200:
            with lock:
                acked.extend(e["id"] for e in batch)
        elif st == 503:
            return  # stopping
        else:
            check(False, "ingest answered %d" % st)


threads = [threading.Thread(target=ingester, args=(k,)) for k in range(3)]
for t in threads:
    t.start()

# A slow request: headers and half the body now, the rest after SIGTERM.
slow_batch = [envelope(i, prefix="slow") for i in range(20)]
body = json.dumps(slow_batch).encode()
s = socket.create_connection(("127.0.0.1", srv.port))
s.sendall(("POST /v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (token, len(body))).encode())
s.sendall(body[:len(body) // 2])
time.sleep(0.3)
srv.proc.send_signal(signal.SIGTERM)
time.sleep(0.3)
check(srv.proc.poll() is None, "the daemon exited with a request in flight")
# New connections are no longer accepted.
try:
    socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
    refused = False
except OSError:
    refused = True
check(refused, "a new connection was accepted after SIGTERM")
s.sendall(body[len(body) // 2:])
s.settimeout(10)
resp = b""
while b"\r\n\r\n" not in resp or not resp.rstrip().endswith(b"}"):
    chunk = s.recv(65536)
    if not chunk:
        break
    resp += chunk
s.close()
check(resp.startswith(b"HTTP/1.1 200"), "in-flight request: %r" % resp[:200])
doc = json.loads(resp.split(b"\r\n\r\n", 1)[1])
check(doc["accepted"] == 20, "in-flight request stored %r" % doc)

stop.set()
for t in threads:
    t.join(10)
rc = srv.stop(timeout=30)
check(rc == 0, "exit status %d" % rc)
ids = collections.Counter(r.get("id") for r in arch.log())
check(all(ids["slow%d" % i] == 1 for i in range(20)), "the in-flight batch is not in the archive")
check(all(ids[i] == 1 for i in acked), "acknowledged records missing")
run("verify", "-d", arch.dir)
print("ok: %d concurrent records acknowledged" % len(acked))
