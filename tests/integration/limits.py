"""limits.py - resource limits (test_limits.sh)."""

import atexit
import hashlib
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import CUSTOS, Archive, Client, Server, check, envelope, run  # noqa: E402

# Small limits so that each case is quick; the defaults are larger.
LIMITS = {"max_connections": 24, "connection_timeout_s": 2, "request_timeout_s": 3,
          "max_body_bytes": 1 << 20, "max_records_per_request": 100, "threads": 2}
SAN = b"libasan" in subprocess.run(["ldd", CUSTOS], capture_output=True).stdout
problems = []
T0 = time.time()


def note(msg):
    print("%5.1fs %s" % (time.time() - T0, msg))


def problem(msg):
    """A failed expectation that does not stop the test (all are listed)."""
    problems.append(msg)
    print("PROBLEM: " + msg, file=sys.stderr)


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def nfds(pid):
    """Open descriptors, not counting the Merkle tree's level files (one per
    level, opened as the log grows: at most 64, not a leak)."""
    return sum(1 for t in fd_targets(pid).values() if "/tree/level-" not in t)


def fd_targets(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[fd] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def settle_fds(pid, want, timeout=8.0):
    """Waits until the daemon holds at most `want` descriptors; returns the count."""
    deadline = time.time() + timeout
    while True:
        n = nfds(pid)
        if n <= want or time.time() > deadline:
            return n
        time.sleep(0.1)


def raw_request(port, data, timeout=5.0):
    """Sends bytes on a fresh connection; returns (status, body) or (None, b"")."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (413) and closed before all was sent: read the answer
        buf = b""
        while True:
            try:
                k = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not k:
                break
            buf += k
            if b"\r\n\r\n" in buf:
                head, _, rest = buf.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":")[1]):
                    break
        if not buf.startswith(b"HTTP/1.1 "):
            return None, b""
        return int(buf[9:12]), buf.partition(b"\r\n\r\n")[2]
    finally:
        s.close()


def error_code(body):
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


# ---- the daemon ------------------------------------------------------------
arch = Archive(path="data", server=LIMITS)
run("ingest", "-d", arch.dir, "/dev/stdin",
    stdin="\n".join(json.dumps(envelope(i, body="Grenzwert Nummer %d" % i)) for i in range(50)) + "\n")
srv = Server(arch)
atexit.register(srv.kill)  # also when a check fails
pid = srv.proc.pid
ing = Client(srv, arch.tokens["ingest"])
off = Client(srv, arch.tokens["officer"])
auth_ing = "Authorization: Bearer %s\r\n" % arch.tokens["ingest"]
auth_off = {"Authorization": "Bearer " + arch.tokens["officer"]}


def healthy(timeout=2.0):
    t0 = time.time()
    try:
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
    except OSError:
        return False, time.time() - t0
    return ok, time.time() - t0


# Warm up every kind of request, so that pooled handles exist before counting.
ing.json("POST", "/v1/ingest", [envelope(1000)], expect=200)
off.json("GET", "/v1/search?q=grenzwert", expect=200)
off.json("GET", "/v1/records/0", expect=200)
ing.close()
off.close()
time.sleep(0.3)
fd0 = nfds(pid)
fdset0 = fd_targets(pid)
hwm0 = proc_status(pid, "VmHWM")
note("daemon: %d descriptors, peak RSS %d kB after warm-up" % (fd0, hwm0))

# 1. Huge bodies: 413 whether Content-Length says so or the body is chunked,
#    and the body is never held beyond the cap.
big = b"[" + b" " * (4 << 20) + b"]"
for i in range(5):
    st, body = raw_request(srv.port, b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth_ing.encode() +
                           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
    check(st == 413 and error_code(body) == "payload_too_large", "huge body: %r %r" % (st, body[:200]))
chunks = b"".join(b"%x\r\n%s\r\n" % (65536, b" " * 65536) for _ in range(64)) + b"0\r\n\r\n"
for i in range(5):
    st, body = raw_request(srv.port, b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth_ing.encode() +
                           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    check(st == 413 and error_code(body) == "payload_too_large", "huge chunked body: %r %r" % (st, body[:200]))
c = Client(srv, arch.tokens["ingest"])
st, doc = c.json("POST", "/v1/ingest", [envelope(2000 + i) for i in range(101)])
check(st == 413, "101 envelopes over max_records_per_request=100: %d %r" % (st, doc))
c.close()
grow = proc_status(pid, "VmHWM") - hwm0
check(grow < (3 if SAN else 1) * 24 * 1024, "peak RSS grew by %d kB for 4 MiB bodies over a 1 MiB cap" % grow)
note("bodies: 413 for Content-Length and chunked bodies over the cap; peak RSS +%d kB" % grow)

# 2. Deeply nested JSON: a clear 400, at any depth.
for depth in (3000, 100000):
    doc = "[" * depth + "]" * depth
    st, body = raw_request(srv.port, b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth_ing.encode() +
                           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(doc) + doc.encode())
    check(st == 400 and error_code(body) == "bad_json" and b"depth" in body,
          "nested %d: %r %r" % (depth, st, body[:200]))
    env = json.dumps(envelope(3000))[:-1] + ', "raw": ' + "[" * depth + "]" * depth + "}"
    st, body = raw_request(srv.port, b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth_ing.encode() +
                           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(env) + env.encode())
    check(st == 400 and error_code(body) in ("bad_json", "bad_envelope") and b"depth" in body,
          "nested %d in an envelope: %r %r" % (depth, st, body[:200]))
note("nesting: 400 bad_json for 3000- and 100000-deep documents")

# 3. Gigantic queries: a clear 400 from the query language; a request line
#    over max_header_bytes is refused by the HTTP layer.
c = Client(srv, arch.tokens["officer"])
for name, q in (("5000-byte query", "wort " * 1000), ("100 terms", " ".join("w%d" % i for i in range(100))),
                ("200 parentheses", "(" * 200 + "a" + ")" * 200),
                ("many OR", " OR ".join("w%d" % i for i in range(500)))):
    st, doc = c.json("GET", "/v1/search?q=" + urllib.parse.quote(q))
    if st != 400:
        problem("search with a %s answered %d %r (want 400)" % (name, st, doc))
    else:
        check(doc["error"]["message"], "empty message")
c.close()
st, _ = raw_request(srv.port, b"GET /v1/search?q=" + b"a" * (64 << 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
check(st in (414, 431), "a 64 KiB request line: %r" % st)
p = subprocess.run([CUSTOS, "search", "-d", arch.dir, "wort " * 1000], capture_output=True, text=True)
check(p.returncode in (1, 2) and "4096" in p.stderr, "custos search with a 5000-byte query: %d %r"
      % (p.returncode, p.stderr))
note("queries: long, wide and deep queries refused; 64 KiB request line %d" % st)

# 4. Many slow connections. Clients that send headers one byte at a time
#    take connection slots; the other slots keep serving; past
#    max_connections the daemon accepts no more (they wait in the kernel's
#    backlog, costing it nothing); idle connections are closed after
#    connection_timeout_s, which frees the slots again.
limit = LIMITS["max_connections"]
slow = []
for i in range(limit - 4):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    slow.append(s)
t_end = time.time() + 1.5
worst = 0.0
while time.time() < t_end:
    for s in slow:
        s.sendall(b"X")  # one more header byte: never idle, never complete
    ok, dt = healthy()
    check(ok, "healthz failed with %d slow clients (limit %d)" % (len(slow), limit))
    worst = max(worst, dt)
    time.sleep(0.2)
check(worst < 1.0, "healthz took %.2f s with slow clients" % worst)
extra = [socket.create_connection(("127.0.0.1", srv.port), timeout=2) for _ in range(limit)]
time.sleep(0.5)
held = nfds(pid) - fd0
check(held <= limit + 1, "the daemon holds %d connections, the limit is %d" % (held, limit))
# Everyone goes quiet: the daemon closes idle connections, slot after slot,
# until every one of ours is closed (the backlog is served in turn).
deadline = time.time() + 4 * (LIMITS["connection_timeout_s"] + 1)
for s in slow + extra:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        r = s.recv(100)
    except socket.timeout:
        r = None
    except OSError:
        r = b""
    check(r == b"", "an idle connection was not closed by the daemon (got %r)" % (r,))
    s.close()
check(healthy()[0], "healthz after the slow clients")
note("slow clients: %d held, healthz worst %.0f ms; with %d more the daemon held %d connections "
      "(limit %d); all idle ones closed" % (len(slow), worst * 1000, len(extra), held, limit))

# A body that trickles past request_timeout_s is dropped.
s = socket.create_connection(("127.0.0.1", srv.port), timeout=8)
s.sendall(("POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth_ing +
           "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[").encode())
dropped = False
t0 = time.time()
while time.time() - t0 < LIMITS["request_timeout_s"] + 4:
    try:
        s.sendall(b" ")
    except OSError:
        dropped = True
        break
    time.sleep(0.5)
s.close()
check(dropped, "a body trickling for %d s was not dropped" % (LIMITS["request_timeout_s"] + 4))
note("trickling body dropped after %.1f s" % (time.time() - t0))

# 5. No descriptor leaks: many requests of every kind, some abandoned
#    half-way, leave the daemon with what it had.
def request_round(base):
    c_ing = Client(srv, arch.tokens["ingest"])
    c_off = Client(srv, arch.tokens["officer"])
    for i in range(50):
        c_ing.json("POST", "/v1/ingest", [envelope(base + i)], expect=200)
        c_off.json("GET", "/v1/search?q=grenzwert&limit=5", expect=200)
        c_off.json("GET", "/v1/records/%d" % i, expect=200)
        c_off.json("GET", "/v1/records/999999999")
        c_off.json("GET", "/v1/search?q=%28")
        if i % 4 == 0:  # a client that goes away in the middle of its body
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
            s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + auth_ing.encode() + b"Content-Length: 500\r\n\r\n[{")
            s.close()
    c_ing.close()
    c_off.close()


# The first round may open pooled handles lazily (a second index reader);
# a leak is growth from the first round to the second.
request_round(5000)
fd_mid = settle_fds(pid, fd0, timeout=6 * LIMITS["connection_timeout_s"] + 3)
fdset0 = fd_targets(pid)
fd0 = max(fd0, fd_mid)
request_round(6000)
# Half-sent requests are noticed when connection_timeout_s passes.
n = settle_fds(pid, fd0, timeout=6 * LIMITS["connection_timeout_s"] + 3)
if n > fd0:
    now = fd_targets(pid)
    check(False, "descriptors: %d after 600 requests, %d before; new: %r" %
          (n, fd0, sorted(v for k, v in now.items() if fdset0.get(k) != v)))
check(srv.stop() == 0, "serve did not stop cleanly")
run("verify", "-d", arch.dir)
note("descriptors: %d before, %d after 500 requests and 25 abandoned half-way" % (fd0, n))


# ---- zstd bombs in a corrupted segment -------------------------------------
def frame_header(comp, raw_len, first_seq, count):
    h = b"CUFR" + bytes([1, 1, 0, 0]) + struct.pack(">IIQI", len(comp), raw_len, first_seq, count) + b"\0" * 4
    inner = hashlib.sha256(comp).digest()
    return h + hashlib.sha256(h + inner).digest()[:16]


def zstd(data_cmd, with_size):
    """Compresses the output of a shell command with the zstd tool."""
    if with_size:  # from a file: the frame header carries the content size
        subprocess.run("%s > zeros.bin" % data_cmd, shell=True, check=True)
        out = subprocess.run(["zstd", "-q", "-1", "-c", "zeros.bin"], capture_output=True, check=True).stdout
        os.unlink("zeros.bin")
        return out
    return subprocess.run("%s | zstd -q -1 -c" % data_cmd, shell=True, capture_output=True, check=True).stdout


def peak_rss(*args):
    p = subprocess.run(["/usr/bin/time", "-f", "%M", CUSTOS] + list(args), capture_output=True, text=True)
    return p.returncode, int(p.stderr.strip().splitlines()[-1]), p.stdout + p.stderr


b = Archive(path="bomb", origin="bomb.example/custos")
lines = [json.dumps(envelope(i, body="Bombe %d" % i)) for i in range(20)]
run("ingest", "-d", b.dir, "--batch", "10", "/dev/stdin", stdin="\n".join(lines) + "\n")
seg = os.path.join(b.dir, "segments", "seg-00000001.cseg")
orig = open(seg, "rb").read()
rc, base_kb, out = peak_rss("verify", "-d", b.dir)
check(rc == 0, "verify of the intact archive: " + out)
comp1 = struct.unpack(">I", orig[120 + 8:120 + 12])[0]
off2 = 120 + 48 + comp1  # the second frame (seqs 10..19)
cap_kb = (32 + 33) * 1024  # SEG_FRAME_MAX_RAW + SEG_FRAME_MAX_COMP
allow_kb = base_kb + cap_kb + 16 * 1024
if SAN:
    allow_kb = 3 * allow_kb
bombs = [
    # 512 MiB of zeros, no content size in the zstd header, 1 MiB declared
    ("512 MiB streamed, 1 MiB declared", zstd("head -c 512M /dev/zero", False), 1 << 20),
    # 256 MiB with its true size in the header, 1 MiB declared
    ("256 MiB sized, 1 MiB declared", zstd("head -c 256M /dev/zero", True), 1 << 20),
    # exactly the 32 MiB cap, declared: decompressed, then refused as entries
    ("32 MiB at the cap", zstd("head -c 32M /dev/zero", True), 32 << 20),
]
for name, comp, declared in bombs:
    with open(seg, "wb") as f:
        f.write(orig[:off2] + frame_header(comp, declared, 10, 10) + comp)
    rc, kb, out = peak_rss("verify", "-d", b.dir)
    check(rc == 1 and "NOT INTACT" in out and "seg-00000001.cseg" in out,
          "verify of a bomb (%s): exit %d: %s" % (name, rc, out))
    check(kb < allow_kb, "verify of a bomb (%s) peaked at %d kB (allowed %d)" % (name, kb, allow_kb))
    rc2, kb2, out2 = peak_rss("show", "-d", b.dir, "12")
    check(rc2 != 0 and kb2 < allow_kb, "show in a bomb (%s): exit %d, %d kB: %s" % (name, rc2, kb2, out2))
    rc3, kb3, out3 = peak_rss("stats", "-d", b.dir)
    check(kb3 < allow_kb, "opening an archive with a bomb (%s) peaked at %d kB" % (name, kb3))
    note("bomb %s (%d bytes compressed): verify %d kB, show %d kB, stats exit %d %d kB (intact verify %d kB)"
          % (name, len(comp), kb, kb2, rc3, kb3, base_kb))
with open(seg, "wb") as f:
    f.write(orig)
run("verify", "-d", b.dir)

if problems:
    print("%d problems:\n  %s" % (len(problems), "\n  ".join(problems)), file=sys.stderr)
    sys.exit(1)
print("ok")
