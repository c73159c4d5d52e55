"""threema_gw.py - the Threema Gateway E2E callback against the real
daemon, with real NaCl boxes built by Debian's python3-nacl: text
decrypted and archived with the exact form as payload, redelivery
archived once, a wrong MAC refused, a sender without a known key archived
encrypted and flagged, file metadata, bad forms, and a SIGKILL right
after the 200 losing nothing."""

import hashlib
import hmac
import json
import os
import signal
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, run  # noqa: E402

try:
    from nacl.public import Box, PrivateKey
    from nacl.utils import random as nacl_random
except ImportError:
    print("skipped: python3-nacl is not importable by %s" % sys.executable)
    sys.exit(0)

SECRET = "Ab3dEf6hIj9kLm2n"   # the Gateway API secret
GATEWAY = "*AMTGW01"
gw = PrivateKey.generate()
citizen = PrivateKey.generate()
stranger = PrivateKey.generate()

arch = Archive()
run("source", "add", "-d", arch.dir, "threema", "--type", "threema", "--identity", GATEWAY,
    "--api-secret", SECRET, "--private-key", "private:" + bytes(gw).hex())
run("source", "peer-key", "-d", arch.dir, "threema", "ECHOECHO", "public:" + bytes(citizen.public_key).hex())
_, out, _ = run("source", "list", "-d", arch.dir, "--json")
listed = json.loads(out)
check(listed["identity"] == GATEWAY and listed["peer_keys"] == 1 and listed["api_secret"] == "set", "list %r" % listed)
check(SECRET not in out and bytes(gw).hex() not in out, "secrets printed by source list")
srv = Server(arch)
c = Client(srv)


def pad(data):
    n = 1 + nacl_random(1)[0] % 255
    return data + bytes([n]) * n


def form(sender_key, plain, sender="ECHOECHO", mid=None, mac=None, nickname=None, to=GATEWAY, secret=SECRET):
    nonce = nacl_random(24)
    box = Box(sender_key, gw.public_key).encrypt(pad(plain), nonce).ciphertext
    f = {"from": sender, "to": to, "messageId": mid or nacl_random(8).hex(), "date": "1714564800",
         "nonce": nonce.hex(), "box": box.hex()}
    f["mac"] = mac or hmac.new(secret.encode(), "".join(f[k] for k in ("from", "to", "messageId", "date", "nonce", "box"))
                               .encode(), hashlib.sha256).hexdigest()
    if nickname:
        f["nickname"] = nickname
    return urllib.parse.urlencode(f), f


def post(body, source="threema"):
    st, _, data = c.request("POST", "/v1/hooks/threema/" + source, body, token=None,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    return st, json.loads(data) if data else None


def size():
    _, _, data = c.request("GET", "/healthz", token=None)
    return json.loads(data)["records"]


def records():
    return {r["id"]: r for r in arch.log() if r.get("platform") == "threema"}


text = "Guten Tag, ich möchte meinen Antrag AZ 2024/117 nachreichen. 📎"
body, f = form(citizen, b"\x01" + text.encode(), nickname="Bürger Meier")
st, doc = post(body)
check(st == 200 and doc == {"accepted": 1, "duplicates": 0, "rejected": 0}, "text: %d %r" % (st, doc))
r = records()["ECHOECHO:" + f["messageId"]]
check(r["kind"] == "message" and r["body"] == text and r["encrypted"] is False and r["signed"] is True, "text %r" % r)
check(r["payload"] == body and r["payload_type"] == "application/x-www-form-urlencoded", "payload not exact")
check(r["sender"] == "ECHOECHO" and r["recipients"] == [GATEWAY] and r["conversation"] == GATEWAY + " ECHOECHO", "who")
check(r["ts"] == 1714564800000 and r["meta"]["nickname"] == "Bürger Meier" and r["meta"]["decrypted"] is True, "meta")
check(r["auth"] == {"method": "threema-mac", "source": "threema", "identity": GATEWAY, "mac": f["mac"]}, "auth")
print("text message decrypted and archived")

# The Gateway redelivers: archived once.
n = size()
st, doc = post(body)
check(st == 200 and doc == {"accepted": 0, "duplicates": 1, "rejected": 0} and size() == n, "redelivery: %d %r" % (st, doc))

# The sender's app makes the message id: a second, different message under
# the same id is no redelivery (issue 15, item 11). It is archived under
# "<id>#<hash>", noting the reused id; its own redelivery is a duplicate.
reuse, fr = form(citizen, b"\x01zweite Nachricht, alte Id", mid=f["messageId"])
n = size()
st, doc = post(reuse)
check(st == 200 and doc == {"accepted": 1, "duplicates": 0, "rejected": 0}, "reused id: %d %r" % (st, doc))
again = [r for r in records().values() if r["meta"].get("id_reused") == "ECHOECHO:" + f["messageId"]]
check(len(again) == 1 and again[0]["body"] == "zweite Nachricht, alte Id" and
      again[0]["id"].startswith("ECHOECHO:%s#" % f["messageId"]) and again[0]["auth"]["mac"] == fr["mac"],
      "reused id: %r" % again)
st, doc = post(reuse)
check(st == 200 and doc["duplicates"] == 1 and size() == n + 1, "redelivery under a reused id: %d %r" % (st, doc))
check(post(body)[1]["duplicates"] == 1, "the first message again")
n = size()

# A wrong MAC (or a changed field under the right one) is refused, nothing archived.
bad, _ = form(citizen, b"\x01forged", mac="00" * 32)
st, doc = post(bad)
check(st == 401 and doc["error"]["code"] == "unauthorized", "wrong MAC: %d %r" % (st, doc))
tampered = body.replace("date=1714564800", "date=1714564801")
st, _ = post(tampered)
check(st == 401, "changed date under the old MAC: %d" % st)
wrong_secret, _ = form(citizen, b"\x01x", secret="not-the-secret")
check(post(wrong_secret)[0] == 401, "MAC under another secret")
check(size() == n, "refused callbacks archived something")

# No key for the sender: archived encrypted and flagged, never dropped.
body2, f2 = form(stranger, b"\x01cannot be read", sender="UNKNOWN1")
st, doc = post(body2)
check(st == 200 and doc["accepted"] == 1, "unknown sender: %d %r" % (st, doc))
r = records()["UNKNOWN1:" + f2["messageId"]]
check(r["encrypted"] is True and "body" not in r and r["meta"]["decrypted"] is False and
      "no public key" in r["meta"]["decrypt_error"] and r["payload"] == body2, "undecryptable %r" % r)
# A known sender whose box does not open with the stored key (key changed): same.
body3, f3 = form(stranger, b"\x01other key")
check(post(body3)[0] == 200, "wrong key")
r = records()["ECHOECHO:" + f3["messageId"]]
check(r["encrypted"] is True and "does not open" in r["meta"]["decrypt_error"], "wrong key %r" % r["meta"])
print("undecryptable messages archived encrypted and flagged")

# A file message: metadata and caption.
desc = {"b": "00" * 16, "k": "11" * 32, "m": "application/pdf", "n": "Antrag.pdf", "s": 48213, "d": "Unterlagen", "j": 0}
body4, f4 = form(citizen, b"\x17" + json.dumps(desc).encode())
check(post(body4)[0] == 200, "file")
r = records()["ECHOECHO:" + f4["messageId"]]
check(r["kind"] == "attachment" and r["body"] == "Unterlagen" and r["meta"]["filename"] == "Antrag.pdf" and
      r["meta"]["mimetype"] == "application/pdf" and r["meta"]["size"] == 48213, "file %r" % r)

# Bad requests.
n = size()
check(post(body, source="nope")[0] == 401, "unknown source")
check(post("from=ECHOECHO&to=*AMTGW01")[0] == 400, "incomplete form")
check(post("")[0] == 400, "empty body")
check(size() == n, "bad requests archived something")

# Head-of-line and silent loss (issue 15, item 12): a callback that
# carries the Gateway's MAC is the Gateway's, whatever it holds. Refused,
# it would be retried and then dropped by the Gateway. So one custos
# cannot read as a message is archived as "rejected", with the reason.
other_gw, _ = form(citizen, b"\x01x", to="*OTHERGW")
nick_body, nick = form(citizen, b"\x01long nickname", nickname="N" * 300)
odd = {"from": "ECHOECHO", "to": GATEWAY, "messageId": "not-hex", "date": "yesterday", "nonce": "00",
       "box": "zz"}
odd["mac"] = hmac.new(SECRET.encode(), "".join(odd[k] for k in ("from", "to", "messageId", "date", "nonce", "box"))
                      .encode(), hashlib.sha256).hexdigest()
odd_body = urllib.parse.urlencode(odd)
for what, b in (("another gateway identity", other_gw), ("a 300-byte nickname", nick_body),
                ("fields in the wrong format", odd_body)):
    st, doc = post(b)
    check(st == 200 and doc == {"accepted": 1, "duplicates": 0, "rejected": 1}, "%s: %d %r" % (what, st, doc))
    rej = [r for r in records().values() if r["kind"] == "rejected" and r["payload"] == b]
    check(len(rej) == 1 and rej[0]["signed"] is True and rej[0]["auth"]["method"] == "threema-mac" and
          rej[0]["meta"]["rejected"] == "threema callback" and rej[0]["meta"]["reason"], "%s: %r" % (what, rej))
    check(post(b)[1]["duplicates"] == 1, "%s: redelivery archived again" % what)
# ... and the next message is archived as usual.
body6, f6 = form(citizen, b"\x01danach")
check(post(body6)[0] == 200 and records()["ECHOECHO:" + f6["messageId"]]["body"] == "danach", "next message")
# Without the Gateway's MAC the same bytes are refused: unauthenticated
# bytes never enter the archive.
n = size()
odd["mac"] = "00" * 32
check(post(urllib.parse.urlencode(odd))[0] == 400, "malformed form without a valid MAC")
check(post(other_gw.replace("to=%2AOTHERGW", "to=%2AOTHERGX"))[0] == 401, "other identity, MAC broken")
check(size() == n, "unauthenticated callbacks archived something")
print("Gateway-authenticated callbacks custos cannot read archived as rejected; unauthenticated ones refused")

# Durable before 200: SIGKILL right after the answer.
body5, f5 = form(citizen, b"\x01letzte Nachricht")
check(post(body5)[0] == 200, "last")
srv.proc.send_signal(signal.SIGKILL)
srv.proc.wait()
srv.logf.close()
check("ECHOECHO:" + f5["messageId"] in records(), "message answered 200 lost by SIGKILL")
rc, out, err = run("verify", "-d", arch.dir, check_rc=False)
check(rc == 0, "verify: %s %s" % (out, err))
print("ok: Threema callbacks archived, refused and deduplicated as documented")
