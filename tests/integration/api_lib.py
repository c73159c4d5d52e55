"""api_lib.py - helpers for the HTTP API integration tests (python3 standard
library only): an archive with tokens, the real daemon on 127.0.0.1 with a
port the kernel picks, and small HTTP helpers over keep-alive connections."""

import atexit
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

CUSTOS = os.environ.get("CUSTOS", "custos")
ROLES = ("admin", "officer", "auditor", "ingest")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(*args, check_rc=True, env=None, stdin=None):
    """Runs custos with args; returns (rc, stdout, stderr)."""
    p = subprocess.run([CUSTOS] + list(args), capture_output=True, text=True, env=env, input=stdin)
    if check_rc and p.returncode != 0:
        fail("custos %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p.returncode, p.stdout, p.stderr


class Archive:
    """A data directory with one token per role (ingest as source 'hook1')."""

    def __init__(self, path="data", origin="test.example/custos", server=None, config=None):
        self.dir = os.path.abspath(path)
        run("init", "-d", self.dir, "--origin", origin)
        if server is not None or config:
            cfg_path = os.path.join(self.dir, "custos.json")
            with open(cfg_path) as f:
                cfg = json.load(f)
            cfg.update(config or {})
            if server is not None:
                cfg["server"] = server
            with open(cfg_path, "w") as f:
                json.dump(cfg, f, indent=2)
        self.tokens = {}
        for role in ROLES:
            self.tokens[role] = self.add_token(role, role + "1", source="hook1" if role == "ingest" else None)

    def add_token(self, role, name, source=None):
        args = ["token", "add", "-d", self.dir, "--role", role, "--name", name]
        if source:
            args += ["--source", source]
        _, out, _ = run(*args)
        lines = out.strip().splitlines()
        check(len(lines) == 1 and re.fullmatch(r"cst_[A-Za-z0-9_-]{43}", lines[0]),
              "token add printed %r" % out)
        return lines[0]

    def log(self):
        """Every record, in seq order (custos log)."""
        _, out, _ = run("log", "-d", self.dir)
        return [json.loads(l) for l in out.splitlines() if l.strip()]


_running = []


@atexit.register
def _kill_leftovers():
    """A failed check exits the test: its daemons must not outlive it."""
    for proc in _running:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Server:
    """custos serve on 127.0.0.1:0; the bound port is read from its log.
    Killed at exit if the test ends (or fails) with it still running."""

    def __init__(self, archive, env=None, extra=()):
        self.archive = archive
        self.log_path = os.path.join(os.path.dirname(archive.dir), "serve-%d.log" % time.monotonic_ns())
        self.logf = open(self.log_path, "w")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.proc = subprocess.Popen([CUSTOS, "serve", "-d", archive.dir, "--listen", "127.0.0.1:0"] + list(extra),
                                     stdout=subprocess.DEVNULL, stderr=self.logf, env=e)
        _running.append(self.proc)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log_path) as f:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", f.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                fail("custos serve exited %d: %s" % (self.proc.returncode, self.read_log()))
            time.sleep(0.02)
        check(self.port, "custos serve did not start: " + self.read_log())

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("custos serve did not stop on signal %d" % sig)
        self.logf.close()
        if self.proc.returncode != 0:  # the caller fails on it: show why (a sanitizer report ...)
            sys.stderr.write("custos serve exited %d; the end of its log:\n%s\n"
                             % (self.proc.returncode, self.read_log()[-4000:]))
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()


class Client:
    """One keep-alive connection; request() returns (status, headers, body
    bytes) and reconnects when the server closed the connection."""

    def __init__(self, server, token=None):
        self.server = server
        self.token = token
        self.c = server.conn()

    def request(self, method, path, body=None, token="default", headers=None):
        h = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        for attempt in range(2):
            try:
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.c.close()
                    self.c = self.server.conn()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest):
                self.c.close()
                self.c = self.server.conn()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None, token="default", expect=None, headers=None, error_shape=True):
        status, hdrs, data = self.request(method, path, body, token, headers)
        if expect is not None and status != expect:
            fail("%s %s: expected %d, got %d: %s" % (method, path, expect, status, data[:500]))
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            fail("%s %s: not JSON: %r" % (method, path, data[:200]))
        if status >= 400 and error_shape:
            check(isinstance(doc, dict) and set(doc) == {"error"} and
                  isinstance(doc["error"].get("code"), str) and isinstance(doc["error"].get("message"), str),
                  "%s %s: error body is not {error: {code, message}}: %r" % (method, path, data[:300]))
        return status, doc

    def close(self):
        self.c.close()


def envelope(i, conv="!room:example.org", sender="@alice:example.org", body=None, prefix="m"):
    return {"platform": "matrix", "conversation": conv, "sender": sender,
            "ts": 1714564800000 + i * 1000, "id": "%s%d" % (prefix, i),
            "body": body if body is not None else "message number %d" % i}
