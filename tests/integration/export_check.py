#!/usr/bin/env python3
"""export_check.py - independent checks of custos export packages, written
against the format specifications rather than custos's code, and the
tampering used by test_export.sh.

  export_check.py rsmf PKG SCHEMA      RSMF 2.0.0: RFC 5322 files, X-RSMF-*
                                       headers, one rsmf.zip attachment, the
                                       manifest valid against the official
                                       JSON schema (draft-07), references
  export_check.py bagit PKG            BagIt 1.0 (RFC 8493) rules
  export_check.py dat PKG              Concordance DAT load file
  export_check.py edrm PKG             EDRM XML 1.2 load file
  export_check.py tamper PKG OUT OP [ARGS]   writes a changed copy

PKG is a zip or tar package. Each check prints one JSON summary line and
exits 1 with a message on the first violation.
"""
import base64
import email
import email.policy
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def read_package(path):
    """Returns (base directory, {relative path: bytes}, 'zip' or 'tar')."""
    files = {}
    if zipfile.is_zipfile(path):
        kind = "zip"
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                files[info.filename] = z.read(info)
    else:
        kind = "tar"
        with tarfile.open(path) as t:
            for m in t.getmembers():
                if m.isfile():
                    files[m.name] = t.extractfile(m).read()
    bases = {n.split("/", 1)[0] for n in files}
    if len(bases) != 1:
        fail("package has %d top directories" % len(bases))
    base = bases.pop()
    return base, {n.split("/", 1)[1]: d for n, d in files.items()}, kind


def write_package(path, base, files, kind):
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(base + "/" + name, data)
    else:
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
            for name, data in files.items():
                info = tarfile.TarInfo(base + "/" + name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))


def proofs(files):
    """The inclusion documents by seq, from proof/inclusion.jsonl."""
    name = "data/proof/inclusion.jsonl" if "bagit.txt" in files else "proof/inclusion.jsonl"
    out = {}
    for line in files[name].decode().splitlines():
        d = json.loads(line)
        out[d["seq"]] = d
    return out


# ---- RSMF ----

def check_rsmf(pkg, schema_path):
    import jsonschema  # Debian: python3-jsonschema

    schema = json.load(open(schema_path))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    base, files, _ = read_package(pkg)
    prf = proofs(files)
    rsmf = sorted(n for n in files if n.endswith(".rsmf"))
    if not rsmf:
        fail("no .rsmf files")
    stats = {"files": len(rsmf), "events": 0, "edits": 0, "deleted": 0, "reactions": 0,
             "parents": 0, "seqs": 0}
    collections = {}
    seen_seqs = set()
    for name in rsmf:
        raw = files[name]
        if b"\r\n" not in raw or re.search(rb"[^\r]\n", raw):
            fail("%s: lines must end in CRLF" % name)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if msg["X-RSMF-Version"] != "2.0.0":
            fail("%s: X-RSMF-Version is %r" % (name, msg["X-RSMF-Version"]))
        for h in ("X-RSMF-Generator", "X-RSMF-BeginDate", "X-RSMF-EndDate", "X-RSMF-EventCount",
                  "X-RSMF-EventCollectionID", "From", "Date", "MIME-Version"):
            if msg[h] is None:
                fail("%s: no %s header" % (name, h))
        if not msg.is_multipart():
            fail("%s: not multipart" % name)
        atts = [p for p in msg.iter_attachments()]
        if len(atts) != 1 or atts[0].get_filename() != "rsmf.zip":
            fail("%s: must have exactly one attachment rsmf.zip, has %r"
                 % (name, [a.get_filename() for a in atts]))
        z = zipfile.ZipFile(io.BytesIO(atts[0].get_payload(decode=True)))
        if z.namelist() != ["rsmf_manifest.json"]:
            fail("%s: rsmf.zip holds %r" % (name, z.namelist()))
        man = json.loads(z.read("rsmf_manifest.json"))
        errors = sorted(validator.iter_errors(man), key=lambda e: list(e.path))
        if errors:
            fail("%s: manifest invalid: %s at %s" % (name, errors[0].message, list(errors[0].path)))
        events = man["events"]
        if len(events) > 10000:
            fail("%s: %d events (more than 10,000)" % (name, len(events)))
        if int(msg["X-RSMF-EventCount"]) != len(events):
            fail("%s: X-RSMF-EventCount %s but %d events" % (name, msg["X-RSMF-EventCount"], len(events)))
        if msg["X-RSMF-EventCollectionID"] != man.get("eventcollectionid"):
            fail("%s: header and manifest event collection ids differ" % name)
        pids = {p["id"] for p in man["participants"]}
        convs = {c["id"]: c for c in man["conversations"]}
        for c in man["conversations"]:
            for p in c["participants"]:
                if p not in pids:
                    fail("%s: conversation participant %s undefined" % (name, p))
        coll = collections.setdefault(man["eventcollectionid"], {"ids": set(), "parents": [],
                                                                 "conv": set(convs)})
        if coll["conv"] != set(convs):
            fail("%s: one event collection spans several conversations" % name)
        for ev in events:
            if ev.get("participant") not in pids:
                fail("%s: event participant %r undefined" % (name, ev.get("participant")))
            if ev.get("conversation") not in convs:
                fail("%s: event conversation %r undefined" % (name, ev.get("conversation")))
            for e in ev.get("edits", []):
                if e["participant"] not in pids:
                    fail("%s: edit participant undefined" % name)
            for r in ev.get("reactions", []):
                for p in r.get("participants", []):
                    if p not in pids:
                        fail("%s: reaction participant undefined" % name)
            if ev["id"] in coll["ids"]:
                fail("%s: event id %s twice in a conversation" % (name, ev["id"]))
            coll["ids"].add(ev["id"])
            if "parent" in ev:
                coll["parents"].append(ev["parent"])
            custom = {}
            for c in ev.get("custom", []):
                custom.setdefault(c["name"], []).append(c["value"])
            seq = int(custom["custos.seq"][0])
            if prf[seq]["leaf_hash"] != custom["custos.leaf_hash"][0]:
                fail("%s: event %s leaf hash is not its proof's" % (name, ev["id"]))
            seen_seqs.add(seq)
            for k in ("custos.edit", "custos.redaction", "custos.reaction"):
                for v in custom.get(k, []):
                    s2, leaf = int(v.split()[1]), v.split()[3]
                    if prf[s2]["leaf_hash"] != leaf:
                        fail("%s: folded record %d leaf hash is not its proof's" % (name, s2))
                    seen_seqs.add(s2)
            stats["events"] += 1
            stats["edits"] += len(ev.get("edits", []))
            stats["deleted"] += 1 if ev.get("deleted") else 0
            stats["reactions"] += sum(r.get("count", 0) for r in ev.get("reactions", []))
            stats["parents"] += 1 if "parent" in ev else 0
    for cid, coll in collections.items():
        for p in coll["parents"]:
            if p not in coll["ids"]:
                fail("collection %s: parent %s is no event of the conversation" % (cid, p))
    if seen_seqs != set(prf):
        fail("RSMF events cover %d records, the proofs %d" % (len(seen_seqs), len(prf)))
    stats["seqs"] = len(seen_seqs)
    stats["collections"] = len(collections)
    print(json.dumps(stats))


# ---- BagIt (RFC 8493) ----

def parse_manifest(name, text, algo):
    entries = {}
    dlen = {"sha256": 64, "sha512": 128}[algo]
    for i, line in enumerate(text.split("\n")[:-1], 1):
        m = re.fullmatch(r"([0-9a-fA-F]{%d})[ \t]+(\S.*)" % dlen, line)
        if not m:
            fail("%s line %d malformed" % (name, i))
        path = m.group(2)
        if "%" in path.replace("%0A", "").replace("%0D", "").replace("%25", ""):
            fail("%s: bad percent-encoding" % name)
        path = path.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        if path in entries:
            fail("%s lists %s twice" % (name, path))
        entries[path] = m.group(1).lower()
    if text and not text.endswith("\n"):
        fail("%s does not end with a newline" % name)
    return entries


def check_bagit(pkg):
    base, files, kind = read_package(pkg)
    if files.get("bagit.txt") != b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n":
        fail("bagit.txt is not the BagIt 1.0 declaration: %r" % files.get("bagit.txt"))
    payload = {n for n in files if n.startswith("data/")}
    if not payload:
        fail("no payload under data/")
    for algo in ("sha256", "sha512"):
        name = "manifest-%s.txt" % algo
        if name not in files:
            fail("no %s" % name)
        entries = parse_manifest(name, files[name].decode("utf-8"), algo)
        if set(entries) != payload:
            fail("%s does not list exactly the payload (missing %s, extra %s)"
                 % (name, sorted(payload - set(entries))[:3], sorted(set(entries) - payload)[:3]))
        for p, d in entries.items():
            if hashlib.new(algo, files[p]).hexdigest() != d:
                fail("%s: %s digest mismatch" % (name, p))
    tags = parse_manifest("tagmanifest-sha256.txt", files["tagmanifest-sha256.txt"].decode(), "sha256")
    for p, d in tags.items():
        if p.startswith("data/") or p.startswith("tagmanifest-"):
            fail("tagmanifest lists %s" % p)
        if p not in files or hashlib.sha256(files[p]).hexdigest() != d:
            fail("tagmanifest: %s missing or digest mismatch" % p)
    for n in files:
        if not n.startswith("data/") and not n.startswith("tagmanifest-") and n not in tags:
            fail("tag file %s is not in the tag manifest" % n)
    # bag-info.txt: "Label: value", continuation lines indented.
    info = {}
    last = None
    for line in files["bag-info.txt"].decode("utf-8").split("\n")[:-1]:
        if line[:1] in (" ", "\t"):
            if last is None:
                fail("bag-info.txt starts with a continuation line")
            info[last][-1] += " " + line.strip()
            continue
        m = re.fullmatch(r"([^:\s][^:]*): (.*)", line)
        if not m:
            fail("bag-info.txt line malformed: %r" % line)
        last = m.group(1)
        info.setdefault(last, []).append(m.group(2))
    oxum = info.get("Payload-Oxum", [""])[0]
    want = "%d.%d" % (sum(len(files[p]) for p in payload), len(payload))
    if oxum != want:
        fail("Payload-Oxum %s, payload is %s" % (oxum, want))
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", info.get("Bagging-Date", [""])[0]):
        fail("Bagging-Date is not YYYY-MM-DD")
    for label in ("Source-Organization", "External-Description"):
        if label not in info:
            fail("bag-info.txt has no %s" % label)
    for line in files["bag-info.txt"].decode().split("\n"):
        if len(line) > 79 and " " in line.strip():
            fail("bag-info.txt line longer than 79 characters could be folded: %r" % line)
    recs = [json.loads(l) for l in files["data/records.jsonl"].decode().splitlines()]
    prf = proofs(files)
    if [r["seq"] for r in recs] != sorted(prf):
        fail("records.jsonl and the proofs hold different records")
    for r in recs:
        if r["leaf_hash"] != prf[r["seq"]]["leaf_hash"]:
            fail("record %d: leaf hash differs from its proof" % r["seq"])
    html = [n for n in payload if n.startswith("data/transcripts/") and n.endswith(".html")]
    print(json.dumps({"container": kind, "payload_files": len(payload), "oxum": oxum,
                      "records": len(recs), "transcripts": len(html),
                      "description": info["External-Description"][0]}))


# ---- DAT and EDRM ----

def check_dat(pkg):
    base, files, _ = read_package(pkg)
    raw = files["loadfile.dat"]
    if not raw.startswith(b"\xef\xbb\xbf"):
        fail("loadfile.dat has no UTF-8 BOM")
    text = raw[3:].decode("utf-8")
    if not text.endswith("\r\n"):
        fail("loadfile.dat does not end with CRLF")
    rows = text[:-2].split("\r\n")
    q, sep = "\u00fe", "\x14"

    def fields(row, n):
        parts = row.split(sep)
        for p in parts:
            if len(p) < 2 or p[0] != q or p[-1] != q or q in p[1:-1]:
                fail("row %d: field %r is not þ-qualified" % (n, p))
            if "\n" in p or "\r" in p:
                fail("row %d: raw newline in a field" % n)
        return [p[1:-1] for p in parts]

    head = fields(rows[0], 0)
    for want in ("CONTROL_NUMBER", "CUSTODIAN", "DATE_SENT", "FROM", "TO", "CONVERSATION", "HASH",
                 "TEXT_PATH"):
        if want not in head:
            fail("no %s column" % want)
    prf = proofs(files)
    seqs = sorted(prf)
    ctl = []
    for i, row in enumerate(rows[1:], 1):
        f = dict(zip(head, fields(row, i)))
        if len(f) != len(head):
            fail("row %d has %d fields" % (i, len(f)))
        path = f["TEXT_PATH"].replace("\\", "/")
        if path not in files:
            fail("row %d: text file %s missing" % (i, path))
        files[path].decode("utf-8")
        if int(f["ARCHIVE_SEQ"]) != seqs[i - 1] or f["HASH"] != prf[seqs[i - 1]]["leaf_hash"]:
            fail("row %d: seq/hash do not match proof line %d" % (i, i))
        if not re.fullmatch(r"\d{2}/\d{2}/\d{4}", f["DATE_SENT"]):
            fail("row %d: DATE_SENT %r" % (i, f["DATE_SENT"]))
        ctl.append(f["CONTROL_NUMBER"])
    if len(set(ctl)) != len(ctl) or len(ctl) != len(prf):
        fail("control numbers not unique or not one per record")
    print(json.dumps({"rows": len(ctl), "columns": len(head), "first": ctl[0], "last": ctl[-1]}))


def check_edrm(pkg):
    base, files, _ = read_package(pkg)
    root = ET.fromstring(files["edrm.xml"])
    if root.tag != "Root" or root.get("MajorVersion") != "1" or root.get("MinorVersion") != "2":
        fail("not an EDRM XML 1.2 Root")
    docs = root.findall("./Batch/Documents/Document")
    prf = proofs(files)
    seqs = sorted(prf)
    ids = set()
    for i, d in enumerate(docs):
        ids.add(d.get("DocID"))
        ext = d.find("./Files/File/ExternalFile")
        path = ext.get("FilePath") + "/" + ext.get("FileName")
        if path not in files or len(files[path]) != int(ext.get("FileSize")):
            fail("document %s: text file %s missing or of another size" % (d.get("DocID"), path))
        tags = {t.get("TagName"): t.get("TagValue") for t in d.findall("./Tags/Tag")}
        if int(tags["Custos.ArchiveSeq"]) != seqs[i] or tags["Custos.LeafHash"] != prf[seqs[i]]["leaf_hash"]:
            fail("document %s: seq/hash do not match its proof" % d.get("DocID"))
        if "#DateSent" not in tags or "#From" not in tags:
            fail("document %s lacks #DateSent or #From" % d.get("DocID"))
    rels = root.findall("./Batch/Relationships/Relationship")
    for r in rels:
        if r.get("ParentDocID") not in ids or r.get("ChildDocID") not in ids:
            fail("relationship to an unknown document")
    if len(ids) != len(docs) or len(docs) != len(prf):
        fail("documents not unique or not one per record")
    print(json.dumps({"documents": len(docs), "relationships": len(rels)}))


# ---- tampering ----

def fix_manifests(files):
    if "bagit.txt" in files:
        for algo in ("sha256", "sha512"):
            files["manifest-%s.txt" % algo] = "".join(
                "%s  %s\n" % (hashlib.new(algo, files[n]).hexdigest(), n)
                for n in sorted(files) if n.startswith("data/")).encode()
        files["tagmanifest-sha256.txt"] = "".join(
            "%s  %s\n" % (hashlib.sha256(files[n]).hexdigest(), n)
            for n in sorted(files) if not n.startswith("data/") and not n.startswith("tagmanifest-")).encode()
    else:
        files["SHA256SUMS"] = "".join("%s  %s\n" % (hashlib.sha256(files[n]).hexdigest(), n)
                                      for n in sorted(files) if n != "SHA256SUMS").encode()


def flip_middle(data):
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:]


def tamper(pkg, out, op, args):
    base, files, kind = read_package(pkg)
    if op in ("flip", "flip-fix"):
        files[args[0]] = flip_middle(files[args[0]]) if files[args[0]] else b"x"
    elif op in ("remove", "remove-fix"):
        del files[args[0]]
    elif op in ("add", "add-fix"):
        files[args[0]] = b"an added file\n"
    elif op == "swap-proof":
        # args: line number (1-based), file with another record's proof
        name = "data/proof/inclusion.jsonl" if "bagit.txt" in files else "proof/inclusion.jsonl"
        lines = files[name].decode().splitlines()
        lines[int(args[0]) - 1] = json.dumps(json.load(open(args[1])), separators=(",", ":"))
        lines.sort(key=lambda l: json.loads(l)["seq"])
        files[name] = ("\n".join(lines) + "\n").encode()
        op = "x-fix"
    elif op == "swap-record":
        # BagIt: a records.jsonl line replaced by another record's JSON (args[1]).
        lines = files["data/records.jsonl"].decode().splitlines()
        lines[int(args[0]) - 1] = json.dumps(json.load(open(args[1])), separators=(",", ":"))
        files["data/records.jsonl"] = ("\n".join(lines) + "\n").encode()
        op = "x-fix"
    elif op == "rsmf-body":
        # Changes a word inside the manifest in an .rsmf's rsmf.zip and
        # re-encodes the attachment: a consistent-looking forgery.
        name = sorted(n for n in files if n.endswith(".rsmf"))[0]
        text = files[name].decode("ascii")
        head, rest = text.split('filename="rsmf.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n', 1)
        b64, tail = rest.split("\r\n\r\n--", 1)
        z = base64.b64decode(b64.replace("\r\n", ""))
        i = z.index(b'"body":"') + 8
        z = z[:i] + bytes([z[i] ^ 0x01]) + z[i + 1:]
        enc = base64.b64encode(z).decode()
        enc = "\r\n".join(enc[j:j + 76] for j in range(0, len(enc), 76))
        files[name] = (head + 'filename="rsmf.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                       + enc + "\r\n\r\n--" + tail).encode("ascii")
        op = "x-fix"
    elif op == "rename-base":
        base = base + "-renamed"
    else:
        fail("unknown tamper op " + op)
    if op.endswith("-fix"):
        fix_manifests(files)
    write_package(out, base, files, kind)


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    cmd = sys.argv[1]
    if cmd == "rsmf":
        check_rsmf(sys.argv[2], sys.argv[3])
    elif cmd == "bagit":
        check_bagit(sys.argv[2])
    elif cmd == "dat":
        check_dat(sys.argv[2])
    elif cmd == "edrm":
        check_edrm(sys.argv[2])
    elif cmd == "tamper":
        tamper(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
