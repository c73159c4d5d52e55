#!/usr/bin/env bash
# bench_ingest.sh - durable ingest and verification, measured side by side
# with their peers on the same bytes in the same run:
#   ingest  vs  zstd -3 -T1 over the same JSON Lines (compression is the
#               largest share of ingest's work; target >= 0.4 of its speed)
#   segment bytes  vs  input bytes (target <= 0.5)
#   verify  vs  sha256sum over the same segment files (verification is
#               hashing plus decompression; target >= 0.7 of its speed)
#   peak memory of ingest at N and at N/10 (must not grow with N)
#
# BENCH_N messages (default 1,000,000), BENCH_SEED (default 1). See
# bench/README.md for what each figure means; bench/lib.sh for the
# environment (CUSTOS, GEN, BENCH_TMPDIR, BENCH_OUT, BENCH_KEEP).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

bench_init ingest
bench_need zstd sha256sum python3 awk

N=${BENCH_N:-1000000}
SEED=${BENCH_SEED:-1}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 10 ] || bench_die "BENCH_N must be a number >= 10"
N10=$((N / 10))
in=$BENCH_TMP/messages.jsonl
small=$BENCH_TMP/messages-tenth.jsonl
dir=$BENCH_TMP/archive
dir10=$BENCH_TMP/archive-tenth

echo "custos ingest benchmark: N=$N messages (seed $SEED)"
bench_machine
load_before=$(cut -d' ' -f1 /proc/loadavg)

# The input: realistic German/English chat messages (bench/gen_messages).
bench_run gen "$GEN" -n "$N" --seed "$SEED" -o "$in"
in_bytes=$(bench_bytes "$in")
head -n "$N10" "$in" > "$small"
bench_warm "$in"

# (a) zstd -3, one thread, over the input.
bench_run zstd zstd -q -3 -T1 -f "$in" -o "$BENCH_TMP/messages.jsonl.zst"
zst_bytes=$(bench_bytes "$BENCH_TMP/messages.jsonl.zst")

# (b) sha256sum over the input.
bench_run sha sha256sum "$in"

# (c) durable ingest: every batch is one group commit, fsynced.
"$CUSTOS" init -d "$dir" > /dev/null
bench_run ingest "$CUSTOS" ingest -d "$dir" --no-index --json "$in"
accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$BENCH_TMP/ingest.out") ||
	bench_die "ingest printed no summary: $(head -c 300 "$BENCH_TMP/ingest.out")"
[ "$accepted" = "$N" ] || bench_die "ingest accepted $accepted of $N messages"

# (d) what the archive keeps on disk.
segs=("$dir"/segments/*)
seg_bytes=$(bench_bytes "${segs[@]}")
dir_bytes=$(du -sb "$dir" | cut -f1)

# (e) verify the whole archive vs hashing its segment files.
bench_warm "${segs[@]}"
bench_run verify "$CUSTOS" verify -d "$dir" --json
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["intact"] is True else 1)' "$BENCH_TMP/verify.out" ||
	bench_die "verify did not report an intact archive: $(head -c 300 "$BENCH_TMP/verify.out")"
bench_run segsha bash -c 'cat "$@" | sha256sum' sha "${segs[@]}"

# (f) peak memory at N/10 (a prefix of the same input).
"$CUSTOS" init -d "$dir10" > /dev/null
bench_warm "$small"
bench_run ingest10 "$CUSTOS" ingest -d "$dir10" --no-index --json "$small"
small_bytes=$(bench_bytes "$small")

# Figures.
gen_mbps=$(bench_mbps "$in_bytes" "$gen_s")
zstd_mbps=$(bench_mbps "$in_bytes" "$zstd_s")
sha_mbps=$(bench_mbps "$in_bytes" "$sha_s")
ingest_mbps=$(bench_mbps "$in_bytes" "$ingest_s")
ingest10_mbps=$(bench_mbps "$small_bytes" "$ingest10_s")
verify_mbps=$(bench_mbps "$seg_bytes" "$verify_s")
segsha_mbps=$(bench_mbps "$seg_bytes" "$segsha_s")
r_ingest_zstd=$(bench_div "$ingest_mbps" "$zstd_mbps")
r_seg_input=$(bench_div "$seg_bytes" "$in_bytes")
r_verify_sha=$(bench_div "$verify_mbps" "$segsha_mbps")
r_rss=$(bench_div "$ingest_rss" "$ingest10_rss")
r_zstd_input=$(bench_div "$zst_bytes" "$in_bytes")

echo
echo "input: $in_bytes bytes JSON Lines, $(bench_fmt "$(bench_div "$in_bytes" "$N")" 1) bytes/message"
bench_row_header
bench_row "generate (gen_messages)" "$gen_s" "$gen_mbps" "$(bench_div "$N" "$gen_s")" "$gen_rss"
bench_row "zstd -3 -T1 (input)" "$zstd_s" "$zstd_mbps" "$(bench_div "$N" "$zstd_s")" "$zstd_rss"
bench_row "sha256sum (input)" "$sha_s" "$sha_mbps" "$(bench_div "$N" "$sha_s")" "$sha_rss"
bench_row "custos ingest (N)" "$ingest_s" "$ingest_mbps" "$(bench_div "$N" "$ingest_s")" "$ingest_rss"
bench_row "custos ingest (N/10)" "$ingest10_s" "$ingest10_mbps" "$(bench_div "$N10" "$ingest10_s")" "$ingest10_rss"
bench_row "custos verify (segments)" "$verify_s" "$verify_mbps" "$(bench_div "$N" "$verify_s")" "$verify_rss"
bench_row "cat | sha256sum (segments)" "$segsha_s" "$segsha_mbps" "-" "-"
echo
echo "sizes:"
printf '  %-32s %14s bytes\n' "input JSON Lines" "$in_bytes"
printf '  %-32s %14s bytes  (%s of input)\n' "zstd -3 of input" "$zst_bytes" "$(bench_fmt "$r_zstd_input" 3)"
printf '  %-32s %14s bytes  (%s bytes/message, %d files)\n' "segments" "$seg_bytes" \
	"$(bench_fmt "$(bench_div "$seg_bytes" "$N")" 1)" "${#segs[@]}"
printf '  %-32s %14s bytes  (segments + tree, id map, keys)\n' "data directory" "$dir_bytes"
echo
echo "ratios:"
bench_target "ingest / zstd -3 throughput" "$r_ingest_zstd" ">=" 0.4
bench_target "segment bytes / input bytes" "$r_seg_input" "<=" 0.5
bench_target "verify / sha256sum throughput" "$r_verify_sha" ">=" 0.7
bench_target "ingest peak RSS at N / at N/10" "$r_rss" "<=" 1.5

out=$(bench_out_file)
bench_json_line "$out" bench=ingest date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" commit="$(bench_commit)" \
	n="$N" seed="$SEED" nproc="$(nproc)" load_before="$load_before" \
	input_bytes="$in_bytes" zstd_bytes="$zst_bytes" segment_bytes="$seg_bytes" data_dir_bytes="$dir_bytes" \
	segment_files="${#segs[@]}" \
	gen_s="$gen_s" zstd_s="$zstd_s" zstd_mbps="$zstd_mbps" sha_s="$sha_s" sha_mbps="$sha_mbps" \
	ingest_s="$ingest_s" ingest_mbps="$ingest_mbps" ingest_msgs_per_s="$(bench_div "$N" "$ingest_s")" \
	ingest_rss_kib="$ingest_rss" ingest_tenth_s="$ingest10_s" ingest_tenth_rss_kib="$ingest10_rss" \
	verify_s="$verify_s" verify_mbps="$verify_mbps" verify_rss_kib="$verify_rss" \
	segment_sha_s="$segsha_s" segment_sha_mbps="$segsha_mbps" \
	ratio_ingest_zstd="$r_ingest_zstd" ratio_segment_input="$r_seg_input" \
	ratio_verify_sha="$r_verify_sha" ratio_rss_n_tenth="$r_rss" targets_missed="$BENCH_MISSED"
echo
echo "result line appended to $out"
if [ "$BENCH_MISSED" -gt 0 ]; then
	echo "$BENCH_MISSED target(s) missed"
	[ "${BENCH_STRICT:-0}" = 1 ] && exit 3
fi
exit 0
