"""faults_disk.py - the real full-disk test (test_faults_disk.sh)."""

import base64
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import CUSTOS, Archive, Client, Server, check, envelope, run  # noqa: E402

DISK = os.path.abspath("disk")
LEAVE_CLI = 64 * 1024  # room for some batches, not all (the index writes at the end)
# What a message about a full disk must say (the segment writer reports
# strerror, SQLite "database or disk is full").
FULL_WORDS = ("No space left on device", "disk is full")
problems = []


def problem(msg):
    """A failed expectation that does not stop the test (all are listed)."""
    problems.append(msg)
    print("PROBLEM: " + msg, file=sys.stderr)
FILL = os.path.join(DISK, "fill")


def free_bytes():
    s = os.statvfs(DISK)
    return s.f_bavail * s.f_frsize


def fill(leave):
    """Fills the tmpfs, then gives back about `leave` bytes. Unbuffered: a
    buffered file would fail once more when it is closed, flushing what the
    full disk did not take."""
    with open(FILL, "ab", buffering=0) as f:
        chunk = b"\0" * 65536
        try:
            while f.write(chunk):
                pass
        except OSError:
            pass
    size = os.path.getsize(FILL)
    os.truncate(FILL, max(0, size - leave))


def unfill():
    if os.path.exists(FILL):
        os.unlink(FILL)


def log_ids(d):
    _, out, _ = run("log", "-d", d)
    return [json.loads(l).get("id") for l in out.splitlines() if l.strip() and json.loads(l).get("kind") == "message"]


def cli_case():
    """custos ingest on a full disk, then again with space."""
    d = os.path.join(DISK, "cli")
    run("init", "-d", d, "--origin", "disk.example/cli")
    # Bodies that do not compress away, so that the disk really fills.
    msgs = [json.dumps(envelope(i, body="Vollständige Platte %d %s" % (i, base64.b64encode(os.urandom(450)).decode())))
            for i in range(200)]
    with open("msgs.jsonl", "w") as f:
        f.write("\n".join(msgs) + "\n")
    ids = ["m%d" % i for i in range(200)]
    with open("first.jsonl", "w") as f:
        f.write("\n".join(msgs[:20]) + "\n")
    run("ingest", "-d", d, "first.jsonl")  # the archive exists in full (id map)
    fill(LEAVE_CLI)
    p = subprocess.run([CUSTOS, "ingest", "-d", d, "--batch", "20", "--json", "msgs.jsonl"],
                       capture_output=True, text=True)
    check(p.returncode == 1, "ingest on a full disk exited %d: %s" % (p.returncode, p.stderr))
    if not any(w in p.stderr for w in FULL_WORDS):
        problem("cli: unclear message on a full disk: %r" % p.stderr.strip())
    try:
        reported = json.loads(p.stdout)["accepted"]
    except (ValueError, KeyError):
        problem("cli: no JSON summary from the failed ingest (stdout %r, stderr %r)"
                % (p.stdout, p.stderr[-600:]))
        reported = 0
    # verify only reads: it must pass even while the disk is full.
    run("verify", "-d", d)
    unfill()
    run("stats", "-d", d)
    got = log_ids(d)
    check(got == ids[:len(got)], "the archive is not a gap-free prefix of the input")
    check(len(got) >= reported, "ingest reported %d archived, the archive holds %d" % (reported, len(got)))
    _, out, _ = run("ingest", "-d", d, "--batch", "20", "--json", "msgs.jsonl")
    doc = json.loads(out)
    check(doc["duplicates"] == len(got) and doc["accepted"] == 200 - len(got), "re-run: %r" % doc)
    check(sorted(log_ids(d)) == sorted(ids), "not every message exactly once after the re-run")
    run("verify", "-d", d)
    print("cli: full disk after %d of 200 messages (%d reported), re-run completed" % (len(got), reported))
    shutil.rmtree(d)


def index_full_case():
    """custos ingest when only the search index's disk is full: the index
    is derived, so ingest archives everything, exits 0 with a warning, and
    the next search catches the index up once there is room."""
    d = os.path.join(DISK, "idx")
    run("init", "-d", d, "--origin", "disk.example/idx")
    os.makedirs(os.path.join(d, "index"), exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k,mode=0700", "tmpfs", os.path.join(d, "index")],
                       capture_output=True, text=True)
    check(p.returncode == 0, "cannot mount the index's tmpfs: %s" % p.stderr.strip())
    try:
        p = subprocess.run([CUSTOS, "ingest", "-d", d, "--batch", "20", "--json", "msgs.jsonl"],
                           capture_output=True, text=True)
        check(p.returncode == 0, "ingest with a full index disk exited %d: %s" % (p.returncode, p.stderr))
        check("indexing stopped" in p.stderr and any(w in p.stderr for w in FULL_WORDS),
              "no clear warning that the index stopped: %r" % p.stderr)
        check(json.loads(p.stdout)["accepted"] == 200, "not everything archived: %r" % p.stdout)
        saved = os.path.join(DISK, "idx-saved")
        subprocess.run(["cp", "-a", os.path.join(d, "index"), saved], check=True)
    finally:
        subprocess.run(["umount", "-l", os.path.join(d, "index")])
    shutil.rmtree(os.path.join(d, "index"))
    os.rename(saved, os.path.join(d, "index"))
    run("verify", "-d", d)
    _, out, _ = run("search", "-d", d, "--json", "--limit", "1", "Platte")
    check(json.loads(out)["total"] == 200, "the index did not catch up: %s" % out[:200])
    run("verify", "-d", d, "--index")
    print("cli: index disk full: all 200 archived, the index caught up at the next search")
    shutil.rmtree(d)


def health(srv):
    st, doc = Client(srv).json("GET", "/healthz", error_shape=False)
    return st, doc.get("status")


def daemon_case():
    arch = Archive(path=os.path.join(DISK, "srv"), origin="disk.example/srv")
    srv = Server(arch)
    try:
        daemon_steps(arch, srv)
    finally:
        srv.kill()  # after a failed check; a no-op once stopped


def daemon_steps(arch, srv):
    ing = Client(srv, arch.tokens["ingest"])
    off = Client(srv, arch.tokens["officer"])
    n = [0]

    def batch():
        b = [envelope(n[0] + k, body="Plattenplatz %d " % (n[0] + k) + "y" * 400) for k in range(20)]
        n[0] += 20
        return b

    acked, refused = [], []
    st, doc = ing.json("POST", "/v1/ingest", batch(), expect=200)
    acked += ["m%d" % i for i in range(20)]
    fill(64 * 1024)
    full = None
    for _ in range(300):
        b = batch()
        st, doc = ing.json("POST", "/v1/ingest", b)
        if st == 200:
            acked += [e["id"] for e in b]
            continue
        check(st == 503 and "nothing was stored" in doc["error"]["message"],
              "full disk answered %d %r" % (st, doc))
        # Which write meets the full disk first varies (segment or id map);
        # test_faults.sh checks each one's error code deterministically.
        if not any(w in doc["error"]["message"] for w in FULL_WORDS):
            problem("daemon: a full disk answered 503 %r without saying so" % doc["error"])
        full = b
        break
    check(full is not None, "the disk never filled up")
    check(health(srv) == (503, "degraded"), "healthz on a full disk: %r" % (health(srv),))
    # Still responsive while full: reads work, further ingest is refused cleanly.
    st, doc = off.json("GET", "/v1/records/0")
    check(st in (200, 503), "record read on a full disk: %d" % st)
    b = batch()
    st, doc = ing.json("POST", "/v1/ingest", b)
    check(st == 503, "second ingest on a full disk: %d" % st)
    refused = [e["id"] for e in full + b]
    unfill()
    # Recovers by itself: the same request now succeeds.
    st, doc = ing.json("POST", "/v1/ingest", full)
    check(st == 200 and doc["accepted"] == len(full), "ingest after freeing space: %d %r" % (st, doc))
    acked += [e["id"] for e in full]
    st, doc = ing.json("POST", "/v1/ingest", b, expect=200)
    acked += [e["id"] for e in b]
    check(health(srv) == (200, "ok"), "healthz after freeing space: %r" % (health(srv),))
    # The index follows by itself too.
    deadline = time.time() + 10
    while True:
        st, doc = off.json("GET", "/v1/search?q=plattenplatz&limit=1")
        if st == 200 and doc["total"] == len(acked):
            break
        check(time.time() < deadline, "index did not catch up after the full disk: %d %r (want %d)"
              % (st, doc.get("total") if isinstance(doc, dict) else doc, len(acked)))
        time.sleep(0.1)
    check(srv.stop() == 0, "serve did not stop cleanly")
    got = log_ids(arch.dir)
    check(sorted(got) == sorted(acked), "acknowledged records missing or doubled (%d vs %d)" % (len(got), len(acked)))
    run("verify", "-d", arch.dir)
    print("daemon: 503 no_space after %d acknowledged, recovered, %d records, index caught up"
          % (len(acked) - len(refused), len(acked)))


def main():
    os.mkdir(DISK)
    if os.geteuid() != 0:
        print("skip: not root, cannot mount a tmpfs: the real full disk is not tested")
        return
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", DISK],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("skip: cannot mount a tmpfs (%s): the real full disk is not tested" % p.stderr.strip())
        return
    try:
        cli_case()
        index_full_case()
        daemon_case()
    finally:
        unfill()
        subprocess.run(["umount", "-l", DISK])
    if problems:
        print("%d problems:\n  %s" % (len(problems), "\n  ".join(problems)), file=sys.stderr)
        sys.exit(1)
    print("ok")


main()
