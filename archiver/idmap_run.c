/* idmap_run.c - sorted run files of the duplicate map (idmap_run.h).
 *
 * File: header (64 bytes) | entries (24 bytes each, key order) | Bloom
 * filter (64 bytes a block) | fence (8 bytes a block of RUN_BLOCK
 * entries) | checksum (32 bytes): SHA-256 of the bytes from offset 64 up to
 * the checksum, then of the header (the header is written last). Keys are
 * SHA-256 prefixes, so their bits serve the filter as they are. A run is
 * written under a temporary name, fsynced and renamed, so a run file under
 * its own name is whole unless the disk or someone changed it: the
 * checksum, checked at every load, catches that (a damaged run would
 * otherwise let duplicates in or, worse, drop new messages as duplicates).
 */
#include "archiver/idmap_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fileio.h"

#define RUN_MAGIC "CUSTOSID"
#define RUN_VERSION 4 /* 4: checksum trailer; 3 and older are rebuilt */
#define BUF_ENTRIES 43690 /* about 1 MiB of entries per read or write */

/* The filter's block for key bytes 0..7, and its 7 bits from bytes 8..15. */
static uint64_t bloom_block(uint64_t a, uint64_t blocks)
{
	return ((a >> 32) * blocks) >> 32;
}

static void bloom_add(uint64_t *bloom, uint64_t blocks, const uint8_t *key)
{
	uint64_t *blk = bloom + 8 * bloom_block(get_be64(key), blocks), b = get_be64(key + 8);
	int i;

	for (i = 0; i < 7; i++, b >>= 9)
		blk[(b & 511) >> 6] |= 1ull << (b & 63);
}

static int bloom_has(const uint8_t *bloom, uint64_t blocks, const uint8_t *key)
{
	const uint8_t *blk = bloom + 64 * bloom_block(get_be64(key), blocks);
	uint64_t b = get_be64(key + 8);
	int i;

	for (i = 0; i < 7; i++, b >>= 9)
		if (!(get_be64(blk + 8 * ((b & 511) >> 6)) & (1ull << (b & 63))))
			return 0;
	return 1;
}

static uint64_t bloom_blocks_for(uint64_t count)
{
	uint64_t n = (count * RUN_BLOOM_BITS + 511) / 512;

	return n ? n : 1;
}

void *big_alloc(size_t n)
{
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p; /* zero-filled */
}

void big_free(void *p, size_t n)
{
	if (p)
		munmap(p, n ? n : 1);
}

static size_t fence_bytes(uint64_t max)
{
	return ((max + RUN_BLOCK - 1) / RUN_BLOCK + 1) * sizeof(uint64_t);
}

/* Maps the filter and the fence from the run's file. */
static int map_tail(struct id_run *r, struct cu_err *err)
{
	uint64_t off = RUN_HEADER_LEN + r->count * RUN_ENTRY_LEN, page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = off / page * page;

	r->map_len = (size_t)(off - start + r->bloom_blocks * 64 + r->nblocks * 8);
	r->map = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, r->fd, (off_t)start);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return cu_err_errno(err, errno, "id map: map %s", r->path);
	}
	r->bloom = (const uint8_t *)r->map + (off - start);
	r->fence = r->bloom + r->bloom_blocks * 64;
	return 0;
}

static void run_path(char *out, size_t len, const char *dir, uint64_t lo, uint64_t hi, const char *ext)
{
	int n = snprintf(out, len, "%s/run-%016llx-%016llx%s", dir, (unsigned long long)lo,
			 (unsigned long long)hi, ext);

	if (n < 0 || (size_t)n >= len) /* the directory's path is checked at open */
		out[0] = '\0';
}

int run_name_parse(const char *name, uint64_t *lo, uint64_t *hi)
{
	unsigned long long a, b;
	int n = 0;

	if (strlen(name) != 37 || sscanf(name, "run-%16llx-%16llx%n", &a, &b, &n) != 2 || n != 37)
		return 0;
	*lo = a;
	*hi = b;
	return 1;
}

int run_writer_open(struct run_writer *w, const char *dir, uint64_t lo, uint64_t hi, uint64_t max,
		    struct cu_err *err)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->lo = lo;
	w->hi = hi;
	w->max = max;
	w->off = RUN_HEADER_LEN;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	run_path(w->tmp, sizeof(w->tmp), dir, lo, hi, ".tmp");
	w->bloom_blocks = bloom_blocks_for(max);
	w->bloom = big_alloc(w->bloom_blocks * 64);
	w->fence = big_alloc(fence_bytes(max));
	w->buf = big_alloc((size_t)BUF_ENTRIES * RUN_ENTRY_LEN);
	if (!w->bloom || !w->fence || !w->buf || hash_stream_init(&w->sum) != 0) {
		run_writer_abort(w);
		return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
	}
	w->fd = fio_tmp_create(w->tmp, 0640, err);
	if (w->fd < 0) {
		int rc = w->fd;

		w->fd = -1;
		run_writer_abort(w);
		return rc;
	}
	return 0;
}

static int writer_flush(struct run_writer *w, struct cu_err *err)
{
	int rc;

	if (!w->blen)
		return 0;
	if (hash_stream_update(&w->sum, w->buf, w->blen) != 0)
		return cu_err_set(err, CU_ECRYPTO, "id map: hashing failed");
	rc = fio_pwrite_all(w->fd, w->buf, w->blen, (off_t)w->off, "id map run", err);
	w->off += w->blen;
	w->blen = 0;
	return rc;
}

int run_writer_add(struct run_writer *w, const struct id_entry *e, struct cu_err *err)
{
	uint8_t *p;

	if (w->count >= w->max || (w->count && memcmp(e->key, w->last, IDMAP_KEY_LEN) <= 0))
		return cu_err_set(err, CU_EINVAL, "id map: run entries out of order");
	if (w->blen == (size_t)BUF_ENTRIES * RUN_ENTRY_LEN) {
		int rc = writer_flush(w, err);
		if (rc)
			return rc;
	}
	p = w->buf + w->blen;
	memcpy(p, e->key, IDMAP_KEY_LEN);
	put_be64(p + IDMAP_KEY_LEN, e->seq);
	w->blen += RUN_ENTRY_LEN;
	if (w->count % RUN_BLOCK == 0)
		w->fence[w->nblocks++] = get_be64(e->key);
	bloom_add(w->bloom, w->bloom_blocks, e->key);
	memcpy(w->last, e->key, IDMAP_KEY_LEN);
	w->count++;
	return 0;
}

/* The 64-byte header: magic, version, block size, count, lo, hi, filter
 * blocks, fence entries, 8 zero bytes. */
static void header_put(uint8_t h[RUN_HEADER_LEN], uint64_t count, uint64_t lo, uint64_t hi,
		       uint64_t bloom_blocks, uint64_t nblocks)
{
	memset(h, 0, RUN_HEADER_LEN);
	memcpy(h, RUN_MAGIC, 8);
	put_be32(h + 8, RUN_VERSION);
	put_be32(h + 12, RUN_BLOCK);
	put_be64(h + 16, count);
	put_be64(h + 24, lo);
	put_be64(h + 32, hi);
	put_be64(h + 40, bloom_blocks);
	put_be64(h + 48, nblocks);
}

int run_writer_finish(struct run_writer *w, struct id_run **out, struct cu_err *err)
{
	uint8_t h[RUN_HEADER_LEN], sum[RUN_SUM_LEN];
	struct id_run *r;
	uint64_t i;
	uint8_t *tail;
	size_t tlen = w->bloom_blocks * 64 + w->nblocks * 8;
	int rc;

	*out = NULL;
	/* The filter was sized for the most entries the run could get; a
	 * smaller count keeps it (a sparser filter only errs less). */
	rc = writer_flush(w, err);
	tail = rc ? NULL : big_alloc(tlen);
	if (!rc && !tail)
		rc = cu_err_set(err, CU_ENOMEM, "id map: out of memory");
	if (!rc) {
		for (i = 0; i < w->bloom_blocks * 8; i++)
			put_be64(tail + i * 8, w->bloom[i]);
		for (i = 0; i < w->nblocks; i++)
			put_be64(tail + w->bloom_blocks * 64 + i * 8, w->fence[i]);
		if (hash_stream_update(&w->sum, tail, tlen) != 0)
			rc = cu_err_set(err, CU_ECRYPTO, "id map: hashing failed");
		if (!rc)
			rc = fio_pwrite_all(w->fd, tail, tlen, (off_t)w->off, "id map run", err);
		big_free(tail, tlen);
	}
	header_put(h, w->count, w->lo, w->hi, w->bloom_blocks, w->nblocks);
	if (!rc && (hash_stream_update(&w->sum, h, sizeof(h)) != 0 ||
		    hash_stream_final(&w->sum, sum) != 0))
		rc = cu_err_set(err, CU_ECRYPTO, "id map: hashing failed");
	if (!rc)
		rc = fio_pwrite_all(w->fd, sum, sizeof(sum), (off_t)(w->off + tlen), "id map run", err);
	if (!rc)
		rc = fio_pwrite_all(w->fd, h, sizeof(h), 0, "id map run", err);
	r = rc ? NULL : calloc(1, sizeof(*r));
	if (!rc && !r)
		rc = cu_err_set(err, CU_ENOMEM, "id map: out of memory");
	if (!rc) {
		r->fd = -1;
		run_path(r->path, sizeof(r->path), w->dir, w->lo, w->hi, "");
		rc = fio_tmp_commit(w->fd, w->tmp, r->path, err);
	}
	if (!rc) {
		r->fd = w->fd;
		r->lo = w->lo;
		r->hi = w->hi;
		r->count = w->count;
		r->bloom_blocks = w->bloom_blocks;
		r->nblocks = w->nblocks;
		w->fd = -1; /* the run's now */
		rc = map_tail(r, err);
		if (rc)
			run_free(r, 1);
	} else {
		free(r);
	}
	run_writer_abort(w);
	if (!rc)
		*out = r;
	return rc;
}

void run_writer_abort(struct run_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->tmp);
	}
	w->fd = -1;
	hash_stream_free(&w->sum);
	big_free(w->bloom, w->bloom_blocks * 64);
	big_free(w->fence, fence_bytes(w->max));
	big_free(w->buf, (size_t)BUF_ENTRIES * RUN_ENTRY_LEN);
	w->bloom = w->fence = NULL;
	w->buf = NULL;
}

/* Recomputes the checksum of a run of size bytes whose header is h. */
static int run_checksum_ok(int fd, const char *path, const uint8_t h[RUN_HEADER_LEN], uint64_t size,
			   struct cu_err *err)
{
	uint8_t want[RUN_SUM_LEN], got[RUN_SUM_LEN], *buf;
	uint64_t off = RUN_HEADER_LEN, end = size - RUN_SUM_LEN;
	size_t cap = (size_t)BUF_ENTRIES * RUN_ENTRY_LEN;
	struct hash_stream sum;
	int rc;

	buf = big_alloc(cap);
	if (!buf)
		return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
	rc = hash_stream_init(&sum) ? cu_err_set(err, CU_ECRYPTO, "id map: hashing failed") : 0;
	while (!rc && off < end) {
		size_t n = end - off < cap ? (size_t)(end - off) : cap;

		rc = fio_pread_all(fd, buf, n, (off_t)off, path, err);
		if (!rc && hash_stream_update(&sum, buf, n) != 0)
			rc = cu_err_set(err, CU_ECRYPTO, "id map: hashing failed");
		off += n;
	}
	if (!rc && (hash_stream_update(&sum, h, RUN_HEADER_LEN) != 0 || hash_stream_final(&sum, got) != 0))
		rc = cu_err_set(err, CU_ECRYPTO, "id map: hashing failed");
	if (!rc)
		rc = fio_pread_all(fd, want, sizeof(want), (off_t)end, path, err);
	if (!rc && memcmp(want, got, RUN_SUM_LEN) != 0)
		rc = cu_err_set(err, CU_ECORRUPT, "id map: %s is damaged (its checksum does not match)",
				path);
	hash_stream_free(&sum);
	big_free(buf, cap);
	return rc;
}

int run_load(const char *path, struct id_run **out, struct cu_err *err)
{
	uint8_t h[RUN_HEADER_LEN];
	const char *name = strrchr(path, '/');
	struct id_run *r;
	struct stat sb;
	uint64_t lo, hi;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = cu_err_errno(err, errno, "id map: open %s", path);
		goto fail;
	}
	if (fstat(r->fd, &sb) != 0) {
		rc = cu_err_errno(err, errno, "id map: stat %s", path);
		goto fail;
	}
	if ((uint64_t)sb.st_size < RUN_HEADER_LEN) {
		rc = cu_err_set(err, CU_ECORRUPT, "id map: %s is not a whole run", path);
		goto fail;
	}
	rc = fio_pread_all(r->fd, h, sizeof(h), 0, path, err);
	if (rc)
		goto fail;
	r->count = get_be64(h + 16);
	r->lo = get_be64(h + 24);
	r->hi = get_be64(h + 32);
	r->bloom_blocks = get_be64(h + 40);
	r->nblocks = get_be64(h + 48);
	if (!memcmp(h, RUN_MAGIC, 8) && get_be32(h + 8) < RUN_VERSION) {
		rc = cu_err_set(err, CU_ECORRUPT, "id map: %s has an older format without a checksum",
				path);
		goto fail;
	}
	/* Whole and consistent, or not a run at all. */
	if (memcmp(h, RUN_MAGIC, 8) || get_be32(h + 8) != RUN_VERSION || get_be32(h + 12) != RUN_BLOCK ||
	    !name || !run_name_parse(name + 1, &lo, &hi) || lo != r->lo || hi != r->hi || lo > hi ||
	    r->count > (1ull << 40) || !r->bloom_blocks || r->bloom_blocks > (1ull << 32) ||
	    r->nblocks != (r->count + RUN_BLOCK - 1) / RUN_BLOCK ||
	    (uint64_t)sb.st_size != RUN_HEADER_LEN + r->count * RUN_ENTRY_LEN + r->bloom_blocks * 64 +
					r->nblocks * 8 + RUN_SUM_LEN) {
		rc = cu_err_set(err, CU_ECORRUPT, "id map: %s is not a whole run", path);
		goto fail;
	}
	rc = run_checksum_ok(r->fd, path, h, (uint64_t)sb.st_size, err);
	if (rc)
		goto fail;
	rc = map_tail(r, err);
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	run_free(r, 0);
	return rc;
}

int run_find(const struct id_run *r, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq, struct cu_err *err)
{
	uint8_t blk[RUN_BLOCK * RUN_ENTRY_LEN];
	uint64_t a = get_be64(key), lo = 0, hi = r->nblocks, first, b, n;
	size_t l, h, mid;
	int c, rc;

	if (!r->count || !bloom_has(r->bloom, r->bloom_blocks, key))
		return 0;
	while (lo < hi) { /* the first block whose head is above the key's */
		uint64_t m = lo + (hi - lo) / 2;
		if (get_be64(r->fence + 8 * m) <= a)
			lo = m + 1;
		else
			hi = m;
	}
	if (lo == 0)
		return 0;
	/* Blocks whose head equals the key's first 8 bytes may hold it too. */
	for (first = lo - 1; first > 0 && get_be64(r->fence + 8 * first) == a; first--)
		;
	for (b = lo; b-- > first;) {
		n = r->count - b * RUN_BLOCK < RUN_BLOCK ? r->count - b * RUN_BLOCK : RUN_BLOCK;
		rc = fio_pread_all(r->fd, blk, n * RUN_ENTRY_LEN, (off_t)(RUN_HEADER_LEN + b * RUN_BLOCK * RUN_ENTRY_LEN),
				   r->path, err);
		if (rc)
			return rc;
		for (l = 0, h = n; l < h;) {
			mid = l + (h - l) / 2;
			c = memcmp(blk + mid * RUN_ENTRY_LEN, key, IDMAP_KEY_LEN);
			if (c == 0) {
				*seq = get_be64(blk + mid * RUN_ENTRY_LEN + IDMAP_KEY_LEN);
				return 1;
			}
			if (c < 0)
				l = mid + 1;
			else
				h = mid;
		}
	}
	return 0;
}

void run_free(struct id_run *r, int remove)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	if (remove)
		unlink(r->path);
	free(r);
}

int run_reader_open(struct run_reader *rd, const struct id_run *r, struct cu_err *err)
{
	memset(rd, 0, sizeof(*rd));
	rd->r = r;
	rd->buf = big_alloc((size_t)BUF_ENTRIES * RUN_ENTRY_LEN);
	return rd->buf ? 0 : cu_err_set(err, CU_ENOMEM, "id map: out of memory");
}

int run_reader_next(struct run_reader *rd, struct id_entry *e, struct cu_err *err)
{
	const uint8_t *p;
	int rc;

	if (rd->pos == rd->n) {
		uint64_t left = rd->r->count - rd->next;
		if (!left)
			return 0;
		rd->n = left < BUF_ENTRIES ? (size_t)left : BUF_ENTRIES;
		rd->pos = 0;
		rc = fio_pread_all(rd->r->fd, rd->buf, rd->n * RUN_ENTRY_LEN,
				   (off_t)(RUN_HEADER_LEN + rd->next * RUN_ENTRY_LEN), rd->r->path, err);
		if (rc) {
			rd->n = 0;
			return rc;
		}
		rd->next += rd->n;
	}
	p = rd->buf + rd->pos++ * RUN_ENTRY_LEN;
	memcpy(e->key, p, IDMAP_KEY_LEN);
	e->seq = get_be64(p + IDMAP_KEY_LEN);
	return 1;
}

void run_reader_close(struct run_reader *rd)
{
	big_free(rd->buf, (size_t)BUF_ENTRIES * RUN_ENTRY_LEN);
	rd->buf = NULL;
}
