/* tree_store.c - persistent hashes of the complete aligned subtrees of 256
 * leaves and more, one append-only file per level (docs/FORMAT.md "Merkle
 * level files").
 *
 * Memory is O(log n) + 256 hashes whatever the size: the frontier (one
 * hash per set bit of the size, for appending and for the current root),
 * the leaf hashes of the current partial 256-leaf block, and per level a
 * file descriptor and counts. Only a read-only store grows: it keeps the
 * level entries it computes itself in memory, 32 bytes per 256 leaves.
 *
 * Invariant, for every level L >= TS_LEVEL_MIN:
 *   lv[L].on_file + lv[L].mem_n == size >> L
 * entries [0, on_file) are read from the file, the rest from lv[L].mem.
 * A writer never uses mem (mem_n == 0), and its level file holds at least
 * on_file whole entries. Entries are always written at their own offset
 * (pwrite at i * 32), so a partly written or stale entry beyond the size
 * is simply overwritten when its subtree is completed again.
 */
#include "archiver/tree_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/layout.h"

#define TS_LEVELS 64                        /* levels 0..63 of a 2^64-leaf tree */
#define TS_BLOCK ((uint64_t)1 << TS_LEVEL_MIN) /* leaves per level-8 entry */
#define TS_DIR_MAX 4000                     /* cap on the directory name */
#define TS_PATH_MAX (TS_DIR_MAX + 16)       /* dir + "/level-LL" + NUL */

/* One level file and the entries of that level. */
struct ts_level {
	int fd;                       /* level-LL, -1 if absent or not yet created */
	int dirty;                    /* written or cut since the last ts_sync */
	uint64_t on_file;             /* entries [0, on_file) are read from fd */
	uint8_t (*mem)[HASH_LEN];     /* read-only: entries [on_file, on_file + mem_n) */
	uint64_t mem_n;               /* entries used in mem */
	uint64_t mem_cap;             /* entries allocated in mem */
};

struct tree_store {
	char *dir;                        /* directory of the level files (owned) */
	int rdonly;                       /* 1: never write, keep new entries in memory */
	int dir_dirty;                    /* a level file was created since the last ts_sync */
	ts_leaves_fn leaves;              /* fetches leaf hashes of complete blocks */
	void *leaves_ctx;                 /* its context */
	uint64_t size;                    /* leaves in the tree */
	struct mt_frontier fr;            /* right edge of the tree of size leaves */
	uint8_t tail[TS_BLOCK][HASH_LEN]; /* leaves [size & ~255, size) */
	struct ts_level lv[TS_LEVELS];    /* by level; only >= TS_LEVEL_MIN are used */
};

/* One complete subtree of level >= TS_LEVEL_MIN formed by an append. */
struct ts_done {
	unsigned n;                   /* items used */
	struct {
		unsigned level;           /* L */
		uint64_t index;           /* entry index in level L */
		uint8_t hash[HASH_LEN];   /* its hash */
	} item[TS_LEVELS];
};

static void level_path(const struct tree_store *ts, unsigned level, char path[TS_PATH_MAX])
{
	snprintf(path, TS_PATH_MAX, "%s/" LAYOUT_TREE_LEVEL_FMT, ts->dir, level);
}

/* Hashes the 2^level leaves in buf (level < TS_LEVEL_MIN) in place into buf[0]:
 * each pass hashes pairs into the front half; buf[i] is only written after
 * buf[2i] and buf[2i + 1] were read. */
static int hash_leaves(uint8_t (*buf)[HASH_LEN], uint64_t count, uint8_t out[HASH_LEN])
{
	uint64_t w, i;
	int rc;

	for (w = count; w > 1; w /= 2) {
		for (i = 0; i < w / 2; i++) {
			rc = hash_node(buf[2 * i], buf[2 * i + 1], buf[i]);
			if (rc)
				return rc;
		}
	}
	memcpy(out, buf[0], HASH_LEN);
	return 0;
}

/* Reads entry i of level L (i < on_file + mem_n). */
static int ts_entry(struct tree_store *ts, unsigned level, uint64_t i, uint8_t out[HASH_LEN],
		    struct cu_err *err)
{
	struct ts_level *lv = &ts->lv[level];
	char path[TS_PATH_MAX];

	if (i < lv->on_file) {
		level_path(ts, level, path);
		if (lv->fd < 0)
			return cu_err_set(err, CU_ECORRUPT, "%s: missing", path);
		return fio_pread_all(lv->fd, out, HASH_LEN, (off_t)(i * HASH_LEN), path, err);
	}
	if (i - lv->on_file < lv->mem_n) {
		memcpy(out, lv->mem[i - lv->on_file], HASH_LEN);
		return 0;
	}
	return cu_err_set(err, CU_EINVAL, "level %u entry %llu beyond the tree", level,
			  (unsigned long long)i);
}

/* Stores entry i of level L, which must be the next one (i == on_file +
 * mem_n): writer to the file (created on first use), reader in memory. */
static int ts_put(struct tree_store *ts, unsigned level, uint64_t i, const uint8_t hash[HASH_LEN],
		  struct cu_err *err)
{
	struct ts_level *lv = &ts->lv[level];
	char path[TS_PATH_MAX];
	uint8_t (*grown)[HASH_LEN];
	uint64_t cap;
	int rc;

	if (i != lv->on_file + lv->mem_n)
		return cu_err_set(err, CU_ESTATE, "level %u: entry %llu out of order", level,
				  (unsigned long long)i);
	if (ts->rdonly) {
		if (lv->mem_n == lv->mem_cap) {
			cap = lv->mem_cap ? lv->mem_cap * 2 : 16;
			if (cap > SIZE_MAX / HASH_LEN)
				return cu_err_set(err, CU_ENOMEM, "level %u: too many entries", level);
			grown = realloc(lv->mem, (size_t)cap * HASH_LEN);
			if (!grown)
				return cu_err_set(err, CU_ENOMEM, "level %u: out of memory", level);
			lv->mem = grown;
			lv->mem_cap = cap;
		}
		memcpy(lv->mem[lv->mem_n], hash, HASH_LEN);
		lv->mem_n++;
		return 0;
	}
	level_path(ts, level, path);
	if (lv->fd < 0) {
		lv->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lv->fd < 0)
			return cu_err_errno(err, errno, "create %s", path);
		ts->dir_dirty = 1;
	}
	lv->dirty = 1;
	rc = fio_pwrite_all(lv->fd, hash, HASH_LEN, (off_t)(i * HASH_LEN), path, err);
	if (rc)
		return rc;
	lv->on_file = i + 1;
	return 0;
}

/* Restores the invariant on_file + mem_n == n >> L after a failed append
 * (n = size) or for a truncation to n <= size. */
static void ts_set_counts(struct tree_store *ts, uint64_t n)
{
	struct ts_level *lv;
	uint64_t count;
	unsigned l;

	for (l = TS_LEVEL_MIN; l < TS_LEVELS; l++) {
		lv = &ts->lv[l];
		count = n >> l;
		if (ts->rdonly) {
			if (count < lv->on_file)
				lv->on_file = count;
			lv->mem_n = count - lv->on_file;
		} else {
			lv->on_file = count;
			lv->mem_n = 0;
		}
	}
}

/* The frontier of the first s leaves, s a multiple of TS_BLOCK, from the
 * level entries: the subtree of bit l of s is entry (s >> l) - 1 of level l. */
static int ts_frontier_at(struct tree_store *ts, uint64_t s, struct mt_frontier *fr,
			  struct cu_err *err)
{
	unsigned l;
	int rc;

	mt_frontier_init(fr);
	for (l = TS_LEVEL_MIN; l < TS_LEVELS; l++) {
		if (!(s & ((uint64_t)1 << l)))
			continue;
		rc = ts_entry(ts, l, (s >> l) - 1, fr->node[l], err);
		if (rc)
			return rc;
	}
	fr->size = s;
	return 0;
}

/* Shrinks the file of level L to count entries if it is longer. */
static int ts_cut(struct tree_store *ts, unsigned level, uint64_t count, struct cu_err *err)
{
	struct ts_level *lv = &ts->lv[level];
	char path[TS_PATH_MAX];
	struct stat st;

	if (lv->fd < 0)
		return 0;
	level_path(ts, level, path);
	if (fstat(lv->fd, &st) != 0)
		return cu_err_errno(err, errno, "stat %s", path);
	if ((uint64_t)st.st_size <= count * HASH_LEN)
		return 0;
	if (ftruncate(lv->fd, (off_t)(count * HASH_LEN)) != 0)
		return cu_err_errno(err, errno, "truncate %s", path);
	lv->dirty = 1;
	return 0;
}

/* Opens the existing level files and derives the size from level-08,
 * repairing higher levels that lag behind it (see tree_store.h). */
static int ts_load(struct tree_store *ts, struct cu_err *err)
{
	uint8_t left[HASH_LEN], right[HASH_LEN], node[HASH_LEN];
	char path[TS_PATH_MAX];
	uint64_t entries[TS_LEVELS] = { 0 };
	struct ts_level *lv;
	struct stat st;
	uint64_t s, need, i;
	unsigned l;
	int rc;

	for (l = TS_LEVEL_MIN; l < TS_LEVELS; l++) {
		lv = &ts->lv[l];
		level_path(ts, l, path);
		lv->fd = open(path, (ts->rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lv->fd < 0) {
			if (errno == ENOENT)
				continue;
			return cu_err_errno(err, errno, "open %s", path);
		}
		if (fstat(lv->fd, &st) != 0)
			return cu_err_errno(err, errno, "stat %s", path);
		entries[l] = (uint64_t)st.st_size / HASH_LEN;
	}
	if (entries[TS_LEVEL_MIN] > (UINT64_MAX >> TS_LEVEL_MIN)) {
		level_path(ts, TS_LEVEL_MIN, path);
		return cu_err_set(err, CU_ECORRUPT, "%s: impossibly large", path);
	}
	s = entries[TS_LEVEL_MIN] << TS_LEVEL_MIN;
	for (l = TS_LEVEL_MIN; l < TS_LEVELS; l++) {
		lv = &ts->lv[l];
		need = s >> l;
		lv->on_file = entries[l] < need ? entries[l] : need;
		lv->mem_n = 0;
		if (!ts->rdonly) {
			/* Cut torn entries and entries level-08 does not imply. */
			rc = ts_cut(ts, l, lv->on_file, err);
			if (rc)
				return rc;
		}
		/* Entries level-08 implies but this level lacks: from below. */
		for (i = lv->on_file; i < need; i++) {
			rc = ts_entry(ts, l - 1, 2 * i, left, err);
			if (rc == 0)
				rc = ts_entry(ts, l - 1, 2 * i + 1, right, err);
			if (rc == 0)
				rc = hash_node(left, right, node);
			if (rc == 0)
				rc = ts_put(ts, l, i, node, err);
			if (rc)
				return rc;
		}
	}
	rc = ts_frontier_at(ts, s, &ts->fr, err);
	if (rc)
		return rc;
	ts->size = s;
	return 0;
}

int ts_open(const char *dir, int rdonly, ts_leaves_fn leaves, void *leaves_ctx,
	    struct tree_store **out, struct cu_err *err)
{
	struct tree_store *ts = NULL;
	size_t dlen;
	unsigned l;
	int rc;

	*out = NULL;
	dlen = strlen(dir);
	if (dlen == 0 || dlen > TS_DIR_MAX || !leaves) {
		rc = cu_err_set(err, CU_EINVAL, "tree store: bad directory or leaf callback");
		goto out;
	}
	ts = calloc(1, sizeof(*ts));
	if (!ts) {
		rc = cu_err_set(err, CU_ENOMEM, "tree store: out of memory");
		goto out;
	}
	for (l = 0; l < TS_LEVELS; l++)
		ts->lv[l].fd = -1;
	ts->dir = strdup(dir);
	if (!ts->dir) {
		rc = cu_err_set(err, CU_ENOMEM, "tree store: out of memory");
		goto out;
	}
	ts->rdonly = rdonly ? 1 : 0;
	ts->leaves = leaves;
	ts->leaves_ctx = leaves_ctx;
	if (!ts->rdonly) {
		rc = fio_mkdir(dir, 0755, err);
		if (rc)
			goto out;
	}
	rc = ts_load(ts, err);
out:
	if (rc) {
		ts_close(ts);
		ts = NULL;
	}
	*out = ts;
	return rc;
}

void ts_close(struct tree_store *ts)
{
	unsigned l;

	if (!ts)
		return;
	for (l = 0; l < TS_LEVELS; l++) {
		if (ts->lv[l].fd >= 0)
			close(ts->lv[l].fd);
		free(ts->lv[l].mem);
	}
	free(ts->dir);
	free(ts);
}

uint64_t ts_size(const struct tree_store *ts)
{
	return ts->size;
}

/* on_complete callback: remembers the subtrees the level files keep. */
static void ts_collect(void *ctx, uint64_t start, unsigned level, const uint8_t hash[HASH_LEN])
{
	struct ts_done *done = ctx;

	if (level < TS_LEVEL_MIN || done->n >= TS_LEVELS)
		return;
	done->item[done->n].level = level;
	done->item[done->n].index = start >> level;
	memcpy(done->item[done->n].hash, hash, HASH_LEN);
	done->n++;
}

int ts_append(struct tree_store *ts, const uint8_t leaf[HASH_LEN], struct cu_err *err)
{
	struct mt_frontier fr;
	struct ts_done done;
	unsigned i;
	int rc;

	/* Work on a copy of the frontier: nothing changes unless every level
	 * entry was stored. Entries go lowest level first, so a crash leaves
	 * higher levels behind level-08, which ts_open repairs. */
	fr = ts->fr;
	done.n = 0;
	rc = mt_frontier_append(&fr, leaf, ts_collect, &done);
	if (rc) {
		rc = cu_err_set(err, rc, "tree store: append leaf %llu failed",
				(unsigned long long)ts->size);
		goto out;
	}
	for (i = 0; i < done.n; i++) {
		rc = ts_put(ts, done.item[i].level, done.item[i].index, done.item[i].hash, err);
		if (rc) {
			ts_set_counts(ts, ts->size);
			goto out;
		}
	}
	memcpy(ts->tail[ts->size % TS_BLOCK], leaf, HASH_LEN);
	ts->fr = fr;
	ts->size++;
out:
	return rc;
}

int ts_sync(struct tree_store *ts, struct cu_err *err)
{
	char path[TS_PATH_MAX];
	unsigned l;
	int rc = 0;

	if (ts->rdonly)
		goto out;
	for (l = TS_LEVEL_MIN; l < TS_LEVELS; l++) {
		if (!ts->lv[l].dirty || ts->lv[l].fd < 0)
			continue;
		level_path(ts, l, path);
		rc = fio_fsync(ts->lv[l].fd, path, err);
		if (rc)
			goto out;
		ts->lv[l].dirty = 0;
	}
	if (ts->dir_dirty) {
		rc = fio_fsync_dir(ts->dir, err);
		if (rc)
			goto out;
		ts->dir_dirty = 0;
	}
out:
	return rc;
}

int ts_truncate(struct tree_store *ts, uint64_t n, struct cu_err *err)
{
	uint8_t (*tail)[HASH_LEN] = NULL;
	struct mt_frontier fr;
	uint64_t s0 = n & ~(TS_BLOCK - 1), i;
	unsigned l;
	int rc = 0, rc2;

	if (n > ts->size) {
		rc = cu_err_set(err, CU_EINVAL, "tree store: cannot truncate %llu leaves to %llu",
				(unsigned long long)ts->size, (unsigned long long)n);
		goto out;
	}
	/* Everything the new state needs lies below n: gather it first, so
	 * that a failed fetch changes nothing. */
	tail = malloc(TS_BLOCK * HASH_LEN);
	if (!tail) {
		rc = cu_err_set(err, CU_ENOMEM, "tree store: out of memory");
		goto out;
	}
	rc = ts_frontier_at(ts, s0, &fr, err);
	if (rc)
		goto out;
	if (n > s0) {
		rc = ts->leaves(ts->leaves_ctx, s0, n - s0, tail);
		if (rc) {
			rc = cu_err_set(err, rc, "tree store: fetching leaves %llu..%llu failed",
					(unsigned long long)s0, (unsigned long long)(n - 1));
			goto out;
		}
	}
	for (i = 0; i < n - s0; i++) {
		rc = mt_frontier_append(&fr, tail[i], NULL, NULL);
		if (rc) {
			rc = cu_err_set(err, rc, "tree store: hashing leaf %llu failed",
					(unsigned long long)(s0 + i));
			goto out;
		}
	}
	memcpy(ts->tail, tail, (size_t)(n - s0) * HASH_LEN);
	ts->fr = fr;
	ts->size = n;
	ts_set_counts(ts, n);
	if (ts->rdonly)
		goto out;
	/* Highest level first: an interrupted cut leaves higher levels
	 * shorter than level-08 implies, never longer (see ts_load). */
	for (l = TS_LEVELS - 1; l >= TS_LEVEL_MIN; l--) {
		rc2 = ts_cut(ts, l, n >> l, err);
		if (rc2 && !rc)
			rc = rc2;
	}
out:
	free(tail);
	return rc;
}

/* Reads entries [i, i + n) of a level into out. */
static int ts_entries(struct tree_store *ts, unsigned level, uint64_t i, uint64_t n,
		      uint8_t (*out)[HASH_LEN], struct cu_err *err)
{
	struct ts_level *lv = &ts->lv[level];
	char path[TS_PATH_MAX];
	uint64_t k = 0;
	int rc;

	if (i < lv->on_file && lv->fd >= 0) {
		k = lv->on_file - i < n ? lv->on_file - i : n;
		level_path(ts, level, path);
		rc = fio_pread_all(lv->fd, out, (size_t)k * HASH_LEN, (off_t)(i * HASH_LEN), path, err);
		if (rc)
			return rc;
	}
	for (; k < n; k++)
		if ((rc = ts_entry(ts, level, i + k, out[k], err)))
			return rc;
	return 0;
}

#define TS_CHECK_CHUNK 2048 /* parent entries compared per read */

int ts_check(struct tree_store *ts, uint64_t *vouched, char *msg, size_t len, struct cu_err *err)
{
	uint8_t (*kids)[HASH_LEN] = malloc(2 * TS_CHECK_CHUNK * HASH_LEN);
	uint8_t (*parents)[HASH_LEN] = malloc(TS_CHECK_CHUNK * HASH_LEN);
	uint8_t h[HASH_LEN];
	uint64_t j, k, n;
	unsigned l;
	int rc = 0;

	*vouched = ts->size;
	if (!kids || !parents) {
		rc = cu_err_set(err, CU_ENOMEM, "tree store: out of memory");
		goto out;
	}
	for (l = TS_LEVEL_MIN + 1; l < TS_LEVELS && (ts->size >> l); l++) {
		for (j = 0; j < (ts->size >> l) && (j << l) < *vouched; j += n) {
			n = (ts->size >> l) - j < TS_CHECK_CHUNK ? (ts->size >> l) - j : TS_CHECK_CHUNK;
			if ((rc = ts_entries(ts, l, j, n, parents, err)) ||
			    (rc = ts_entries(ts, l - 1, 2 * j, 2 * n, kids, err)))
				goto out;
			for (k = 0; k < n; k++) {
				if ((rc = hash_node(kids[2 * k], kids[2 * k + 1], h))) {
					rc = cu_err_set(err, rc, "tree store: hashing failed");
					goto out;
				}
				if (memcmp(h, parents[k], HASH_LEN) == 0)
					continue;
				/* The parent or a child is wrong: neither is vouched for. */
				if (((j + k) << l) < *vouched) {
					*vouched = (j + k) << l;
					snprintf(msg, len, LAYOUT_TREE_DIR "/" LAYOUT_TREE_LEVEL_FMT " entry %llu does not match "
						 "entries %llu and %llu of " LAYOUT_TREE_DIR "/" LAYOUT_TREE_LEVEL_FMT " (leaves from "
						 "%llu on)", l, (unsigned long long)(j + k),
						 (unsigned long long)(2 * (j + k)),
						 (unsigned long long)(2 * (j + k) + 1), l - 1,
						 (unsigned long long)*vouched);
				}
				break;
			}
		}
	}
out:
	free(kids);
	free(parents);
	return rc;
}

int ts_subtree(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN])
{
	struct tree_store *ts = ctx;
	uint8_t buf[TS_BLOCK / 2][HASH_LEN];
	uint64_t span, s0;
	int rc;

	if (level >= TS_LEVELS)
		return CU_EINVAL;
	span = (uint64_t)1 << level;
	if ((start & (span - 1)) != 0 || start > ts->size || span > ts->size - start)
		return CU_EINVAL;
	if (level >= TS_LEVEL_MIN)
		return ts_entry(ts, level, start >> level, out, NULL);
	/* Below a level-08 entry: span <= 128 leaves inside one block. */
	s0 = ts->size & ~(TS_BLOCK - 1);
	if (start >= s0) {
		memcpy(buf, ts->tail[start - s0], (size_t)span * HASH_LEN);
	} else {
		rc = ts->leaves(ts->leaves_ctx, start, span, buf);
		if (rc)
			return rc;
	}
	return hash_leaves(buf, span, out);
}

int ts_root(struct tree_store *ts, uint64_t n, uint8_t out[HASH_LEN])
{
	if (n > ts->size)
		return CU_EINVAL;
	if (n == ts->size)
		return mt_frontier_root(&ts->fr, out);
	return mt_root(ts_subtree, ts, n, out);
}

int ts_inclusion(struct tree_store *ts, uint64_t index, uint64_t n,
		 uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count)
{
	*count = 0;
	if (n > ts->size)
		return CU_EINVAL;
	return mt_inclusion_proof(ts_subtree, ts, index, n, out, count);
}

int ts_consistency(struct tree_store *ts, uint64_t m, uint64_t n,
		   uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count)
{
	*count = 0;
	if (n > ts->size)
		return CU_EINVAL;
	return mt_consistency_proof(ts_subtree, ts, m, n, out, count);
}
