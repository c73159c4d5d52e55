"""api_slowloris.py - slow clients cannot starve the daemon (docs/OPERATIONS.md
"Connection limits"): with the default configuration, 300 connections from
one address that trickle their request headers one byte at a time must not
keep /healthz from another address waiting more than 2 s; a connection
whose headers take longer than header_timeout_s is closed however steadily
its bytes trickle in; and the limits are configurable.

The slow clients come from 127.0.0.2, the probes from 127.0.0.1 (both on
the loopback, where the daemon listens). The load is bounded: 300
sockets, about 8 s."""

import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Server, check  # noqa: E402

SLOW = int(os.environ.get("SLOWLORIS_N", "300"))  # slow connections from one address
LOAD_S = 8.0        # how long they trickle
PROBE_MAX_S = 2.0   # the longest a probe from another address may wait


def probe(port, timeout=6.0):
    """GET /healthz from 127.0.0.1 on a new connection: (seconds, status line)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=("127.0.0.1", 0))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
        s.close()
        line = data.split(b"\r\n")[0].decode(errors="replace")
    except OSError as e:
        line = "error: %s" % e
    return time.monotonic() - t0, line


def open_slow(port, n):
    """n non-blocking connections from 127.0.0.2 (those the kernel or the
    server refuses are simply dropped)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind(("127.0.0.2", 0))
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def trickle(socks, byte):
    """Sends one byte on every socket that takes it; drops the closed ones."""
    alive = []
    _, writable, _ = select.select([], socks, [], 0.2)
    w = set(writable)
    for s in socks:
        if s not in w:
            alive.append(s)
            continue
        try:
            s.send(byte)
            alive.append(s)
        except OSError:
            s.close()
    return alive


# ---- 1. The default configuration: 300 slow connections from 127.0.0.2.
arch = Archive("data1")
srv = Server(arch)
d, line = probe(srv.port)
check(line.startswith("HTTP/1.1 200") and d < PROBE_MAX_S, "healthz before the load: %s after %.1f s" % (line, d))
slow = open_slow(srv.port, SLOW)
head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
pos = 0
worst, probes, t_end = 0.0, 0, time.monotonic() + LOAD_S
next_probe = time.monotonic() + 0.5
while time.monotonic() < t_end:
    # one byte of the request line and headers per connection, then 'a's
    # forever: the headers never end
    slow = trickle(slow, head[pos:pos + 1] if pos < len(head) else b"a")
    pos += 1
    if time.monotonic() >= next_probe:
        d, line = probe(srv.port)
        probes += 1
        worst = max(worst, d)
        check(line.startswith("HTTP/1.1 200") and d < PROBE_MAX_S,
              "healthz from 127.0.0.1 with %d slow connections from 127.0.0.2: %s after %.1f s"
              % (SLOW, line, d))
        next_probe = time.monotonic() + 0.5
    time.sleep(0.3)
for s in slow:
    s.close()
check(probes >= 8, "only %d probes ran" % probes)
check(srv.stop() == 0, "serve did not stop cleanly")
print("ok: %d probes under %d slow connections, the slowest %.2f s" % (probes, SLOW, worst))

# ---- 2. The header timeout, and the limits are configurable: with
# header_timeout_s 2 a connection that sends a header byte every 0.3 s is
# closed after about 2 s; with max_connections_per_address 2 a third
# connection from one address is closed at once, while another address is
# still served.
arch2 = Archive("data2", server={"header_timeout_s": 2, "max_connections_per_address": 2})
srv2 = Server(arch2)
s = socket.create_connection(("127.0.0.1", srv2.port), source_address=("127.0.0.2", 0))
t0 = time.monotonic()
closed_after = None
i = 0
while time.monotonic() - t0 < 6:
    try:
        s.send((head + b"a" * 1000)[i:i + 1])
    except OSError:
        closed_after = time.monotonic() - t0
        break
    i += 1
    r, _, _ = select.select([s], [], [], 0.3)
    if r:
        try:
            data = s.recv(100)
        except OSError:
            data = b""
        if not data:
            closed_after = time.monotonic() - t0
            break
s.close()
check(closed_after is not None and 1.5 <= closed_after <= 4.5,
      "a connection trickling its headers was closed after %r s, expected about 2 s" % closed_after)
time.sleep(0.5)  # the server lets go of it: it no longer counts for the address

a = socket.create_connection(("127.0.0.1", srv2.port), source_address=("127.0.0.2", 0))
b = socket.create_connection(("127.0.0.1", srv2.port), source_address=("127.0.0.2", 0))
time.sleep(0.3)
c = socket.create_connection(("127.0.0.1", srv2.port), source_address=("127.0.0.2", 0))
c.settimeout(3)
try:
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    third = c.recv(100)
except OSError:
    third = b""
check(third == b"", "a third connection from one address was served: %r" % third[:60])
d, line = probe(srv2.port)
check(line.startswith("HTTP/1.1 200") and d < PROBE_MAX_S, "healthz from another address: %s after %.1f s" % (line, d))
for x in (a, b, c):
    x.close()
check(srv2.stop() == 0, "serve did not stop cleanly")
print("ok: header timeout after %.1f s, per-address limit" % closed_after)
