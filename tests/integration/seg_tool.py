#!/usr/bin/env python3
"""Segment surgery for corruption tests (reads the format in docs/FORMAT.md).

  seg_tool.py frames SEGFILE            -> "offset length first_seq count" per frame
  seg_tool.py flip SEGFILE OFFSET       -> xor one byte with 0x01
  seg_tool.py remove SEGFILE INDEX      -> cut frame INDEX out of the file
  seg_tool.py swap SEGFILE I J          -> exchange frames I and J (I < J)
"""
import struct
import sys

HDR, FHDR, SEAL = 120, 48, 264


def frames(data):
    off, out = HDR, []
    while off + 8 <= len(data) and data[off:off + 4] == b"CUFR":
        comp_len, raw_len, first, count = struct.unpack(">IIQI", data[off + 8:off + 28])
        out.append((off, FHDR + comp_len, first, count))
        off += FHDR + comp_len
    return out


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    data = bytearray(open(path, "rb").read())
    fr = frames(data)
    if cmd == "frames":
        for f in fr:
            print(*f)
        return
    if cmd == "flip":
        off = int(sys.argv[3])
        data[off] ^= 0x01
    elif cmd == "remove":
        off, length, _, _ = fr[int(sys.argv[3])]
        del data[off:off + length]
    elif cmd == "swap":
        i, j = int(sys.argv[3]), int(sys.argv[4])
        a, b = fr[i], fr[j]
        pa = bytes(data[a[0]:a[0] + a[1]])
        pb = bytes(data[b[0]:b[0] + b[1]])
        mid = bytes(data[a[0] + a[1]:b[0]])
        data[a[0]:b[0] + b[1]] = pb + mid + pa
    else:
        sys.exit("unknown command")
    open(path, "wb").write(data)


main()
