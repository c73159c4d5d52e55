"""api_metrics_gone.py - the metrics count what was archived, also when
the client went away before its answer: ingest requests whose connection
is reset right after the request was sent are archived (the commit does
not depend on the client), and custos_ingest_records_total counts their
records exactly, accepted and duplicate."""

import json
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope  # noqa: E402

arch = Archive(server={"metrics_public": True})  # no audit records
srv = Server(arch)
token = arch.tokens["ingest"].encode()
anon = Client(srv)
PER = 300


def send_and_reset(envs):
    """Sends one whole ingest request and resets the connection at once."""
    body = json.dumps(envs).encode()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
              b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(0.005)  # let the whole request reach the server
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def metric(text, result):
    m = re.search(r'custos_ingest_records_total\{result="%s"\} (\d+)' % result, text)
    check(m, "no %s metric" % result)
    return int(m.group(1))


def settle():
    """Waits until the archive stops growing; returns its size."""
    last, stable = -1, 0
    deadline = time.time() + 20
    while stable < 5 and time.time() < deadline:
        _, doc = anon.json("GET", "/healthz", expect=200)
        stable = stable + 1 if doc["records"] == last else 0
        last = doc["records"]
        time.sleep(0.1)
    return last


for k in range(10):
    send_and_reset([envelope(k * PER + i) for i in range(PER)])
archived = settle()
_, _, text = anon.request("GET", "/metrics")
text = text.decode()
check(archived > 0, "nothing was archived")
check(metric(text, "accepted") == archived,
      "%d records archived, custos_ingest_records_total{result=\"accepted\"} says %d"
      % (archived, metric(text, "accepted")))

# The same envelopes again, the client gone again: duplicates, counted.
for k in range(10):
    send_and_reset([envelope(k * PER + i) for i in range(PER)])
settle()
_, _, text = anon.request("GET", "/metrics")
text = text.decode()
dup = metric(text, "duplicate")
check(metric(text, "accepted") == archived and dup > 0 and dup % PER == 0,
      "after resending: accepted %d (archived %d), duplicate %d"
      % (metric(text, "accepted"), archived, dup))
check(srv.stop() == 0, "serve did not stop cleanly")
print("ok: %d records archived for clients that went away, all counted" % archived)
