# Retention rules: the longest matching retention wins (conversation and
# sender patterns, platform, class labels); changes that shorten the
# retention of archived records wait for a second person's approval;
# review policies only list; policies with approval none run
# automatically (`custos retention run`, the scheduler's entry point);
# bad input is a usage error.
. "$(dirname "$0")/lib.sh"

due() { # due DIR -> the seqs a dry-run plan lists
	"$CUSTOS" retention plan -d "$1" --by planner --dry-run --json | json_get - '[x["seq"] for x in j["items"]]'
}

expect_exit 0 "$CUSTOS" init -d a
cat > m.jsonl <<'J'
{"platform":"matrix","conversation":"!team:ex.org","sender":"@anna:ex.org","ts":"2020-01-01T09:00:00Z","id":"a","body":"team"}
{"platform":"matrix","conversation":"!court-7:ex.org","sender":"@anna:ex.org","ts":"2020-01-01T09:00:00Z","id":"b","body":"court"}
{"platform":"matrix","conversation":"!misc:ex.org","sender":"@x:other.org","ts":"2020-01-01T09:00:00Z","id":"c","body":"external"}
{"platform":"xmpp","conversation":"room@conf.ex.org","sender":"y@ex.org","ts":"2020-01-01T09:00:00Z","id":"d","body":"xmpp"}
{"platform":"matrix","conversation":"!rev:ex.org","sender":"@anna:ex.org","ts":"2020-01-01T09:00:00Z","id":"e","body":"review me"}
J
expect_exit 0 "$CUSTOS" ingest -d a m.jsonl
assert_eq "$(due a)" "[]" "no policy: everything is kept"

# Usage errors.
expect_exit 2 "$CUSTOS" policy add -d a --name p --keep 10x --action destroy
expect_exit 2 "$CUSTOS" policy add -d a --name p --keep 0d --action destroy
expect_exit 2 "$CUSTOS" policy add -d a --name p --keep 1y --action burn
expect_exit 2 "$CUSTOS" policy add -d a --keep 1y --action destroy
expect_exit 2 "$CUSTOS" policy add -d a --name 'bad name' --keep 1y --action destroy
expect_exit 2 "$CUSTOS" policy add -d a --name p --keep 1y --action destroy --approval maybe
expect_exit 2 "$CUSTOS" policy frobnicate -d a
expect_exit 2 "$CUSTOS" retention approve -d a notanumber --by x
expect_exit 2 "$CUSTOS" retention plan -d a
expect_exit 2 "$CUSTOS" hold add -d a --matter m --reason r --by x
grep -q "needs a scope" <<<"$out" || fail "a hold without scope is refused: $out"
expect_exit 2 "$CUSTOS" hold add -d a --matter m --reason r --by x --from 2024-13-01
expect_exit 2 "$CUSTOS" hold add -d a --matter m --reason r --by x --from 2025-01-02 --to 2025-01-01
expect_exit 2 "$CUSTOS" hold add -d a --matter m --reason r --by x --all --sender s
expect_exit 2 "$CUSTOS" hold release -d a 999 --by x
grep -q "needs --by and --reason" <<<"$out" || fail "a release without a reason is refused: $out"
expect_exit 1 "$CUSTOS" hold release -d a 999 --by x --reason r
expect_exit 1 "$CUSTOS" retention approve -d a 0 --by x
grep -q "not a plan" <<<"$out" || fail "approving a message: $out"

expect_exit 0 "$CUSTOS" policy add -d a --name all-1y --keep 1y --action destroy --by admin
expect_exit 1 "$CUSTOS" policy add -d a --name all-1y --keep 2y --action destroy --by admin
grep -q "exists already" <<<"$out" || fail "duplicate name: $out"
assert_eq "$(due a)" "[0, 1, 2, 3, 4]" "one year for all"
# Longest retention wins: a conversation pattern, a class, a sender pattern.
expect_exit 0 "$CUSTOS" policy add -d a --name court-30y --conversation-pattern '!court-*' --keep 30y --action destroy --by admin
expect_exit 0 "$CUSTOS" class set -d a '!team:ex.org' personnel --by admin
expect_exit 0 "$CUSTOS" policy add -d a --name pers-10y --class personnel --keep 10y --action destroy --by admin
expect_exit 0 "$CUSTOS" policy add -d a --name ext-50y --sender-pattern '*:other.org' --keep 50y --action destroy --by admin
expect_exit 0 "$CUSTOS" policy add -d a --name xmpp-100m --platform xmpp --keep 100m --action destroy --by admin
expect_exit 0 "$CUSTOS" policy add -d a --name rev-2y --conversation-pattern '!rev:*' --keep 2y --action review --by admin
expect_exit 0 "$CUSTOS" retention plan -d a --by planner --dry-run --json
assert_eq "$(echo "$out" | json_get - '[x["seq"] for x in j["items"]]')" "[]" "longer policies win"
assert_eq "$(echo "$out" | json_get - 'j["review"]["seqs"]')" "[4]" "review policy lists, never deletes"
expect_exit 0 "$CUSTOS" policy list -d a --json
assert_eq "$(echo "$out" | json_get - '[p["name"] for p in j["policies"]]')" \
	"['all-1y', 'court-30y', 'pers-10y', 'ext-50y', 'xmpp-100m', 'rev-2y']" "policy list"
grep -q "court-30y.*keep 30y.*conversation-pattern=!court-\*" <<<"$("$CUSTOS" policy list -d a)" || fail "human policy list"

# Retiring court-30y would shorten record 1 from 30 years to 1: it waits
# for approval by someone else and changes nothing until then.
expect_exit 0 "$CUSTOS" policy retire -d a court-30y --by admin --json
assert_eq "$(echo "$out" | json_get - 'j["pending"]')" True "shortening retire is pending"
assert_eq "$(echo "$out" | json_get - 'j["shortened"]')" 1 "one record shortened"
change=$(echo "$out" | json_get - 'j["seq"]')
expect_exit 1 "$CUSTOS" policy retire -d a court-30y --by admin
assert_eq "$(due a)" "[]" "pending change has no effect"
expect_exit 0 "$CUSTOS" policy list -d a --json
assert_eq "$(echo "$out" | json_get - 'len(j["pending_changes"])')" 1 "listed as pending"
expect_exit 1 "$CUSTOS" retention approve -d a "$change" --by admin
expect_exit 0 "$CUSTOS" retention approve -d a "$change" --by officer
assert_eq "$(due a)" "[1]" "approved retire takes effect"
expect_exit 0 "$CUSTOS" policy list -d a --all --json
assert_eq "$(echo "$out" | json_get - '[p["status"] for p in j["policies"] if p["name"] == "court-30y"]')" "['retired']" "retired"
# Retiring a policy that governs nothing today still waits for a second
# person: without it, records to come fall to shorter policies.
expect_exit 0 "$CUSTOS" policy add -d a --name tiny-1d --keep 1d --action destroy --by admin
expect_exit 0 "$CUSTOS" policy retire -d a tiny-1d --by admin --json
assert_eq "$(echo "$out" | json_get - 'j["pending"]')" True "retiring always waits for a second person"
assert_eq "$(echo "$out" | json_get - 'j["shortened"]')" 0 "a policy that never wins shortens no archived record"
tiny=$(echo "$out" | json_get - 'j["plan"]')
expect_exit 0 "$CUSTOS" retention reject -d a "$tiny" --by officer --reason "keep it"
# Removing the class shortens record 0 (10 years -> 1): pending as well.
expect_exit 0 "$CUSTOS" class unset -d a '!team:ex.org' --by admin --json
assert_eq "$(echo "$out" | json_get - 'j["pending"]')" True "class change pending"
change=$(echo "$out" | json_get - 'j["seq"]')
expect_exit 0 "$CUSTOS" class list -d a --json
assert_eq "$(echo "$out" | json_get - 'j["classes"][0]["class"]')" personnel "class still set"
expect_exit 0 "$CUSTOS" retention approve -d a "$change" --by officer
assert_eq "$(due a)" "[0, 1]" "class removed"
expect_exit 0 "$CUSTOS" retention plans -d a --json
assert_eq "$(echo "$out" | json_get - '[p["status"] for p in j["plans"]]')" "['in force', 'rejected', 'in force']" "change plans"

# Automatic runs: only policies with approval none, no second person,
# still a certificate; holds are honoured; nothing due writes nothing.
expect_exit 0 "$CUSTOS" init -d b
cat > b.jsonl <<'J'
{"platform":"matrix","conversation":"!auto:ex.org","sender":"@a:ex.org","ts":"2020-01-01T09:00:00Z","id":"1","body":"Autowegwort eins"}
{"platform":"matrix","conversation":"!auto:ex.org","sender":"@held:ex.org","ts":"2020-01-01T09:00:00Z","id":"2","body":"held"}
{"platform":"matrix","conversation":"!manual:ex.org","sender":"@a:ex.org","ts":"2020-01-01T09:00:00Z","id":"3","body":"manual"}
J
expect_exit 0 "$CUSTOS" ingest -d b b.jsonl
expect_exit 0 "$CUSTOS" policy add -d b --name auto-1y --conversation-pattern '!auto:*' --keep 1y --action destroy --approval none --by admin --json
assert_eq "$(echo "$out" | json_get - 'j["pending"]')" True "approval none waits for a second person"
expect_exit 0 "$CUSTOS" retention approve -d b "$(echo "$out" | json_get - 'j["plan"]')" --by officer
expect_exit 0 "$CUSTOS" policy add -d b --name manual-1y --conversation-pattern '!manual:*' --keep 1y --action destroy --by admin
expect_exit 0 "$CUSTOS" hold add -d b --matter m --reason r --by lisa --sender-pattern '@held:*'
expect_exit 0 "$CUSTOS" retention run -d b --json
assert_eq "$(echo "$out" | json_get - 'j["execution"]["records"]')" 1 "one record deleted automatically"
cert=$(echo "$out" | json_get - 'j["execution"]["certificate"]')
assert_eq "$("$CUSTOS" show -d b 0 --json | json_get - 'j.get("deleted")')" True "auto record deleted"
assert_eq "$("$CUSTOS" show -d b 1 --json | json_get - 'j["body"]')" held "held record kept"
assert_eq "$("$CUSTOS" show -d b 2 --json | json_get - 'j["body"]')" manual "approval-required record kept"
expect_exit 0 "$CUSTOS" retention certificates -d b --json
assert_eq "$(echo "$out" | json_get - 'j["certificates"][0]["certificate"]["automatic"]')" True "automatic"
assert_eq "$(echo "$out" | json_get - 'j["certificates"][0]["certificate"]["approved_by"]')" None "no approver"
assert_eq "$(echo "$out" | json_get - 'j["certificates"][0]["signature_valid"]')" True "signed"
n=$("$CUSTOS" stats -d b --json | json_get - 'j["records"]')
expect_exit 0 "$CUSTOS" retention run -d b
grep -q "nothing due" <<<"$out" || fail "second run: $out"
assert_eq "$("$CUSTOS" stats -d b --json | json_get - 'j["records"]')" "$n" "an idle run writes no record"
# An automatic plan needs (and takes) no approval.
plan=$("$CUSTOS" retention plans -d b --json | json_get - 'j["plans"][0]["id"]')
expect_exit 1 "$CUSTOS" retention approve -d b "$plan" --by officer
expect_exit 0 "$CUSTOS" verify -d b
