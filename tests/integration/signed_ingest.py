"""signed_ingest.py - POST /v1/ingest from sources registered with an
Ed25519 public key or an HMAC secret: the signature over the exact body is
required and verified, stored with every record (auth, signed flag), and
the body is kept as an evidence record against which the signature can be
checked offline; unsigned, wrongly signed and tampered requests are
refused, and a source without a key keeps working with its bearer token
only (records not flagged signed)."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402

try:
    from nacl.signing import SigningKey, VerifyKey
except ImportError:
    print("skipped: python3-nacl is not importable by %s" % sys.executable)
    sys.exit(0)

arch = Archive()
ed_tok = arch.add_token("ingest", "partner-hook", source="partner")
hm_tok = arch.add_token("ingest", "partner2-hook", source="partner2")
key = SigningKey.generate()

# The public key as a PEM file, made by openssl from the raw key: what an
# operator would be handed.
raw_pub = bytes(key.verify_key)
der = bytes.fromhex("302a300506032b6570032100") + raw_pub
pem_path = os.path.join(os.path.dirname(arch.dir), "partner.pub.pem")
with open(pem_path, "w") as f:
    f.write("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n")
p = subprocess.run(["openssl", "pkey", "-pubin", "-in", pem_path, "-noout"], capture_output=True, text=True)
check(p.returncode == 0, "test PEM is not valid: " + p.stderr)
run("source", "add", "-d", arch.dir, "partner", "--type", "generic", "--ed25519-key", pem_path)
_, secret, _ = run("source", "add", "-d", arch.dir, "partner2", "--type", "generic", "--hmac")
secret = secret.strip()
_, out, _ = run("source", "list", "-d", arch.dir, "--json")
listed = {json.loads(l)["name"]: json.loads(l) for l in out.splitlines()}
check(listed["partner"]["ed25519_public_key"] == raw_pub.hex(), "key read from PEM: %r" % listed)
check(listed["partner2"]["hmac_secret"] == "set" and secret not in out, "hmac listing")

srv = Server(arch)


def post(token, body, sig=None):
    c = Client(srv, token)
    h = {"Content-Type": "application/json"}
    if sig:
        h["X-Custos-Signature"] = sig
    st, _, data = c.request("POST", "/v1/ingest", body, headers=h)
    c.close()
    return st, json.loads(data)


def size():
    st, _, data = Client(srv).request("GET", "/healthz", token=None)
    return json.loads(data)["records"]


batch = [envelope(i, prefix="sig") for i in range(3)]
body = json.dumps(batch, ensure_ascii=False, indent=1)
sig = key.sign(body.encode()).signature
st, doc = post(ed_tok, body, "ed25519=" + base64.b64encode(sig).decode())
check(st == 200 and doc["accepted"] == 3, "signed request: %d %r" % (st, doc))
log = arch.log()
recs = [r for r in log if r.get("id", "").startswith("sig")]
ev = [r for r in log if r.get("id", "").startswith("body:")]
check(len(recs) == 3 and len(ev) == 1, "records %d, evidence %d" % (len(recs), len(ev)))
ev = ev[0]
sha = hashlib.sha256(body.encode()).hexdigest()
check(ev["id"] == "body:" + sha and ev["payload"] == body and ev["signed"] is True, "evidence %r" % ev)
for r in recs:
    a = r["auth"]
    check(r["signed"] is True and a["method"] == "ed25519" and a["key"] == raw_pub.hex() and
          a["body_sha256"] == sha and a["evidence"] == "body:" + sha and a["token"] == "partner-hook", "auth %r" % a)
    check(r["payload"] in ev["payload"], "record payload is not a slice of the signed body")
# Offline: the stored signature verifies over the stored body with the public key.
VerifyKey(bytes.fromhex(recs[0]["auth"]["key"])).verify(ev["payload"].encode(),
                                                       base64.b64decode(recs[0]["auth"]["signature"]))
print("Ed25519-signed request archived; signature verifies offline from the archive")

n = size()
st, doc = post(ed_tok, json.dumps([envelope(10, prefix="sig")]))
check(st == 401 and doc["error"]["code"] == "signature_required", "unsigned: %d %r" % (st, doc))
st, doc = post(ed_tok, body, "ed25519=" + base64.b64encode(bytes(64)).decode())
check(st == 401 and doc["error"]["code"] == "bad_signature", "wrong signature: %d %r" % (st, doc))
tampered = body.replace("message number 1", "message number 7")
st, _ = post(ed_tok, tampered, "ed25519=" + base64.b64encode(sig).decode())
check(st == 401, "tampered body: %d" % st)
st, doc = post(ed_tok, body, "ed25519=***")
check(st == 400, "malformed header: %d %r" % (st, doc))
st, doc = post(ed_tok, body, "rsa=abc")
check(st == 400, "unknown method: %d" % st)
check(size() == n, "refused requests archived something")

# HMAC source.
body2 = json.dumps([envelope(20, prefix="hm")])
mac = hmac.new(secret.encode(), body2.encode(), hashlib.sha256).hexdigest()
st, doc = post(hm_tok, body2, "hmac-sha256=" + mac)
check(st == 200 and doc["accepted"] == 1, "hmac: %d %r" % (st, doc))
r = [r for r in arch.log() if r.get("id") == "hm20"][0]
check(r["signed"] is True and r["auth"]["method"] == "hmac-sha256", "hmac auth %r" % r["auth"])
st, _ = post(hm_tok, body2, "hmac-sha256=" + "0" * 64)
check(st == 401, "wrong hmac: %d" % st)
st, _ = post(hm_tok, body2, "ed25519=" + base64.b64encode(sig).decode())
check(st == 401, "ed25519 for an HMAC source: %d" % st)

# The same signed body again: nothing new (messages and evidence are duplicates).
n = size()
st, doc = post(ed_tok, body, "ed25519=" + base64.b64encode(sig).decode())
check(st == 200 and doc["duplicates"] == 3 and size() == n, "replay: %d %r" % (st, doc))

# A source without a key: bearer only, not flagged signed; a signature it cannot back is refused.
st, doc = post(arch.tokens["ingest"], json.dumps([envelope(30, prefix="plain")]))
check(st == 200, "unsigned source: %d" % st)
r = [r for r in arch.log() if r.get("id") == "plain30"][0]
check(r["signed"] is False and r["auth"]["method"] == "bearer", "bearer record %r" % r)
st, doc = post(arch.tokens["ingest"], json.dumps([envelope(31, prefix="plain")]), "hmac-sha256=" + "0" * 64)
check(st == 401 and doc["error"]["code"] == "no_key", "signature without key: %d %r" % (st, doc))
srv.stop()
rc, out, err = run("verify", "-d", arch.dir, check_rc=False)
check(rc == 0, "verify: %s %s" % (out, err))
print("ok: signed generic ingest")
