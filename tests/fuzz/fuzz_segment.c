/* fuzz_segment.c - the segment/frame/record reader: the input becomes the
 * only segment file of an archive (made once with store_init, its key
 * replaced by the fixed fuzz key so that the seeds' seals verify), then
 * `custos verify` (verify_archive) and a read-only store_open + store_iter
 * + store_get + rec_decode run over it. Covers frame headers, checksums,
 * zstd decompression with its caps (bombs), entries, stubs and seals.
 *
 * Input: one mode byte, then the segment file. Mode bit 0 set: the harness
 * recomputes the segment header checksum and every frame checksum it can
 * walk to, so that mutations reach the decompressor and the record
 * decoder instead of stopping at a checksum mismatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/hash.h"
#include "archiver/record.h"
#include "archiver/segment.h"
#include "archiver/store.h"
#include "archiver/verify.h"
#include "common/buf.h"
#include "common/bytes.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char arch[600];     /* the archive directory */
static char segpath[700];  /* its only segment file */
static uint8_t *scratch;   /* the segment bytes (after fixing sums) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[700];
	struct cu_err err;
	FILE *f;

	(void)argc;
	(void)argv;
	cu_err_clear(&err);
	snprintf(arch, sizeof(arch), "%s/arch", fuzz_tmpdir("segment"));
	if (store_init(arch, FUZZ_ORIGIN, &err) != 0) {
		fprintf(stderr, "fuzz_segment: store_init: %s\n", err.msg);
		abort();
	}
	snprintf(path, sizeof(path), "%s/keys/archive.key", arch);
	f = fopen(path, "w");
	if (!f || PEM_write_PrivateKey(f, fuzz_key(), NULL, NULL, 0, NULL, NULL) != 1 || fclose(f)) {
		fprintf(stderr, "fuzz_segment: cannot write the fuzz key\n");
		abort();
	}
	snprintf(segpath, sizeof(segpath), "%s/segments/seg-00000001.cseg", arch);
	return 0;
}

/* Recomputes the checksums a mutation broke (see the file comment). */
static void fix_sums(uint8_t *p, size_t n)
{
	uint8_t both[32 + HASH_LEN], d[HASH_LEN];
	struct seg_frame_hdr fh;
	size_t off;

	if (n < SEG_HEADER_LEN)
		return;
	if (hash_sha256(p, 104, d) == 0)
		memcpy(p + 104, d, 16);
	for (off = SEG_HEADER_LEN; n - off >= SEG_FRAME_HDR_LEN;) {
		if (seg_frame_hdr_decode(p + off, &fh, NULL) != 0 ||
		    n - off - SEG_FRAME_HDR_LEN < fh.comp_len)
			break;
		memcpy(both, p + off, 32);
		if (hash_sha256(p + off + SEG_FRAME_HDR_LEN, fh.comp_len, both + 32) != 0 ||
		    hash_sha256(both, sizeof(both), d) != 0)
			break;
		memcpy(p + off + 32, d, 16);
		off += SEG_FRAME_HDR_LEN + fh.comp_len;
	}
}

static void write_segment(const uint8_t *p, size_t n)
{
	int fd = open(segpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd) != 0) {
		fprintf(stderr, "fuzz_segment: write %s: %s\n", segpath, strerror(errno));
		abort();
	}
}

static void read_back(void)
{
	struct store *st = NULL;
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	struct buf b;
	uint8_t root[HASH_LEN];
	uint64_t n, count = 0;
	int rc;

	if (store_open(arch, NULL, STORE_RDONLY, &st, NULL) != 0)
		return;
	n = store_size(st);
	if (store_iter_open(st, 0, &it, NULL) == 0) {
		while ((rc = store_iter_next(it, &e, NULL)) == 1) {
			if (e.seq != count++)
				abort(); /* the iterator skipped or repeated a seq */
			if (!e.is_stub && rec_decode(e.bytes, e.len, &v, NULL) == 0 && v.seq != e.seq)
				continue; /* verify names this; the reader need not */
		}
		store_iter_close(it);
	}
	if (n > 0) {
		buf_init(&b, 0);
		if (store_get(st, n - 1, &b, &e, NULL) == 0 && e.seq != n - 1)
			abort();
		buf_release(&b);
		(void)!store_root(st, n, root, NULL);
	}
	store_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verify_result res;
	struct cu_err err;
	size_t n;

	if (size < 1 || size > (1u << 20))
		return 0;
	n = size - 1;
	free(scratch);
	scratch = malloc(n ? n : 1);
	if (!scratch)
		abort();
	memcpy(scratch, data + 1, n);
	if (data[0] & 1)
		fix_sums(scratch, n);
	write_segment(scratch, n);
	cu_err_clear(&err);
	if (verify_archive(arch, &res, NULL, NULL, &err) == 0) {
		if (!res.intact && !res.reason[0])
			abort(); /* a failed verification must say why */
	}
	read_back();
	return 0;
}
