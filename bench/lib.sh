# lib.sh - helpers shared by the bench/bench_*.sh scripts (sourced):
# locating the binaries, a scratch directory, timing with peak memory,
# arithmetic, the result table, target ratios and the JSON result line.
#
# Environment every benchmark honours:
#   CUSTOS        the custos binary (default: ./custos of the checkout)
#   GEN           the message generator (default: build/rel/bench/gen_messages)
#   BENCH_TMPDIR  where scratch data goes (default: $TMPDIR or /tmp); put it
#                 on the disk you want to measure, fsync cost depends on it
#   BENCH_OUT     where result lines are appended (default: bench/out)
#   BENCH_KEEP=1  keep the scratch directory for inspection
set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_TIME=/usr/bin/time # GNU time (Debian package "time"): %M = peak RSS in KiB
BENCH_MISSED=0           # how many stated targets this run missed

# bench_init NAME : sets CUSTOS, GEN, BENCH_NAME and a fresh BENCH_TMP,
# removed on exit unless BENCH_KEEP=1.
bench_init() {
	BENCH_NAME=$1
	CUSTOS=${CUSTOS:-$BENCH_ROOT/custos}
	GEN=${GEN:-$BENCH_ROOT/build/rel/bench/gen_messages}
	[ -x "$CUSTOS" ] || bench_die "no custos binary at $CUSTOS (run make)"
	[ -x "$GEN" ] || bench_die "no generator at $GEN (run make build/rel/bench/gen_messages)"
	[ -x "$BENCH_TIME" ] || bench_die "$BENCH_TIME missing (Debian package 'time', see scripts/deps.sh)"
	BENCH_TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/custos-bench-$BENCH_NAME.XXXXXX")
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: scratch data kept in $BENCH_TMP" >&2
	else
		trap 'rm -rf "$BENCH_TMP"' EXIT
	fi
}

bench_die() {
	echo "bench: $*" >&2
	exit 1
}

# bench_need TOOL... : fails early when a tool is missing.
bench_need() {
	local t
	for t in "$@"; do
		command -v "$t" > /dev/null || bench_die "$t is needed (see scripts/deps.sh)"
	done
}

# bench_run NAME CMD... : runs CMD once with stdout in $BENCH_TMP/NAME.out and
# stderr in $BENCH_TMP/NAME.err; sets NAME_s (wall-clock seconds) and
# NAME_rss (peak resident set of the process tree, KiB). A failing command
# stops the benchmark: a figure of a failed run would be meaningless.
bench_run() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$(date +%s%N)
	"$BENCH_TIME" -f %M -o "$BENCH_TMP/$name.rss" "$@" > "$BENCH_TMP/$name.out" 2> "$BENCH_TMP/$name.err" || rc=$?
	t1=$(date +%s%N)
	if [ "$rc" -ne 0 ]; then
		echo "bench: $name failed (exit $rc): $*" >&2
		tail -n 20 "$BENCH_TMP/$name.err" >&2
		exit 1
	fi
	printf -v "${name}_s" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')"
	printf -v "${name}_rss" '%s' "$(tail -n 1 "$BENCH_TMP/$name.rss")"
}

# bench_warm FILE... : reads files once so every contender reads them from
# the page cache, not the first one from disk.
bench_warm() {
	cat "$@" > /dev/null
}

# bench_bytes FILE... : total size in bytes of the given files.
bench_bytes() {
	stat -c %s "$@" | awk '{ s += $1 } END { printf "%d", s }'
}

# bench_calc EXPR : evaluates an awk expression, prints it with 6 decimals.
# Division by zero yields 0 rather than an awk error.
bench_calc() {
	awk "BEGIN { x = ($1); printf \"%.6f\", x }" 2> /dev/null || echo 0
}

# bench_div A B : A / B, 0 when B is 0.
bench_div() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print 0; else printf "%.6f", a / b }'
}

# bench_mbps BYTES SECONDS : throughput in MB/s (10^6 bytes per second).
bench_mbps() {
	bench_div "$(bench_calc "$1 / 1000000")" "$2"
}

# bench_fmt VALUE DECIMALS : rounds for the table.
bench_fmt() {
	awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'
}

# bench_row LABEL SECONDS MBPS MSGS_PER_S RSS_KIB : one line of the table
# ("-" for a column that does not apply).
bench_row() {
	local s=$2 mb=$3 mps=$4 rss=$5
	[ "$s" = - ] || s=$(bench_fmt "$s" 3)
	[ "$mb" = - ] || mb=$(bench_fmt "$mb" 1)
	[ "$mps" = - ] || mps=$(bench_fmt "$mps" 0)
	[ "$rss" = - ] || rss="$(bench_fmt "$(bench_div "$rss" 1024)" 1) MiB"
	printf '  %-32s %10s %10s %12s %12s\n' "$1" "$s" "$mb" "$mps" "$rss"
}

bench_row_header() {
	printf '  %-32s %10s %10s %12s %12s\n' "" "seconds" "MB/s" "msgs/s" "peak RSS"
}

# bench_target LABEL VALUE OP LIMIT : prints a ratio against its target
# (OP is >= or <=) and counts misses in BENCH_MISSED.
bench_target() {
	local label=$1 value=$2 op=$3 limit=$4 verdict
	if awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN { exit !((op == ">=") ? v >= l : v <= l) }'; then
		verdict=ok
	else
		verdict=MISSED
		BENCH_MISSED=$((BENCH_MISSED + 1))
	fi
	printf '  %-40s %8s   target %s %-5s %s\n' "$label" "$(bench_fmt "$value" 3)" "$op" "$limit" "$verdict"
}

# bench_machine : one line about the machine, since figures depend on it.
bench_machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2> /dev/null || true)
	echo "machine: $(nproc) cores${cpu:+ ($cpu)}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_json_line FILE KEY=VALUE... : appends one JSON object as a line.
# Values that look like numbers are written as numbers, others as strings
# (they come from this script, never from untrusted input; quotes and
# backslashes are escaped all the same).
bench_json_line() {
	local file=$1 kv k v sep="" line="{"
	shift
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
			line+="$sep\"$k\":$v"
		else
			v=${v//\\/\\\\}
			v=${v//\"/\\\"}
			line+="$sep\"$k\":\"$v\""
		fi
		sep=","
	done
	mkdir -p "$(dirname "$file")"
	printf '%s}\n' "$line" >> "$file"
}

# bench_out_file : bench/out/<name>-<date>.json (one JSON line per run).
bench_out_file() {
	echo "${BENCH_OUT:-$BENCH_ROOT/bench/out}/$BENCH_NAME-$(date +%Y-%m-%d).json"
}

# bench_commit : the checkout's commit, with "+dirty" for local changes.
bench_commit() {
	local c
	c=$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)
	if ! git -C "$BENCH_ROOT" diff --quiet HEAD 2> /dev/null; then
		c+="+dirty"
	fi
	echo "$c"
}
