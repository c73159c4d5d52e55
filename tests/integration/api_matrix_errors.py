"""api_matrix_errors.py - every request under /_matrix/ (and on the legacy
AS paths) that the Application Service API does not define is answered in
Matrix form with errcode M_UNRECOGNIZED, as the AS API says: 404 for an
unknown path, 405 (with Allow) for a known path with another method,
whatever the method is."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check  # noqa: E402

arch = Archive()
srv = Server(arch)
c = Client(srv)

CASES = [
    ("GET", "/_matrix/app/v1/nosuch", 404, None),
    ("PATCH", "/_matrix/app/v1/nosuch", 404, None),
    ("OPTIONS", "/_matrix/app/v1/nosuch", 404, None),
    ("PUT", "/_matrix/app/v2/transactions/1", 404, None),
    ("GET", "/_matrix", 404, None),
    ("GET", "/_matrix/", 404, None),
    ("GET", "/_matrix/app/v1/transactions/1", 405, "PUT"),
    ("PATCH", "/_matrix/app/v1/transactions/1", 405, "PUT"),
    ("OPTIONS", "/_matrix/app/v1/transactions/1", 405, "PUT"),
    ("DELETE", "/_matrix/app/v1/ping", 405, "POST"),
    ("POST", "/_matrix/app/v1/users/@a:example.org", 405, "GET"),
    ("PATCH", "/_matrix/app/v1/rooms/%23a:example.org", 405, "GET"),
    ("GET", "/transactions/1", 405, "PUT"),
    ("DELETE", "/transactions/1", 405, "PUT"),
    ("POST", "/users/@a:example.org", 405, "GET"),
    ("PUT", "/rooms/%23a:example.org", 405, "GET"),
]
for method, path, status, allow in CASES:
    st, hdrs, data = c.request(method, path, token=None)
    label = "%s %s" % (method, path)
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    check(st == status, "%s: %d %r, expected %d" % (label, st, data[:200], status))
    check(isinstance(doc, dict) and doc.get("errcode") == "M_UNRECOGNIZED" and isinstance(doc.get("error"), str),
          "%s: not a Matrix M_UNRECOGNIZED error: %r" % (label, data[:200]))
    if allow:
        check(hdrs.get("allow") == allow, "%s: Allow %r, expected %r" % (label, hdrs.get("allow"), allow))

# HEAD gets the status without a body
st, hdrs, data = c.request("HEAD", "/_matrix/app/v1/nosuch", token=None)
check(st == 404 and data == b"", "HEAD /_matrix/app/v1/nosuch: %d %r" % (st, data))
check(srv.stop() == 0, "serve did not stop cleanly")
print("ok: %d unknown Matrix requests answered M_UNRECOGNIZED" % len(CASES))
