#!/usr/bin/env bash
# Fails when the library (common/ archiver/ ingest/ search/ retention/ export/ api/,
# code the daemon's threads share) holds mutable static storage that is not
# on the allow-list below. Mutable means a data object in .data or .bss (file
# scope or function scope, local or global); const tables (.rodata,
# .data.rel.ro) and thread-locals (.tdata, .tbss) are not. A qsort context,
# a cache or a counter in a plain static is a data race as soon as two
# threads run the code: pass the state as an argument (qsort_r), keep it in
# the handle, or build it once with pthread_once.
#
# usage: tests/check_static_state.sh BUILD_DIR   (e.g. build/rel, after make)
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR}

# file.o:symbol (function-scope statics without gcc's .N suffix), and why
# each is safe. Keep it short: a new entry needs a reason a reviewer accepts.
allow=(
	# a mutex is the synchronisation itself
	retention/retention_util.o:ret_lock
	api/h_exports.o:jobs_mu
	# the job table of the one server in the process, read and written only under jobs_mu
	api/h_exports.o:jobs
	# scheduler state: every field is guarded by ra.mu or ra.ix_mu (see struct retapi)
	api/retention_sched.o:ra
	# _Atomic progress counters of the one running verify, read by GET /v1/verify
	api/h_verify.o:progress_done
	api/h_verify.o:progress_total
	# set once under pthread_once (sha256_once), read-only afterwards
	archiver/hash.o:sha256_md
	archiver/hash.o:sha256_once
	archiver/hash.o:ctx_key
	# kind-name list for error messages, built under pthread_once
	search/query.o:kind_list
	search/query.o:kind_list_once
	# fault injection for the tests (CUSTOS_FAULT): parsed under pthread_once,
	# counters are atomic_long; fio_fault_reset is for single-threaded tests
	common/fileio.o:fault_once
	common/fileio.o:fault_op
	common/fileio.o:fault_at
	common/fileio.o:fault_errno
	common/fileio.o:count_write
	common/fileio.o:count_fsync
	# archive-reading caps: constants in the daemon, lowered only by the
	# unit and fuzz tests before any thread starts
	export/verify_package.o:exp_read_caps
)

# Only the objects of sources that exist: an object left in the build
# directory by a file since moved or renamed is not the library.
here=$(cd "$(dirname "$0")/.." && pwd)
objs=()
for d in common archiver ingest search retention export api; do
	for c in "$here/$d"/*.c; do
		o="$build/$d/$(basename "$c" .c).o"
		[ -e "$o" ] && objs+=("$o")
	done
done
if [ ${#objs[@]} -lt 20 ]; then
	echo "check_static_state: no library objects under $build (build first)" >&2
	exit 1
fi

found=$(objdump -t "${objs[@]}" | awk -v pre="$build/" '
	/^[^ ]+\.o: +file format/ { obj = $1; sub(/:$/, "", obj); sub("^" pre, "", obj); next }
	/ O / {
		sec = ""; name = $NF
		for (i = 1; i <= NF; i++) if ($i == "O") { sec = $(i + 1); break }
		if (sec !~ /^\.(data|bss)/ || sec ~ /^\.data\.rel\.ro/) next
		if (name ~ /^__(odr_asan|asan|ubsan|tsan)/) next
		sub(/\.[0-9]+$/, "", name)
		print obj ":" name
	}' | sort -u)

bad=0
while IFS= read -r sym; do
	[ -n "$sym" ] || continue
	ok=0
	for a in "${allow[@]}"; do
		if [ "$sym" = "$a" ]; then ok=1; break; fi
	done
	if [ $ok -eq 0 ]; then
		echo "mutable static storage not on the allow-list: $sym" >&2
		bad=1
	fi
done <<<"$found"
if [ $bad -ne 0 ]; then
	echo "check_static_state: FAIL (shared code must not keep state in statics; see $0)" >&2
	exit 1
fi
echo "check_static_state: ok ($(grep -c . <<<"$found") allowed statics)"
