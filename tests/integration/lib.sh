# lib.sh - helpers for integration tests (sourced). Each test runs in a
# fresh temporary directory (cwd) with $CUSTOS (the binary) and $GEN (the
# message generator) set by tests/run_integration.sh.
set -euo pipefail

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"
}

# expect_exit CODE CMD... : runs CMD, asserts its exit code, keeps its output in $out
expect_exit() {
	local want=$1
	shift
	set +e
	out=$("$@" 2>&1)
	local got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; output: $out"
}

# gen N SEED > file : deterministic realistic messages (bench/gen_messages)
gen() {
	"$GEN" -n "$1" --seed "${2:-1}"
}

# json_get FILE|- EXPR : evaluates a python expression on the parsed JSON (as j)
json_get() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1]) if sys.argv[1]!="-" else sys.stdin); print(eval(sys.argv[2]))' "$1" "$2"
}

# set_config DIR KEY VALUE : sets an integer key in DIR/custos.json
set_config() {
	python3 - "$1/custos.json" "$2" "$3" <<'PY'
import json, sys
p, k, v = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(p))
c[k] = int(v)
json.dump(c, open(p, "w"), indent=2)
PY
}
