"""api_retention_trust.py - the hostile cases of legal holds, scopes and four
eyes over HTTP (issue 15, items 5 and 6). Each case runs on its own
conversations and reports on its own, so that a run against an older
binary names every case that fails:

- a hold on the exact id of a Matrix room on an IPv6-literal server
  (`!evid:[2001:db8::1]`) covers its record, against a plan and an erasure
  order, and not the room the id read as a pattern would match;
- a hold on a pattern still works, also on an id longer than the
  matcher's copy; the counts say 1 / N / 0;
- the first wave's singular `conversation` is refused, not guessed at;
- one admin alone cannot put in force a destroy policy without approval,
  nor shorten a keep period (retire the long policy, add a short one), nor
  retire a policy; one officer alone cannot release a hold, and not
  without a reason; the proposer cannot approve their own change; a
  second person's approval puts it in force; a rejected change never is."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Archive, Client, Server, check, envelope  # noqa: E402

ROOM = "!evid:[2001:db8::1]"

arch = Archive()
off2 = arch.add_token("officer", "officer2")
srv = Server(arch)
ing = Client(srv, arch.tokens["ingest"])
off = Client(srv, arch.tokens["officer"])
off_b = Client(srv, off2)
adm = Client(srv, arch.tokens["admin"])

CONVS = [ROOM, "!evid:2", "!pat:a", "!pat:b", "!short:a", "!rel:a", "!auto:a"]
st, doc = ing.json("POST", "/v1/ingest", [envelope(i, conv=c) for i, c in enumerate(CONVS)], expect=200)
seq = {c: doc["first_seq"] + i for i, c in enumerate(CONVS)}  # all from 2024: due under any 30d policy


def dry_run():
    st, doc = off.json("POST", "/v1/dispositions", {"dry_run": True}, expect=200)
    held = sorted(x["seq"] for x in doc["held"]["records"])
    return sorted(x["seq"] for x in doc["items"]), held


def policy_names():
    st, doc = adm.json("GET", "/v1/policies", expect=200)
    return sorted(p["name"] for p in doc["policies"])


def case_ipv6_room_hold():
    adm.json("POST", "/v1/policies", {"name": "evid-30d", "conversation_patterns": ["!evid:*"], "keep": "30d",
                                      "action": "destroy"}, expect=201)
    st, placed = off.json("POST", "/v1/holds", {"matter": "7 O 1/26", "reason": "evidence", "conversations": [ROOM]},
                          expect=201)
    items, held = dry_run()
    check(seq[ROOM] in held and seq[ROOM] not in items, "a plan would delete the held record: %r %r" % (items, held))
    check(seq["!evid:2"] in items, "the room a pattern reading matches is not held: %r" % items)
    st, doc = off.json("POST", "/v1/erasures", {"seqs": [seq[ROOM]], "reason": "Art. 17"}, expect=403)
    check(doc["error"]["refused"][0]["seq"] == seq[ROOM], "erasure refusal: %r" % doc)
    check(placed.get("records") == 1, "the hold on %s covers 1 record: %r" % (ROOM, placed))
    st, doc = off.json("GET", "/v1/holds/%d" % placed["hold"], expect=200)
    check(doc["records"] == 1 and doc["seqs"] == [seq[ROOM]], "hold show: %r" % doc)


def case_pattern_hold_and_counts():
    st, doc = off.json("POST", "/v1/holds", {"matter": "m", "reason": "r", "conversation_patterns": ["!pat:*"]},
                       expect=201)
    check(doc.get("records") == 2, "a pattern hold covers both records: %r" % doc)
    pat = doc["hold"]
    st, doc = off.json("POST", "/v1/holds", {"matter": "m", "reason": "r", "conversations": ["!pat:*"]},
                       expect=201)
    check(doc.get("records") == 0, "an exact id that no room has covers 0: %r" % doc)
    exact = doc["hold"]
    st, doc = off.json("GET", "/v1/holds", expect=200)
    counts = {h["id"]: h.get("records") for h in doc["holds"]}
    check(counts.get(pat) == 2 and counts.get(exact) == 0, "hold list counts: %r" % counts)


def case_pattern_sees_whole_id():
    # a conversation id longer than the matcher's copy does not slip out
    # of a pattern hold (ingest refuses NUL bytes; the unit test has those)
    st, doc = ing.json("POST", "/v1/ingest", [envelope(100, conv="!" + "x" * 5000 + ":whole.example")], expect=200)
    rec = doc["first_seq"]
    st, doc = off.json("POST", "/v1/holds", {"matter": "m", "reason": "r",
                                             "conversation_patterns": ["*:whole.example"]}, expect=201)
    check(doc.get("records") == 1, "the pattern hold covers the long id: %r" % doc)
    adm.json("POST", "/v1/policies", {"name": "whole-30d", "conversation_patterns": ["*:whole.example"],
                                      "keep": "30d", "action": "destroy"}, expect=201)
    items, held = dry_run()
    check(rec in held and rec not in items, "a plan deletes the held record: %r" % items)


def case_singular_fields_refused():
    adm.json("POST", "/v1/policies", {"name": "x", "conversation": "!pat:*", "keep": "1y", "action": "destroy"},
             expect=400)
    off.json("POST", "/v1/holds", {"matter": "m", "reason": "r", "sender": "@a:*"}, expect=400)


def case_approval_none_needs_second_person():
    st, doc = adm.json("POST", "/v1/policies", {"name": "auto", "conversation_patterns": ["!auto:*"], "keep": "30d",
                                                "action": "destroy", "approval": "none"}, expect=202)
    check(doc["pending"] is True and "auto" not in policy_names(), "approval none in force at once: %r" % doc)
    st, lst = adm.json("GET", "/v1/policies", expect=200)
    check(doc["plan"] in [p["plan"] for p in lst["pending_changes"]], "pending change not listed: %r" % lst)
    adm.json("POST", "/v1/dispositions/%d/approve" % doc["plan"], expect=403)  # an admin has no approve right
    off.json("POST", "/v1/dispositions/%d/approve" % doc["plan"], expect=200)
    check("auto" in policy_names(), "approved policy not in force")


def case_shorter_keep_needs_second_person():
    # its own archive: no other policy governs its record
    a2 = Archive("data-short")
    o2 = a2.add_token("officer", "officer2")
    s2 = Server(a2)
    try:
        i2, ad2, of2 = Client(s2, a2.tokens["ingest"]), Client(s2, a2.tokens["admin"]), Client(s2, o2)
        st, doc = i2.json("POST", "/v1/ingest", [envelope(0, conv="!short:a")], expect=200)
        rec = doc["first_seq"]

        def due():
            st, doc = of2.json("POST", "/v1/dispositions", {"dry_run": True}, expect=200)
            return [x["seq"] for x in doc["items"]]

        def names():
            st, doc = ad2.json("GET", "/v1/policies", expect=200)
            return [p["name"] for p in doc["policies"]]

        ad2.json("POST", "/v1/policies", {"name": "long-10y", "keep": "10y", "action": "destroy"}, expect=201)
        st, ret = ad2.json("POST", "/v1/policies/long-10y/retire", expect=202)
        ad2.json("POST", "/v1/policies", {"name": "short-30d", "keep": "30d", "action": "destroy"}, expect=201)
        check(rec not in due(), "one admin shortened 10y to 30d")
        check("long-10y" in names(), "retired without a second person")
        of2.json("POST", "/v1/dispositions/%d/approve" % ret["plan"], expect=200)
        check(rec in due() and "long-10y" not in names(), "approved retire not in force")
    finally:
        s2.stop()


def case_release_needs_reason_and_second_person():
    st, doc = off.json("POST", "/v1/holds", {"matter": "m", "reason": "r", "conversations": ["!rel:a"]}, expect=201)
    hold = doc["hold"]
    adm.json("POST", "/v1/policies", {"name": "rel-30d", "conversations": ["!rel:a"], "keep": "30d",
                                      "action": "destroy"}, expect=201)
    off.json("POST", "/v1/holds/%d/release" % hold, {}, expect=400)
    off.json("POST", "/v1/holds/%d/release" % hold, {"reason": ""}, expect=400)
    st, doc = off.json("POST", "/v1/holds/%d/release" % hold, {"reason": "case closed"}, expect=202)
    check(doc["pending"] is True and doc["released"] is False, "release: %r" % doc)
    st, lst = off.json("GET", "/v1/holds", expect=200)
    h = [x for x in lst["holds"] if x["id"] == hold]
    check(h and h[0]["status"] == "active" and h[0]["release_pending"]["plan"] == doc["plan"],
          "the hold must stay active until approved: %r" % lst)
    items, held = dry_run()
    check(seq["!rel:a"] in held, "a proposed release already let the record go: %r" % held)
    st, e = off.json("POST", "/v1/dispositions/%d/approve" % doc["plan"], expect=403)
    check("four-eyes" in e["error"]["message"], "own approval: %r" % e)
    off_b.json("POST", "/v1/dispositions/%d/approve" % doc["plan"], expect=200)
    st, lst = off.json("GET", "/v1/holds?all=1", expect=200)
    h = [x for x in lst["holds"] if x["id"] == hold]
    check(h[0]["status"] == "released" and h[0]["release_reason"] == "case closed", "released: %r" % h)
    items, held = dry_run()
    check(seq["!rel:a"] in items, "the released record is due: %r" % items)


def case_rejected_change_never_in_force():
    st, doc = adm.json("POST", "/v1/policies", {"name": "auto2", "keep": "1d", "action": "destroy",
                                                "approval": "none"}, expect=202)
    off_b.json("POST", "/v1/dispositions/%d/reject" % doc["plan"], {}, expect=400)  # reason required
    st, r = off_b.json("POST", "/v1/dispositions/%d/reject" % doc["plan"], {"reason": "no"}, expect=200)
    check(r["rejected_by"] == "officer2", "reject: %r" % r)
    off.json("POST", "/v1/dispositions/%d/approve" % doc["plan"], expect=409)
    check("auto2" not in policy_names(), "a rejected change is in force")
    st, lst = off.json("GET", "/v1/dispositions", expect=200)
    check([p["status"] for p in lst["plans"] if p["id"] == doc["plan"]] == ["rejected"], "status: %r" % lst)


failed = []
for name, fn in sorted((k, v) for k, v in list(globals().items()) if k.startswith("case_")):
    try:
        fn()
        print("ok   %s" % name)
    except SystemExit:
        print("FAIL %s" % name)
        failed.append(name)
check(srv.stop() == 0, "serve did not stop cleanly")
check(not failed, "%d cases failed: %s" % (len(failed), ", ".join(failed)))
print("ok: holds on exact ids and patterns, counts, four eyes for the changes that delete sooner")
