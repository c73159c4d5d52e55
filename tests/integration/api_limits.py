"""api_limits.py - the connection and time limits of the daemon: at most
max_connections open connections, an idle connection closed after
connection_timeout_s, a request whose body trickles in past
request_timeout_s dropped (and nothing of it stored), the backpressure
answer 429 when more than max_pending_records wait for commit, and a
second daemon on the same data directory refused without disturbing the
first."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402

arch = Archive(server={"max_connections": 4, "connection_timeout_s": 2, "request_timeout_s": 1,
                       "max_pending_records": 50, "threads": 2})
srv = Server(arch)
token = arch.tokens["ingest"]


def closed_by_server(s, timeout):
    """True if the server closes s (EOF or reset) within timeout seconds."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# Connection limit: with four connections open, a fifth is not served
# (it waits in the listen backlog) until one of them closes.
socks = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(4)]
time.sleep(0.2)
extra = socket.create_connection(("127.0.0.1", srv.port))
extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
extra.settimeout(0.8)
try:
    early = extra.recv(100)
except socket.timeout:
    early = b""
check(early == b"", "a fifth connection was served: %r" % early)
socks.pop().close()
extra.settimeout(3)
check(extra.recv(100).startswith(b"HTTP/1.1 200"), "the fifth connection was not served after a slot freed")
extra.close()
for s in socks:
    s.close()
time.sleep(0.3)

# Idle timeout: a connection that sends nothing is closed after ~2 s.
s = socket.create_connection(("127.0.0.1", srv.port))
t0 = time.time()
check(closed_by_server(s, 6), "an idle connection was not closed")
check(1.0 < time.time() - t0 < 5.5, "idle connection closed after %.1f s" % (time.time() - t0))
s.close()

# Request timeout: a body trickling in for longer than 1 s is dropped.
body = json.dumps([envelope(i, prefix="slow") for i in range(5)]).encode()
s = socket.create_connection(("127.0.0.1", srv.port))
s.sendall(("POST /v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Length: %d\r\n\r\n" % (token, len(body))).encode())
dropped = False
for i in range(len(body)):
    try:
        s.sendall(body[i:i + 1])
    except OSError:
        dropped = True
        break
    if i % 10 == 9 and closed_by_server(s, 0.3):
        dropped = True
        break
check(dropped, "a trickling request was not dropped")
s.close()
check(not any(r.get("id", "").startswith("slow") for r in arch.log()), "the dropped request stored records")

# Backpressure: with more than 50 records waiting, requests get 429.
statuses = []
lock = threading.Lock()


def flood(k):
    c = Client(srv, token)
    for j in range(20):
        st, hdrs, _ = c.request("POST", "/v1/ingest", [envelope(10000 * k + 40 * j + i) for i in range(40)])
        with lock:
            statuses.append((st, hdrs.get("retry-after")))


threads = [threading.Thread(target=flood, args=(k,)) for k in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
codes = {st for st, _ in statuses}
check(codes <= {200, 429} and 200 in codes, "flood statuses %r" % codes)
if 429 in codes:
    check(all(ra == "1" for st, ra in statuses if st == 429), "429 without Retry-After")
print("backpressure: %d of %d requests answered 429" % (sum(st == 429 for st, _ in statuses), len(statuses)))

# A second daemon on the same directory is refused; the first keeps its pid file.
rc, _, err = run("serve", "-d", arch.dir, "--listen", "127.0.0.1:0", check_rc=False)
check(rc == 1 and "in use" in err, "second daemon: rc %d %r" % (rc, err))
with open(os.path.join(arch.dir, "serve.pid")) as f:
    check(int(f.read()) == srv.proc.pid, "the first daemon's pid file was touched")
Client(srv).json("GET", "/healthz", expect=200)
check(srv.stop() == 0, "serve did not stop cleanly")
run("verify", "-d", arch.dir)
print("ok")
