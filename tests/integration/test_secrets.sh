# Secrets files are read only when they are regular files (no symlink),
# mode 0600, owned by the running user, in a directory others cannot write
# (keys/: 0700). Every command that reads one refuses otherwise, naming
# the file and the fix: tokens.json, sources.json, keys/archive.key,
# keys/data.key, the KEK, the TLS key. And a symlink planted at the
# temporary name of an atomic replace (tokens.json.tmp) is not followed.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$CUSTOS" keygen --kek kek.hex
expect_exit 0 "$CUSTOS" init -d a --kek kek.hex
expect_exit 0 "$CUSTOS" token add -d a --role officer --name off1
expect_exit 0 "$CUSTOS" source add -d a hook1 --type xmpp
expect_exit 0 "$CUSTOS" token list -d a

# refused CODE HINT FILE CMD... : CMD exits CODE naming FILE and saying HINT
refused() {
	local code=$1 hint=$2 file=$3
	shift 3
	expect_exit "$code" "$@"
	grep -qF "$file" <<<"$out" || fail "'$*' does not name $file: $out"
	grep -qF "$hint" <<<"$out" || fail "'$*' does not say '$hint': $out"
}

# tokens.json at 0644: the CLI and the daemon refuse it.
chmod 644 a/tokens.json
refused 1 "chmod 600" a/tokens.json "$CUSTOS" token list -d a
refused 1 "chmod 600" a/tokens.json "$CUSTOS" serve -d a --listen 127.0.0.1:0
chmod 600 a/tokens.json
expect_exit 0 "$CUSTOS" token list -d a

# sources.json at 0640
chmod 640 a/sources.json
refused 1 "chmod 600" a/sources.json "$CUSTOS" source list -d a
chmod 600 a/sources.json

# the archive key: 0644, a symlink, a keys/ directory at 0755
chmod 644 a/keys/archive.key
refused 1 "chmod 600" a/keys/archive.key "$CUSTOS" pubkey -d a
chmod 600 a/keys/archive.key
chmod 755 a/keys
refused 1 "chmod 700" a/keys "$CUSTOS" pubkey -d a
chmod 700 a/keys
mv a/keys/archive.key key.moved
ln -s "$PWD/key.moved" a/keys/archive.key
refused 1 "symbolic link" a/keys/archive.key "$CUSTOS" pubkey -d a
rm a/keys/archive.key
mv key.moved a/keys/archive.key
expect_exit 0 "$CUSTOS" pubkey -d a

# the data key and the KEK
chmod 644 a/keys/data.key
refused 1 "chmod 600" a/keys/data.key "$CUSTOS" verify -d a
chmod 600 a/keys/data.key
chmod 644 kek.hex
refused 1 "chmod 600" kek.hex "$CUSTOS" verify -d a
chmod 600 kek.hex
expect_exit 0 "$CUSTOS" verify -d a

# the TLS key named in the configuration
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout a/tls.key -out a/tls.crt -subj /CN=localhost 2>/dev/null
chmod 644 a/tls.key
python3 - a/custos.json <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1]))
d = os.path.dirname(os.path.abspath(sys.argv[1]))
c["server"] = {"tls": {"cert_file": d + "/tls.crt", "key_file": d + "/tls.key"}}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
refused 1 "chmod 600" tls.key "$CUSTOS" serve -d a --listen 127.0.0.1:0

# A symlink planted at tokens.json.tmp: the next write replaces tokens.json
# and leaves the symlink's target alone.
echo precious > victim
ln -s "$PWD/victim" a/tokens.json.tmp
expect_exit 0 "$CUSTOS" token add -d a --role auditor --name aud1
assert_eq "$(cat victim)" precious "the planted symlink's target"
[ -L a/tokens.json.tmp ] && fail "the planted symlink is still there"
[ -L a/tokens.json ] && fail "tokens.json became a symlink"
assert_eq "$(stat -c %a a/tokens.json)" 600 "tokens.json mode"
expect_exit 0 "$CUSTOS" token list -d a
grep -q aud1 <<<"$out" || fail "token added: $out"
echo ok
