#!/usr/bin/env bash
# bench_export.sh - court exports of BENCH_N generated messages (default
# 100,000) in each format, and their offline verification:
#   export       custos export of every message (selection, custody record,
#                one inclusion proof per record, the package) per format
#   verify       custos verify-export of that package (manifests, the
#                checkpoint, every proof, every file rendered again)
#   bytes        the package, and its bytes per message
# Side by side with the peer an operator without custos would reach for:
# zip of the same messages as JSON Lines plus a sha256sum manifest (no
# proofs, no load file, no review format): what the proofs and formats
# cost on top of plain packaging.
#
# BENCH_N messages (default 100000), BENCH_SEED (default 1). See
# bench/README.md for CUSTOS, GEN, BENCH_TMPDIR, BENCH_OUT, BENCH_KEEP.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

bench_init export
bench_need zip sha256sum awk

N=${BENCH_N:-100000}
SEED=${BENCH_SEED:-1}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1000 ] || bench_die "BENCH_N must be a number >= 1000"
in=$BENCH_TMP/messages.jsonl
dir=$BENCH_TMP/archive

bench_machine
echo "export: $N messages, seed $SEED"
"$GEN" -n "$N" --seed "$SEED" > "$in"
"$CUSTOS" init -d "$dir" > /dev/null
"$CUSTOS" ingest -d "$dir" "$in" > /dev/null
"$CUSTOS" pubkey -d "$dir" > "$BENCH_TMP/archive.pub"
bench_warm "$in" "$dir"/segments/*

# The peer: the messages as JSON Lines with a SHA-256 manifest, zipped.
mkdir "$BENCH_TMP/peer"
bench_run peer sh -c "cp '$in' '$BENCH_TMP/peer/messages.jsonl' && cd '$BENCH_TMP/peer' &&
	sha256sum messages.jsonl > SHA256SUMS && zip -q '$BENCH_TMP/peer.zip' messages.jsonl SHA256SUMS"
peer_bytes=$(bench_bytes "$BENCH_TMP/peer.zip")

echo
bench_row_header
bench_row "peer: zip of JSON Lines" "$peer_s" "$(bench_mbps "$peer_bytes" "$peer_s")" \
	"$(bench_div "$N" "$peer_s")" "$peer_rss"
results=()
for f in rsmf dat edrm bagit; do
	pkg=$BENCH_TMP/export.$f.zip
	bench_run "exp_$f" "$CUSTOS" export -d "$dir" --from 2000-01-01 --format "$f" --by bench -o "$pkg" --json
	bench_run "ver_$f" "$CUSTOS" verify-export --pubkey "$BENCH_TMP/archive.pub" "$pkg"
	s_var="exp_${f}_s"; r_var="exp_${f}_rss"; vs_var="ver_${f}_s"; vr_var="ver_${f}_rss"
	bytes=$(bench_bytes "$pkg")
	recs=$(awk -F'"records":' 'NF > 1 { split($2, a, ","); print a[1] }' "$BENCH_TMP/exp_$f.out")
	[ "$recs" = "$N" ] || bench_die "$f exported $recs records, expected $N"
	bench_row "export $f" "${!s_var}" "$(bench_mbps "$bytes" "${!s_var}")" "$(bench_div "$N" "${!s_var}")" "${!r_var}"
	bench_row "verify-export $f" "${!vs_var}" "$(bench_mbps "$bytes" "${!vs_var}")" \
		"$(bench_div "$N" "${!vs_var}")" "${!vr_var}"
	results+=("${f}_export_s=${!s_var}" "${f}_export_msgs_per_s=$(bench_div "$N" "${!s_var}")"
		  "${f}_verify_s=${!vs_var}" "${f}_verify_msgs_per_s=$(bench_div "$N" "${!vs_var}")"
		  "${f}_bytes=$bytes" "${f}_bytes_per_msg=$(bench_div "$bytes" "$N")"
		  "${f}_export_rss_kib=${!r_var}" "${f}_verify_rss_kib=${!vr_var}")
	printf -v "bytes_$f" '%s' "$bytes"
	rm -f "$pkg"
done

echo
printf '  %-32s %14s %14s %10s\n' "package" "bytes" "bytes/msg" "x peer"
printf '  %-32s %14s %14s %10s\n' "peer: zip of JSON Lines" "$peer_bytes" \
	"$(bench_fmt "$(bench_div "$peer_bytes" "$N")" 0)" "1.00"
for f in rsmf dat edrm bagit; do
	b_var="bytes_$f"
	printf '  %-32s %14s %14s %10s\n' "$f" "${!b_var}" "$(bench_fmt "$(bench_div "${!b_var}" "$N")" 0)" \
		"$(bench_fmt "$(bench_div "${!b_var}" "$peer_bytes")" 2)"
done

bench_json_line "$(bench_out_file)" bench=export commit="$(bench_commit)" n="$N" seed="$SEED" \
	cores="$(nproc)" load="$(cut -d' ' -f1 /proc/loadavg)" peer_s="$peer_s" peer_bytes="$peer_bytes" \
	"${results[@]}"
echo
echo "result line appended to $(bench_out_file)"
