#!/usr/bin/env python3
"""search_pg_load.py - turns generated messages into the psql script that
loads the PostgreSQL peer of bench/bench_search.sh:

    search_pg_load.py MESSAGES.jsonl ROWS_PER_TRANSACTION > load.sql

Every transaction is BEGIN; COPY ... FROM STDIN (ROWS_PER_TRANSACTION rows);
COMMIT, so each commit is durable (fsync) like a custos group commit. The
table keeps what the archive keeps: the canonical fields, the body and the
original envelope bytes (payload). The script is prepared before the timer
starts; only psql running it is timed.
"""
import json
import sys


def esc(s):
    # COPY text format
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def main():
    path, per = sys.argv[1], int(sys.argv[2])
    out = sys.stdout
    n = 0
    cols = "platform, conversation, sender, ts, id, kind, body, payload"
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = json.loads(line)
            if n % per == 0:
                if n:
                    out.write("\\.\nCOMMIT;\n")
                out.write("BEGIN;\nCOPY messages(%s) FROM STDIN;\n" % cols)
            out.write("\t".join((esc(m["platform"]), esc(m["conversation"]), esc(m["sender"]),
                                 str(int(m["ts"])), esc(m["id"]), esc(m.get("kind", "message")),
                                 esc(m.get("body", "")), esc(line))) + "\n")
            n += 1
    if n:
        out.write("\\.\nCOMMIT;\n")


if __name__ == "__main__":
    main()
