#!/usr/bin/env bash
# custos serve with TLS (server.tls in custos.json): a self-signed
# certificate made here with openssl; curl with --cacert talks HTTPS to it
# (ingest, read back, health); a client that does not trust the
# certificate, plain HTTP and TLS 1.1 are refused; a missing or mismatched
# key stops the daemon at start with a clear message.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$CUSTOS" init -d data --origin tls.example/custos >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout data/tls.key -out data/tls.crt -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 600 data/tls.key
ing=$("$CUSTOS" token add -d data --role ingest --name hook1 --source hook1 2>/dev/null)
off=$("$CUSTOS" token add -d data --role officer --name off1 2>/dev/null)

# set_server DIR JSON : sets the "server" object of DIR/custos.json
set_server() {
	python3 - "$1/custos.json" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["server"] = json.loads(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
}

pid=
start() { # start LOG : starts serve, sets $pid and $port (from the log)
	"$CUSTOS" serve -d data --listen 127.0.0.1:0 2>"$1" &
	pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$1")
		[ -n "$port" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT

set_server data '{"tls": {"cert_file": "tls.crt", "key_file": "tls.key"}}'
start serve.log || fail "serve did not start with TLS: $(cat serve.log)"
url=https://127.0.0.1:$port

out=$(curl -sS --cacert data/tls.crt "$url/healthz")
assert_eq "$(echo "$out" | json_get - 'j["status"]')" ok "healthz over TLS"
body='[{"platform":"matrix","conversation":"!r:example.org","sender":"@a:example.org","ts":1714564800000,"id":"t1","body":"über TLS"}]'
out=$(curl -sS --cacert data/tls.crt -H "Authorization: Bearer $ing" -H 'Content-Type: application/json' \
	--data-binary "$body" "$url/v1/ingest")
assert_eq "$(echo "$out" | json_get - 'j["accepted"]')" 1 "ingest over TLS"
out=$(curl -sS --cacert data/tls.crt -H "Authorization: Bearer $off" "$url/v1/records/0")
assert_eq "$(echo "$out" | json_get - 'j["record"]["body"]')" "über TLS" "record over TLS"

# Whoever does not trust the certificate, speaks plain HTTP or TLS 1.1 gets nothing.
set +e
curl -sS -o /dev/null "$url/healthz" 2>/dev/null
rc=$?
set -e
assert_eq "$rc" 60 "curl without the CA must refuse the certificate"
set +e
curl -sS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "plain HTTP was answered on the TLS port"
set +e
curl -sS -o /dev/null --cacert data/tls.crt --tlsv1.1 --tls-max 1.1 "$url/healthz" 2>/dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "TLS 1.1 was accepted"
out=$(curl -sS --cacert data/tls.crt --tlsv1.2 --tls-max 1.2 "$url/healthz")
assert_eq "$(echo "$out" | json_get - 'j["status"]')" ok "TLS 1.2"

kill -TERM "$pid"
wait "$pid" || fail "serve did not stop cleanly"
pid=

# Misconfiguration stops the daemon at start, naming the problem.
set_server data '{"tls": {"cert_file": "tls.crt", "key_file": "missing.key"}}'
expect_exit 1 "$CUSTOS" serve -d data --listen 127.0.0.1:0
grep -q "missing.key" <<<"$out" || fail "missing key file not named: $out"
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out data/other.key 2>/dev/null
set_server data '{"tls": {"cert_file": "tls.crt", "key_file": "other.key"}}'
expect_exit 1 "$CUSTOS" serve -d data --listen 127.0.0.1:0
grep -qi "TLS" <<<"$out" || fail "mismatched key not reported: $out"
set_server data '{"tls": {"cert_file": "tls.crt"}}'
expect_exit 1 "$CUSTOS" serve -d data --listen 127.0.0.1:0
grep -q "server.tls.key_file" <<<"$out" || fail "missing key_file not named: $out"
set_server data '{"tls": {"cert_file": "tls.crt", "key_file": "tls.key", "ca_file": "x"}}'
expect_exit 1 "$CUSTOS" serve -d data --listen 127.0.0.1:0
grep -q "unknown key server.tls.ca_file" <<<"$out" || fail "unknown tls key not refused: $out"

"$CUSTOS" verify -d data >/dev/null
echo ok
