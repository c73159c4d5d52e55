/* store_read.c - reading the log: frames, entries, random access by seq,
 * and sequential iteration. The tree head and proofs are in
 * store_proof.c. */
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

/* The additional data an encrypted frame's box is bound to: the frame
 * header's fields (bytes 0..31) and the stored leaf hashes. */
static int frame_aad(const uint8_t hdr32[32], const uint8_t *leaves, size_t nleaves, struct buf *aad)
{
	int rc;

	buf_reset(aad);
	rc = buf_append(aad, hdr32, 32);
	return rc ? rc : buf_append(aad, leaves, nleaves * HASH_LEN);
}

/* Reads and checks (header, caps, checksum) the frame at off into comp;
 * with plain (NULL: check only), also decrypts an encrypted frame into it
 * and points *z, *zlen at the zstd bytes, whose declared size must match
 * the header's. */
static int read_payload(const char *path, int fd, uint64_t off, uint64_t limit,
			struct seg_frame_hdr *fh, struct buf *comp, struct buf *plain,
			const struct crypt_key *key, const uint8_t **z, size_t *zlen, struct cu_err *err)
{
	uint8_t hdr[SEG_FRAME_HDR_LEN];
	unsigned long long content;
	struct buf aad;
	size_t lv;
	int rc;

	buf_init(&aad, (size_t)SEG_FRAME_MAX_COUNT * HASH_LEN + 64);
	if (limit < off + SEG_FRAME_HDR_LEN) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at offset %llu: truncated header",
				path, (unsigned long long)off);
		goto out;
	}
	rc = fio_pread_all(fd, hdr, sizeof(hdr), (off_t)off, path, err);
	if (rc)
		goto out;
	rc = seg_frame_hdr_decode(hdr, fh, err);
	if (rc) {
		rc = cu_err_set(err, rc, "%s: frame at offset %llu: invalid header", path,
				(unsigned long long)off);
		goto out;
	}
	if (limit - off - SEG_FRAME_HDR_LEN < fh->comp_len) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at offset %llu: extends past the end",
				path, (unsigned long long)off);
		goto out;
	}
	buf_reset(comp);
	rc = buf_reserve(comp, fh->comp_len);
	if (rc == 0)
		rc = fio_pread_all(fd, comp->data, fh->comp_len, (off_t)(off + SEG_FRAME_HDR_LEN), path, err);
	if (rc)
		goto out;
	comp->len = fh->comp_len;
	if (seg_frame_check(hdr, comp->data, comp->len) != 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at offset %llu: checksum mismatch",
				path, (unsigned long long)off);
		goto out;
	}
	if (!plain) /* the caller only wanted the frame checked */
		goto out;
	*z = comp->data;
	*zlen = comp->len;
	if (fh->flags & SEG_FRAME_F_ENCRYPTED) {
		/* leaf hashes in the clear, then nonce || ciphertext || tag */
		lv = (size_t)fh->count * HASH_LEN;
		if (comp->len < lv + CRYPT_NONCE_LEN + CRYPT_TAG_LEN) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at offset %llu: encrypted frame too "
					"short", path, (unsigned long long)off);
			goto out;
		}
		if (!key) {
			rc = cu_err_set(err, CU_ESTATE, "%s: frame at offset %llu is encrypted and no key "
					"was given", path, (unsigned long long)off);
			goto out;
		}
		rc = frame_aad(hdr, comp->data, fh->count, &aad);
		if (rc == 0)
			rc = crypt_open_box(key, aad.data, aad.len, comp->data + lv, comp->len - lv, plain);
		if (rc) {
			rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at offset %llu: does not decrypt "
					"(changed, or another key)", path, (unsigned long long)off);
			goto out;
		}
		*z = plain->data;
		*zlen = plain->len;
	}
	/* The declared size is capped (SEG_FRAME_MAX_RAW) and must match what
	 * zstd says, if it says (frames compressed while being built do not),
	 * so a corrupted frame cannot make us allocate more: decompression
	 * never writes past the declared size. */
	content = ZSTD_getFrameContentSize(*z, *zlen);
	if (content != fh->raw_len && content != ZSTD_CONTENTSIZE_UNKNOWN)
		rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at offset %llu: size mismatch",
				path, (unsigned long long)off);
out:
	buf_release(&aad);
	return rc;
}

int st_read_frame(const char *path, int fd, uint64_t off, uint64_t limit,
		  struct seg_frame_hdr *fh, struct buf *comp, struct buf *raw,
		  const struct crypt_key *key, struct cu_err *err)
{
	const uint8_t *z = NULL;
	size_t got, zlen = 0;
	struct buf plain;
	int rc;

	buf_init(&plain, SEG_FRAME_MAX_COMP);
	rc = read_payload(path, fd, off, limit, fh, comp, raw ? &plain : NULL, key, &z, &zlen, err);
	if (rc || !raw)
		goto out;
	buf_reset(raw);
	rc = buf_reserve(raw, fh->raw_len);
	if (rc) {
		rc = cu_err_set(err, rc, "%s: frame at offset %llu: too large", path,
				(unsigned long long)off);
		goto out;
	}
	got = ZSTD_decompress(raw->data, fh->raw_len, z, zlen);
	if (ZSTD_isError(got) || got != fh->raw_len) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s: frame at offset %llu: cannot decompress: %s",
				path, (unsigned long long)off,
				ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
		goto out;
	}
	raw->len = got;
out:
	buf_release(&plain);
	return rc;
}

int st_frame_wrap(const struct crypt_key *key, const struct buf *comp, size_t raw_len,
		  const uint8_t (*leaves)[HASH_LEN], uint64_t first_seq, uint32_t count,
		  struct buf *out, struct cu_err *err)
{
	struct seg_frame_hdr fh;
	uint8_t hdr[SEG_FRAME_HDR_LEN];
	size_t n = comp->len, lv = (size_t)count * HASH_LEN;
	struct buf aad, box;
	int rc;

	buf_init(&aad, (size_t)SEG_FRAME_MAX_COUNT * HASH_LEN + 64);
	buf_init(&box, SEG_FRAME_MAX_COMP);
	buf_reset(out);
	fh.raw_len = (uint32_t)raw_len;
	fh.first_seq = first_seq;
	fh.count = count;
	fh.flags = SEG_FRAME_F_ZSTD;
	fh.comp_len = (uint32_t)n;
	if (key) {
		fh.flags |= SEG_FRAME_F_ENCRYPTED;
		fh.comp_len = (uint32_t)(lv + CRYPT_NONCE_LEN + n + CRYPT_TAG_LEN);
		/* Header bytes 0..31 are final once comp_len is known. */
		rc = seg_frame_hdr_encode(&fh, comp->data, hdr);
		if (rc == 0)
			rc = frame_aad(hdr, (const uint8_t *)leaves, count, &aad);
		if (rc == 0)
			rc = crypt_seal(key, aad.data, aad.len, comp->data, n, &box);
		if (rc) {
			rc = cu_err_set(err, rc, "cannot encrypt the frame");
			goto out;
		}
	}
	rc = buf_reserve(out, SEG_FRAME_HDR_LEN + fh.comp_len);
	if (rc == 0 && key) {
		memcpy(out->data + SEG_FRAME_HDR_LEN, leaves, lv);
		memcpy(out->data + SEG_FRAME_HDR_LEN + lv, box.data, box.len);
	} else if (rc == 0) {
		memcpy(out->data + SEG_FRAME_HDR_LEN, comp->data, n);
	}
	if (rc == 0)
		rc = seg_frame_hdr_encode(&fh, out->data + SEG_FRAME_HDR_LEN, out->data);
	if (rc) {
		rc = cu_err_set(err, rc, "frame too large");
		goto out;
	}
	out->len = SEG_FRAME_HDR_LEN + fh.comp_len;
out:
	buf_release(&aad);
	buf_release(&box);
	return rc;
}

int st_frame_build(ZSTD_CCtx *cctx, int level, const struct crypt_key *key, const struct buf *raw,
		   const uint8_t (*leaves)[HASH_LEN], uint64_t first_seq, uint32_t count,
		   struct buf *scratch, struct buf *out, struct cu_err *err)
{
	size_t bound = ZSTD_compressBound(raw->len), n;
	int rc;

	buf_reset(scratch);
	rc = buf_reserve(scratch, bound);
	if (rc)
		return cu_err_set(err, rc, "frame too large");
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)))
		return cu_err_set(err, CU_EINVAL, "bad zstd level %d", level);
	n = ZSTD_compress2(cctx, scratch->data, bound, raw->data, raw->len);
	if (ZSTD_isError(n))
		return cu_err_set(err, CU_EIO, "zstd: %s", ZSTD_getErrorName(n));
	scratch->len = n;
	return st_frame_wrap(key, scratch, raw->len, leaves, first_seq, count, out, err);
}

/* The salt offset inside record bytes (docs/FORMAT.md "Frame"): frames
 * store records without their salt, and all salts together after the last
 * entry, because random bytes in the middle of each record would break
 * zstd's matches between neighbouring records. */
#define SALT_AT 28

int st_frame_entries(const struct seg_frame_hdr *fh, const struct buf *raw, struct buf *recs,
		     struct st_entry_raw *out, size_t max, struct cu_err *err)
{
	size_t off = 0, i, nrec = 0, salts_at, pos = 0;
	uint32_t len;
	int rc;

	/* First pass: entry boundaries and how many records carry a salt. */
	for (i = 0; i < fh->count; i++) {
		if (i >= max)
			return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: more entries than expected",
					  (unsigned long long)fh->first_seq);
		if (raw->len - off < 5)
			return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: truncated entry %zu",
					  (unsigned long long)fh->first_seq, i);
		out[i].type = raw->data[off];
		len = get_be32(raw->data + off + 1);
		if (len > raw->len - off - 5 ||
		    (out[i].type == SEG_ENTRY_RECORD && len < REC_HEADER_LEN - REC_SALT_LEN) ||
		    (out[i].type != SEG_ENTRY_RECORD && out[i].type != SEG_ENTRY_STUB))
			return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: entry %zu malformed",
					  (unsigned long long)fh->first_seq, i);
		out[i].p = raw->data + off + 5;
		out[i].len = len;
		nrec += out[i].type == SEG_ENTRY_RECORD;
		off += 5 + len;
	}
	salts_at = off;
	if (raw->len - off != nrec * REC_SALT_LEN)
		return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: %zu bytes after %u entries, "
				  "expected %zu salt bytes", (unsigned long long)fh->first_seq,
				  raw->len - off, fh->count, nrec * REC_SALT_LEN);
	/* Second pass: reassemble record bytes (salt back in place) into recs. */
	buf_reset(recs);
	rc = buf_reserve(recs, raw->len);
	if (rc)
		return cu_err_set(err, rc, "frame too large");
	for (i = 0, nrec = 0; i < fh->count; i++) {
		uint8_t *dst = recs->data + pos;
		if (out[i].type == SEG_ENTRY_RECORD) {
			memcpy(dst, out[i].p, SALT_AT);
			memcpy(dst + SALT_AT, raw->data + salts_at + nrec++ * REC_SALT_LEN, REC_SALT_LEN);
			memcpy(dst + SALT_AT + REC_SALT_LEN, out[i].p + SALT_AT, out[i].len - SALT_AT);
			out[i].len += REC_SALT_LEN;
		} else {
			memcpy(dst, out[i].p, out[i].len);
		}
		out[i].p = dst;
		pos += out[i].len;
	}
	recs->len = pos;
	return 0;
}

int st_frame_add(struct buf *raw, struct buf *salts, int type, const uint8_t *p, size_t len)
{
	uint8_t tl[5];
	int rc;

	tl[0] = (uint8_t)type;
	if (type == SEG_ENTRY_RECORD) {
		if (len < REC_HEADER_LEN)
			return CU_EINVAL;
		put_be32(tl + 1, (uint32_t)(len - REC_SALT_LEN));
		if ((rc = buf_append(raw, tl, 5)) || (rc = buf_append(raw, p, SALT_AT)) ||
		    (rc = buf_append(raw, p + SALT_AT + REC_SALT_LEN, len - SALT_AT - REC_SALT_LEN)))
			return rc;
		return buf_append(salts, p + SALT_AT, REC_SALT_LEN);
	}
	put_be32(tl + 1, (uint32_t)len);
	rc = buf_append(raw, tl, 5);
	return rc ? rc : buf_append(raw, p, len);
}

/* st_entry_to; with_leaf 0 leaves e->leaf zero (readers of fields only). */
static int entry_decode(const struct st_entry_raw *r, uint64_t expect_seq, struct store_entry *e,
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

int st_entry_to(const struct st_entry_raw *r, uint64_t expect_seq, struct store_entry *e,
		struct cu_err *err)
{
	return entry_decode(r, expect_seq, e, 1, err);
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

/* ---- frames decompressed as far as needed ---------------------------- */

static void prefix_release(struct st_prefix *pf)
{
	buf_release(&pf->raw);
	free(pf->ents);
	free(pf->recno);
	memset(pf, 0, sizeof(*pf));
}

/* Readies pf to parse the entries of a frame of fh (keeps the memory it
 * has; raw is left as it is). */
static int prefix_entries(struct st_prefix *pf, const struct seg_frame_hdr *fh)
{
	pf->nents = 0;
	pf->parse_off = 0;
	pf->nrec = 0;
	pf->complete = 0;
	pf->salts_at = 0;
	if (pf->ents_alloc < fh->count) {
		free(pf->ents);
		free(pf->recno);
		pf->ents = calloc(fh->count, sizeof(*pf->ents));
		pf->recno = calloc(fh->count, sizeof(*pf->recno));
		pf->ents_alloc = pf->ents && pf->recno ? fh->count : 0;
		if (!pf->ents_alloc)
			return CU_ENOMEM;
	}
	return 0;
}

/* Readies pf for a frame of fh that is yet to be decompressed into raw. */
static int prefix_start(struct st_prefix *pf, const struct seg_frame_hdr *fh)
{
	buf_reset(&pf->raw);
	if (pf->raw.max < SEG_FRAME_MAX_RAW)
		pf->raw.max = SEG_FRAME_MAX_RAW;
	return prefix_entries(pf, fh);
}

/* Parses the entries whose bytes are in pf->raw, from the first not yet
 * parsed; done says raw holds the whole frame (then every entry and the
 * salts after them must be there). */
static int prefix_parse(struct st_prefix *pf, const struct seg_frame_hdr *fh, int done, struct cu_err *err)
{
	const struct buf *raw = &pf->raw;
	size_t off = pf->parse_off;
	struct st_entry_raw *r;
	uint32_t len;

	while (pf->nents < fh->count) {
		if (raw->len - off < 5)
			break;
		r = &pf->ents[pf->nents];
		r->type = raw->data[off];
		len = get_be32(raw->data + off + 1);
		if ((r->type == SEG_ENTRY_RECORD && len < REC_HEADER_LEN - REC_SALT_LEN) ||
		    (r->type != SEG_ENTRY_RECORD && r->type != SEG_ENTRY_STUB) || len > fh->raw_len)
			return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: entry %zu malformed",
					  (unsigned long long)fh->first_seq, pf->nents);
		if (len > raw->len - off - 5)
			break;
		r->p = raw->data + off + 5;
		r->len = len;
		pf->recno[pf->nents] = r->type == SEG_ENTRY_RECORD ? pf->nrec++ : UINT32_MAX;
		pf->nents++;
		off += 5 + len;
	}
	pf->parse_off = off;
	if (!done)
		return 0;
	if (pf->nents < fh->count)
		return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: truncated entry %zu",
				  (unsigned long long)fh->first_seq, pf->nents);
	if (raw->len - off != (size_t)pf->nrec * REC_SALT_LEN)
		return cu_err_set(err, CU_ECORRUPT, "frame seq %llu: %zu bytes after %u entries, "
				  "expected %zu salt bytes", (unsigned long long)fh->first_seq,
				  raw->len - off, fh->count, (size_t)pf->nrec * REC_SALT_LEN);
	pf->salts_at = off;
	pf->complete = 1;
	return 0;
}

/* Copies entry i (seq) of pf into out as record bytes and fills e: with
 * its salt when the frame is complete, else with zeros there (with_leaf
 * must then be 0). */
static int prefix_copy(const struct st_prefix *pf, size_t i, uint64_t seq, struct buf *out,
		       struct store_entry *e, int with_leaf, struct cu_err *err)
{
	const struct st_entry_raw *r = &pf->ents[i];
	struct st_entry_raw c;
	int rc;

	buf_reset(out);
	if (r->type == SEG_ENTRY_RECORD) {
		rc = buf_reserve(out, r->len + REC_SALT_LEN);
		if (rc)
			return cu_err_set(err, rc, "record too large");
		memcpy(out->data, r->p, SALT_AT);
		if (pf->complete)
			memcpy(out->data + SALT_AT, pf->raw.data + pf->salts_at +
			       (size_t)pf->recno[i] * REC_SALT_LEN, REC_SALT_LEN);
		else
			memset(out->data + SALT_AT, 0, REC_SALT_LEN);
		memcpy(out->data + SALT_AT + REC_SALT_LEN, r->p + SALT_AT, r->len - SALT_AT);
		out->len = r->len + REC_SALT_LEN;
	} else {
		rc = buf_append(out, r->p, r->len);
		if (rc)
			return cu_err_set(err, rc, "record too large");
	}
	c.type = r->type;
	c.p = out->data;
	c.len = out->len;
	return entry_decode(&c, seq, e, with_leaf && pf->complete, err);
}

/* ---- the frame cache ------------------------------------------------ */

/* The cached frame holding seq in segment segno at off, or NULL. */
static struct fcache_slot *cache_find(struct store *st, uint64_t segno, uint64_t off)
{
	size_t i;

	for (i = 0; i < FCACHE_SLOTS; i++)
		if (st->cache[i].valid && st->cache[i].segno == segno && st->cache[i].off == off)
			return &st->cache[i];
	return NULL;
}

/* Hands pf (a frame, or its first entries, read when the cache was at
 * generation gen) to the cache, unless the cache knows as much of that
 * frame already or the segment was rewritten meanwhile; pf gets the
 * memory of the slot it replaces. Caller holds cache_lock. */
static struct fcache_slot *cache_put(struct store *st, uint64_t segno, uint64_t off,
				     const struct seg_frame_hdr *fh, struct st_prefix *pf, uint64_t gen)
{
	struct fcache_slot *c = cache_find(st, segno, off);
	struct st_prefix tmp;
	size_t i;

	if (gen != st->cache_gen)
		return NULL;
	if (c && (c->pf.complete || (!pf->complete && c->pf.nents >= pf->nents)))
		return c;
	if (!c) {
		c = &st->cache[0];
		for (i = 1; i < FCACHE_SLOTS; i++)
			if (!st->cache[i].valid || (c->valid && st->cache[i].used < c->used))
				c = &st->cache[i];
	}
	tmp = c->pf;
	c->pf = *pf;
	*pf = tmp;
	c->segno = segno;
	c->off = off;
	c->first_seq = fh->first_seq;
	c->count = fh->count;
	c->used = ++st->cache_clock;
	c->valid = 1;
	return c;
}

void st_cache_forget(struct store *st, uint64_t segno)
{
	size_t i;

	pthread_mutex_lock(&st->cache_lock);
	for (i = 0; i < FCACHE_SLOTS; i++)
		if (st->cache[i].segno == segno)
			st->cache[i].valid = 0;
	st->cache_gen++; /* frames read before now must not come in */
	pthread_mutex_unlock(&st->cache_lock);
}

void st_cache_release(struct store *st)
{
	size_t i;

	for (i = 0; i < FCACHE_SLOTS; i++)
		prefix_release(&st->cache[i].pf);
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
	struct st_prefix pf;
	struct fcache_slot *c;
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
	pthread_mutex_lock(&st->cache_lock);
	c = cache_find(st, segno, loc.off);
	gen = st->cache_gen;
	if (c && c->pf.complete && seq >= c->first_seq && seq - c->first_seq < c->count) {
		c->used = ++st->cache_clock;
		rc = prefix_copy(&c->pf, seq - c->first_seq, seq, out, e, 1, err);
		pthread_mutex_unlock(&st->cache_lock);
		goto out;
	}
	pthread_mutex_unlock(&st->cache_lock);
	rc = frame_locate(st, seq, &segno, &loc, &data_end, path, sizeof(path), &fd, err);
	if (rc == 0)
		rc = st_read_frame(path, fd, loc.off, data_end, &fh, &comp, &pf.raw, st_key(st), err);
	if (rc == 0 && (seq < fh.first_seq || seq - fh.first_seq >= fh.count))
		rc = cu_err_set(err, CU_ECORRUPT, "%s: frame index does not hold seq %llu", path,
				(unsigned long long)seq);
	if (rc == 0 && prefix_entries(&pf, &fh) != 0)
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
	if (rc == 0)
		rc = prefix_parse(&pf, &fh, 1, err);
	if (rc)
		goto out;
	pthread_mutex_lock(&st->cache_lock);
	c = cache_put(st, segno, loc.off, &fh, &pf, gen);
	if (c && c->pf.complete)
		rc = prefix_copy(&c->pf, seq - fh.first_seq, seq, out, e, 1, err);
	else
		rc = prefix_copy(&pf, seq - fh.first_seq, seq, out, e, 1, err);
	pthread_mutex_unlock(&st->cache_lock);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&comp);
	prefix_release(&pf);
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
	struct st_prefix pf;         /* what is decompressed and parsed */
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
		pthread_mutex_lock(&r->st->cache_lock);
		(void)cache_put(r->st, r->segno, r->off, &r->fh, &r->pf, r->gen);
		pthread_mutex_unlock(&r->st->cache_lock);
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
	prefix_release(&r->pf);
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
	return prefix_parse(&r->pf, &r->fh, want == 0, err);
}

int store_reader_get(struct store_reader *r, uint64_t seq, struct buf *out, struct store_entry *e,
		     struct cu_err *err)
{
	struct store *st = r->st;
	struct fcache_slot *c;
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
	pthread_mutex_lock(&st->cache_lock);
	if (r->have && r->gen != st->cache_gen)
		r->have = 0; /* its segment may have been rewritten */
	if (!(r->have && r->segno == segno && r->off == loc.off)) {
		c = cache_find(st, segno, loc.off);
		if (c && seq >= c->first_seq && seq - c->first_seq < c->pf.nents) {
			c->used = ++st->cache_clock;
			rc = prefix_copy(&c->pf, seq - c->first_seq, seq, out, e, 0, err);
			pthread_mutex_unlock(&st->cache_lock);
			return rc;
		}
	}
	pthread_mutex_unlock(&st->cache_lock);
	if (!(r->have && r->segno == segno && r->off == loc.off)) {
		reader_retire(r);
		pthread_mutex_lock(&st->cache_lock);
		r->gen = st->cache_gen;
		pthread_mutex_unlock(&st->cache_lock);
		rc = frame_locate(st, seq, &segno, &loc, &data_end, path, sizeof(path), &fd, err);
		if (rc == 0)
			rc = read_payload(path, fd, loc.off, data_end, &r->fh, &r->comp, &r->plain, st_key(st),
					  &r->z, &r->zlen, err);
		if (fd >= 0)
			close(fd);
		if (rc == 0 && (rc = prefix_start(&r->pf, &r->fh)) != 0)
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
	struct st_entry_raw *ents; /* its entries */
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
			rc = st_read_frame(it->path, it->fd, it->off, it->data_end, &it->fh,
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
			rc = st_frame_entries(&it->fh, &it->raw, &it->recs, it->ents, it->ents_alloc, err);
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
