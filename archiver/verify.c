/* verify.c - full verification of the log from the bytes on disk. */
#include "archiver/verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "archiver/crypt.h"
#include "archiver/head.h"
#include "archiver/keys.h"
#include "archiver/merkle.h"
#include "archiver/segment.h"
#include "archiver/idmap.h"
#include "archiver/tree_store.h"
#include "archiver/verify_pool.h"
#include "common/fileio.h"
#include "common/layout.h"

/* Frames checked between two progress reports. */
#define VPROGRESS 16

/* State of one verification run. */
struct vstate {
	struct verify_result *res;
	EVP_PKEY *pub;                 /* archive key */
	uint64_t next_seq;             /* seq the next record must carry */
	uint8_t chain[HASH_LEN];       /* chain value so far */
	uint8_t last_seal[HASH_LEN];   /* hash of the last seal seen */
	struct mt_frontier fr;         /* tree so far */
	int tree_fd[64];               /* tree/level-LL files, or -1 */
	uint64_t tree_entries[64];     /* entries in each */
	int tree_bad;                  /* 1 once a level file mismatched */
	char tree_reason[256];
	const struct crypt_key *key;   /* data key of an encrypted archive, or NULL */
	struct head_state head;        /* the head file's lower bound */
	int have_head;                 /* 1 when the head file was read */
	struct vpool *pool;            /* phase A, ahead of the checks */
	verify_progress_fn progress;
	void *pctx;
	uint64_t total_bytes;
};

/* Records the first mismatch. Always returns CU_ECORRUPT. */
static int fail(struct vstate *v, const char *seg, int64_t off, int64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(struct vstate *v, const char *seg, int64_t off, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (!v->res->intact)
		return CU_ECORRUPT;
	v->res->intact = 0;
	snprintf(v->res->segment, sizeof(v->res->segment), "%s", seg ? seg : "");
	v->res->frame_offset = off;
	v->res->seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->res->reason, sizeof(v->res->reason), fmt, ap);
	va_end(ap);
	return CU_ECORRUPT;
}

/* mt_frontier callback: compare complete subtrees with the level files. */
static void on_subtree(void *ctx, uint64_t start, unsigned level, const uint8_t hash[HASH_LEN])
{
	struct vstate *v = ctx;
	uint8_t stored[HASH_LEN];
	uint64_t idx = start >> level;

	if (level < TS_LEVEL_MIN || v->tree_bad || v->tree_fd[level] < 0 ||
	    idx >= v->tree_entries[level])
		return;
	if (pread(v->tree_fd[level], stored, HASH_LEN, (off_t)(idx * HASH_LEN)) != HASH_LEN ||
	    memcmp(stored, hash, HASH_LEN) != 0) {
		v->tree_bad = 1;
		snprintf(v->tree_reason, sizeof(v->tree_reason),
			 LAYOUT_TREE_DIR "/" LAYOUT_TREE_LEVEL_FMT " entry %llu (leaves %llu..%llu) does not match the log", level,
			 (unsigned long long)idx, (unsigned long long)start,
			 (unsigned long long)(start + (1ull << level) - 1));
	}
}

static void open_tree(struct vstate *v, const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;
	unsigned l;

	for (l = 0; l < 64; l++) {
		v->tree_fd[l] = -1;
		if (l < TS_LEVEL_MIN)
			continue;
		snprintf(path, sizeof(path), "%s/" LAYOUT_TREE_DIR "/" LAYOUT_TREE_LEVEL_FMT, dir, l);
		v->tree_fd[l] = open(path, O_RDONLY | O_CLOEXEC);
		if (v->tree_fd[l] >= 0 && fstat(v->tree_fd[l], &sb) == 0)
			v->tree_entries[l] = (uint64_t)sb.st_size / HASH_LEN;
	}
}

/* Phase B, in log order: seqs, chain values, the tree, the head. */
static int check_entries(struct vstate *v, const char *name, const struct vframe *f)
{
	uint8_t chain[HASH_LEN];
	int64_t off = (int64_t)f->off;
	uint64_t seq;
	uint32_t i;

	for (i = 0; i < f->nvalid; i++) {
		seq = f->fh.first_seq + i;
		if (f->seq[i] != seq)
			return fail(v, name, off, (int64_t)seq, "record carries seq %llu, expected %llu",
				    (unsigned long long)f->seq[i], (unsigned long long)seq);
		if (hash_chain(v->chain, f->leaf[i], chain) != 0)
			return CU_ECRYPTO;
		if (f->is_stub[i]) {
			if (memcmp(chain, f->stub_chain[i], HASH_LEN) != 0)
				return fail(v, name, off, (int64_t)seq, "deletion stub's chain value "
					    "does not follow from the previous record");
			v->res->stubs++;
		}
		if (v->have_head && seq + 1 == v->head.size && memcmp(chain, v->head.chain, HASH_LEN))
			return fail(v, name, off, (int64_t)seq, "chain value differs from the "
				    "one acknowledged for this seq (records replaced)");
		memcpy(v->chain, chain, HASH_LEN);
		if (mt_frontier_append(&v->fr, f->leaf[i], on_subtree, v) != 0)
			return CU_ECRYPTO;
		v->res->records++;
	}
	if (f->entry_err[0])
		return fail(v, name, off, (int64_t)(f->fh.first_seq + f->nvalid), "%s", f->entry_err);
	return 0;
}

static int check_seal(struct vstate *v, const char *name, int fd, uint64_t off,
		      const struct seg_header *h, const uint8_t hdr_hash[HASH_LEN], uint64_t count)
{
	uint8_t sb[SEG_SEAL_LEN], root[HASH_LEN];
	struct seg_seal s;
	int rc;

	rc = fio_pread_all(fd, sb, sizeof(sb), (off_t)off, name, NULL);
	if (rc == 0)
		rc = seg_seal_decode(sb, &s, NULL);
	if (rc)
		return fail(v, name, (int64_t)off, -1, "seal unreadable");
	if (mt_frontier_root(&v->fr, root) != 0)
		return CU_ECRYPTO;
	if (s.segment_no != h->segment_no || s.first_seq != h->first_seq || s.count != count)
		return fail(v, name, (int64_t)off, (int64_t)v->next_seq, "seal names segment %llu with "
			    "%llu records from seq %llu; the segment holds %llu from seq %llu",
			    (unsigned long long)s.segment_no, (unsigned long long)s.count,
			    (unsigned long long)s.first_seq, (unsigned long long)count,
			    (unsigned long long)h->first_seq);
	if (memcmp(s.header_hash, hdr_hash, HASH_LEN) != 0)
		return fail(v, name, (int64_t)off, -1, "seal does not match the segment header");
	if (memcmp(s.last_chain, v->chain, HASH_LEN) != 0)
		return fail(v, name, (int64_t)off, (int64_t)v->next_seq - 1,
			    "seal's chain value does not match the records");
	if (s.tree_size != v->next_seq || memcmp(s.tree_root, root, HASH_LEN) != 0)
		return fail(v, name, (int64_t)off, (int64_t)v->next_seq - 1,
			    "seal's tree head does not match the records");
	if (key_verify(v->pub, sb, SEG_SEAL_SIGNED_LEN, s.sig) != 0)
		return fail(v, name, (int64_t)off, -1, "seal signature is not valid for the archive key");
	rc = hash_sha256(sb, sizeof(sb), v->last_seal);
	v->res->sealed++;
	return rc;
}

/* A damaged last frame is a torn tail, not tampering, when it runs to the
 * end of the file (or only zeros follow) and the records before it already
 * cover everything the head file says was acknowledged. */
static int is_torn_tail(struct vstate *v, int fd, uint64_t off, uint64_t fsize,
			const struct seg_frame_hdr *fh)
{
	uint8_t b[4096];
	uint64_t pos;
	ssize_t k, i;
	int zeros = 1;

	if (!v->have_head || v->next_seq < v->head.size)
		return 0;
	if (fsize - off < SEG_FRAME_HDR_LEN || off + SEG_FRAME_HDR_LEN + fh->comp_len >= fsize)
		return 1;
	for (pos = off; zeros && pos < fsize; pos += (uint64_t)k) {
		k = pread(fd, b, sizeof(b), (off_t)pos);
		if (k <= 0)
			return 0;
		for (i = 0; i < k; i++)
			if (b[i])
				zeros = 0;
	}
	return zeros;
}

/* Verifies one segment file; last = it is the newest. */
static int check_segment(struct vstate *v, const char *dir, uint64_t no, int last)
{
	char name[64], path[PATH_MAX];
	uint8_t hb[SEG_HEADER_LEN], magic[8], hdr_hash[HASH_LEN];
	struct seg_header h;
	struct seg_frame_hdr fh;
	struct stat sb;
	uint64_t off, end, fsize, count = 0;
	int fd, rc = 0, scan = 1, at_seal = 0;

	seg_file_name(no, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/" LAYOUT_SEGMENTS_DIR "/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(v, name, -1, (int64_t)v->next_seq, "cannot open: %s", strerror(errno));
	if (last && fstat(fd, &sb) == 0 && (uint64_t)sb.st_size < SEG_HEADER_LEN &&
	    is_torn_tail(v, fd, 0, (uint64_t)sb.st_size, &(struct seg_frame_hdr){0})) {
		/* Created by a writer that crashed before its header was durable. */
		v->res->torn_bytes = (uint64_t)sb.st_size;
		v->res->segments--;
		goto out;
	}
	if (fstat(fd, &sb) != 0 || fio_pread_all(fd, hb, sizeof(hb), 0, path, NULL) != 0 ||
	    seg_header_decode(hb, &h, NULL) != 0) {
		rc = fail(v, name, 0, (int64_t)v->next_seq, "segment header unreadable or corrupt");
		goto out;
	}
	fsize = (uint64_t)sb.st_size;
	if (h.segment_no != no || h.first_seq != v->next_seq)
		rc = fail(v, name, 0, (int64_t)v->next_seq, "header says segment %llu from seq %llu; "
			  "expected segment %llu from seq %llu", (unsigned long long)h.segment_no,
			  (unsigned long long)h.first_seq, (unsigned long long)no,
			  (unsigned long long)v->next_seq);
	else if (memcmp(h.prev_chain, v->chain, HASH_LEN) != 0 ||
		 memcmp(h.prev_seal, v->last_seal, HASH_LEN) != 0)
		rc = fail(v, name, 0, (int64_t)v->next_seq, "header does not name the previous "
			  "segment's seal and chain value (segment replaced or reordered)");
	if (rc || (rc = hash_sha256(hb, sizeof(hb), hdr_hash)))
		goto out;
	/* Queue frames for the pool by their headers, up to the seal, while
	 * checking the decoded ones in log order: off is the next frame to
	 * queue, end the end of the last frame checked. */
	off = end = SEG_HEADER_LEN;
	for (;;) {
		const struct vframe *f;
		while (scan && off < fsize && !vpool_full(v->pool)) {
			uint8_t fhb[SEG_FRAME_HDR_LEN];
			if (fsize - off >= 8 && fio_pread_all(fd, magic, 8, (off_t)off, path, NULL) == 0 &&
			    !memcmp(magic, SEG_SEAL_MAGIC, 8)) {
				at_seal = 1;
				scan = 0;
				break;
			}
			vpool_queue(v->pool, path, fd, fsize, off);
			if (fsize - off < SEG_FRAME_HDR_LEN ||
			    fio_pread_all(fd, fhb, sizeof(fhb), (off_t)off, path, NULL) != 0 ||
			    seg_frame_hdr_decode(fhb, &fh, NULL) != 0 ||
			    fsize - off - SEG_FRAME_HDR_LEN < fh.comp_len) {
				scan = 0; /* decode_frame reports it */
				break;
			}
			off += SEG_FRAME_HDR_LEN + fh.comp_len;
		}
		f = vpool_next(v->pool);
		if (!f)
			break;
		if (f->read_rc && last && is_torn_tail(v, fd, f->off, fsize, &f->fh)) {
			/* An interrupted write after the last acknowledged record:
			 * nothing acknowledged is in it; the next writer cuts it. */
			v->res->torn_bytes = fsize - f->off;
			rc = 0;
			goto out;
		}
		if (f->read_rc) {
			rc = fail(v, name, (int64_t)f->off, (int64_t)v->next_seq, "%s",
				  f->read_rc == CU_ECORRUPT ?
				  "frame corrupt (bad header, checksum or compression)" :
				  "frame unreadable");
			goto out;
		}
		if (f->fh.first_seq != v->next_seq) {
			rc = fail(v, name, (int64_t)f->off, (int64_t)v->next_seq, "frame starts at seq "
				  "%llu, expected %llu (frames missing or reordered)",
				  (unsigned long long)f->fh.first_seq, (unsigned long long)v->next_seq);
			goto out;
		}
		rc = check_entries(v, name, f);
		if (rc)
			goto out;
		v->res->unread_records += f->sealed_content ? f->fh.count : 0;
		v->next_seq += f->fh.count;
		count += f->fh.count;
		v->res->frames++;
		v->res->bytes += SEG_FRAME_HDR_LEN + f->fh.comp_len;
		end = f->off + SEG_FRAME_HDR_LEN + f->fh.comp_len;
		vpool_done(v->pool);
		if (v->progress && v->res->frames % VPROGRESS == 0)
			v->progress(v->pctx, v->res->bytes, v->total_bytes);
	}
	if (v->progress)
		v->progress(v->pctx, v->res->bytes, v->total_bytes);
	if (at_seal) {
		if (fsize - end != SEG_SEAL_LEN) {
			rc = fail(v, name, (int64_t)end, (int64_t)v->next_seq,
				  "seal is not at the end of the segment");
			goto out;
		}
		rc = check_seal(v, name, fd, end, &h, hdr_hash, count);
		goto out;
	}
	if (!last)
		rc = fail(v, name, (int64_t)end, (int64_t)v->next_seq,
			  "segment is not sealed but a later segment exists");
out:
	vpool_drain(v->pool); /* frames of this file still being decoded */
	v->res->bytes += SEG_HEADER_LEN;
	close(fd);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int verify_archive(const char *dir, struct verify_result *res, verify_progress_fn progress,
		   void *ctx, struct cu_err *err)
{
	return verify_archive_kek(dir, NULL, res, progress, ctx, err);
}

int verify_archive_kek(const char *dir, const char *kek_file, struct verify_result *res,
		       verify_progress_fn progress, void *ctx, struct cu_err *err)
{
	struct crypt_key dek;
	struct vstate v;
	char path[PATH_MAX], name[64];
	struct dirent *de;
	struct stat sb;
	uint64_t *nos = NULL, no;
	size_t n = 0, alloc = 0, i;
	DIR *d = NULL;
	int rc, hrc = 0;
	unsigned l;

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	res->intact = 1;
	res->frame_offset = -1;
	res->seq = -1;
	v.res = res;
	v.progress = progress;
	v.pctx = ctx;
	mt_frontier_init(&v.fr);
	for (l = 0; l < 64; l++)
		v.tree_fd[l] = -1;
	snprintf(path, sizeof(path), "%s/" LAYOUT_ARCHIVE_KEY, dir);
	rc = key_load_private(path, &v.pub, err);
	if (rc)
		goto out;
	if (crypt_archive_encrypted(dir)) {
		res->encrypted = 1;
		rc = crypt_open(dir, kek_file, &dek, err);
		if (rc == 0)
			v.key = &dek;
		else if (rc != CU_ENOTFOUND || kek_file)
			goto out; /* a wrong or unreadable key is an error, not "no key" */
		cu_err_clear(err);
		rc = 0;
	}
	snprintf(path, sizeof(path), "%s/" LAYOUT_SEGMENTS_DIR, dir);
	d = opendir(path);
	if (!d) {
		rc = cu_err_errno(err, errno, "open %s", path);
		goto out;
	}
	while ((de = readdir(d))) {
		if (seg_parse_name(de->d_name, &no) != 0)
			continue;
		if (n == alloc) {
			uint64_t *p = realloc(nos, (alloc = alloc ? alloc * 2 : 64) * sizeof(*nos));
			if (!p) {
				rc = cu_err_set(err, CU_ENOMEM, "out of memory");
				goto out;
			}
			nos = p;
		}
		nos[n++] = no;
		snprintf(path, sizeof(path), "%s/" LAYOUT_SEGMENTS_DIR "/%s", dir, de->d_name);
		if (stat(path, &sb) == 0)
			v.total_bytes += (uint64_t)sb.st_size;
	}
	if (n)
		qsort(nos, n, sizeof(*nos), cmp_u64);
	v.pool = vpool_start(v.key);
	if (!v.pool) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	open_tree(&v, dir);
	hrc = head_read(dir, &v.head, NULL);
	v.have_head = hrc == 0 || hrc == CU_ENOTFOUND; /* no head: nothing acknowledged yet */
	if (hrc == CU_ENOTFOUND)
		memset(&v.head, 0, sizeof(v.head));
	for (i = 0; i < n; i++) {
		if (nos[i] != i + 1) {
			seg_file_name(i + 1, name, sizeof(name));
			fail(&v, name, -1, (int64_t)v.next_seq, "segment file is missing");
			break;
		}
		res->segments++;
		if (check_segment(&v, dir, nos[i], i + 1 == n) != 0)
			break;
	}
	rc = 0;
	if (!res->intact)
		goto out;
	if (mt_frontier_root(&v.fr, res->root) != 0) {
		rc = cu_err_set(err, CU_ECRYPTO, "hash failed");
		goto out;
	}
	/* The head file: the log must hold at least what was acknowledged. */
	if (v.have_head && v.head.size > v.next_seq)
		fail(&v, "", -1, (int64_t)v.next_seq, "the log ends at seq %llu but %llu records were "
		     "acknowledged (records removed from the end)", (unsigned long long)v.next_seq,
		     (unsigned long long)v.head.size);
	else if (hrc == CU_ECORRUPT)
		fail(&v, "", -1, -1, "head file is corrupt");
	else {
		/* Level files must not claim subtrees beyond the log. */
		for (l = TS_LEVEL_MIN; l < 64; l++)
			if (v.tree_entries[l] > (v.next_seq >> l)) {
				fail(&v, "", -1, -1, LAYOUT_TREE_DIR "/" LAYOUT_TREE_LEVEL_FMT " holds subtrees beyond the log "
				     "(records removed from the end?)", l);
				break;
			}
	}
	/* Derived files: reported apart, they are rebuilt from the log. */
	if (v.tree_bad) {
		res->derived_damaged++;
		snprintf(res->derived_reason, sizeof(res->derived_reason), "%s", v.tree_reason);
	}
	snprintf(path, sizeof(path), "%s/" LAYOUT_IDMAP_DIR, dir);
	{
		char msg[512] = "";
		int bad = idmap_check(path, msg, sizeof(msg));

		if (bad && !res->derived_damaged)
			snprintf(res->derived_reason, sizeof(res->derived_reason), "%s", msg);
		res->derived_damaged += (unsigned)bad;
	}
out:
	for (l = 0; l < 64; l++)
		if (v.tree_fd[l] >= 0)
			close(v.tree_fd[l]);
	if (d)
		closedir(d);
	free(nos);
	vpool_stop(v.pool);
	EVP_PKEY_free(v.pub);
	OPENSSL_cleanse(&dek, sizeof(dek));
	return rc;
}
