/* test_tree_store.c - the persistent Merkle subtree store.
 *
 * Every answer is compared with a reference tree built in memory by plain
 * pairwise hashing (roots and proofs from the same RFC 9162 algorithms over
 * that table, proofs also checked with the verifiers): sizes crossing the
 * 256/512/1024 boundaries, the level files' exact bytes, close and reopen
 * (the size on open is what level-08 proves), truncate and re-append,
 * repair of lagging, torn or overlong level files, read-only openers of a
 * live store, a 100,000-leaf tree whose proofs fetch at most one block of
 * leaves per block touched, and injected write/fsync faults that must
 * return an error and leave the store as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/hash.h"
#include "archiver/merkle.h"
#include "archiver/tree_store.h"
#include "common/bytes.h"
#include "common/fileio.h"
#include "tests/unit/test_util.h"

#define REF_LEVELS 20   /* enough for 2^19 leaves */
#define BIG 100000      /* leaves of the large tree */

/* The log as the tree store sees it: leaf hashes fetched by index. */
struct leafsrc {
	uint8_t (*leaf)[HASH_LEN]; /* leaf hashes */
	uint64_t n;                /* leaves that exist */
	uint64_t fetched;          /* leaf hashes handed out so far */
	uint64_t calls;            /* callback calls so far */
	int fail;                  /* nonzero: the callback fails with CU_EIO */
};

/* Reference: every complete aligned subtree hash, level[l][i] covering
 * leaves [i*2^l, (i+1)*2^l). */
struct ref {
	uint64_t n;
	uint8_t (*level[REF_LEVELS])[HASH_LEN];
};

struct fixture {
	char dir[256];   /* fresh temporary directory, holds tree/ */
	char tree[300];  /* dir/tree: the store's level directory */
};

static int leaves_cb(void *ctx, uint64_t start, uint64_t count, uint8_t (*out)[HASH_LEN])
{
	struct leafsrc *src = ctx;

	src->calls++;
	if (src->fail)
		return CU_EIO;
	assert_true(count > 0 && count <= 256);
	assert_true(start + count <= src->n);
	memcpy(out, src->leaf[start], (size_t)count * HASH_LEN);
	src->fetched += count;
	return 0;
}

/* n leaf hashes; variant changes every leaf (a different log). */
static uint8_t (*make_leaves(uint64_t n, uint8_t variant))[HASH_LEN]
{
	uint8_t (*lv)[HASH_LEN] = calloc(n ? n : 1, HASH_LEN);
	uint8_t b[9];
	uint64_t i;

	assert_non_null(lv);
	for (i = 0; i < n; i++) {
		put_be64(b, i);
		b[8] = variant;
		assert_int_equal(hash_leaf(b, sizeof(b), lv[i]), 0);
	}
	return lv;
}

static void ref_init(struct ref *r, const uint8_t (*leaves)[HASH_LEN], uint64_t n)
{
	uint64_t i, cnt;
	unsigned l;

	memset(r, 0, sizeof(*r));
	r->n = n;
	for (l = 0; l < REF_LEVELS; l++) {
		cnt = n >> l;
		r->level[l] = calloc(cnt ? cnt : 1, HASH_LEN);
		assert_non_null(r->level[l]);
		for (i = 0; i < cnt; i++) {
			if (l == 0)
				memcpy(r->level[0][i], leaves[i], HASH_LEN);
			else
				assert_int_equal(hash_node(r->level[l - 1][2 * i],
							   r->level[l - 1][2 * i + 1], r->level[l][i]), 0);
		}
	}
}

static void ref_release(struct ref *r)
{
	unsigned l;

	for (l = 0; l < REF_LEVELS; l++)
		free(r->level[l]);
}

static int ref_subtree(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN])
{
	struct ref *r = ctx;

	assert_true(level < REF_LEVELS);
	assert_true(start + ((uint64_t)1 << level) <= r->n);
	memcpy(out, r->level[level][start >> level], HASH_LEN);
	return 0;
}

static void ref_root(struct ref *r, uint64_t n, uint8_t out[HASH_LEN])
{
	assert_int_equal(mt_root(ref_subtree, r, n, out), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_tmpdir(f->dir, sizeof(f->dir), "ts");
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

static void level_path(const struct fixture *f, unsigned level, char *out, size_t cap)
{
	snprintf(out, cap, "%s/level-%02u", f->tree, level);
}

/* Size of a level file in bytes, -1 if it does not exist. */
static long long level_size(const struct fixture *f, unsigned level)
{
	char p[400];
	struct stat st;

	level_path(f, level, p, sizeof(p));
	if (stat(p, &st) != 0)
		return -1;
	return (long long)st.st_size;
}

static void set_level_size(const struct fixture *f, unsigned level, long long size)
{
	char p[400];

	level_path(f, level, p, sizeof(p));
	assert_int_equal(truncate(p, (off_t)size), 0);
}

/* A level file's whole contents (malloc'd; *len its size). */
static uint8_t *level_bytes(const struct fixture *f, unsigned level, size_t *len)
{
	char p[400];
	struct stat st;
	uint8_t *b;
	FILE *fp;

	level_path(f, level, p, sizeof(p));
	*len = 0;
	if (stat(p, &st) != 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	fp = fopen(p, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(b, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	fclose(fp);
	*len = (size_t)st.st_size;
	return b;
}

/* Every level file holds exactly the reference entries for n leaves. */
static void check_level_files(const struct fixture *f, const struct ref *r, uint64_t n)
{
	uint8_t *b;
	size_t len;
	unsigned l;

	for (l = TS_LEVEL_MIN; l < REF_LEVELS; l++) {
		b = level_bytes(f, l, &len);
		if ((n >> l) == 0) {
			assert_true(b == NULL || len == 0);
		} else {
			assert_non_null(b);
			assert_int_equal(len, (n >> l) * HASH_LEN);
			assert_memory_equal(b, r->level[l], len);
		}
		free(b);
	}
}

static void append_range(struct tree_store *ts, const uint8_t (*leaves)[HASH_LEN], uint64_t from,
			 uint64_t to)
{
	struct cu_err err;
	uint64_t i;

	cu_err_clear(&err);
	for (i = from; i < to; i++) {
		assert_int_equal(ts_size(ts), i);
		assert_int_equal(ts_append(ts, leaves[i], &err), 0);
	}
	assert_int_equal(ts_size(ts), to);
}

/* ts_root(n) equals the reference. */
static void check_root(struct tree_store *ts, struct ref *r, uint64_t n)
{
	uint8_t got[HASH_LEN], want[HASH_LEN];

	assert_int_equal(ts_root(ts, n, got), 0);
	ref_root(r, n, want);
	assert_memory_equal(got, want, HASH_LEN);
}

/* The store's proofs equal the reference's and verify. */
static void check_inclusion(struct tree_store *ts, struct ref *r, uint64_t i, uint64_t n)
{
	uint8_t got[MT_MAX_PROOF][HASH_LEN], want[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN];
	size_t gc, wc;

	assert_int_equal(ts_inclusion(ts, i, n, got, &gc), 0);
	assert_int_equal(mt_inclusion_proof(ref_subtree, r, i, n, want, &wc), 0);
	assert_int_equal(gc, wc);
	if (gc)
		assert_memory_equal(got, want, gc * HASH_LEN);
	ref_root(r, n, root);
	assert_int_equal(mt_verify_inclusion(r->level[0][i], i, n, (const uint8_t (*)[HASH_LEN])got,
					     gc, root), 0);
}

static void check_consistency(struct tree_store *ts, struct ref *r, uint64_t m, uint64_t n)
{
	uint8_t got[MT_MAX_PROOF][HASH_LEN], want[MT_MAX_PROOF][HASH_LEN];
	uint8_t r1[HASH_LEN], r2[HASH_LEN];
	size_t gc, wc;

	assert_int_equal(ts_consistency(ts, m, n, got, &gc), 0);
	assert_int_equal(mt_consistency_proof(ref_subtree, r, m, n, want, &wc), 0);
	assert_int_equal(gc, wc);
	if (gc)
		assert_memory_equal(got, want, gc * HASH_LEN);
	ref_root(r, m, r1);
	ref_root(r, n, r2);
	assert_int_equal(mt_verify_consistency(m, n, r1, r2, (const uint8_t (*)[HASH_LEN])got, gc), 0);
}

/* Roots at interesting sizes <= s, a few proofs at s and below. */
static void check_at(struct tree_store *ts, struct ref *r, uint64_t s)
{
	static const uint64_t probe[] = { 1, 2, 255, 256, 257, 300, 511, 512, 513, 767, 768,
					   1000, 1023, 1024, 1025, 1536, 2047, 2048 };
	size_t a, b;

	check_root(ts, r, 0);
	check_root(ts, r, s);
	for (a = 0; a < sizeof(probe) / sizeof(probe[0]); a++) {
		if (probe[a] > s)
			continue;
		check_root(ts, r, probe[a]);
		check_inclusion(ts, r, probe[a] - 1, s);
		check_consistency(ts, r, probe[a], s);
		for (b = 0; b < a; b++) {
			check_inclusion(ts, r, probe[b] - 1, probe[a]);
			check_consistency(ts, r, probe[b], probe[a]);
		}
	}
}

static void test_boundaries(void **state)
{
	static const uint64_t stops[] = { 1, 2, 3, 255, 256, 257, 511, 512, 513, 767, 768, 769,
					  1023, 1024, 1025, 1100 };
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(1100, 0);
	struct leafsrc src = { leaves, 1100, 0, 0, 0 };
	struct tree_store *ts;
	struct cu_err err;
	struct ref r;
	uint64_t n = 0, s;
	size_t i;

	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, 1100);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 0);
	check_root(ts, &r, 0);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, n, stops[i]);
		n = stops[i];
		check_at(ts, &r, n);
		check_level_files(f, &r, n);
	}
	for (s = 0; s <= n; s++)
		check_root(ts, &r, s);
	assert_int_equal(ts_sync(ts, &err), 0);
	ts_close(ts);
	ref_release(&r);
	free(leaves);
}

static void test_reopen(void **state)
{
	static const uint64_t sizes[] = { 0, 1, 255, 256, 257, 511, 512, 513, 1000, 1023, 1024,
					  1025, 1300, 2048, 2100 };
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(2100, 0);
	struct leafsrc src = { leaves, 2100, 0, 0, 0 };
	struct tree_store *ts;
	struct cu_err err;
	struct ref r;
	uint64_t have = 0, at_open;
	size_t i;

	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, 2100);
	/* Grow in steps; each step reopens and catches up like the store. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
		at_open = ts_size(ts);
		assert_int_equal(at_open, have & ~(uint64_t)255);
		src.fetched = 0;
		append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, at_open, have);
		assert_int_equal(src.fetched, 0);
		check_root(ts, &r, have);
		append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, have, sizes[i]);
		have = sizes[i];
		check_at(ts, &r, have);
		check_level_files(f, &r, have);
		if (i % 2)
			assert_int_equal(ts_sync(ts, &err), 0);
		ts_close(ts);
	}
	/* The level files are ahead of a log that lost its tail: the caller
	 * truncates; only the partial block is fetched. */
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 2048);
	src.fetched = 0;
	assert_int_equal(ts_truncate(ts, 1000, &err), 0);
	assert_int_equal(src.fetched, 1000 - 768);
	assert_int_equal(ts_size(ts), 1000);
	check_at(ts, &r, 1000);
	check_level_files(f, &r, 1000);
	ts_close(ts);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 768);
	ts_close(ts);
	ref_release(&r);
	free(leaves);
}

static void test_truncate_reappend(void **state)
{
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(2000, 0);
	uint8_t (*other)[HASH_LEN] = make_leaves(2000, 1);
	uint8_t (*mixed)[HASH_LEN] = calloc(2000, HASH_LEN);
	struct leafsrc src = { leaves, 2000, 0, 0, 0 };
	uint8_t before[HASH_LEN], after[HASH_LEN], empty[HASH_LEN];
	struct tree_store *ts;
	struct cu_err err;
	struct ref r, r2;

	assert_non_null(mixed);
	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, 2000);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 0, 2000);
	assert_int_equal(ts_root(ts, 2000, before), 0);

	/* Truncate, check, re-append the same leaves: the same tree. */
	assert_int_equal(ts_truncate(ts, 700, &err), 0);
	assert_int_equal(ts_size(ts), 700);
	check_level_files(f, &r, 700);
	check_at(ts, &r, 700);
	assert_int_equal(ts_root(ts, 701, after), CU_EINVAL);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 700, 2000);
	assert_int_equal(ts_root(ts, 2000, after), 0);
	assert_memory_equal(before, after, HASH_LEN);
	check_at(ts, &r, 2000);
	check_level_files(f, &r, 2000);

	/* Truncate to a block boundary and append a different history. */
	memcpy(mixed, leaves, 512 * HASH_LEN);
	memcpy(mixed[512], other[512], (2000 - 512) * HASH_LEN);
	ref_init(&r2, (const uint8_t (*)[HASH_LEN])mixed, 2000);
	assert_int_equal(ts_truncate(ts, 512, &err), 0);
	src.leaf = mixed;
	append_range(ts, (const uint8_t (*)[HASH_LEN])mixed, 512, 2000);
	assert_int_equal(ts_root(ts, 2000, after), 0);
	assert_memory_not_equal(before, after, HASH_LEN);
	check_at(ts, &r2, 2000);
	check_level_files(f, &r2, 2000);
	ts_close(ts);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 1792);
	append_range(ts, (const uint8_t (*)[HASH_LEN])mixed, 1792, 2000);
	check_at(ts, &r2, 2000);

	/* A failed leaf fetch changes nothing. */
	src.fail = 1;
	assert_int_equal(ts_truncate(ts, 1000, &err), CU_EIO);
	assert_int_equal(err.code, CU_EIO);
	cu_err_clear(&err);
	src.fail = 0;
	assert_int_equal(ts_size(ts), 2000);
	check_root(ts, &r2, 2000);
	check_level_files(f, &r2, 2000);

	/* Beyond the size, and down to nothing. */
	assert_int_equal(ts_truncate(ts, 2001, &err), CU_EINVAL);
	cu_err_clear(&err);
	assert_int_equal(ts_truncate(ts, 0, &err), 0);
	assert_int_equal(ts_size(ts), 0);
	assert_int_equal(hash_sha256("", 0, empty), 0);
	assert_int_equal(ts_root(ts, 0, after), 0);
	assert_memory_equal(after, empty, HASH_LEN);
	assert_int_equal(level_size(f, 8), 0);
	assert_int_equal(level_size(f, 10), 0);
	ts_close(ts);
	ref_release(&r);
	ref_release(&r2);
	free(mixed);
	free(other);
	free(leaves);
}

/* Snapshot of all level files, to prove a reader changed nothing. */
struct snapshot {
	uint8_t *bytes[REF_LEVELS];
	size_t len[REF_LEVELS];
};

static void snap_take(const struct fixture *f, struct snapshot *s)
{
	unsigned l;

	for (l = TS_LEVEL_MIN; l < REF_LEVELS; l++)
		s->bytes[l] = level_bytes(f, l, &s->len[l]);
}

static void snap_check_release(const struct fixture *f, struct snapshot *s)
{
	struct snapshot now;
	unsigned l;

	snap_take(f, &now);
	for (l = TS_LEVEL_MIN; l < REF_LEVELS; l++) {
		assert_int_equal(now.len[l], s->len[l]);
		assert_int_equal(now.bytes[l] == NULL, s->bytes[l] == NULL);
		if (now.len[l])
			assert_memory_equal(now.bytes[l], s->bytes[l], now.len[l]);
		free(now.bytes[l]);
		free(s->bytes[l]);
	}
}

static void test_rdonly(void **state)
{
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(3000, 0);
	struct leafsrc src = { leaves, 3000, 0, 0, 0 };
	struct tree_store *w, *rd;
	struct snapshot snap;
	struct cu_err err;
	struct ref r;
	char missing[400];
	unsigned l;

	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, 3000);

	/* A reader of a directory that does not exist yet: all in memory. */
	snprintf(missing, sizeof(missing), "%s/nothing-here", f->dir);
	assert_int_equal(ts_open(missing, 1, leaves_cb, &src, &rd, &err), 0);
	assert_int_equal(ts_size(rd), 0);
	append_range(rd, (const uint8_t (*)[HASH_LEN])leaves, 0, 600);
	check_at(rd, &r, 600);
	assert_int_equal(ts_sync(rd, &err), 0);
	ts_close(rd);
	assert_int_equal(access(missing, F_OK), -1);

	/* The writer has 1000 leaves; a reader catches up with the log. */
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &w, &err), 0);
	append_range(w, (const uint8_t (*)[HASH_LEN])leaves, 0, 1000);
	assert_int_equal(ts_sync(w, &err), 0);
	snap_take(f, &snap);
	for (l = TS_LEVEL_MIN; l <= 9; l++) {
		char p[400];

		level_path(f, l, p, sizeof(p));
		assert_int_equal(chmod(p, 0444), 0);
	}
	assert_int_equal(ts_open(f->tree, 1, leaves_cb, &src, &rd, &err), 0);
	assert_int_equal(ts_size(rd), 768);
	append_range(rd, (const uint8_t (*)[HASH_LEN])leaves, 768, 1000);
	check_at(rd, &r, 1000);
	/* Beyond the writer's files: the new level entries stay in memory. */
	append_range(rd, (const uint8_t (*)[HASH_LEN])leaves, 1000, 2100);
	check_at(rd, &r, 2100);
	assert_int_equal(ts_truncate(rd, 1500, &err), 0);
	check_at(rd, &r, 1500);
	assert_int_equal(ts_truncate(rd, 600, &err), 0);
	check_at(rd, &r, 600);
	append_range(rd, (const uint8_t (*)[HASH_LEN])leaves, 600, 1800);
	check_at(rd, &r, 1800);
	assert_int_equal(ts_sync(rd, &err), 0);
	snap_check_release(f, &snap);
	for (l = TS_LEVEL_MIN; l <= 9; l++) {
		char p[400];

		level_path(f, l, p, sizeof(p));
		assert_int_equal(chmod(p, 0644), 0);
	}

	/* The writer moves on while the reader is open; the reader follows
	 * the log in memory and agrees. */
	append_range(w, (const uint8_t (*)[HASH_LEN])leaves, 1000, 3000);
	append_range(rd, (const uint8_t (*)[HASH_LEN])leaves, 1800, 3000);
	check_at(rd, &r, 3000);
	ts_close(rd);

	/* A reader opened now sees the writer's files, which may be ahead of
	 * the log it reads: it truncates in memory only. */
	snap_take(f, &snap);
	assert_int_equal(ts_open(f->tree, 1, leaves_cb, &src, &rd, &err), 0);
	assert_int_equal(ts_size(rd), 2816);
	assert_int_equal(ts_truncate(rd, 2500, &err), 0);
	check_at(rd, &r, 2500);
	append_range(rd, (const uint8_t (*)[HASH_LEN])leaves, 2500, 3000);
	check_at(rd, &r, 3000);
	snap_check_release(f, &snap);
	ts_close(rd);
	check_at(w, &r, 3000);
	ts_close(w);
	ref_release(&r);
	free(leaves);
}

static void test_repair(void **state)
{
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(1024, 0);
	struct leafsrc src = { leaves, 1024, 0, 0, 0 };
	struct tree_store *ts;
	struct snapshot snap;
	struct cu_err err;
	char p[400];
	struct ref r;
	int fd;

	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, 1024);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 0, 1024);
	ts_close(ts);

	/* A crash between the writes of one append: level-09 lags, level-10
	 * was never created, and level-08 has a torn entry at its end. */
	set_level_size(f, 9, 0);
	level_path(f, 10, p, sizeof(p));
	assert_int_equal(unlink(p), 0);
	level_path(f, 8, p, sizeof(p));
	fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
	close(fd);

	/* A reader repairs in memory and leaves the files alone. */
	snap_take(f, &snap);
	src.fetched = 0;
	assert_int_equal(ts_open(f->tree, 1, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 1024);
	assert_int_equal(src.fetched, 0);
	check_at(ts, &r, 1024);
	ts_close(ts);
	snap_check_release(f, &snap);

	/* The writer repairs the files. */
	src.fetched = 0;
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 1024);
	assert_int_equal(src.fetched, 0);
	check_level_files(f, &r, 1024);
	check_at(ts, &r, 1024);
	ts_close(ts);

	/* Higher levels longer than level-08 implies (stale entries of an
	 * older, longer tree): ignored by a reader, cut by the writer. */
	set_level_size(f, 8, 2 * HASH_LEN);
	assert_int_equal(ts_open(f->tree, 1, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 512);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 512, 1024);
	check_at(ts, &r, 1024);
	ts_close(ts);
	assert_int_equal(level_size(f, 9), 2 * HASH_LEN);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 512);
	assert_int_equal(level_size(f, 9), HASH_LEN);
	assert_int_equal(level_size(f, 10), 0);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 512, 1024);
	check_at(ts, &r, 1024);
	check_level_files(f, &r, 1024);
	ts_close(ts);
	ref_release(&r);
	free(leaves);
}

/* ts_check: a changed byte in any level entry that has an entry above it
 * is found, *vouched is below it, and after ts_truncate(vouched) and the
 * appends from the log every answer is right again. */
static void test_check_links(void **state)
{
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(4096, 0);
	struct leafsrc src = { leaves, 4096, 0, 0, 0 };
	static const struct { unsigned level; uint64_t entry; } flips[] = {
		{8, 0}, {8, 5}, {8, 14}, {9, 3}, {10, 1}, {11, 0},
	};
	struct tree_store *ts;
	struct cu_err err;
	char p[400], msg[256];
	uint64_t vouched;
	struct ref r;
	size_t i;
	int fd;

	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, 4096);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 0, 4096);
	msg[0] = '\0';
	assert_int_equal(ts_check(ts, &vouched, msg, sizeof(msg), &err), 0);
	assert_int_equal(vouched, 4096);
	assert_string_equal(msg, "");
	ts_close(ts);
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		unsigned char c;
		unsigned l = flips[i].level;
		uint64_t covered = flips[i].entry << l;

		level_path(f, l, p, sizeof(p));
		fd = open(p, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &c, 1, (off_t)(flips[i].entry * HASH_LEN + 7)), 1);
		c ^= 1;
		assert_int_equal(pwrite(fd, &c, 1, (off_t)(flips[i].entry * HASH_LEN + 7)), 1);
		close(fd);
		assert_int_equal(ts_open(f->tree, i & 1, leaves_cb, &src, &ts, &err), 0);
		assert_int_equal(ts_check(ts, &vouched, msg, sizeof(msg), &err), 0);
		assert_true(vouched <= covered);
		assert_true(vouched < 4096);
		assert_non_null(strstr(msg, "does not match"));
		assert_int_equal(ts_truncate(ts, vouched, &err), 0);
		append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, vouched, 4096);
		check_at(ts, &r, 4096);
		check_at(ts, &r, 512);
		ts_close(ts);
		if (i & 1) { /* a reader repaired in memory only: the writer now */
			assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
			assert_int_equal(ts_check(ts, &vouched, msg, sizeof(msg), &err), 0);
			assert_int_equal(ts_truncate(ts, vouched, &err), 0);
			append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, vouched, 4096);
			ts_close(ts);
		}
		check_level_files(f, &r, 4096);
	}
	ref_release(&r);
	free(leaves);
}

/* mt_subtree_fn wrapper counting the subtree reads of one proof. */
struct counting {
	struct tree_store *ts;
	unsigned calls;
};

static int counting_subtree(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN])
{
	struct counting *c = ctx;

	c->calls++;
	return ts_subtree(c->ts, start, level, out);
}

static void test_large_tree_cost(void **state)
{
	static const uint64_t idx[] = { 0, 1, 255, 256, 4097, 50000, 65535, 65536, 99839, 99840,
					99998, 99999 };
	static const uint64_t hist[] = { 1, 300, 12345, 50001, 65536, 65537, 99000, 99841 };
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(BIG, 0);
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN];
	struct leafsrc src = { leaves, BIG, 0, 0, 0 };
	struct counting cnt;
	struct tree_store *ts;
	struct cu_err err;
	struct ref r;
	size_t i, j, count;
	uint64_t most = 0, most_hist = 0;

	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, BIG);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 0, BIG);
	assert_int_equal(src.fetched, 0); /* appending never reads leaves */
	assert_int_equal(level_size(f, 8), (BIG / 256) * HASH_LEN);
	assert_int_equal(level_size(f, 16), (BIG >> 16) * HASH_LEN);

	/* The current root: no I/O at all. */
	assert_int_equal(ts_root(ts, BIG, root), 0);
	assert_int_equal(src.calls, 0);
	check_root(ts, &r, BIG);

	/* Proofs against the current size: the partial block is in memory,
	 * so at most one block of leaves (the leaf's own) is fetched. */
	for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		src.fetched = 0;
		check_inclusion(ts, &r, idx[i], BIG);
		assert_true(src.fetched <= 256);
		most = src.fetched > most ? src.fetched : most;
		src.fetched = 0;
		check_consistency(ts, &r, idx[i] + 1, BIG);
		assert_true(src.fetched <= 256);
		most = src.fetched > most ? src.fetched : most;
		cnt.ts = ts;
		cnt.calls = 0;
		assert_int_equal(mt_inclusion_proof(counting_subtree, &cnt, idx[i], BIG, proof, &count), 0);
		assert_true(cnt.calls <= 2 * 17 + 2);
		cnt.calls = 0;
		assert_int_equal(mt_consistency_proof(counting_subtree, &cnt, idx[i] + 1, BIG, proof,
						      &count), 0);
		assert_true(cnt.calls <= 2 * 17 + 2);
	}
	/* At historical sizes: at most one block for the old size's partial
	 * block plus one for the leaf / old edge. */
	for (i = 0; i < sizeof(hist) / sizeof(hist[0]); i++) {
		src.fetched = 0;
		check_root(ts, &r, hist[i]);
		assert_true(src.fetched <= 255);
		for (j = 0; j < sizeof(idx) / sizeof(idx[0]); j++) {
			if (idx[j] >= hist[i])
				continue;
			src.fetched = 0;
			check_inclusion(ts, &r, idx[j], hist[i]);
			assert_true(src.fetched <= 2 * 256);
			most_hist = src.fetched > most_hist ? src.fetched : most_hist;
			src.fetched = 0;
			check_consistency(ts, &r, idx[j] + 1, hist[i]);
			assert_true(src.fetched <= 2 * 256);
			most_hist = src.fetched > most_hist ? src.fetched : most_hist;
		}
	}
	print_message("large tree: %d leaves, max leaves fetched per proof: %llu at the current "
		      "size, %llu at historical sizes\n", BIG, (unsigned long long)most,
		      (unsigned long long)most_hist);
	ts_close(ts);

	/* Reopen: no leaf is read, the partial block comes from the caller. */
	src.calls = 0;
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), BIG & ~(uint64_t)255);
	assert_int_equal(src.calls, 0);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, BIG & ~(uint64_t)255, BIG);
	check_root(ts, &r, BIG);
	ts_close(ts);
	ref_release(&r);
	free(leaves);
}

static void fault_set(const char *spec)
{
	if (spec)
		setenv("CUSTOS_FAULT", spec, 1);
	else
		unsetenv("CUSTOS_FAULT");
	fio_fault_reset();
}

static void test_fault_injection(void **state)
{
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(1024, 0);
	struct leafsrc src = { leaves, 1024, 0, 0, 0 };
	struct tree_store *ts;
	struct cu_err err;
	struct ref r;

	cu_err_clear(&err);
	ref_init(&r, (const uint8_t (*)[HASH_LEN])leaves, 1024);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);

	/* The first level write (leaf 255 completes block 0) hits a full disk. */
	fault_set("write:1:28");
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 0, 255);
	assert_int_equal(ts_append(ts, leaves[255], &err), CU_ENOSPC);
	assert_int_equal(err.code, CU_ENOSPC);
	assert_non_null(strstr(err.msg, "level-08"));
	cu_err_clear(&err);
	assert_int_equal(ts_size(ts), 255);
	check_at(ts, &r, 255);
	/* Retrying succeeds and overwrites the torn entry. */
	assert_int_equal(ts_append(ts, leaves[255], &err), 0);
	check_at(ts, &r, 256);
	check_level_files(f, &r, 256);

	/* Leaf 511: level-08 entry 1 is written, level-09 entry 0 fails. */
	fault_set("write:2:5");
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 256, 511);
	assert_int_equal(ts_append(ts, leaves[511], &err), CU_EIO);
	assert_non_null(strstr(err.msg, "level-09"));
	cu_err_clear(&err);
	assert_int_equal(ts_size(ts), 511);
	check_at(ts, &r, 511);
	assert_int_equal(level_size(f, 9), HASH_LEN / 2); /* the torn write */
	assert_int_equal(ts_append(ts, leaves[511], &err), 0);
	check_at(ts, &r, 512);
	check_level_files(f, &r, 512);

	/* Leaf 1023: the third write (level-10 entry 0) fails, and the
	 * process gives up: on reopen level-08 proves 1024 leaves and
	 * level-10 is rebuilt from level-09. */
	fault_set("write:3:28");
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 512, 1023);
	assert_int_equal(ts_append(ts, leaves[1023], &err), CU_ENOSPC);
	cu_err_clear(&err);
	assert_int_equal(ts_size(ts), 1023);
	check_at(ts, &r, 1023);
	ts_close(ts);
	fault_set(NULL);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 1024);
	check_at(ts, &r, 1024);
	check_level_files(f, &r, 1024);

	/* A fault while the writer rebuilds a lagging level on open is an
	 * error from ts_open, not a half-repaired store. */
	ts_close(ts);
	set_level_size(f, 10, 0);
	fault_set("write:1:5");
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), CU_EIO);
	assert_null(ts);
	cu_err_clear(&err);
	fault_set(NULL);
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	assert_int_equal(ts_size(ts), 1024);
	check_level_files(f, &r, 1024);

	/* A failed fsync is reported, and the next ts_sync tries again. */
	ts_close(ts);
	set_level_size(f, 9, 0); /* the writer rewrites it: something to sync */
	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	fault_set("fsync:1:5");
	assert_int_equal(ts_sync(ts, &err), CU_EIO);
	cu_err_clear(&err);
	assert_int_equal(ts_sync(ts, &err), 0);
	fault_set(NULL);
	check_at(ts, &r, 1024);
	check_level_files(f, &r, 1024);
	ts_close(ts);
	ref_release(&r);
	free(leaves);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	uint8_t (*leaves)[HASH_LEN] = make_leaves(700, 0);
	struct leafsrc src = { leaves, 700, 0, 0, 0 };
	uint8_t out[MT_MAX_PROOF][HASH_LEN];
	struct tree_store *ts = NULL;
	struct cu_err err;
	char p[400];
	size_t count;
	FILE *fp;

	cu_err_clear(&err);
	/* A file where the directory should be. */
	snprintf(p, sizeof(p), "%s/plainfile", f->dir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_not_equal(ts_open(p, 0, leaves_cb, &src, &ts, &err), 0);
	assert_null(ts);
	assert_int_not_equal(err.code, 0);
	assert_true(strlen(err.msg) > 0);
	cu_err_clear(&err);
	assert_int_not_equal(ts_open(p, 1, leaves_cb, &src, &ts, &err), 0);
	cu_err_clear(&err);
	unlink(p);

	assert_int_equal(ts_open(f->tree, 0, leaves_cb, &src, &ts, &err), 0);
	append_range(ts, (const uint8_t (*)[HASH_LEN])leaves, 0, 700);
	/* Beyond the size, unaligned or oversized subtrees. */
	assert_int_equal(ts_root(ts, 701, out[0]), CU_EINVAL);
	assert_int_equal(ts_inclusion(ts, 5, 701, out, &count), CU_EINVAL);
	assert_int_equal(ts_inclusion(ts, 700, 700, out, &count), CU_EINVAL);
	assert_int_equal(ts_consistency(ts, 5, 701, out, &count), CU_EINVAL);
	assert_int_equal(ts_consistency(ts, 0, 700, out, &count), CU_EINVAL);
	assert_int_equal(ts_subtree(ts, 1, 1, out[0]), CU_EINVAL);
	assert_int_equal(ts_subtree(ts, 512, 9, out[0]), CU_EINVAL);
	assert_int_equal(ts_subtree(ts, 0, 10, out[0]), CU_EINVAL);
	assert_int_equal(ts_subtree(ts, 0, 64, out[0]), CU_EINVAL);
	assert_int_equal(ts_subtree(ts, 0, 9, out[0]), 0);
	/* A failing leaf source surfaces through the proofs. */
	src.fail = 1;
	assert_int_equal(ts_inclusion(ts, 3, 700, out, &count), CU_EIO);
	assert_int_equal(ts_root(ts, 500, out[0]), CU_EIO);
	assert_int_equal(ts_root(ts, 700, out[0]), 0); /* the current root needs no leaves */
	/* The newest leaves are in memory, their left siblings in level files. */
	assert_int_equal(ts_inclusion(ts, 699, 700, out, &count), 0);
	src.fail = 0;
	ts_close(ts);
	ts_close(NULL);
	free(leaves);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_reappend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rdonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_tree_cost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	unsetenv("CUSTOS_FAULT");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
