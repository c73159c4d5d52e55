"""api_openapi.py - docs/openapi.json against the server: the documented
operations are exactly the routing table (`custos serve --list-routes`),
with the same roles; every operation's path parameters are declared; and
the running server answers each documented operation, called with a token
of an allowed role, with a status the document lists for it, and unknown
methods on documented paths with 405."""

import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope, run  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "..", "docs", "openapi.json")) as f:
    doc = json.load(f)
check(doc["openapi"].startswith("3."), "not an OpenAPI 3 document")

documented = {}
for path, item in doc["paths"].items():
    params = set(re.findall(r"{(\w+)}", path))
    for method, o in item.items():
        if method not in ("get", "post", "put", "delete", "patch"):
            continue
        declared = {p["name"] for p in o.get("parameters", []) if p["in"] == "path"}
        check(declared == params, "%s %s: path parameters %r vs %r" % (method, path, declared, params))
        check("x-roles" in o and "responses" in o and "operationId" in o, "%s %s lacks fields" % (method, path))
        for code, r in o["responses"].items():
            if int(code) >= 400:
                ref = r["content"]["application/json"]["schema"].get("$ref")
                check(ref in ("#/components/schemas/Error", "#/components/schemas/Health",
                              "#/components/schemas/MatrixError"),
                      "%s %s %s: errors must use the Error schema" % (method, path, code))
        documented[(method.upper(), path)] = o

_, out, _ = run("serve", "--list-routes")
table = {}
for line in out.splitlines():
    method, path, roles = line.split()
    table[(method, path)] = set() if roles == "public" else set(roles.split(","))

missing = set(table) - set(documented)
extra = set(documented) - set(table)
check(not missing, "routes not documented in docs/openapi.json: %r" % sorted(missing))
check(not extra, "documented operations the server does not have: %r" % sorted(extra))
for key, o in documented.items():
    check(set(o["x-roles"]) == table[key], "%s %s: documented roles %r, server %r" %
          (key[0], key[1], o["x-roles"], sorted(table[key])))
    check(bool(o["security"]) == bool(table[key]) or o["security"] == [{"source": []}],
          "%s %s: security vs roles" % key)

# Against the running server.
arch = Archive()
srv = Server(arch)
ing = Client(srv, arch.tokens["ingest"])
ing.json("POST", "/v1/ingest", [envelope(i) for i in range(4)], expect=200)
samples = {"seq": "1", "id": urllib.parse.quote("!room:example.org"), "job": "1", "name": "nobody",
           "txn": "t1", "user": "@a:example.org", "alias": "%23a:example.org", "path": "app/v1/x",
           "source": "nosuch"}
bodies = {"/v1/ingest": [envelope(10)], "/v1/tokens": {"name": "n1", "role": "auditor"}, "/v1/verify": "",
          "/_matrix/app/v1/transactions/{txn}": {"events": []}, "/transactions/{txn}": {"events": []},
          "/v1/hooks/xmpp/{source}": "{}", "/v1/hooks/threema/{source}": "a=b"}
query = {"/v1/search": "?q=message", "/v1/proof/consistency": "?from=1"}
n = 0
for (method, path), o in sorted(documented.items()):
    roles = o["x-roles"]
    c = Client(srv, arch.tokens[roles[0]] if roles else None)
    url = re.sub(r"{(\w+)}", lambda m: samples[m.group(1)], path) + query.get(path, "")
    st, hdrs, data = c.request(method, url, bodies.get(path, "") if method in ("POST", "PUT") else None)
    check(str(st) in o["responses"], "%s %s answered %d, documented: %r" % (method, url, st, sorted(o["responses"])))
    ctypes = list(o["responses"][str(st)].get("content", {}))
    check(any(hdrs["content-type"].startswith(ct.split(";")[0]) for ct in ctypes) or
          (ctypes == ["application/json"] and hdrs["content-type"] == "application/json"),
          "%s %s: content type %s, documented %r" % (method, url, hdrs["content-type"], ctypes))
    n += 1
    # A method the path does not take is 405 with Allow.
    allowed = {m for (m, p) in documented if p == path}
    for other in ("GET", "POST", "DELETE", "PUT"):
        if other in allowed:
            continue
        st, hdrs, _ = c.request(other, url, "" if other in ("POST", "PUT") else None)
        check(st == 405 and set(hdrs.get("allow", "").split(", ")) == allowed,
              "%s %s: %d Allow %r" % (other, url, st, hdrs.get("allow")))

st, _, _ = Client(srv).request("GET", "/v1/undocumented")
check(st == 404, "undocumented path answered %d" % st)
check(srv.stop() == 0, "serve did not stop cleanly")
print("ok: %d operations" % n)
