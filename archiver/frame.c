/* frame.c - the frame codec (see frame.h): reading, checking, decrypting
 * and decompressing a frame; building one from entries; splitting one into
 * entries, all at once or as far as it is decompressed. */
/* for zstd's ZSTD_getFrameContentSize and ZSTD_CONTENTSIZE_UNKNOWN */
#define ZSTD_STATIC_LINKING_ONLY
#include "archiver/frame.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/fileio.h"

/* The additional data an encrypted frame's box is bound to: the frame
 * header's fields (bytes 0..31) and the stored leaf hashes. */
static int frame_aad(const uint8_t hdr32[32], const uint8_t *leaves, size_t nleaves, struct buf *aad)
{
	int rc;

	buf_reset(aad);
	rc = buf_append(aad, hdr32, 32);
	return rc ? rc : buf_append(aad, leaves, nleaves * HASH_LEN);
}

/* plain NULL (for frame_read without raw): only read and check the frame. */
int frame_read_payload(const char *path, int fd, uint64_t off, uint64_t limit,
		       struct seg_frame_hdr *fh, struct buf *comp, struct buf *plain,
		       const struct crypt_key *key, const uint8_t **z, size_t *zlen,
		       struct cu_err *err)
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

int frame_read(const char *path, int fd, uint64_t off, uint64_t limit,
	       struct seg_frame_hdr *fh, struct buf *comp, struct buf *raw,
	       const struct crypt_key *key, struct cu_err *err)
{
	const uint8_t *z = NULL;
	size_t got, zlen = 0;
	struct buf plain;
	int rc;

	buf_init(&plain, SEG_FRAME_MAX_COMP);
	rc = frame_read_payload(path, fd, off, limit, fh, comp, raw ? &plain : NULL, key, &z, &zlen,
				err);
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

int frame_wrap(const struct crypt_key *key, const struct buf *comp, size_t raw_len,
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

int frame_build(ZSTD_CCtx *cctx, int level, const struct crypt_key *key, const struct buf *raw,
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
	return frame_wrap(key, scratch, raw->len, leaves, first_seq, count, out, err);
}

/* The salt offset inside record bytes (FRAME_SALT_AT, frame.h). */
#define SALT_AT FRAME_SALT_AT

int frame_entries(const struct seg_frame_hdr *fh, const struct buf *raw, struct buf *recs,
		  struct frame_entry *out, size_t max, struct cu_err *err)
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

int frame_add(struct buf *raw, struct buf *salts, int type, const uint8_t *p, size_t len)
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

/* ---- a frame decompressed as far as needed ------------------------------ */

void frame_prefix_release(struct frame_prefix *pf)
{
	buf_release(&pf->raw);
	free(pf->ents);
	free(pf->recno);
	memset(pf, 0, sizeof(*pf));
}

int frame_prefix_entries(struct frame_prefix *pf, const struct seg_frame_hdr *fh)
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

int frame_prefix_start(struct frame_prefix *pf, const struct seg_frame_hdr *fh)
{
	buf_reset(&pf->raw);
	if (pf->raw.max < SEG_FRAME_MAX_RAW)
		pf->raw.max = SEG_FRAME_MAX_RAW;
	return frame_prefix_entries(pf, fh);
}

int frame_prefix_parse(struct frame_prefix *pf, const struct seg_frame_hdr *fh, int done,
		       struct cu_err *err)
{
	const struct buf *raw = &pf->raw;
	size_t off = pf->parse_off;
	struct frame_entry *r;
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

int frame_prefix_copy(const struct frame_prefix *pf, size_t i, struct buf *out, struct cu_err *err)
{
	const struct frame_entry *r = &pf->ents[i];
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
	return 0;
}
