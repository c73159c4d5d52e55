#!/usr/bin/env python3
"""Looks for words anywhere in a data directory, the way an auditor would
after a deletion: every file's raw bytes (index, its WAL and free pages,
id map, tree, head, packages ...), and every segment frame decompressed
with the zstd command-line tool (docs/FORMAT.md "Frame").

  retention_scan.py DATADIR WORD...

Prints one line per hit ("path: word" or "path frame N: word"),
case-insensitive, and nothing when the words are nowhere. Exit 0 either
way; 2 when a segment cannot be parsed or decompressed (a scan that cannot
look is not a clean scan).
"""
import os
import struct
import subprocess
import sys

HDR, FHDR = 120, 48


def frames(data):
    off = HDR
    while off + FHDR <= len(data) and data[off:off + 4] == b"CUFR":
        comp_len = struct.unpack(">I", data[off + 8:off + 12])[0]
        yield off, data[off + FHDR:off + FHDR + comp_len]
        off += FHDR + comp_len


def main():
    root, words = sys.argv[1], [w.lower().encode() for w in sys.argv[2:]]
    bad = False
    nframes = 0
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            data = open(path, "rb").read()
            low = data.lower()
            for w in words:
                if w in low:
                    print(f"{path}: {w.decode()}")
            if data[:8] != b"CUSTOSEG":
                continue
            for i, (off, comp) in enumerate(frames(data)):
                r = subprocess.run(["zstd", "-dc", "-q"], input=comp, capture_output=True)
                if r.returncode != 0:
                    print(f"{path} frame {i} at {off}: cannot decompress: {r.stderr.decode().strip()}",
                          file=sys.stderr)
                    bad = True
                    continue
                nframes += 1
                raw = r.stdout.lower()
                for w in words:
                    if w in raw:
                        print(f"{path} frame {i}: {w.decode()}")
    if nframes == 0:
        print("no segment frames found", file=sys.stderr)
        bad = True
    sys.exit(2 if bad else 0)


main()
