"""api_roles.py - every endpoint against every role, a revoked/unknown token
and no token: the right status (401 without a valid token, 403 for a role
the route does not allow), and exactly one durable audit record for every
request by a person (officer, auditor, admin) on every route, public ones
and the hooks included, none for ingest tokens or anonymous callers."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import ROLES, Archive, Client, Server, check, envelope, run  # noqa: E402

# method, path as requested, route name (metrics label), roles allowed
# (None = public), body, the route's pattern.
MATRIX = [
    ("GET", "/healthz", "healthz", None, None, "/healthz"),
    ("GET", "/metrics", "metrics", {"admin", "auditor"}, None, "/metrics"),
    ("POST", "/v1/ingest", "ingest", {"ingest"}, "ENVELOPE", "/v1/ingest"),
    ("GET", "/v1/search?q=hallo", "search", {"officer"}, None, "/v1/search"),
    ("GET", "/v1/records/0", "record", {"officer"}, None, "/v1/records/{seq}"),
    ("GET", "/v1/conversations/!room:example.org/messages?around=0", "context", {"officer"}, None,
     "/v1/conversations/{id}/messages"),
    ("GET", "/v1/checkpoint", "checkpoint", {"auditor", "officer"}, None, "/v1/checkpoint"),
    ("GET", "/v1/proof/consistency?from=1", "consistency", {"auditor", "officer"}, None, "/v1/proof/consistency"),
    ("GET", "/v1/audit?limit=1", "audit", {"auditor"}, None, "/v1/audit"),
    ("POST", "/v1/verify", "verify", {"auditor"}, "", "/v1/verify"),
    ("GET", "/v1/verify/1", "verify_job", {"auditor"}, None, "/v1/verify/{job}"),
    ("POST", "/v1/exports", "export_start", {"officer"}, "", "/v1/exports"),
    ("GET", "/v1/exports/1", "export_job", {"officer"}, None, "/v1/exports/{job}"),
    ("GET", "/v1/exports/1/file", "export_file", {"officer"}, None, "/v1/exports/{job}/file"),
    ("GET", "/v1/tokens", "tokens", {"admin"}, None, "/v1/tokens"),
    ("POST", "/v1/tokens", "token_add", {"admin"}, "TOKEN", "/v1/tokens"),
    ("DELETE", "/v1/tokens/nobody", "token_revoke", {"admin"}, None, "/v1/tokens/{name}"),
    # retention: bodies and ids that change nothing (400/404 or an empty dry run)
    ("GET", "/v1/holds", "holds", {"officer"}, None, "/v1/holds"),
    ("POST", "/v1/holds", "hold_add", {"officer"}, "", "/v1/holds"),
    ("GET", "/v1/holds/1", "hold", {"officer"}, None, "/v1/holds/{id}"),
    ("POST", "/v1/holds/1/release", "hold_release", {"officer"}, "", "/v1/holds/{id}/release"),
    ("GET", "/v1/policies", "policies", {"admin"}, None, "/v1/policies"),
    ("POST", "/v1/policies", "policy_add", {"admin"}, "", "/v1/policies"),
    ("POST", "/v1/policies/nobody/retire", "policy_retire", {"admin"}, None, "/v1/policies/{name}/retire"),
    ("GET", "/v1/classes", "classes", {"admin"}, None, "/v1/classes"),
    ("PUT", "/v1/classes", "class_set", {"admin"}, "", "/v1/classes"),
    ("GET", "/v1/dispositions", "plans", {"officer"}, None, "/v1/dispositions"),
    ("POST", "/v1/dispositions", "plan", {"officer"}, {"dry_run": True}, "/v1/dispositions"),
    ("POST", "/v1/dispositions/1/approve", "plan_approve", {"officer"}, None, "/v1/dispositions/{id}/approve"),
    ("POST", "/v1/dispositions/1/reject", "plan_reject", {"officer"}, "", "/v1/dispositions/{id}/reject"),
    ("POST", "/v1/dispositions/1/execute", "plan_execute", {"officer"}, None, "/v1/dispositions/{id}/execute"),
    ("POST", "/v1/erasures", "erasure", {"officer"}, "", "/v1/erasures"),
    ("GET", "/v1/certificates", "certificates", {"auditor", "officer"}, None, "/v1/certificates"),
    ("GET", "/v1/certificates/1", "certificate", {"auditor", "officer"}, None, "/v1/certificates/{id}"),
    ("GET", "/v1/offers", "offers", {"officer"}, None, "/v1/offers"),
    ("POST", "/v1/offers/1/answer", "offer_answer", {"officer"}, "", "/v1/offers/{id}/answer"),
]

# The messenger hooks authenticate their callers themselves (hs_token,
# HMAC, Gateway MAC against sources.json, docs/INTEGRATIONS.md): no custos
# token of any role opens them and nothing is stored; a person's token is
# audited there as everywhere.
HOOKS = [
    ("PUT", "/_matrix/app/v1/transactions/1", {"events": []}, "/_matrix/app/v1/transactions/{txn}"),
    ("PUT", "/transactions/1", {"events": []}, "/transactions/{txn}"),
    ("POST", "/_matrix/app/v1/ping", {}, "/_matrix/app/v1/ping"),
    ("GET", "/users/@a:example.org", None, "/users/{user}"),
    ("GET", "/rooms/%23a:example.org", None, "/rooms/{alias}"),
    ("GET", "/_matrix/app/v1/thirdparty/protocol/x", None, "/_matrix/{path}"),
    ("PUT", "/_matrix/x", "", "/_matrix/{path}"),
    ("POST", "/_matrix/x", "", "/_matrix/{path}"),
    ("DELETE", "/_matrix/x", None, "/_matrix/{path}"),
    ("POST", "/v1/hooks/xmpp/src1", "<message/>", "/v1/hooks/xmpp/{source}"),
    # a well-formed form (a malformed one is 400 whatever the source)
    ("POST", "/v1/hooks/threema/src1", "from=ECHOECHO&to=%2AAMTGW01&messageId=0011223344556677&date=1714564800"
     "&nonce=" + "00" * 24 + "&box=" + "00" * 48 + "&mac=" + "0" * 64, "/v1/hooks/threema/{source}"),
]

arch = Archive()
revoked = arch.add_token("officer", "gone")
run("token", "revoke", "-d", arch.dir, "gone")
srv = Server(arch)
anon = Client(srv)
clients = {role: Client(srv, tok) for role, tok in arch.tokens.items()}
clients["none"] = anon
clients["unknown"] = Client(srv, "cst_" + "x" * 43)
clients["revoked"] = Client(srv, revoked)
clients["ingest"].json("POST", "/v1/ingest", [envelope(i) for i in range(3)], expect=200)

# The routing table is what this test covers, route by route.
_, out, _ = run("serve", "--list-routes")
listed = {(l.split()[0], l.split()[1]) for l in out.splitlines()}
covered = {(m[0], m[5]) for m in MATRIX} | {(h[0], h[3]) for h in HOOKS}
check(listed == covered, "routes not covered by this test: %r; covered but gone: %r" %
      (sorted(listed - covered), sorted(covered - listed)))


def size():
    _, doc = anon.json("GET", "/healthz", expect=200)
    return doc["records"]


n = 0
for method, path, route, allowed, body, _ in MATRIX:
    for who in list(ROLES) + ["none", "unknown", "revoked"]:
        c = clients[who]
        b = body
        if body == "ENVELOPE":
            b = [envelope(1000 + n)]
        elif body == "TOKEN":
            b = {"name": "t%d" % n, "role": "auditor"}
        n += 1
        before = size()
        st, hdrs, data = c.request(method, path, b)
        after = size()
        label = "%s %s as %s" % (method, path, who)
        doc = json.loads(data) if data and hdrs.get("content-type", "").startswith("application/json") else None
        if allowed is None:
            check(st == 200, "%s: %d" % (label, st))
        elif who in ("none", "unknown", "revoked"):
            check(st == 401 and doc["error"]["code"] == "unauthorized", "%s: expected 401, got %d" % (label, st))
        elif who in allowed:
            check(st not in (401, 403) and st < 500 or (route == "search" and st == 503),
                  "%s: allowed but got %d %r" % (label, st, data[:200]))
        else:
            check(st == 403 and doc["error"]["code"] == "forbidden", "%s: expected 403, got %d" % (label, st))
        # Audit: one record per request by a person, before the reply,
        # whatever the route and the answer (public routes included)
        person = who in ("admin", "officer", "auditor")
        ingested = 1 if (route == "ingest" and st == 200) else 0
        check(after - before == ingested + (1 if person else 0),
              "%s: archive grew by %d, expected %d" % (label, after - before, ingested + person))
        if person:
            # the listing is made before its own audit record: the newest
            # record it shows is ours
            _, adoc = clients["auditor"].json("GET", "/v1/audit?limit=1", expect=200)
            rec = adoc["records"][0]
            m = rec["meta"]
            check(rec["sender"] == who + "1" and m["who"] == who + "1" and m["role"] == who and
                  m["route"] == route and m["status"] == st and m["method"] == method and
                  m["path"] == path.split("?")[0], "%s: audit meta %r" % (label, m))

for method, path, body, _ in HOOKS:
    for who in list(ROLES) + ["none", "unknown", "revoked"]:
        before = size()
        st, hdrs, data = clients[who].request(method, path, body)
        check(st in (401, 403, 404), "%s %s as %s: hook answered %d %r" % (method, path, who, st, data[:200]))
        # nothing is stored; a person's token still gets the request audited
        grew = 1 if who in ("admin", "officer", "auditor") else 0
        check(size() == before + grew, "%s %s as %s: the archive grew by %d, expected %d" %
              (method, path, who, size() - before, grew))
        n += 1

# A verify job may still run: let it end before stopping.
deadline = time.time() + 20
while time.time() < deadline:
    st, doc = clients["auditor"].json("GET", "/v1/verify/1")
    if st != 200 or doc["state"] != "running":
        break
    time.sleep(0.1)
check(srv.stop() == 0, "serve did not stop cleanly")
run("verify", "-d", arch.dir)
print("ok: %d requests" % n)
