/* store.c - creating and opening an archive, crash recovery, appending
 * group-commit frames, and sealing segments. Reading is in store_read.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/checkpoint.h"
#include "archiver/head.h"
#include "archiver/keys.h"
#include "archiver/store_int.h"
#include "common/bytes.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/layout.h"
#include "common/timeutil.h"

#define DEFAULT_SEGMENT_BYTES (64ull << 20)
#define DEFAULT_ZSTD_LEVEL 2 /* with fields referring to the payload, level 2 keeps segments
				* under half the input, 1.2x as fast as level 4 */
#define DEFAULT_SEGMENT_AGE_MS (24ll * 3600 * 1000)
#define FRAME_TARGET_RAW (8u << 20) /* start a new frame past this many raw bytes */
#define ZS_FEED_BYTES (256u << 10)  /* give zstd the frame's entries in steps this big */
#define ZS_WORKERS 2                /* zstd's compression threads for a writer */
#define IDMAP_AHEAD 8               /* records ahead whose duplicate-map slot is prefetched */

/* a/b into out; a path too long for PATH_MAX becomes "" (and fails to open). */
static void path_join(char *out, size_t outlen, const char *a, const char *b)
{
	if (snprintf(out, outlen, "%s/%s", a, b) >= (int)outlen)
		out[0] = '\0';
}

int store_init(const char *dir, const char *origin, struct cu_err *err)
{
	char path[PATH_MAX], gen[128];
	uint8_t rnd[8];
	json_t *cfg = NULL;
	char *text = NULL;
	struct stat sb;
	int rc;

	path_join(path, sizeof(path), dir, LAYOUT_CONFIG);
	if (stat(path, &sb) == 0)
		return cu_err_set(err, CU_EEXIST, "%s already holds an archive; refusing to touch it", dir);
	path_join(path, sizeof(path), dir, LAYOUT_SEGMENTS_DIR);
	if (stat(path, &sb) == 0)
		return cu_err_set(err, CU_EEXIST, "%s already holds segments; refusing to touch it", dir);
	if (!origin || !*origin) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return cu_err_set(err, CU_ECRYPTO, "no randomness for the origin name");
		snprintf(gen, sizeof(gen), "custos.local/%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
			 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		origin = gen;
	}
	if (strlen(origin) >= 200 || strchr(origin, '\n') || strchr(origin, ' '))
		return cu_err_set(err, CU_EINVAL, "origin must be one line without spaces, under 200 bytes");
	if ((rc = fio_mkdir(dir, 0750, err)))
		return rc;
	path_join(path, sizeof(path), dir, LAYOUT_KEYS_DIR);
	if ((rc = fio_mkdir(path, 0700, err)))
		return rc;
	path_join(path, sizeof(path), dir, LAYOUT_ARCHIVE_KEY);
	if ((rc = key_generate(path, err)))
		return rc;
	path_join(path, sizeof(path), dir, LAYOUT_SEGMENTS_DIR);
	if ((rc = fio_mkdir(path, 0750, err)))
		return rc;
	path_join(path, sizeof(path), dir, LAYOUT_TREE_DIR);
	if ((rc = fio_mkdir(path, 0750, err)))
		return rc;
	cfg = json_pack("{s:s, s:I, s:I, s:i}", "origin", origin,
			"segment_max_bytes", (json_int_t)DEFAULT_SEGMENT_BYTES,
			"segment_max_age_seconds", (json_int_t)(DEFAULT_SEGMENT_AGE_MS / 1000),
			"zstd_level", DEFAULT_ZSTD_LEVEL);
	text = cfg ? json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (!text) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	path_join(path, sizeof(path), dir, LAYOUT_CONFIG);
	rc = fio_atomic_replace(path, text, strlen(text), 0640, err);
	if (rc == 0)
		rc = fio_fsync_dir(dir, err);
out:
	free(text);
	json_decref(cfg);
	return rc;
}

/* Takes origin and the store's tunables from custos.json (the one loader,
 * common/config.h); cfg overrides them. */
static int load_config(struct store *st, const struct store_config *over, struct cu_err *err)
{
	char path[PATH_MAX];
	struct custos_config *c = NULL;
	const struct cfg_store *cs;
	int rc;

	path_join(path, sizeof(path), st->dir, LAYOUT_CONFIG);
	rc = config_read(path, 0, &c, err);
	if (rc == CU_ENOTFOUND)
		return cu_err_set(err, CU_ENOTFOUND, "%s is not a custos archive (no custos.json); "
				  "create one with `custos init -d %s`", st->dir, st->dir);
	if (rc)
		return rc;
	cs = &c->store;
	if (!cs->origin[0]) {
		rc = cu_err_set(err, CU_EINVAL, "%s: \"origin\" must be a non-empty string", path);
		goto out;
	}
	snprintf(st->origin, sizeof(st->origin), "%s", cs->origin);
	st->cfg.segment_max_bytes = cs->segment_max_bytes ? cs->segment_max_bytes : DEFAULT_SEGMENT_BYTES;
	st->cfg.segment_max_age_ms = cs->segment_max_age_s ?
		time_mul_sat((int64_t)cs->segment_max_age_s, 1000) : DEFAULT_SEGMENT_AGE_MS;
	st->cfg.zstd_level = cs->zstd_level ? cs->zstd_level : DEFAULT_ZSTD_LEVEL;
	st->cfg.idmap_run_keys = cs->idmap_run_keys ? cs->idmap_run_keys : IDMAP_RUN_KEYS;
	if (over && over->segment_max_bytes)
		st->cfg.segment_max_bytes = over->segment_max_bytes;
	if (over && over->segment_max_age_ms)
		st->cfg.segment_max_age_ms = over->segment_max_age_ms;
	if (over && over->zstd_level)
		st->cfg.zstd_level = over->zstd_level;
	if (over && over->idmap_run_keys)
		st->cfg.idmap_run_keys = over->idmap_run_keys;
	rc = 0;
out:
	free(c);
	return rc;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Lists segment numbers in segdir, sorted; they must be 1..n. */
static int list_segments(struct store *st, uint64_t **nos, size_t *n, struct cu_err *err)
{
	DIR *d = opendir(st->segdir);
	struct dirent *de;
	uint64_t *v = NULL, no;
	size_t cnt = 0, alloc = 0, i;
	int rc = 0;

	*nos = NULL;
	*n = 0;
	if (!d)
		return cu_err_errno(err, errno, "open %s", st->segdir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (!st->rdonly && len > 8 && !strcmp(de->d_name + len - 8, ".rewrite")) {
			/* A retention rewrite interrupted by a crash: the original is
			 * intact, and the half-written copy holds deleted content. */
			if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
				rc = cu_err_errno(err, errno, "remove %s", de->d_name);
				goto out;
			}
			continue;
		}
		if (seg_parse_name(de->d_name, &no) != 0)
			continue;
		if (cnt == alloc) {
			uint64_t *p = realloc(v, (alloc = alloc ? alloc * 2 : 16) * sizeof(*v));
			if (!p) {
				rc = cu_err_set(err, CU_ENOMEM, "out of memory");
				goto out;
			}
			v = p;
		}
		v[cnt++] = no;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), u64_cmp);
	for (i = 0; i < cnt; i++)
		if (v[i] != i + 1) {
			rc = cu_err_set(err, CU_ECORRUPT, "segments are not numbered 1..%zu: segment %zu is "
					"missing (found seg %llu)", cnt, i + 1, (unsigned long long)v[i]);
			goto out;
		}
out:
	closedir(d);
	if (rc)
		free(v);
	else {
		*nos = v;
		*n = cnt;
	}
	return rc;
}

static int seg_append_info(struct store *st, const struct seg_info *s, struct cu_err *err)
{
	if (st->nsegs == st->segs_alloc) {
		size_t na = st->segs_alloc ? st->segs_alloc * 2 : 16;
		struct seg_info *p = realloc(st->segs, na * sizeof(*p));
		if (!p)
			return cu_err_set(err, CU_ENOMEM, "out of memory");
		st->segs = p;
		st->segs_alloc = na;
	}
	st->segs[st->nsegs++] = *s;
	return 0;
}

/* 1 if the n bytes at off in fd are all zero (a crash can leave a
 * zero-filled tail after the last complete write). */
static int all_zero(int fd, uint64_t off, uint64_t n)
{
	uint8_t b[4096];
	uint64_t done = 0;
	size_t i, k;

	while (done < n) {
		k = n - done < sizeof(b) ? (size_t)(n - done) : sizeof(b);
		if (pread(fd, b, k, (off_t)(off + done)) != (ssize_t)k)
			return 0;
		for (i = 0; i < k; i++)
			if (b[i])
				return 0;
		done += k;
	}
	return 1;
}

/* Opens one segment: header, then either its seal (sealed) or, for the
 * last segment, a scan of its frames recomputing the chain and cutting a
 * torn tail. st->size, st->chain and st->last_seal describe the log up
 * to the segment before it. */
static int open_segment(struct store *st, uint64_t no, int last, struct cu_err *err)
{
	char path[PATH_MAX];
	uint8_t hb[SEG_HEADER_LEN], sb[SEG_SEAL_LEN];
	struct seg_header h;
	struct seg_seal seal;
	struct seg_info si;
	struct seg_frame_hdr fh;
	struct buf comp, raw, recs;
	struct frame_entry *ents = NULL;
	struct store_entry e;
	struct stat stt;
	uint8_t chain[HASH_LEN];
	uint64_t off, fsize;
	size_t i;
	int fd, rc;

	memset(&si, 0, sizeof(si));
	buf_init(&comp, SEG_FRAME_MAX_COMP);
	buf_init(&raw, SEG_FRAME_MAX_RAW);
	buf_init(&recs, SEG_FRAME_MAX_RAW);
	st_seg_path(st, no, path, sizeof(path));
	fd = open(path, (st->rdonly || !last ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return cu_err_errno(err, errno, "open %s", path);
	if (fstat(fd, &stt) != 0) {
		rc = cu_err_errno(err, errno, "stat %s", path);
		goto out;
	}
	fsize = (uint64_t)stt.st_size;
	if (fsize < SEG_HEADER_LEN && last && st->rdonly) {
		rc = 0; /* being created (or torn): holds nothing yet */
		goto out;
	}
	if (fsize < SEG_HEADER_LEN && last) {
		/* Crashed while creating it: its header never became durable, so
		 * nothing was ever acknowledged here. */
		close(fd);
		fd = -1;
		if (unlink(path) != 0)
			return cu_err_errno(err, errno, "remove torn segment %s", path);
		return fio_fsync_dir(st->segdir, err);
	}
	rc = fio_pread_all(fd, hb, sizeof(hb), 0, path, err);
	if (rc == 0)
		rc = seg_header_decode(hb, &h, err);
	if (rc) {
		rc = cu_err_set(err, rc, "%s: unreadable header", path);
		goto out;
	}
	if (h.segment_no != no || h.first_seq != st->size ||
	    memcmp(h.prev_chain, st->chain, HASH_LEN) != 0 ||
	    memcmp(h.prev_seal, st->last_seal, HASH_LEN) != 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: header does not continue the previous segment "
				"(run `custos verify`)", path);
		goto out;
	}
	si.no = no;
	si.first_seq = h.first_seq;
	/* Sealed: the last SEG_SEAL_LEN bytes are a seal naming this segment. */
	if (fsize >= SEG_HEADER_LEN + SEG_SEAL_LEN &&
	    fio_pread_all(fd, sb, sizeof(sb), (off_t)(fsize - SEG_SEAL_LEN), path, NULL) == 0 &&
	    seg_seal_decode(sb, &seal, NULL) == 0 && seal.segment_no == no) {
		if (seal.first_seq != h.first_seq || seal.tree_size != seal.first_seq + seal.count) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: seal does not match header", path);
			goto out;
		}
		si.sealed = 1;
		si.count = seal.count;
		si.data_end = fsize - SEG_SEAL_LEN;
		st->size = st->sealed_size = seal.tree_size;
		memcpy(st->chain, seal.last_chain, HASH_LEN);
		rc = hash_sha256(sb, sizeof(sb), st->last_seal);
		goto add;
	}
	if (!last) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: not sealed, but a later segment exists", path);
		goto out;
	}
	/* The active segment: walk its frames, recompute the chain. */
	off = SEG_HEADER_LEN;
	while (off < fsize) {
		struct cu_err ferr;
		cu_err_clear(&ferr);
		memset(&fh, 0, sizeof(fh));
		/* A reader needs no chain: checking each frame is enough to find
		 * where the log ends; the writer recomputes the chain. */
		rc = frame_read(path, fd, off, fsize, &fh, &comp, st->rdonly ? NULL : &raw,
				st_key(st), &ferr);
		if (rc == 0 && fh.first_seq != st->size)
			rc = cu_err_set(&ferr, CU_ECORRUPT, "%s: frame at offset %llu starts at seq %llu, "
					"expected %llu", path, (unsigned long long)off,
					(unsigned long long)fh.first_seq, (unsigned long long)st->size);
		if (rc == 0 && !st->rdonly) {
			free(ents);
			ents = calloc(fh.count, sizeof(*ents));
			rc = ents ? frame_entries(&fh, &raw, &recs, ents, fh.count, &ferr) : CU_ENOMEM;
		}
		/* The chain advances only once the whole frame is good. */
		memcpy(chain, st->chain, HASH_LEN);
		for (i = 0; rc == 0 && !st->rdonly && i < fh.count; i++) {
			rc = st_entry_to(&ents[i], st->size + i, &e, &ferr);
			if (rc == 0 && !e.is_stub)
				rc = hash_chain(chain, e.leaf, e.chain);
			if (rc == 0)
				memcpy(chain, e.chain, HASH_LEN);
		}
		if (rc) {
			/* Fsync comes after every frame, so only the last frame can be
			 * torn: it reaches the end of the file, or zeros follow. */
			int torn = (rc == CU_ECORRUPT || rc == CU_EINVAL) && st->size >= st->acked &&
				   (off + SEG_FRAME_HDR_LEN + (uint64_t)fh.comp_len >= fsize ||
				    fsize - off < SEG_FRAME_HDR_LEN || all_zero(fd, off, fsize - off));
			if (!torn) {
				rc = cu_err_set(err, CU_ECORRUPT, "%s (run `custos verify`)", ferr.msg);
				goto out;
			}
			if (st->rdonly) {
				fsize = off; /* a reader just stops before the torn tail */
				rc = 0;
				break;
			}
			fprintf(stderr, "custos: recovery: cut a torn tail of %llu bytes at offset %llu of %s\n",
				(unsigned long long)(fsize - off), (unsigned long long)off, path);
			if (ftruncate(fd, (off_t)off) != 0) {
				rc = cu_err_errno(err, errno, "truncate %s", path);
				goto out;
			}
			rc = fio_fsync(fd, path, err);
			if (rc)
				goto out;
			fsize = off;
			break;
		}
		memcpy(st->chain, chain, HASH_LEN);
		st->size += fh.count;
		si.count += fh.count;
		off += SEG_FRAME_HDR_LEN + fh.comp_len;
	}
	si.data_end = off < fsize ? off : fsize;
	st->active_created = h.created_ms;
	rc = hash_sha256(hb, sizeof(hb), st->active_hdr_hash);
	if (rc == 0 && last && !st->rdonly) {
		st->active_fd = fd;
		fd = -1;
	}
add:
	if (rc == 0)
		rc = seg_append_info(st, &si, err);
out:
	free(ents);
	buf_release(&comp);
	buf_release(&raw);
	buf_release(&recs);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Appends leaves [ts_size, upto) to the tree store from the log. Caller
 * holds tree_lock. */
static int tree_fill(struct store *st, uint64_t upto, struct cu_err *err)
{
	struct store_iter *it = NULL;
	struct store_entry e;
	uint64_t n = ts_size(st->ts);
	int rc = 0;

	if (n >= upto)
		return 0;
	rc = store_iter_open(st, n, &it, err);
	while (rc == 0 && n < upto && (rc = store_iter_next(it, &e, err)) == 1) {
		rc = ts_append(st->ts, e.leaf, err);
		n++;
	}
	store_iter_close(it);
	return rc;
}

/* Brings the tree store up to the log: cut what is beyond, append what is
 * missing (read back from the segments), then rebuild the frontier.
 * trust is how many leaves of the level files may be taken as written:
 * at open only what the last seal fsynced (entries written after it may
 * be garbage after a power loss), later everything ts_append accepted. */
static int tree_catch_up(struct store *st, uint64_t trust, struct cu_err *err)
{
	uint64_t n;
	unsigned l;
	int rc = 0;

	pthread_mutex_lock(&st->tree_lock);
	n = ts_size(st->ts);
	if (trust > st->size)
		trust = st->size;
	if (n > trust) {
		rc = ts_truncate(st->ts, trust, err);
		n = trust;
	}
	if (rc == 0 && n < st->size)
		rc = tree_fill(st, st->size, err);
	if (rc == 0 && ts_size(st->ts) < st->size)
		rc = cu_err_set(err, CU_ECORRUPT, "tree holds %llu leaves, log %llu",
				(unsigned long long)ts_size(st->ts), (unsigned long long)st->size);
	/* The frontier at size: one complete subtree per set bit, left to right. */
	mt_frontier_init(&st->frontier);
	if (rc == 0) {
		uint64_t start = 0;
		for (l = 64; l-- > 0;) {
			if (!(st->size >> l & 1))
				continue;
			rc = ts_subtree(st->ts, start, l, st->frontier.node[l]);
			if (rc) {
				cu_err_set(err, rc, "cannot read the tree's right edge");
				break;
			}
			start += 1ull << l;
		}
		st->frontier.size = st->size;
	}
	if (rc == 0)
		st->ts_behind = 0;
	pthread_mutex_unlock(&st->tree_lock);
	return rc;
}

/* The level files checked against themselves (ts_check): what does not
 * check out is cut and appended again from the log by tree_catch_up. */
static int tree_check_links(struct store *st, struct cu_err *err)
{
	char msg[256] = "";
	uint64_t ok;
	int rc;

	pthread_mutex_lock(&st->tree_lock);
	rc = ts_check(st->ts, &ok, msg, sizeof(msg), err);
	if (rc == 0 && ok < ts_size(st->ts)) {
		fprintf(stderr, "custos: warning: %s; the tree is rebuilt from the segments from "
			"there\n", msg);
		st->tree_repaired++;
		rc = ts_truncate(st->ts, ok, err);
	}
	pthread_mutex_unlock(&st->tree_lock);
	return rc;
}

/* The tree's head at the acknowledged size must be the head file's: that
 * covers the right edge, which no level above vouches for. If it is not,
 * the whole tree is rebuilt from the log. */
static int tree_check_head(struct store *st, struct cu_err *err)
{
	uint8_t root[HASH_LEN];
	int rc, same;

	if (!st->acked || st->acked > st->size)
		return 0;
	pthread_mutex_lock(&st->tree_lock);
	rc = ts_root(st->ts, st->acked, root);
	pthread_mutex_unlock(&st->tree_lock);
	if (rc)
		return cu_err_set(err, rc, "cannot compute the tree head at %llu",
				  (unsigned long long)st->acked);
	if (memcmp(root, st->acked_root, HASH_LEN) == 0)
		return 0;
	fprintf(stderr, "custos: warning: the tree files give another head at size %llu than the "
		"head file; the tree is rebuilt from the segments\n", (unsigned long long)st->acked);
	st->tree_repaired++;
	rc = tree_catch_up(st, 0, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&st->tree_lock);
	rc = ts_root(st->ts, st->acked, root);
	pthread_mutex_unlock(&st->tree_lock);
	same = rc == 0 && memcmp(root, st->acked_root, HASH_LEN) == 0;
	if (!same) /* the log itself differs from what was acknowledged */
		fprintf(stderr, "custos: warning: the log does not give the acknowledged tree head at "
			"size %llu: run `custos verify`\n", (unsigned long long)st->acked);
	return 0;
}

unsigned store_derived_repaired(const struct store *st)
{
	return st->tree_repaired + (st->ids ? idmap_damaged(st->ids) : 0);
}

/* How many leaves of the tree files an opener may take as written: what
 * the last seal fsynced, or, when the head file's tree head at its size
 * matches the files (O(log n) to check), everything up to that size.
 * Entries written after the last fsync may be garbage after a power loss;
 * the head's root vouches for them. */
static uint64_t tree_trust(struct store *st)
{
	uint8_t root[HASH_LEN];
	uint64_t n = st->acked;
	int ok;

	if (n <= st->sealed_size || n > st->size)
		return st->sealed_size;
	pthread_mutex_lock(&st->tree_lock);
	if (ts_size(st->ts) > st->size) /* beyond the log: never trusted */
		ok = ts_truncate(st->ts, st->size, NULL) == 0;
	else
		ok = 1;
	ok = ok && tree_fill(st, n, NULL) == 0 && ts_size(st->ts) >= n &&
	     ts_root(st->ts, n, root) == 0 && memcmp(root, st->acked_root, HASH_LEN) == 0;
	pthread_mutex_unlock(&st->tree_lock);
	return ok ? n : st->sealed_size;
}

/* The duplicate-map key of a record: (platform, source, id). */
static int view_key(const struct rec_view *v, uint8_t key[IDMAP_KEY_LEN])
{
	return idmap_key(v->f[RF_PLATFORM].ptr ? v->f[RF_PLATFORM].ptr : "", v->f[RF_PLATFORM].len,
			 v->f[RF_SOURCE].ptr ? v->f[RF_SOURCE].ptr : "", v->f[RF_SOURCE].len,
			 v->f[RF_EVENT_ID].ptr ? v->f[RF_EVENT_ID].ptr : "", v->f[RF_EVENT_ID].len, key);
}

/* Replays into the id map the records it does not reflect yet. */
static int ids_catch_up(struct store *st, struct cu_err *err)
{
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	uint8_t key[IDMAP_KEY_LEN];
	uint64_t hwm = idmap_hwm(st->ids), existing, replayed = 0;
	int rc;

	rc = idmap_begin(st->ids, err);
	if (rc)
		return rc;
	if (hwm > st->size) {
		rc = idmap_forget_from(st->ids, st->size, err);
		hwm = st->size;
	}
	if (rc == 0 && hwm < st->size) {
		rc = store_iter_open(st, hwm, &it, err);
		while (rc == 0 && (rc = store_iter_next(it, &e, err)) == 1) {
			rc = 0;
			if (e.is_stub)
				continue;
			rc = rec_decode(e.bytes, e.len, &v, err);
			if (rc || !v.f[RF_EVENT_ID].len)
				continue;
			rc = view_key(&v, key);
			if (rc == 0)
				rc = idmap_insert(st->ids, key, e.seq, &existing, err);
			if (rc > 0)
				rc = 0;
			/* Batches of a bounded size, so that a long replay (a
			 * rebuild) goes to run files as it goes. */
			if (rc == 0 && ++replayed % 65536 == 0 &&
			    (rc = idmap_commit(st->ids, e.seq + 1, err)) == 0)
				rc = idmap_begin(st->ids, err);
		}
		store_iter_close(it);
	}
	if (rc == 0)
		rc = idmap_commit(st->ids, st->size, err);
	else
		(void)!idmap_rollback(st->ids);
	if (rc == 0)
		rc = idmap_flush(st->ids, err);
	if (rc == 0)
		st->ids_behind = 0;
	return rc;
}

int store_open(const char *dir, const struct store_config *cfg, int flags,
	       struct store **out, struct cu_err *err)
{
	struct store *st = calloc(1, sizeof(*st));
	char path[PATH_MAX];
	uint64_t *nos = NULL;
	size_t n = 0, i;
	int rc, have_head = 0;

	*out = NULL;
	if (!st)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	st->lock_fd = -1;
	st->active_fd = -1;
	st->head_fd = -1;
	st->rdonly = !!(flags & STORE_RDONLY);
	pthread_mutex_init(&st->write_lock, NULL);
	pthread_mutex_init(&st->tree_lock, NULL);
	pthread_mutex_init(&st->meta_lock, NULL);
	frame_cache_init(&st->cache);
	buf_init(&st->raw, SEG_FRAME_MAX_RAW);
	buf_init(&st->comp, SEG_FRAME_MAX_COMP);
	buf_init(&st->scratch, (size_t)1 << 34);
	buf_init(&st->salts, SEG_FRAME_MAX_RAW);
	buf_init(&st->frame, SEG_FRAME_MAX_COMP + SEG_FRAME_HDR_LEN);
	buf_init(&st->rec, REC_MAX_BYTES);
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	path_join(st->segdir, sizeof(st->segdir), dir, LAYOUT_SEGMENTS_DIR);
	rc = load_config(st, cfg, err);
	if (rc)
		goto out;
	if (!st->rdonly) {
		path_join(path, sizeof(path), dir, LAYOUT_LOCK);
		st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (st->lock_fd < 0) {
			rc = cu_err_errno(err, errno, "open %s", path);
			goto out;
		}
		if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
			rc = cu_err_set(err, CU_ESTATE, "%s is in use by another writer (a running "
					"`custos serve` or ingest)", dir);
			goto out;
		}
	}
	path_join(path, sizeof(path), dir, LAYOUT_ARCHIVE_KEY);
	rc = key_load_private(path, &st->key, err);
	if (rc)
		goto out;
	/* Encrypted at rest: nothing can be read or written without the KEK. */
	st->encrypted = crypt_archive_encrypted(dir);
	if (st->encrypted && (rc = crypt_open(dir, NULL, &st->dek, err)))
		goto out;
	{
		/* What was acknowledged: recovery never cuts below it. */
		struct head_state head;
		int hrc = head_read(dir, &head, err);
		if (hrc == 0) {
			have_head = 1;
			st->acked = head.size;
			memcpy(st->acked_root, head.root, HASH_LEN);
			st->head_slot = head.slot ^ 1; /* never overwrite the newest state */
		}
		else if (hrc != CU_ENOTFOUND)
			rc = hrc;
	}
	if (rc == 0)
		rc = list_segments(st, &nos, &n, err);
	for (i = 0; rc == 0 && i < n; i++)
		rc = open_segment(st, nos[i], i + 1 == n, err);
	/* Acknowledged records can only be missing if someone removed them. */
	if (rc == 0 && st->acked > st->size)
		rc = cu_err_set(err, CU_ECORRUPT, "the log holds %llu records but %llu were "
				"acknowledged: records are missing (run `custos verify`)",
				(unsigned long long)st->size, (unsigned long long)st->acked);
	if (rc == 0 && !st->rdonly) {
		path_join(path, sizeof(path), dir, LAYOUT_HEAD);
		st->head_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (st->head_fd < 0)
			rc = cu_err_errno(err, errno, "open %s", path);
	}
	if (rc)
		goto out;
	path_join(path, sizeof(path), dir, LAYOUT_TREE_DIR);
	rc = ts_open(path, st->rdonly, st_leaves, st, &st->ts, err);
	if (rc == 0)
		rc = tree_check_links(st, err);
	if (rc == 0)
		rc = tree_catch_up(st, tree_trust(st), err);
	if (rc == 0)
		rc = tree_check_head(st, err);
	if (rc == 0 && !st->rdonly && !have_head) {
		/* No valid head yet (a new archive): both slots are created at
		 * once (temp file, rename), so no torn write can ever leave the
		 * file without a valid one. */
		struct head_state head = {.size = st->size};
		uint8_t two[2 * HEAD_SLOT_LEN];
		memcpy(head.chain, st->chain, HASH_LEN);
		rc = mt_frontier_root(&st->frontier, head.root);
		head_encode(&head, two);
		memcpy(two + HEAD_SLOT_LEN, two, HEAD_SLOT_LEN);
		path_join(path, sizeof(path), dir, LAYOUT_HEAD);
		if (rc == 0)
			rc = fio_atomic_replace(path, two, sizeof(two), 0640, err);
		if (rc == 0) {
			close(st->head_fd);
			st->head_fd = open(path, O_RDWR | O_CLOEXEC);
			if (st->head_fd < 0)
				rc = cu_err_errno(err, errno, "open %s", path);
		}
		st->head_slot = 0;
	}
	if (rc == 0 && !st->rdonly) {
		/* The SQLite id map of earlier versions: rebuilt as runs. */
		static const char *const old_map[] = {"idmap.db", "idmap.db-wal", "idmap.db-shm"};
		for (size_t k = 0; k < 3; k++) {
			path_join(path, sizeof(path), dir, old_map[k]);
			(void)unlink(path);
		}
		path_join(path, sizeof(path), dir, LAYOUT_IDMAP_DIR);
		rc = idmap_open(path, st->cfg.idmap_run_keys, &st->ids, err);
		if (rc == 0)
			rc = ids_catch_up(st, err);
		/* Two zstd workers: compression overlaps with encoding
		 * (zstream.h), and jobs still open at a frame's end, which the
		 * committer waits for, run on both cores (measured: durable
		 * ingest 8-9% faster than with one worker on 2 cores). */
		if (rc == 0 && (rc = zs_init(&st->zs, st->cfg.zstd_level, ZS_WORKERS, err)) == 0)
			st->cctx = st->zs.cctx;
	}
out:
	free(nos);
	if (rc)
		store_close(st);
	else
		*out = st;
	return rc;
}

void store_close(struct store *st)
{
	size_t i;

	if (!st)
		return;
	if (st->ts && !st->rdonly)
		(void)!ts_sync(st->ts, NULL);
	ts_close(st->ts);
	idmap_close(st->ids); /* commits the keys of the last second */
	zs_free(&st->zs);
	if (st->active_fd >= 0)
		close(st->active_fd);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	if (st->head_fd >= 0)
		close(st->head_fd);
	for (i = 0; i < st->nsegs; i++)
		free(st->segs[i].frames);
	free(st->segs);
	buf_release(&st->raw);
	buf_release(&st->comp);
	buf_release(&st->scratch);
	buf_release(&st->salts);
	buf_release(&st->frame);
	OPENSSL_cleanse(&st->dek, sizeof(st->dek));
	buf_release(&st->rec);
	EVP_PKEY_free(st->key);
	pthread_mutex_destroy(&st->write_lock);
	pthread_mutex_destroy(&st->tree_lock);
	pthread_mutex_destroy(&st->meta_lock);
	frame_cache_release(&st->cache);
	free(st);
}

const char *store_dir(const struct store *st)
{
	return st->dir;
}

const char *store_origin(const struct store *st)
{
	return st->origin;
}

EVP_PKEY *store_key(const struct store *st)
{
	return st->key;
}

const struct crypt_key *store_data_key(const struct store *st)
{
	return st_key(st);
}

uint64_t store_erasures(const struct store *st)
{
	return __atomic_load_n(&st->erasures, __ATOMIC_ACQUIRE);
}

int store_rdonly(const struct store *st)
{
	return st->rdonly;
}

uint64_t store_size(struct store *st)
{
	uint64_t n;

	pthread_mutex_lock(&st->meta_lock);
	n = st->size;
	pthread_mutex_unlock(&st->meta_lock);
	return n;
}

void store_stats(struct store *st, struct store_stats *out)
{
	char path[PATH_MAX];
	struct stat sb;
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->meta_lock);
	out->records = st->size;
	out->segments = st->nsegs;
	out->frames_written = st->frames_written;
	out->fsyncs = st->fsyncs;
	for (i = 0; i < st->nsegs; i++) {
		st_seg_path(st, st->segs[i].no, path, sizeof(path));
		if (stat(path, &sb) == 0)
			out->segment_bytes += (uint64_t)sb.st_size;
	}
	pthread_mutex_unlock(&st->meta_lock);
}

/* Starts segment no+1 after the last one: header, fsync, fsync dir. */
static int start_segment(struct store *st, struct cu_err *err)
{
	struct seg_header h;
	struct seg_info si;
	uint8_t hb[SEG_HEADER_LEN];
	char path[PATH_MAX];
	int fd, rc;

	memset(&h, 0, sizeof(h));
	h.segment_no = st->nsegs + 1;
	h.first_seq = st->size;
	h.created_ms = time_now_ms();
	memcpy(h.prev_seal, st->last_seal, HASH_LEN);
	memcpy(h.prev_chain, st->chain, HASH_LEN);
	seg_header_encode(&h, hb);
	st_seg_path(st, h.segment_no, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return cu_err_errno(err, errno, "create %s", path);
	rc = fio_pwrite_all(fd, hb, sizeof(hb), 0, path, err);
	if (rc == 0)
		rc = fio_fsync(fd, path, err);
	if (rc == 0)
		rc = fio_fsync_dir(st->segdir, err);
	if (rc == 0)
		rc = hash_sha256(hb, sizeof(hb), st->active_hdr_hash);
	if (rc) {
		close(fd);
		unlink(path);
		return rc;
	}
	memset(&si, 0, sizeof(si));
	si.no = h.segment_no;
	si.first_seq = h.first_seq;
	si.data_end = SEG_HEADER_LEN;
	si.frames_complete = 1;
	pthread_mutex_lock(&st->meta_lock);
	rc = seg_append_info(st, &si, err);
	pthread_mutex_unlock(&st->meta_lock);
	if (rc) {
		close(fd);
		return rc;
	}
	st->active_fd = fd;
	st->active_created = h.created_ms;
	return 0;
}

/* Seals the active segment (caller holds write_lock). */
static int seal_active(struct store *st, struct cu_err *err)
{
	struct seg_info *s = &st->segs[st->nsegs - 1];
	struct seg_seal seal;
	uint8_t sb[SEG_SEAL_LEN];
	char path[PATH_MAX];
	int rc;

	if (st->active_fd < 0 || s->count == 0)
		return 0;
	if (st->ts_behind && (rc = tree_catch_up(st, st->size, err)))
		return rc;
	memset(&seal, 0, sizeof(seal));
	seal.segment_no = s->no;
	seal.first_seq = s->first_seq;
	seal.count = s->count;
	seal.sealed_ms = time_now_ms();
	memcpy(seal.header_hash, st->active_hdr_hash, HASH_LEN);
	memcpy(seal.last_chain, st->chain, HASH_LEN);
	seal.tree_size = st->size;
	pthread_mutex_lock(&st->tree_lock);
	rc = mt_frontier_root(&st->frontier, seal.tree_root);
	pthread_mutex_unlock(&st->tree_lock);
	if (rc)
		return cu_err_set(err, rc, "cannot compute the tree head");
	seg_seal_encode(&seal, sb);
	rc = key_sign(st->key, sb, SEG_SEAL_SIGNED_LEN, seal.sig);
	if (rc)
		return cu_err_set(err, rc, "cannot sign the seal");
	seg_seal_encode(&seal, sb);
	st_seg_path(st, s->no, path, sizeof(path));
	rc = fio_pwrite_all(st->active_fd, sb, sizeof(sb), (off_t)s->data_end, path, err);
	if (rc == 0)
		rc = fio_fsync(st->active_fd, path, err);
	if (rc) {
		(void)!ftruncate(st->active_fd, (off_t)s->data_end);
		return rc;
	}
	/* The tree files must be durable before anything relies on them. */
	pthread_mutex_lock(&st->tree_lock);
	rc = ts_sync(st->ts, err);
	pthread_mutex_unlock(&st->tree_lock);
	if (rc)
		return rc;
	rc = hash_sha256(sb, sizeof(sb), st->last_seal);
	if (rc)
		return rc;
	pthread_mutex_lock(&st->meta_lock);
	s->sealed = 1;
	st->sealed_size = st->size;
	pthread_mutex_unlock(&st->meta_lock);
	close(st->active_fd);
	st->active_fd = -1;
	return 0;
}

int store_seal(struct store *st, struct cu_err *err)
{
	int rc;

	if (st->rdonly)
		return cu_err_set(err, CU_ESTATE, "archive opened read-only");
	pthread_mutex_lock(&st->write_lock);
	rc = seal_active(st, err);
	pthread_mutex_unlock(&st->write_lock);
	return rc;
}

/* Builds one frame from st->raw (and its salts) and writes it at *off
 * (not fsynced). leaves are the leaf hashes of its count records. */
static int write_frame(struct store *st, uint64_t first_seq, uint32_t count,
		       const uint8_t (*leaves)[HASH_LEN], uint64_t *off, struct cu_err *err)
{
	int rc;

	/* The frame is the entries followed by the salts of its records. */
	rc = buf_append(&st->raw, st->salts.data, st->salts.len);
	if (rc)
		return cu_err_set(err, rc, "frame too large");
	buf_reset(&st->salts);
	rc = zs_feed(&st->zs, &st->raw, &st->comp, 1, err);
	if (rc == 0)
		rc = frame_wrap(st_key(st), &st->comp, st->raw.len, leaves, first_seq, count,
				&st->frame, err);
	if (rc == 0)
		rc = fio_pwrite_all(st->active_fd, st->frame.data, st->frame.len, (off_t)*off,
				    "segment", err);
	if (rc == 0)
		*off += st->frame.len;
	return rc;
}

/* Adds a frame to the active segment's index (caller holds meta_lock). */
static int frame_index_add(struct seg_info *s, uint64_t off, uint64_t first_seq, uint32_t count)
{
	if (s->nframes == s->frames_alloc) {
		size_t na = s->frames_alloc ? s->frames_alloc * 2 : 64;
		struct frame_loc *p = realloc(s->frames, na * sizeof(*p));
		if (!p) {
			s->frames_complete = 0; /* rebuilt from disk when needed */
			return 0;
		}
		s->frames = p;
		s->frames_alloc = na;
	}
	if (s->frames_complete) {
		s->frames[s->nframes].off = off;
		s->frames[s->nframes].first_seq = first_seq;
		s->frames[s->nframes].count = count;
		s->nframes++;
	}
	return 0;
}

/* Frames written by one append, remembered for the index. */
struct new_frame {
	uint64_t off;
	uint64_t first_seq;
	uint32_t count;
};

int store_input_key(struct store_input *in)
{
	int rc;

	_Static_assert(sizeof(in->key) == IDMAP_KEY_LEN, "store_input key size");
	rc = view_key(&in->rec, in->key);
	in->has_key = rc == 0;
	return rc;
}

int store_append(struct store *st, struct store_input *in, size_t n, struct cu_err *err)
{
	struct seg_info *s;
	struct new_frame *frames = NULL;
	size_t nframes = 0, i;
	uint8_t (*leaves)[HASH_LEN] = NULL;
	uint8_t chain[HASH_LEN], *salts = NULL;
	uint64_t seq, off, frame_first, start_off = 0, existing;
	uint32_t frame_count = 0;
	int64_t now = time_now_ms();
	int rc = 0, in_txn = 0;

	if (st->rdonly)
		return cu_err_set(err, CU_ESTATE, "archive opened read-only");
	pthread_mutex_lock(&st->write_lock);
	if (st->ids_behind && (rc = ids_catch_up(st, err)))
		goto out;
	if (st->ts_behind && (rc = tree_catch_up(st, st->size, err)))
		goto out;
	/* Rotate by age, then make sure there is an active segment. */
	if (st->active_fd >= 0 && st->segs[st->nsegs - 1].count > 0 &&
	    now - st->active_created >= st->cfg.segment_max_age_ms &&
	    (rc = seal_active(st, err)))
		goto out;
	if (st->active_fd < 0 && (rc = start_segment(st, err)))
		goto out;
	s = &st->segs[st->nsegs - 1];
	start_off = s->data_end; /* where a failed append is cut back to */
	/* One scratch area, kept between appends: leaves, salts, frames. */
	buf_reset(&st->scratch);
	if (buf_reserve(&st->scratch, (n + 1) * (HASH_LEN + REC_SALT_LEN + sizeof(*frames)) + 16)) {
		rc = cu_err_set(err, CU_ENOMEM, "batch of %zu records too large", n);
		goto out;
	}
	frames = (struct new_frame *)(void *)st->scratch.data;
	leaves = (uint8_t (*)[HASH_LEN])(void *)(st->scratch.data + (n + 1) * sizeof(*frames));
	salts = st->scratch.data + (n + 1) * (sizeof(*frames) + HASH_LEN);
	if (n && RAND_bytes(salts, (int)(n * REC_SALT_LEN)) != 1) {
		rc = cu_err_set(err, CU_ECRYPTO, "no randomness for salts");
		goto out;
	}
	if ((rc = idmap_begin(st->ids, err)))
		goto out;
	in_txn = 1;
	seq = frame_first = st->size;
	off = start_off;
	memcpy(chain, st->chain, HASH_LEN);
	buf_reset(&st->raw);
	buf_reset(&st->salts);
	for (i = 0; i < n; i++) {
		struct rec_view *v = &in[i].rec;
		if (i + IDMAP_AHEAD < n && in[i + IDMAP_AHEAD].has_key)
			idmap_prefetch(st->ids, in[i + IDMAP_AHEAD].key);
		in[i].duplicate = 0;
		if (v->f[RF_EVENT_ID].len) {
			rc = in[i].has_key ? 0 : store_input_key(&in[i]);
			if (rc == 0)
				rc = idmap_insert(st->ids, in[i].key, seq, &existing, err);
			if (rc < 0)
				goto out;
			if (rc == 0) {
				in[i].duplicate = 1;
				in[i].seq = existing;
				continue;
			}
		}
		v->seq = seq;
		memcpy(v->salt, salts + i * REC_SALT_LEN, REC_SALT_LEN);
		if (!v->received_ts)
			v->received_ts = now;
		buf_reset(&st->rec);
		if ((rc = rec_encode(v, &st->rec)) ||
		    (rc = frame_add(&st->raw, &st->salts, SEG_ENTRY_RECORD, st->rec.data, st->rec.len))) {
			rc = cu_err_set(err, rc, "record %zu of the batch is too large", i);
			goto out;
		}
		/* Hand the entries so far to zstd's worker now and then. */
		if (st->raw.len - st->zs.fed >= ZS_FEED_BYTES &&
		    (rc = zs_feed(&st->zs, &st->raw, &st->comp, 0, err)))
			goto out;
		rc = hash_leaf(st->rec.data, st->rec.len, leaves[seq - st->size]);
		if (rc == 0)
			rc = hash_chain(chain, leaves[seq - st->size], chain);
		if (rc) {
			rc = cu_err_set(err, rc, "hash failed");
			goto out;
		}
		in[i].seq = seq++;
		frame_count++;
		if (st->raw.len + st->salts.len >= FRAME_TARGET_RAW || frame_count >= SEG_FRAME_MAX_COUNT) {
			frames[nframes] = (struct new_frame){off, frame_first, frame_count};
			if ((rc = write_frame(st, frame_first, frame_count,
					      (const uint8_t (*)[HASH_LEN])leaves[frame_first - st->size],
					      &off, err)))
				goto out;
			nframes++;
			frame_first = seq;
			frame_count = 0;
			buf_reset(&st->raw);
		}
	}
	if (frame_count) {
		frames[nframes] = (struct new_frame){off, frame_first, frame_count};
		if ((rc = write_frame(st, frame_first, frame_count,
				      (const uint8_t (*)[HASH_LEN])leaves[frame_first - st->size],
				      &off, err)))
			goto out;
		nframes++;
	}
	if (seq == st->size) { /* all duplicates (or empty): nothing to write */
		if (idmap_rollback(st->ids) != 0)
			st->ids_behind = 1;
		in_txn = 0;
		goto out;
	}
	if ((rc = fio_fsync(st->active_fd, "segment", err)))
		goto out;
	/* Durable: from here on the batch is acknowledged. */
	pthread_mutex_lock(&st->meta_lock);
	for (i = 0; i < nframes; i++)
		frame_index_add(s, frames[i].off, frames[i].first_seq, frames[i].count);
	s->count += seq - st->size;
	s->data_end = off;
	st->frames_written += nframes; /* read by store_stats under meta_lock */
	st->fsyncs++;
	pthread_mutex_unlock(&st->meta_lock);
	memcpy(st->chain, chain, HASH_LEN);
	pthread_mutex_lock(&st->tree_lock);
	for (i = 0; i < seq - st->size; i++) {
		struct cu_err terr;
		cu_err_clear(&terr);
		if (mt_frontier_append(&st->frontier, leaves[i], NULL, NULL) != 0 ||
		    (!st->ts_behind && ts_append(st->ts, leaves[i], &terr) != 0))
			st->ts_behind = 1; /* derived: caught up from the log later */
	}
	pthread_mutex_unlock(&st->tree_lock);
	pthread_mutex_lock(&st->meta_lock);
	st->size = seq;
	pthread_mutex_unlock(&st->meta_lock);
	{
		struct head_state head = {.size = seq};
		memcpy(head.chain, chain, HASH_LEN);
		pthread_mutex_lock(&st->tree_lock);
		if (mt_frontier_root(&st->frontier, head.root) != 0)
			memset(head.root, 0, HASH_LEN);
		pthread_mutex_unlock(&st->tree_lock);
		/* Best effort: a stale head only makes the lower bound weaker. */
		(void)!head_write(st->head_fd, st->head_slot, &head, NULL);
		st->head_slot ^= 1;
	}
	if (idmap_commit(st->ids, seq, NULL) != 0)
		st->ids_behind = 1; /* derived: replayed from the log later */
	in_txn = 0;
	if (s->data_end >= st->cfg.segment_max_bytes) {
		struct cu_err serr;
		cu_err_clear(&serr);
		/* A failed seal leaves the segment active; the next append retries. */
		if (seal_active(st, &serr) != 0)
			fprintf(stderr, "custos: sealing segment %llu failed: %s\n",
				(unsigned long long)s->no, serr.msg);
	}
	rc = 0;
out:
	if (rc)
		zs_abort(&st->zs);
	if (rc && in_txn) {
		if (idmap_rollback(st->ids) != 0)
			st->ids_behind = 1; /* earlier batches' keys too: replayed from the log */
		/* Nothing of the batch is acknowledged: cut what was written. */
		if (st->active_fd >= 0 && ftruncate(st->active_fd, (off_t)start_off) != 0)
			fprintf(stderr, "custos: cannot cut a failed write: %s\n", strerror(errno));
	}
	pthread_mutex_unlock(&st->write_lock);
	return rc;
}

int store_find_id(struct store *st, const char *platform, const char *source,
		  const char *event_id, uint64_t *seq_out)
{
	uint8_t key[IDMAP_KEY_LEN];
	int rc;

	if (!st->ids)
		return CU_ESTATE;
	rc = idmap_key(platform, strlen(platform), source, strlen(source), event_id,
		       strlen(event_id), key);
	if (rc)
		return rc;
	pthread_mutex_lock(&st->write_lock);
	rc = idmap_lookup(st->ids, key, seq_out);
	pthread_mutex_unlock(&st->write_lock);
	return rc == 1 ? 0 : rc == 0 ? CU_ENOTFOUND : rc;
}
