/* store_read.c - reading the log: random access by seq (store_get, and a
 * store_reader that decompresses only as far as needed), sequential
 * iteration, and the frame index of each segment. The bytes of a frame are
 * the frame codec's (frame.c); recent frames are kept in the frame cache
 * (frame_cache.c); the tree head and proofs are in store_proof.c. */
/* for zstd's buffer-less streaming: a reader decompresses a frame block
 * by block straight into its buffer, and stops after the block it needs */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/store_int.h"
#include "common/bytes.h"
#include "common/fileio.h"

void st_seg_path(const struct store *st, uint64_t no, char *out, size_t outlen)
{
	char name[64];

	seg_file_name(no, name, sizeof(name));
	if (snprintf(out, outlen, "%s/%s", st->segdir, name) >= (int)outlen)
		out[0] = '\0'; /* too long: fails to open instead of naming another file */
}

/* st_entry_to; with_leaf 0 leaves e->leaf zero (readers of fields only). */
static int entry_decode(const struct frame_entry *r, uint64_t expect_seq, struct store_entry *e,
			int with_leaf, struct cu_err *err)
{
	uint64_t seq;
	int rc;

	memset(e, 0, sizeof(*e));
	if (r->type == SEG_ENTRY_STUB) {
		if (r->len != SEG_STUB_LEN)
			return cu_err_set(err, CU_ECORRUPT, "seq %llu: stub of wrong length",
					  (unsigned long long)expect_seq);
		seg_stub_decode(r->p, &seq, e->leaf, e->chain, &e->deletion_seq);
		e->is_stub = 1;
	} else {
		if (r->len < REC_HEADER_LEN)
			return cu_err_set(err, CU_ECORRUPT, "seq %llu: record too short",
					  (unsigned long long)expect_seq);
		seq = get_be64(r->p + 4);
		rc = with_leaf ? hash_leaf(r->p, r->len, e->leaf) : 0;
		if (rc)
			return cu_err_set(err, rc, "hash failed");
		e->bytes = r->p;
		e->len = r->len;
	}
	if (seq != expect_seq)
		return cu_err_set(err, CU_ECORRUPT, "expected seq %llu, found seq %llu",
				  (unsigned long long)expect_seq, (unsigned long long)seq);
	e->seq = seq;
	return 0;
}

int st_entry_to(const struct frame_entry *r, uint64_t expect_seq, struct store_entry *e,
		struct cu_err *err)
{
	return entry_decode(r, expect_seq, e, 1, err);
}

/* Copies entry i (seq) of pf into out as record bytes and fills e from
 * them; with_leaf also hashes the record, if pf is the complete frame (a
 * prefix has no salts yet). */
static int prefix_copy(const struct frame_prefix *pf, size_t i, uint64_t seq, struct buf *out,
		       struct store_entry *e, int with_leaf, struct cu_err *err)
{
	struct frame_entry c;
	int rc;

	rc = frame_prefix_copy(pf, i, out, err);
	if (rc)
		return rc;
	c.type = pf->ents[i].type;
	c.p = out->data;
	c.len = out->len;
	return entry_decode(&c, seq, e, with_leaf && pf->complete, err);
}

/* Index of the segment holding seq (caller holds meta_lock), or -1. */
static long seg_find(const struct store *st, uint64_t seq)
{
	size_t lo = 0, hi = st->nsegs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (st->segs[mid].first_seq + st->segs[mid].count <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < st->nsegs && st->segs[lo].first_seq <= seq &&
	    seq < st->segs[lo].first_seq + st->segs[lo].count)
		return (long)lo;
	return -1;
}

/* Builds the frame index of a sealed or active segment by walking the
 * frame headers (no decompression). Caller holds meta_lock. */
static int frames_build(struct store *st, struct seg_info *s, struct cu_err *err)
{
	char path[PATH_MAX];
	uint8_t hdr[SEG_FRAME_HDR_LEN];
	struct seg_frame_hdr fh;
	uint64_t off = SEG_HEADER_LEN, seq = s->first_seq;
	int fd, rc = 0;

	if (s->frames_complete)
		return 0;
	if (s->nframes) {
		off = s->frames[s->nframes - 1].off;
		seq = s->frames[s->nframes - 1].first_seq;
		s->nframes--; /* re-read the last one to find its end */
	}
	st_seg_path(st, s->no, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cu_err_errno(err, errno, "open %s", path);
	while (seq < s->first_seq + s->count) {
		rc = fio_pread_all(fd, hdr, sizeof(hdr), (off_t)off, path, err);
		if (rc == 0)
			rc = seg_frame_hdr_decode(hdr, &fh, err);
		if (rc == 0 && fh.first_seq != seq)
			rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at %llu starts at seq %llu, expected %llu",
					path, (unsigned long long)off,
					(unsigned long long)fh.first_seq, (unsigned long long)seq);
		if (rc)
			break;
		if (s->nframes == s->frames_alloc) {
			size_t na = s->frames_alloc ? s->frames_alloc * 2 : 64;
			struct frame_loc *p = realloc(s->frames, na * sizeof(*p));
			if (!p) {
				rc = cu_err_set(err, CU_ENOMEM, "out of memory");
				break;
			}
			s->frames = p;
			s->frames_alloc = na;
		}
		s->frames[s->nframes].off = off;
		s->frames[s->nframes].first_seq = fh.first_seq;
		s->frames[s->nframes].count = fh.count;
		s->nframes++;
		seq += fh.count;
		off += SEG_FRAME_HDR_LEN + fh.comp_len;
	}
	close(fd);
	if (rc == 0)
		s->frames_complete = 1;
	return rc;
}

/* Where the frame holding seq is: its segment's number, file and data
 * end, and the frame's offset. With fd, also opens the segment (under
 * meta_lock: a retention rewrite renames a new file into place under it,
 * so fd and offsets always belong together). */
static int frame_locate(struct store *st, uint64_t seq, uint64_t *segno, struct frame_loc *loc,
			uint64_t *data_end, char *path, size_t pathlen, int *fd, struct cu_err *err)
{
	struct seg_info *s;
	size_t lo, hi;
	long si;
	int rc;

	pthread_mutex_lock(&st->meta_lock);
	si = seg_find(st, seq);
	if (si < 0) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no record with seq %llu (archive holds %llu)",
				(unsigned long long)seq, (unsigned long long)st->size);
		goto out;
	}
	s = &st->segs[si];
	rc = frames_build(st, s, err);
	if (rc)
		goto out;
	lo = 0;
	hi = s->nframes;
	while (lo + 1 < hi) { /* last frame with first_seq <= seq */
		size_t mid = (lo + hi) / 2;
		if (s->frames[mid].first_seq <= seq)
			lo = mid;
		else
			hi = mid;
	}
	*loc = s->frames[lo];
	*data_end = s->data_end;
	*segno = s->no;
	st_seg_path(st, s->no, path, pathlen);
	if (fd) {
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			rc = cu_err_errno(err, errno, "open %s", path);
	}
out:
	pthread_mutex_unlock(&st->meta_lock);
	return rc;
}

int store_get(struct store *st, uint64_t seq, struct buf *out, struct store_entry *e,
	      struct cu_err *err)
{
	struct frame_prefix pf;
	struct frame_cache_slot *c;
	struct seg_frame_hdr fh;
	struct frame_loc loc = {0};
	struct buf comp;
	char path[PATH_MAX];
	uint64_t data_end = 0, segno = 0, gen;
	int fd = -1, rc;

	memset(&pf, 0, sizeof(pf));
	buf_init(&comp, SEG_FRAME_MAX_COMP);
	buf_init(&pf.raw, SEG_FRAME_MAX_RAW);
	if (out->max < REC_MAX_BYTES)
		out->max = REC_MAX_BYTES;
	rc = frame_locate(st, seq, &segno, &loc, &data_end, path, sizeof(path), NULL, err);
	if (rc)
		goto out;
	/* A frame decompressed recently (search results cluster) is served
	 * from the cache: a hit costs a copy, not a whole frame. */
	pthread_mutex_lock(&st->cache.lock);
	c = frame_cache_find(&st->cache, segno, loc.off);
	gen = st->cache.gen;
	if (c && c->pf.complete && seq >= c->first_seq && seq - c->first_seq < c->count) {
		frame_cache_use(&st->cache, c);
		rc = prefix_copy(&c->pf, seq - c->first_seq, seq, out, e, 1, err);
		pthread_mutex_unlock(&st->cache.lock);
		goto out;
	}
	pthread_mutex_unlock(&st->cache.lock);
	rc = frame_locate(st, seq, &segno, &loc, &data_end, path, sizeof(path), &fd, err);
	if (rc == 0)
		rc = frame_read(path, fd, loc.off, data_end, &fh, &comp, &pf.raw, st_key(st), err);
	if (rc == 0 && (seq < fh.first_seq || seq - fh.first_seq >= fh.count))
		rc = cu_err_set(err, CU_ECORRUPT, "%s: frame index does not hold seq %llu", path,
				(unsigned long long)seq);
	if (rc == 0 && frame_prefix_entries(&pf, &fh) != 0)
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
	if (rc == 0)
		rc = frame_prefix_parse(&pf, &fh, 1, err);
	if (rc)
		goto out;
	pthread_mutex_lock(&st->cache.lock);
	c = frame_cache_put(&st->cache, segno, loc.off, &fh, &pf, gen);
	if (c && c->pf.complete)
		rc = prefix_copy(&c->pf, seq - fh.first_seq, seq, out, e, 1, err);
	else
		rc = prefix_copy(&pf, seq - fh.first_seq, seq, out, e, 1, err);
	pthread_mutex_unlock(&st->cache.lock);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&comp);
	frame_prefix_release(&pf);
	return rc;
}

/* ---- store_reader: records' fields, their frames read only so far ---- */

#define READER_STEP (32u << 10) /* compressed bytes handed to zstd at a time */

struct store_reader {
	struct store *st;
	int have;                    /* holds (the start of) a frame */
	uint64_t segno, off;         /* which */
	uint64_t gen;                /* the cache's generation when it was read */
	struct seg_frame_hdr fh;
	struct buf comp, plain;      /* its stored payload; decrypted, if encrypted */
	const uint8_t *z;            /* its zstd bytes (in comp or plain) */
	size_t zlen, zpos;           /* their length; how many zstd has taken */
	ZSTD_DCtx *dctx;             /* the decompression, stopped where it was enough */
	struct frame_prefix pf;         /* what is decompressed and parsed */
};

int store_reader_new(struct store *st, struct store_reader **out, struct cu_err *err)
{
	struct store_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r || !(r->dctx = ZSTD_createDCtx())) {
		free(r);
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	}
	r->st = st;
	buf_init(&r->comp, SEG_FRAME_MAX_COMP);
	buf_init(&r->plain, SEG_FRAME_MAX_COMP);
	buf_init(&r->pf.raw, SEG_FRAME_MAX_RAW);
	*out = r;
	return 0;
}

/* Gives what the reader has of its frame to the cache. */
static void reader_retire(struct store_reader *r)
{
	if (r->have && r->pf.nents > 0) {
		pthread_mutex_lock(&r->st->cache.lock);
		(void)frame_cache_put(&r->st->cache, r->segno, r->off, &r->fh, &r->pf, r->gen);
		pthread_mutex_unlock(&r->st->cache.lock);
	}
	r->have = 0;
}

void store_reader_drop(struct store_reader *r)
{
	reader_retire(r);
}

void store_reader_free(struct store_reader *r)
{
	if (!r)
		return;
	reader_retire(r);
	ZSTD_freeDCtx(r->dctx);
	buf_release(&r->comp);
	buf_release(&r->plain);
	frame_prefix_release(&r->pf);
	free(r);
}

/* Decompresses the next block of the reader's frame (the whole frame is
 * in one buffer, so every earlier block is there to refer back to) and
 * parses the entries it completes. */
static int reader_more(struct store_reader *r, struct cu_err *err)
{
	size_t want, got = 0;

	while ((want = ZSTD_nextSrcSizeToDecompress(r->dctx)) != 0) {
		if (want > r->zlen - r->zpos)
			return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: cannot decompress: truncated",
					  (unsigned long long)r->fh.first_seq);
		got = ZSTD_decompressContinue(r->dctx, r->pf.raw.data + r->pf.raw.len,
					      r->fh.raw_len - r->pf.raw.len, r->z + r->zpos, want);
		if (ZSTD_isError(got))
			return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: cannot decompress: %s",
					  (unsigned long long)r->fh.first_seq, ZSTD_getErrorName(got));
		r->zpos += want;
		r->pf.raw.len += got;
		if (got > 0)
			break; /* a block: enough for one step */
	}
	want = ZSTD_nextSrcSizeToDecompress(r->dctx);
	if (want == 0 && r->pf.raw.len != r->fh.raw_len)
		return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: cannot decompress: short",
				  (unsigned long long)r->fh.first_seq);
	return frame_prefix_parse(&r->pf, &r->fh, want == 0, err);
}

int store_reader_get(struct store_reader *r, uint64_t seq, struct buf *out, struct store_entry *e,
		     struct cu_err *err)
{
	struct store *st = r->st;
	struct frame_cache_slot *c;
	struct frame_loc loc = {0};
	char path[PATH_MAX];
	uint64_t data_end = 0, segno = 0;
	size_t i;
	int fd = -1, rc;

	if (out->max < REC_MAX_BYTES)
		out->max = REC_MAX_BYTES;
	rc = frame_locate(st, seq, &segno, &loc, &data_end, path, sizeof(path), NULL, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&st->cache.lock);
	if (r->have && r->gen != st->cache.gen)
		r->have = 0; /* its segment may have been rewritten */
	if (!(r->have && r->segno == segno && r->off == loc.off)) {
		c = frame_cache_find(&st->cache, segno, loc.off);
		if (c && seq >= c->first_seq && seq - c->first_seq < c->pf.nents) {
			frame_cache_use(&st->cache, c);
			rc = prefix_copy(&c->pf, seq - c->first_seq, seq, out, e, 0, err);
			pthread_mutex_unlock(&st->cache.lock);
			return rc;
		}
	}
	pthread_mutex_unlock(&st->cache.lock);
	if (!(r->have && r->segno == segno && r->off == loc.off)) {
		reader_retire(r);
		pthread_mutex_lock(&st->cache.lock);
		r->gen = st->cache.gen;
		pthread_mutex_unlock(&st->cache.lock);
		rc = frame_locate(st, seq, &segno, &loc, &data_end, path, sizeof(path), &fd, err);
		if (rc == 0)
			rc = frame_read_payload(path, fd, loc.off, data_end, &r->fh, &r->comp,
						&r->plain, st_key(st), &r->z, &r->zlen, err);
		if (fd >= 0)
			close(fd);
		if (rc == 0 && (rc = frame_prefix_start(&r->pf, &r->fh)) != 0)
			rc = cu_err_set(err, rc, "out of memory");
		if (rc == 0 && (rc = buf_reserve(&r->pf.raw, r->fh.raw_len)) != 0)
			rc = cu_err_set(err, rc, "%s: frame at offset %llu: too large", path,
					(unsigned long long)loc.off);
		if (rc == 0 && ZSTD_isError(ZSTD_decompressBegin(r->dctx)))
			rc = cu_err_set(err, CU_EIO, "zstd: cannot start decompressing");
		if (rc)
			return rc;
		r->zpos = 0;
		r->segno = segno;
		r->off = loc.off;
		r->have = 1;
	}
	if (seq < r->fh.first_seq || seq - r->fh.first_seq >= r->fh.count) {
		r->have = 0;
		return cu_err_set(err, CU_ECORRUPT, "%s: frame index does not hold seq %llu", path,
				  (unsigned long long)seq);
	}
	i = seq - r->fh.first_seq;
	while (rc == 0 && r->pf.nents <= i)
		rc = reader_more(r, err);
	if (rc) {
		r->have = 0;
		return rc;
	}
	return prefix_copy(&r->pf, i, seq, out, e, 0, err);
}

/* Sequential reader state. */
struct store_iter {
	struct store *st;
	uint64_t next;             /* next seq to return */
	uint64_t end;              /* size at open time */
	uint64_t skip_to;          /* first seq the caller asked for */
	size_t seg;                /* index of the current segment */
	int fd;                    /* its fd, or -1 */
	char path[PATH_MAX];       /* its path */
	uint64_t off;              /* offset of the next frame */
	uint64_t data_end;         /* end of its frames */
	struct seg_frame_hdr fh;   /* current frame */
	struct buf comp, raw;      /* current frame's bytes */
	struct buf recs;           /* its records, reassembled */
	struct frame_entry *ents; /* its entries */
	size_t ents_alloc;
	size_t pos;                /* next entry in the frame */
};

static int iter_open_seg(struct store_iter *it, struct cu_err *err)
{
	uint8_t hb[SEG_HEADER_LEN];
	struct seg_header h;
	int rc;

	if (it->fd >= 0)
		close(it->fd);
	pthread_mutex_lock(&it->st->meta_lock);
	st_seg_path(it->st, it->st->segs[it->seg].no, it->path, sizeof(it->path));
	it->data_end = it->st->segs[it->seg].data_end;
	/* Under the lock, like store_get: the fd keeps the file it opened even
	 * if a retention rewrite replaces the segment meanwhile. */
	it->fd = open(it->path, O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&it->st->meta_lock);
	if (it->fd < 0)
		return cu_err_errno(err, errno, "open %s", it->path);
	rc = fio_pread_all(it->fd, hb, sizeof(hb), 0, it->path, err);
	if (rc == 0)
		rc = seg_header_decode(hb, &h, err);
	if (rc)
		return rc;
	it->next = h.first_seq;
	it->off = SEG_HEADER_LEN;
	it->pos = it->fh.count = 0;
	return 0;
}

int store_iter_open(struct store *st, uint64_t from, struct store_iter **out, struct cu_err *err)
{
	struct store_iter *it = calloc(1, sizeof(*it));
	uint64_t seek_off = 0, seek_seq = 0;
	long si;
	int rc = 0;

	*out = NULL;
	if (!it)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	it->st = st;
	it->fd = -1;
	buf_init(&it->comp, SEG_FRAME_MAX_COMP);
	buf_init(&it->raw, SEG_FRAME_MAX_RAW);
	buf_init(&it->recs, SEG_FRAME_MAX_RAW);
	pthread_mutex_lock(&st->meta_lock);
	it->end = st->size;
	si = from < st->size ? seg_find(st, from) : -1;
	/* Seek straight to the frame holding from (the frame index is built
	 * from headers alone), so that starting mid-log costs one frame. */
	if (si >= 0 && frames_build(st, &st->segs[si], err) == 0 && st->segs[si].nframes) {
		struct seg_info *s = &st->segs[si];
		size_t lo = 0, hi = s->nframes;
		while (lo + 1 < hi) {
			size_t mid = (lo + hi) / 2;
			if (s->frames[mid].first_seq <= from)
				lo = mid;
			else
				hi = mid;
		}
		seek_off = s->frames[lo].off;
		seek_seq = s->frames[lo].first_seq;
	}
	pthread_mutex_unlock(&st->meta_lock);
	it->skip_to = from;
	it->next = from;
	if (si >= 0) {
		it->seg = (size_t)si;
		rc = iter_open_seg(it, err);
		if (rc == 0 && seek_off) {
			it->off = seek_off;
			it->next = seek_seq;
		}
	}
	if (rc)
		store_iter_close(it);
	else
		*out = it;
	return rc;
}

int store_iter_next(struct store_iter *it, struct store_entry *e, struct cu_err *err)
{
	int rc;

	for (;;) {
		if (it->next >= it->end)
			return 0;
		if (it->pos >= it->fh.count) {
			/* Next frame, or next segment once this one is exhausted. */
			if (it->off >= it->data_end) {
				it->seg++;
				rc = iter_open_seg(it, err);
				if (rc)
					return rc;
				continue;
			}
			rc = frame_read(it->path, it->fd, it->off, it->data_end, &it->fh,
					&it->comp, &it->raw, st_key(it->st), err);
			if (rc)
				return rc;
			if (it->fh.first_seq != it->next)
				return cu_err_set(err, CU_ECORRUPT,
						  "%s: frame at offset %llu starts at seq %llu, expected %llu",
						  it->path, (unsigned long long)it->off,
						  (unsigned long long)it->fh.first_seq,
						  (unsigned long long)it->next);
			if (it->ents_alloc < it->fh.count) {
				free(it->ents);
				it->ents = calloc(it->fh.count, sizeof(*it->ents));
				if (!it->ents) {
					it->ents_alloc = 0;
					return cu_err_set(err, CU_ENOMEM, "out of memory");
				}
				it->ents_alloc = it->fh.count;
			}
			rc = frame_entries(&it->fh, &it->raw, &it->recs, it->ents, it->ents_alloc, err);
			if (rc)
				return rc;
			it->off += SEG_FRAME_HDR_LEN + it->fh.comp_len;
			it->pos = 0;
		}
		rc = st_entry_to(&it->ents[it->pos], it->next, e, err);
		if (rc)
			return cu_err_set(err, rc, "%s", it->path);
		it->pos++;
		it->next++;
		if (e->seq >= it->skip_to)
			return 1;
	}
}

void store_iter_close(struct store_iter *it)
{
	if (!it)
		return;
	if (it->fd >= 0)
		close(it->fd);
	buf_release(&it->comp);
	buf_release(&it->raw);
	buf_release(&it->recs);
	free(it->ents);
	free(it);
}

/* ts_leaves_fn: leaf hashes of [start, start+count) read from the log. */
int st_leaves(void *ctx, uint64_t start, uint64_t count, uint8_t (*out)[HASH_LEN])
{
	struct store *st = ctx;
	struct store_iter *it = NULL;
	struct store_entry e;
	uint64_t i;
	int rc;

	rc = store_iter_open(st, start, &it, NULL);
	for (i = 0; rc == 0 && i < count; i++) {
		rc = store_iter_next(it, &e, NULL);
		if (rc == 1) {
			memcpy(out[i], e.leaf, HASH_LEN);
			rc = 0;
		} else if (rc == 0) {
			rc = CU_ENOTFOUND;
		}
	}
	store_iter_close(it);
	return rc;
}
