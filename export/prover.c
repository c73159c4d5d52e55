/* prover.c - inclusion proofs for many records at once.
 *
 * store_inclusion() costs O(log n) stored hashes plus up to 256 leaves read
 * back from the segments (decompressing their frames) per proof: right
 * for one record, far too slow for an export of 100,000 (minutes of zstd
 * and SHA-256). For a large selection the prover instead reads the log
 * once up to the tree size and keeps:
 *   - the root of every block of 256 leaves (the last block may be
 *     partial), and the levels above them: 1/128 of a hash per record;
 *   - for each wanted record, its path inside its block (<= 8 hashes).
 * A record's RFC 9162 path is its path inside its block followed by the
 * block's path in the tree whose leaves are the block roots: every split
 * point of RFC 9162's recursion above 256 leaves is a multiple of 256, so
 * the recursion reaches each block as one subtree, and the tree of block
 * roots splits exactly where the tree of leaves does (docs/EXPORTS.md
 * "Proofs"). The result is the same unique path store_inclusion gives;
 * pj_inclusion_build checks every path against the signed root anyway.
 * A small selection in a large archive goes through store_inclusion.
 */
#include <stdlib.h>
#include <string.h>

#include "archiver/merkle.h"
#include "export/export_int.h"

#define BLOCK_SHIFT 8
#define BLOCK (1u << BLOCK_SHIFT)  /* leaves per block */
#define INBLOCK_MAX BLOCK_SHIFT    /* hashes in a path inside a block */

/* Complete aligned subtrees over a level-0 array, all levels precomputed. */
struct levels {
	uint8_t (*lv[MT_MAX_PROOF])[HASH_LEN]; /* lv[k][j] = subtree of 2^k values at j*2^k */
	uint64_t cnt[MT_MAX_PROOF];            /* entries of lv[k] */
	unsigned top;                          /* levels built */
};

static void levels_release(struct levels *t)
{
	unsigned k;

	for (k = 0; k < t->top; k++)
		free(t->lv[k]);
	memset(t, 0, sizeof(*t));
}

/* Builds the levels over m values; takes ownership of base (malloc'd). */
static int levels_build(struct levels *t, uint8_t (*base)[HASH_LEN], uint64_t m)
{
	unsigned k;
	uint64_t j;
	int rc;

	memset(t, 0, sizeof(*t));
	t->lv[0] = base;
	t->cnt[0] = m;
	t->top = 1;
	for (k = 1; k < MT_MAX_PROOF && t->cnt[k - 1] >= 2; k++) {
		t->cnt[k] = t->cnt[k - 1] / 2;
		t->lv[k] = malloc(t->cnt[k] * HASH_LEN);
		if (!t->lv[k])
			return CU_ENOMEM;
		t->top = k + 1;
		for (j = 0; j < t->cnt[k]; j++) {
			rc = hash_node(t->lv[k - 1][2 * j], t->lv[k - 1][2 * j + 1], t->lv[k][j]);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int levels_fn(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN])
{
	const struct levels *t = ctx;

	if (level >= t->top || (start >> level) >= t->cnt[level] || (start & ((1ull << level) - 1)))
		return CU_EINVAL;
	memcpy(out, t->lv[level][start >> level], HASH_LEN);
	return 0;
}

struct exp_prover {
	struct store *st;              /* for the store_inclusion mode */
	uint64_t n;                    /* tree size */
	int bulk;                      /* 1: block mode, 0: store_inclusion */
	const uint64_t *seqs;          /* the wanted seqs, ascending (borrowed) */
	size_t count;
	struct levels blocks;          /* block mode: the tree of block roots */
	uint8_t (*inblock)[INBLOCK_MAX][HASH_LEN]; /* per wanted seq: its path inside its block */
	uint8_t *inblock_len;          /* ... and its length */
};

/* One block is complete: its root, and the paths of the wanted seqs in it. */
static int finish_block(struct exp_prover *p, uint8_t (*leaves)[HASH_LEN], unsigned size,
			uint8_t root[HASH_LEN], size_t *wi, uint64_t block_start)
{
	uint8_t (*copy)[HASH_LEN] = malloc((size_t)size * HASH_LEN);
	uint8_t path[MT_MAX_PROOF][HASH_LEN];
	struct levels t;
	size_t cnt;
	int rc;

	if (!copy)
		return CU_ENOMEM;
	memcpy(copy, leaves, (size_t)size * HASH_LEN);
	rc = levels_build(&t, copy, size);
	if (!rc)
		rc = mt_root(levels_fn, &t, size, root);
	while (!rc && *wi < p->count && p->seqs[*wi] < block_start + size) {
		rc = mt_inclusion_proof(levels_fn, &t, p->seqs[*wi] - block_start, size, path, &cnt);
		if (!rc && cnt > INBLOCK_MAX)
			rc = CU_EINVAL;
		if (!rc) {
			memcpy(p->inblock[*wi], path, cnt * HASH_LEN);
			p->inblock_len[*wi] = (uint8_t)cnt;
		}
		(*wi)++;
	}
	levels_release(&t);
	return rc;
}

void exp_prover_free(struct exp_prover *p)
{
	if (!p)
		return;
	levels_release(&p->blocks);
	free(p->inblock);
	free(p->inblock_len);
	free(p);
}

int exp_prover_new(struct store *st, uint64_t n, const uint64_t *seqs, size_t count, int mode,
		   exp_progress_fn progress, void *progress_arg, const volatile int *cancel,
		   struct exp_prover **out, struct cu_err *err)
{
	struct exp_prover *p = calloc(1, sizeof(*p));
	uint8_t (*leaves)[HASH_LEN] = NULL, (*roots)[HASH_LEN] = NULL, root[HASH_LEN], want[HASH_LEN];
	struct store_iter *it = NULL;
	struct store_entry e;
	uint64_t seq, nblocks = (n + BLOCK - 1) / BLOCK;
	size_t wi = 0, i;
	int rc = 0, more;

	*out = NULL;
	if (!p)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	p->st = st;
	p->n = n;
	p->seqs = seqs;
	p->count = count;
	for (i = 0; i < count; i++) {
		if (seqs[i] >= n || (i && seqs[i] <= seqs[i - 1])) {
			rc = cu_err_set(err, CU_EINVAL, "prover: seqs must ascend below the tree size");
			goto out;
		}
	}
	/* mode: 1 bulk, 0 store, -1 choose: bulk once the proofs would read
	 * more leaves back (256 each) than one pass over the log. */
	p->bulk = mode < 0 ? (uint64_t)count * BLOCK >= n / 4 : mode;
	if (!p->bulk || !n)
		goto done;
	p->inblock = malloc((count ? count : 1) * sizeof(*p->inblock));
	p->inblock_len = malloc(count ? count : 1);
	leaves = malloc(BLOCK * HASH_LEN);
	roots = malloc(nblocks * HASH_LEN);
	if (!p->inblock || !p->inblock_len || !leaves || !roots) {
		rc = cu_err_set(err, CU_ENOMEM, "prover: out of memory for %llu blocks",
				(unsigned long long)nblocks);
		goto out;
	}
	rc = store_iter_open(st, 0, &it, err);
	if (rc)
		goto out;
	for (seq = 0; seq < n; seq++) {
		more = store_iter_next(it, &e, err);
		if (more <= 0 || e.seq != seq) {
			rc = more < 0 ? more : cu_err_set(err, CU_ECORRUPT, "prover: the log ends or skips at %llu",
							  (unsigned long long)seq);
			goto out;
		}
		memcpy(leaves[seq % BLOCK], e.leaf, HASH_LEN);
		if (seq % BLOCK == BLOCK - 1 || seq == n - 1) {
			rc = finish_block(p, leaves, (unsigned)(seq % BLOCK) + 1, roots[seq / BLOCK], &wi,
					  seq - seq % BLOCK);
			if (rc) {
				rc = cu_err_set(err, rc, "prover: hashing block %llu failed",
						(unsigned long long)(seq / BLOCK));
				goto out;
			}
		}
		if ((seq + 1) % 65536 == 0) {
			if (progress)
				progress(progress_arg, "proving", seq + 1, n);
			if (cancel && *cancel) {
				rc = cu_err_set(err, CU_ESTATE, "export cancelled");
				goto out;
			}
		}
	}
	rc = levels_build(&p->blocks, roots, nblocks);
	roots = NULL;
	if (!rc)
		rc = mt_root(levels_fn, &p->blocks, nblocks, root);
	if (rc) {
		rc = cu_err_set(err, rc, "prover: hashing the block tree failed");
		goto out;
	}
	/* The same tree as the store's, or nothing here can be right. */
	rc = store_root(st, n, want, err);
	if (!rc && memcmp(root, want, HASH_LEN))
		rc = cu_err_set(err, CU_ECORRUPT, "prover: the log's leaves do not give the tree head "
				"of size %llu (run custos verify)", (unsigned long long)n);
	if (rc)
		goto out;
done:
	*out = p;
	p = NULL;
out:
	store_iter_close(it);
	free(leaves);
	free(roots);
	exp_prover_free(p);
	return rc;
}

int exp_prover_path(struct exp_prover *p, size_t idx, uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count,
		    struct cu_err *err)
{
	uint8_t upper[MT_MAX_PROOF][HASH_LEN];
	size_t ucount = 0, k;
	int rc;

	if (idx >= p->count)
		return cu_err_set(err, CU_EINVAL, "prover: no record %zu", idx);
	if (!p->bulk)
		return store_inclusion(p->st, p->seqs[idx], p->n, out, count, err);
	k = p->inblock_len[idx];
	memcpy(out, p->inblock[idx], k * HASH_LEN);
	rc = mt_inclusion_proof(levels_fn, &p->blocks, p->seqs[idx] / BLOCK, (p->n + BLOCK - 1) / BLOCK,
				upper, &ucount);
	if (rc || k + ucount > MT_MAX_PROOF)
		return cu_err_set(err, rc ? rc : CU_EINVAL, "prover: no path for record %llu",
				  (unsigned long long)p->seqs[idx]);
	memcpy(out[k], upper, ucount * HASH_LEN);
	*count = k + ucount;
	return 0;
}
