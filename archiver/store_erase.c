/* store_erase.c - real deletion: rewrite segments with stubs in place of
 * deleted records (docs/FORMAT.md "Retention rewrites" and, for the stub,
 * "Frame"; docs/RETENTION.md "Principles" and "Disposition" for why
 * the proofs stay valid and when it runs).
 *
 * A segment is rewritten into seg-N.cseg.rewrite: the header, every frame
 * without deletions byte for byte, every frame with deletions re-encoded
 * with stubs and recompressed, and the seal byte for byte. Then fsync,
 * rename over the original, fsync the directory. Leaf hashes and chain
 * values do not change, so seals, the tree and all checkpoints stay valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/store_int.h"
#include "common/fileio.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int in_sorted(const uint64_t *v, size_t n, uint64_t x)
{
	return bsearch(&x, v, n, sizeof(*v), cmp_u64) != NULL;
}

/* Re-encodes a decompressed frame with stubs for the seqs in del. The
 * chain is carried through so each stub keeps its record's chain value. */
static int restub_frame(const struct seg_frame_hdr *fh, const struct buf *raw, struct buf *recs,
			const uint64_t *del, size_t ndel, uint64_t deletion_seq,
			uint8_t chain[HASH_LEN], struct buf *out, struct buf *salts,
			struct buf *leaves, size_t *erased, struct cu_err *err)
{
	struct frame_entry *ents = calloc(fh->count, sizeof(*ents));
	struct store_entry e;
	uint8_t stub[SEG_STUB_LEN];
	uint32_t i;
	int rc;

	if (!ents)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	rc = frame_entries(fh, raw, recs, ents, fh->count, err);
	buf_reset(out);
	buf_reset(salts);
	buf_reset(leaves);
	for (i = 0; rc == 0 && i < fh->count; i++) {
		rc = st_entry_to(&ents[i], fh->first_seq + i, &e, err);
		if (rc == 0)
			rc = buf_append(leaves, e.leaf, HASH_LEN); /* kept in the clear if encrypted */
		if (rc)
			break;
		if (e.is_stub) {
			memcpy(chain, e.chain, HASH_LEN);
		} else if ((rc = hash_chain(chain, e.leaf, chain))) {
			break;
		}
		if (!e.is_stub && in_sorted(del, ndel, e.seq)) {
			seg_stub_encode(e.seq, e.leaf, chain, deletion_seq, stub);
			rc = frame_add(out, salts, SEG_ENTRY_STUB, stub, SEG_STUB_LEN);
			(*erased)++;
		} else {
			rc = frame_add(out, salts, ents[i].type, ents[i].p, ents[i].len);
		}
	}
	if (rc == 0)
		rc = buf_append(out, salts->data, salts->len);
	free(ents);
	return rc;
}

/* Rewrites segment index si without the content of the seqs in del.
 * Caller holds write_lock. */
static int rewrite_segment(struct store *st, size_t si, const uint64_t *del, size_t ndel,
			   uint64_t deletion_seq, size_t *erased, struct cu_err *err)
{
	struct seg_info *s = &st->segs[si];
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	uint8_t hb[SEG_HEADER_LEN], fhb[SEG_FRAME_HDR_LEN], sealb[SEG_SEAL_LEN];
	uint8_t chain[HASH_LEN];
	struct seg_header h;
	struct seg_frame_hdr fh;
	struct buf comp, raw, out, ncomp, recs, salts, leaves, frame;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	uint64_t off, woff, data_end = s->data_end;
	size_t before = *erased, n;
	int in = -1, fd = -1, rc, sealed = s->sealed;

	buf_init(&comp, SEG_FRAME_MAX_COMP);
	buf_init(&raw, SEG_FRAME_MAX_RAW);
	buf_init(&out, SEG_FRAME_MAX_RAW);
	buf_init(&ncomp, SEG_FRAME_MAX_COMP + (1u << 20));
	buf_init(&recs, SEG_FRAME_MAX_RAW);
	buf_init(&salts, SEG_FRAME_MAX_RAW);
	buf_init(&leaves, (size_t)SEG_FRAME_MAX_COUNT * HASH_LEN);
	buf_init(&frame, SEG_FRAME_MAX_COMP + SEG_FRAME_HDR_LEN);
	if (!cctx)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	st_seg_path(st, s->no, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.rewrite", path);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		rc = cu_err_errno(err, errno, "open %s", path);
		goto out;
	}
	fd = fio_tmp_create(tmp, 0640, err);
	if (fd < 0) {
		rc = fd;
		fd = -1;
		goto out;
	}
	rc = fio_pread_all(in, hb, sizeof(hb), 0, path, err);
	if (rc == 0)
		rc = seg_header_decode(hb, &h, err);
	if (rc == 0)
		rc = fio_pwrite_all(fd, hb, sizeof(hb), 0, tmp, err);
	if (rc)
		goto out;
	memcpy(chain, h.prev_chain, HASH_LEN);
	off = woff = SEG_HEADER_LEN;
	while (rc == 0 && off < data_end) {
		rc = frame_read(path, in, off, data_end, &fh, &comp, &raw, st_key(st), err);
		if (rc)
			break;
		n = *erased;
		rc = restub_frame(&fh, &raw, &recs, del, ndel, deletion_seq, chain, &out, &salts,
				  &leaves, erased, err);
		if (rc)
			break;
		if (*erased == n) { /* untouched: the original bytes */
			rc = fio_pread_all(in, fhb, sizeof(fhb), (off_t)off, path, err);
			if (rc == 0)
				rc = fio_pwrite_all(fd, fhb, sizeof(fhb), (off_t)woff, tmp, err);
			if (rc == 0)
				rc = fio_pwrite_all(fd, comp.data, comp.len, (off_t)(woff + sizeof(fhb)), tmp, err);
			woff += sizeof(fhb) + comp.len;
		} else {
			rc = frame_build(cctx, st->cfg.zstd_level, st_key(st), &out,
					 (const uint8_t (*)[HASH_LEN])leaves.data, fh.first_seq,
					 fh.count, &ncomp, &frame, err);
			if (rc == 0)
				rc = fio_pwrite_all(fd, frame.data, frame.len, (off_t)woff, tmp, err);
			woff += frame.len;
		}
		off += SEG_FRAME_HDR_LEN + comp.len; /* the old frame's length */
	}
	if (rc)
		goto out;
	if (*erased == before) { /* nothing to delete here after all */
		rc = 0;
		goto out;
	}
	if (sealed) {
		rc = fio_pread_all(in, sealb, sizeof(sealb), (off_t)data_end, path, err);
		if (rc == 0)
			rc = fio_pwrite_all(fd, sealb, sizeof(sealb), (off_t)woff, tmp, err);
		if (rc)
			goto out;
	}
	/* Swap under meta_lock so readers see the old file with its offsets
	 * or the new one with its new offsets, never a mix (fsync, rename,
	 * fsync of the directory; erasure is rare, readers wait that long). */
	pthread_mutex_lock(&st->meta_lock);
	rc = fio_tmp_commit(fd, tmp, path, err);
	if (rc == 0) {
		frame_cache_forget(&st->cache, s->no);
		s->data_end = woff;
		free(s->frames);
		s->frames = NULL;
		s->nframes = s->frames_alloc = 0;
		s->frames_complete = 0;
		if (!sealed && st->active_fd >= 0 && si + 1 == st->nsegs) {
			close(st->active_fd);
			st->active_fd = fd; /* the new file is the active segment now */
			fd = -1;
		}
	}
	pthread_mutex_unlock(&st->meta_lock);
out:
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	if (rc || *erased == before)
		unlink(tmp);
	buf_release(&comp);
	buf_release(&raw);
	buf_release(&out);
	buf_release(&ncomp);
	buf_release(&recs);
	buf_release(&salts);
	buf_release(&leaves);
	buf_release(&frame);
	ZSTD_freeCCtx(cctx);
	return rc;
}

int store_erase(struct store *st, const uint64_t *seqs, size_t n, uint64_t deletion_seq,
		size_t *erased, struct cu_err *err)
{
	uint64_t *del = NULL;
	size_t i, j, m = 0;
	int rc = 0;

	*erased = 0;
	if (st->rdonly)
		return cu_err_set(err, CU_ESTATE, "archive opened read-only");
	if (n == 0)
		return 0;
	del = malloc(n * sizeof(*del));
	if (!del)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	memcpy(del, seqs, n * sizeof(*del));
	qsort(del, n, sizeof(*del), cmp_u64);
	for (i = 0; i < n; i++) /* drop repeats */
		if (m == 0 || del[m - 1] != del[i])
			del[m++] = del[i];
	pthread_mutex_lock(&st->write_lock);
	if (del[m - 1] >= st->size || deletion_seq >= st->size) {
		rc = cu_err_set(err, CU_EINVAL, "seq %llu is not in the archive (size %llu)",
				(unsigned long long)(del[m - 1] >= st->size ? del[m - 1] : deletion_seq),
				(unsigned long long)st->size);
		goto out;
	}
	if (in_sorted(del, m, deletion_seq)) {
		rc = cu_err_set(err, CU_EINVAL, "a deletion certificate cannot delete itself");
		goto out;
	}
	/* Segment by segment: each rewrite is atomic on its own. */
	for (i = 0, j = 0; rc == 0 && i < st->nsegs && j < m; i++) {
		struct seg_info *s = &st->segs[i];
		size_t k = j;
		while (k < m && del[k] < s->first_seq + s->count)
			k++;
		if (k > j)
			rc = rewrite_segment(st, i, del + j, k - j, deletion_seq, erased, err);
		j = k;
	}
out:
	/* Counted after the segments changed: an export that read the
	 * counter before this may have read the old content (export.h). */
	if (*erased)
		__atomic_add_fetch(&st->erasures, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&st->write_lock);
	free(del);
	return rc;
}
