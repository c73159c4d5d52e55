#!/usr/bin/env bash
# Fails when an #include crosses the layers the wrong way
# (docs/ARCHITECTURE.md "Dependency direction"):
#
#   common  <-  archiver  <-  ingest, search
#   search  <-  export  <-  retention  <-  api  <-  cli
#
# A folder includes its own headers and those of the folders listed for it
# below, nothing else: no include points up the layers, and ingest/ and
# search/ (side by side over the engine) never include each other.
#
# It also fails when an internal header is included from outside its
# module: a `<folder>_int.h` (or the older `internal.h`) only from its own
# folder, a `<module>_int.h` only from that folder's `<module>*` files or
# the files listed for it in `modules` below.
#
# tests/, bench/ and tests/fuzz are not layers: white-box tests may include
# any header. Run from the repository root; no build needed.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
	[common]="common"
	[archiver]="common archiver"
	[ingest]="common archiver ingest"
	[search]="common archiver search"
	[export]="common archiver search export"
	[retention]="common archiver search export retention"
	[api]="common archiver ingest search export retention api"
	[cli]="common archiver ingest search export retention api cli"
)
folders="common archiver ingest search export retention api cli"

# Module internal headers shared by files whose names do not start with
# the module's name: header -> the basenames (without .c/.h) allowed to
# include it, besides `<module>*`. Keep it short; each line needs a reason.
declare -A modules=(
	# the index module: idx_search (search.c) and context windows (context.c)
	# read the index's tables and prepared statements
	[search/index_int.h]="search context"
	# the disposition plan: derived records, execution and transfer offers
	# are steps of a plan and read its items
	[retention/plan_int.h]="derived execute transfer"
)

bad=0
fail() {
	echo "$1" >&2
	bad=1
}

for from in $folders; do
	[ -d "$from" ] || continue
	for f in "$from"/*.c "$from"/*.h; do
		[ -e "$f" ] || continue
		base=$(basename "$f")
		base=${base%.*}
		while IFS=: read -r line inc; do
			inc=${inc#*\"}
			inc=${inc%%\"*}
			case $inc in
			*/*) ;;
			*) continue ;; # a system header or a same-folder relative one
			esac
			to=${inc%%/*}
			case " $folders " in
			*" $to "*) ;;
			*) continue ;; # not one of ours
			esac
			case " ${allowed[$from]} " in
			*" $to "*) ;;
			*) fail "$f:$line: includes $inc: $from/ must not depend on $to/ (docs/ARCHITECTURE.md)" ;;
			esac
			hname=$(basename "$inc")
			case $hname in
			internal.h | *_int.h)
				if [ "$to" != "$from" ]; then
					fail "$f:$line: includes $inc, internal to $to/"
					continue
				fi
				[ "$hname" = internal.h ] && continue
				[ "$hname" = "${to}_int.h" ] && continue
				module=${hname%_int.h}
				case $base in
				"$module"*) continue ;;
				esac
				case " ${modules[$inc]:-} " in
				*" $base "*) continue ;;
				esac
				fail "$f:$line: includes $inc, internal to the $module module (docs/ARCHITECTURE.md \"Names\")"
				;;
			esac
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
	done
done

if [ $bad -ne 0 ]; then
	echo "check_layers: FAIL (see docs/ARCHITECTURE.md \"Dependency direction\")" >&2
	exit 1
fi
echo "check_layers: ok"
