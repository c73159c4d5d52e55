#!/usr/bin/env python3
"""http_load.py - load generator for bench/bench_http.sh (python3 standard
library only). Each client is its own process (no GIL between them) with
one keep-alive connection.

    http_load.py ingest --port P --token T --file MESSAGES.jsonl
                 [--clients 8] [--batch 100] --seconds S [--rss-pid PID]
    http_load.py search --port P --token T --queries QUERIES.tsv
                 [--clients 2] --seconds S

ingest: client i posts batches of --batch lines (JSON Lines bodies) from
its share of the file, passing over it again with fresh ids ("p<pass>-"
prefixed, after --tag) when it runs out, so every message is new. Each
pass also moves the messages' "ts" on by the file's time span, so that the
stream stays in time order as live traffic is (replaying old times would
make every pass an import of history into the middle of the time-ordered
index). search: clients
cycle through the custos queries (third column of search_queries.py's
output). Prints one JSON object: request and message counts, rates,
latency percentiles of the acknowledgements (ms), errors, and with
--rss-pid the resident memory of that process sampled every second
(VmRSS and RssAnon).
"""
import argparse
import http.client
import json
import multiprocessing
import os
import re
import sys
import threading
import time
import urllib.parse


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


TS_RE = re.compile(r'"ts":(\d+)')


def split_ts(line):
    """(text before the ts digits, ts, text after), or (line, None, "")."""
    m = TS_RE.search(line)
    return (line[:m.start(1)], int(m.group(1)), line[m.end(1):]) if m else (line, None, "")


def renew(parts, prefix, dt):
    """The line as a new message: id prefixed, ts dt ms later. The line
    comes split around its ts (split_ts, done once when loading), which
    keeps this cheap: the clients share the daemon's two cores."""
    head, ts, tail = parts
    line = head + str(ts + dt) + tail if ts is not None else head
    return line.replace('"id":"', prefix, 1)


def ts_span(parts):
    """Milliseconds from the first to the last ts, plus 1."""
    ts = [t for _, t, _ in parts if t is not None]
    return max(ts) - min(ts) + 1 if ts else 0


def ingest_client(idx, args, lines, start_at, out):
    mine = lines[idx::args.clients]
    mine_parts = [split_ts(l) for l in mine]
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
    headers = {"Authorization": "Bearer " + args.token, "Content-Type": "application/x-ndjson"}
    lat, msgs, errors = [], 0, 0
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + args.seconds
    p, pos = args.first_pass, 0
    while time.time() < end:
        if pos >= len(mine):
            p, pos = p + 1, 0
        chunk = mine[pos:pos + args.batch]
        if p or args.tag:
            prefix = '"id":"%sp%d-' % (args.tag, p)
            chunk = [renew(t, prefix, p * args.span) for t in mine_parts[pos:pos + args.batch]]
        pos += args.batch
        body = "\n".join(chunk).encode()
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/v1/ingest", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
            continue
        dt = time.perf_counter() - t0
        if r.status == 200:
            lat.append(dt)
            msgs += len(chunk)
        else:
            errors += 1
    out.put((lat, msgs, errors))


def search_client(idx, args, queries, start_at, out):
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
    headers = {"Authorization": "Bearer " + args.token}
    lat, errors, i = [], 0, idx
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + args.seconds
    while time.time() < end:
        q = queries[i % len(queries)]
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", "/v1/search?limit=20&q=" + urllib.parse.quote(q), headers=headers)
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
            continue
        dt = time.perf_counter() - t0
        if r.status == 200:
            lat.append(dt)
        else:
            errors += 1
    out.put((lat, 0, errors))


def rss_sampler(pid, stop, samples, t0):
    """Samples (seconds, VmRSS KiB, RssAnon KiB) every second: RssAnon is
    the heap and stacks; the rest of VmRSS is file pages mapped by SQLite
    (mmap), which the kernel reclaims."""
    while not stop.is_set():
        vals = {}
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    k = line.split(":")[0]
                    if k in ("VmRSS", "RssAnon"):
                        vals[k] = int(line.split()[1])
        except OSError:
            break
        samples.append((round(time.time() - t0, 1), vals.get("VmRSS", 0), vals.get("RssAnon", 0)))
        stop.wait(1.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("ingest", "search"))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--file")
    ap.add_argument("--queries")
    ap.add_argument("--clients", type=int, default=None)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--rss-pid", type=int, default=0)
    ap.add_argument("--tag", default="", help="ingest: prefix for every id, so that a second run sends new messages")
    ap.add_argument("--first-pass", type=int, default=0,
                    help="ingest: number of the first pass over the file (its times move on by that many spans)")
    args = ap.parse_args()
    if args.clients is None:
        args.clients = 8 if args.mode == "ingest" else 2

    if args.mode == "ingest":
        with open(args.file, encoding="utf-8") as f:
            work = [l.rstrip("\n") for l in f if l.strip()]
        args.span = ts_span([split_ts(l) for l in work])
        target = ingest_client
    else:
        with open(args.queries, encoding="utf-8") as f:
            work = [l.rstrip("\n").split("\t")[2] for l in f if l.strip()]
        target = search_client

    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5
    procs = [ctx.Process(target=target, args=(i, args, work, start_at, out)) for i in range(args.clients)]
    for p in procs:
        p.start()
    samples, stop = [], threading.Event()
    sampler = None
    if args.rss_pid:
        sampler = threading.Thread(target=rss_sampler, args=(args.rss_pid, stop, samples, start_at))
        sampler.start()
    lat, msgs, errors = [], 0, 0
    for _ in procs:
        l, m, e = out.get()
        lat += l
        msgs += m
        errors += e
    for p in procs:
        p.join()
    stop.set()
    if sampler:
        sampler.join()
    lat.sort()
    res = {
        "mode": args.mode, "clients": args.clients, "seconds": args.seconds,
        "requests": len(lat), "errors": errors, "messages": msgs,
        "requests_per_s": len(lat) / args.seconds, "messages_per_s": msgs / args.seconds,
        "p50_ms": percentile(lat, 50) * 1e3, "p95_ms": percentile(lat, 95) * 1e3,
        "p99_ms": percentile(lat, 99) * 1e3, "max_ms": (lat[-1] if lat else 0) * 1e3,
    }
    if samples:
        res["rss_kib"] = samples  # [seconds, VmRSS, RssAnon]
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
