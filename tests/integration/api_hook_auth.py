"""api_hook_auth.py - a hook's 401 tells an unauthenticated caller
nothing about which sources exist: an unknown source name, a source of
another type and a registered source with a wrong or missing MAC get the
same status and the same body, which never names the source; a malformed
Threema form is 400 whether the source exists or not."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, run  # noqa: E402

arch = Archive()
run("source", "add", "-d", arch.dir, "prosody", "--type", "xmpp")
run("source", "add", "-d", arch.dir, "gw", "--type", "threema", "--identity", "*AMTGW01",
    "--api-secret", "Ab3dEf6hIj9kLm2n", "--private-key", "private:" + "11" * 32)
srv = Server(arch)
c = Client(srv)
NAMES = ("prosody", "gw", "nosuchsource")


def answers(kind, body, headers):
    """{source name: (status, body)} for one request to every source name."""
    out = {}
    for name in NAMES:
        st, _, data = c.request("POST", "/v1/hooks/%s/%s" % (kind, name), body, token=None, headers=headers)
        out[name] = (st, data)
        for n in NAMES:
            check(n.encode() not in data, "%s hook %s: the answer names a source: %r" % (kind, name, data))
    return out


def same(kind, what, got, status):
    first = got[NAMES[0]]
    check(first[0] == status, "%s hook, %s: %d %r" % (kind, what, first[0], first[1]))
    for name in NAMES[1:]:
        check(got[name] == first, "%s hook, %s: source %s answers %r, source %s %r"
              % (kind, what, NAMES[0], first, name, got[name]))


xml = "<message/>"
same("xmpp", "wrong HMAC", answers("xmpp", xml, {"X-Custos-Signature": "hmac-sha256=" + "0" * 64}), 401)
same("xmpp", "no signature", answers("xmpp", xml, {}), 401)
same("xmpp", "malformed HMAC", answers("xmpp", xml, {"X-Custos-Signature": "hmac-sha256=zz"}), 401)

form = {"Content-Type": "application/x-www-form-urlencoded"}
good_form = ("from=ECHOECHO&to=%2AAMTGW01&messageId=0011223344556677&date=1714564800&nonce=" + "00" * 24 +
             "&box=" + "00" * 48 + "&mac=" + "0" * 64)
same("threema", "wrong MAC", answers("threema", good_form, form), 401)
same("threema", "malformed form", answers("threema", "from=x", form), 400)

check(srv.stop() == 0, "serve did not stop cleanly")
print("ok: hooks answer alike for every source name")
