/* test_merkle.c - the RFC 9162 Merkle tree algorithms.
 *
 * Pinned to the Certificate Transparency reference test data (the 8-leaf
 * tree of RFC 6962 / CT: roots for sizes 0..8, known inclusion and
 * consistency proofs), compared with a direct transcription of the RFC's
 * recursive definitions (MTH, PATH, SUBPROOF) over a leaf array, and checked
 * by properties: for every tree size up to 300 and every index / old size,
 * the generated proof verifies and a flipped bit in any of its hashes fails;
 * a wrong index, size or root, or a proof of the wrong length fails too (for
 * every index of trees up to 128 leaves, a sample above, to keep the test
 * fast under the sanitizers). Huge trees
 * (up to 2^64 - 1 leaves) use identical leaves, whose subtree hashes depend
 * only on the level, to exercise the 64-bit edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/hash.h"
#include "archiver/merkle.h"
#include "common/encode.h"

#define MAXN 300 /* property tests cover every tree size up to this */

/* The CT reference leaves (RFC 6962 test data). */
static const struct {
	const char *data;
	size_t len;
} ct_leaves[8] = {
	{ "", 0 },
	{ "\x00", 1 },
	{ "\x10", 1 },
	{ "\x20\x21", 2 },
	{ "\x30\x31", 2 },
	{ "\x40\x41\x42\x43", 4 },
	{ "\x50\x51\x52\x53\x54\x55\x56\x57", 8 },
	{ "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16 },
};

/* MTH of the first n CT leaves, n = 0..8. */
static const char *ct_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Known proofs from the CT reference test data (0-based leaf index). */
static const struct {
	uint64_t index, size;
	size_t count;
	const char *proof[3];
} ct_inclusion[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

static const struct {
	uint64_t m, n;
	size_t count;
	const char *proof[3];
} ct_consistency[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

/* An in-memory tree: leaf hashes and every complete aligned subtree hash,
 * built by plain pairwise hashing (level[l][i] covers leaves
 * [i*2^l, (i+1)*2^l)). */
struct memtree {
	uint64_t n;                     /* leaves */
	uint8_t (*level[16])[HASH_LEN]; /* level[l] has n >> l entries */
	unsigned calls;                 /* subtree callback calls */
	int fail_at;                    /* if > 0, the fail_at-th call fails with CU_EIO */
};

static void hex32(const char *hex, uint8_t out[HASH_LEN])
{
	assert_int_equal(hex_decode(hex, strlen(hex), out, HASH_LEN), 0);
}

static void memtree_init(struct memtree *t, const uint8_t (*leaves)[HASH_LEN], uint64_t n)
{
	uint64_t i, cnt;
	unsigned l;

	memset(t, 0, sizeof(*t));
	t->n = n;
	for (l = 0; l < 16; l++) {
		cnt = n >> l;
		t->level[l] = calloc(cnt ? cnt : 1, HASH_LEN);
		assert_non_null(t->level[l]);
		for (i = 0; i < cnt; i++) {
			if (l == 0)
				memcpy(t->level[0][i], leaves[i], HASH_LEN);
			else
				assert_int_equal(hash_node(t->level[l - 1][2 * i],
							   t->level[l - 1][2 * i + 1],
							   t->level[l][i]), 0);
		}
	}
}

static void memtree_release(struct memtree *t)
{
	unsigned l;

	for (l = 0; l < 16; l++)
		free(t->level[l]);
}

static int memtree_subtree(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN])
{
	struct memtree *t = ctx;

	t->calls++;
	if (t->fail_at > 0 && (int)t->calls == t->fail_at)
		return CU_EIO;
	/* The algorithms must only ever ask for complete aligned subtrees. */
	assert_true(level < 16);
	assert_int_equal(start % ((uint64_t)1 << level), 0);
	assert_true(start + ((uint64_t)1 << level) <= t->n);
	memcpy(out, t->level[level][start >> level], HASH_LEN);
	return 0;
}

/* --- the RFC 9162 definitions, transcribed literally, as the reference --- */

static uint64_t ref_k(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void ref_mth(const uint8_t (*d)[HASH_LEN], uint64_t n, uint8_t out[HASH_LEN])
{
	uint8_t l[HASH_LEN], r[HASH_LEN];
	uint64_t k;

	if (n == 0) {
		assert_int_equal(hash_sha256("", 0, out), 0);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], HASH_LEN);
		return;
	}
	k = ref_k(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	assert_int_equal(hash_node(l, r, out), 0);
}

static void ref_path(uint64_t m, const uint8_t (*d)[HASH_LEN], uint64_t n,
		     uint8_t (*out)[HASH_LEN], size_t *count)
{
	uint64_t k;

	if (n == 1) {
		*count = 0;
		return;
	}
	k = ref_k(n);
	if (m < k) {
		ref_path(m, d, k, out, count);
		ref_mth(d + k, n - k, out[(*count)++]);
	} else {
		ref_path(m - k, d + k, n - k, out, count);
		ref_mth(d, k, out[(*count)++]);
	}
}

static void ref_subproof(uint64_t m, const uint8_t (*d)[HASH_LEN], uint64_t n, int b,
			 uint8_t (*out)[HASH_LEN], size_t *count)
{
	uint64_t k;

	if (m == n) {
		*count = 0;
		if (!b)
			ref_mth(d, n, out[(*count)++]);
		return;
	}
	k = ref_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, out, count);
		ref_mth(d + k, n - k, out[(*count)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, 0, out, count);
		ref_mth(d, k, out[(*count)++]);
	}
}

/* MAXN leaves, leaf i = hash_leaf of its 2-byte index. */
static uint8_t (*make_leaves(uint64_t n))[HASH_LEN]
{
	uint8_t (*lv)[HASH_LEN] = calloc(n, HASH_LEN);
	uint8_t b[2];
	uint64_t i;

	assert_non_null(lv);
	for (i = 0; i < n; i++) {
		b[0] = (uint8_t)(i >> 8);
		b[1] = (uint8_t)i;
		assert_int_equal(hash_leaf(b, sizeof(b), lv[i]), 0);
	}
	return lv;
}

/* --- reference vectors --- */

static void test_ct_roots(void **state)
{
	uint8_t leaves[8][HASH_LEN], want[HASH_LEN], got[HASH_LEN];
	struct mt_frontier fr;
	struct memtree t;
	uint64_t n;
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(hash_leaf(ct_leaves[i].data, ct_leaves[i].len, leaves[i]), 0);
	memtree_init(&t, (const uint8_t (*)[HASH_LEN])leaves, 8);
	mt_frontier_init(&fr);
	for (n = 0; n <= 8; n++) {
		hex32(ct_roots[n], want);
		assert_int_equal(mt_root(memtree_subtree, &t, n, got), 0);
		assert_memory_equal(got, want, HASH_LEN);
		assert_int_equal(mt_frontier_root(&fr, got), 0);
		assert_memory_equal(got, want, HASH_LEN);
		ref_mth((const uint8_t (*)[HASH_LEN])leaves, n, got);
		assert_memory_equal(got, want, HASH_LEN);
		if (n < 8)
			assert_int_equal(mt_frontier_append(&fr, leaves[n], NULL, NULL), 0);
	}
	memtree_release(&t);
}

static void test_ct_proofs(void **state)
{
	uint8_t leaves[8][HASH_LEN], want[3][HASH_LEN], got[MT_MAX_PROOF][HASH_LEN];
	uint8_t root1[HASH_LEN], root2[HASH_LEN];
	struct memtree t;
	size_t i, j, count;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(hash_leaf(ct_leaves[i].data, ct_leaves[i].len, leaves[i]), 0);
	memtree_init(&t, (const uint8_t (*)[HASH_LEN])leaves, 8);
	for (i = 0; i < sizeof(ct_inclusion) / sizeof(ct_inclusion[0]); i++) {
		for (j = 0; j < ct_inclusion[i].count; j++)
			hex32(ct_inclusion[i].proof[j], want[j]);
		assert_int_equal(mt_inclusion_proof(memtree_subtree, &t, ct_inclusion[i].index,
						    ct_inclusion[i].size, got, &count), 0);
		assert_int_equal(count, ct_inclusion[i].count);
		if (count)
			assert_memory_equal(got, want, count * HASH_LEN);
		hex32(ct_roots[ct_inclusion[i].size], root2);
		assert_int_equal(mt_verify_inclusion(leaves[ct_inclusion[i].index],
						     ct_inclusion[i].index, ct_inclusion[i].size,
						     (const uint8_t (*)[HASH_LEN])want, count, root2), 0);
	}
	for (i = 0; i < sizeof(ct_consistency) / sizeof(ct_consistency[0]); i++) {
		for (j = 0; j < ct_consistency[i].count; j++)
			hex32(ct_consistency[i].proof[j], want[j]);
		assert_int_equal(mt_consistency_proof(memtree_subtree, &t, ct_consistency[i].m,
						      ct_consistency[i].n, got, &count), 0);
		assert_int_equal(count, ct_consistency[i].count);
		if (count)
			assert_memory_equal(got, want, count * HASH_LEN);
		hex32(ct_roots[ct_consistency[i].m], root1);
		hex32(ct_roots[ct_consistency[i].n], root2);
		assert_int_equal(mt_verify_consistency(ct_consistency[i].m, ct_consistency[i].n,
						       root1, root2,
						       (const uint8_t (*)[HASH_LEN])want, count), 0);
	}
	memtree_release(&t);
}

/* --- agreement with the literal RFC definitions --- */

static void test_matches_rfc_definitions(void **state)
{
	uint8_t (*leaves)[HASH_LEN] = make_leaves(MAXN);
	uint8_t got[MT_MAX_PROOF][HASH_LEN], want[MT_MAX_PROOF][HASH_LEN];
	uint8_t r1[HASH_LEN], r2[HASH_LEN];
	size_t gc, wc;
	struct memtree t;
	uint64_t n, i;

	(void)state;
	memtree_init(&t, (const uint8_t (*)[HASH_LEN])leaves, MAXN);
	for (n = 1; n <= MAXN; n++) {
		ref_mth((const uint8_t (*)[HASH_LEN])leaves, n, r1);
		assert_int_equal(mt_root(memtree_subtree, &t, n, r2), 0);
		assert_memory_equal(r1, r2, HASH_LEN);
	}
	/* Proofs: every index and old size for n up to 70 (the reference
	 * recomputes whole subtrees, so it is quadratic). */
	for (n = 1; n <= 70; n++) {
		for (i = 0; i < n; i++) {
			ref_path(i, (const uint8_t (*)[HASH_LEN])leaves, n, want, &wc);
			assert_int_equal(mt_inclusion_proof(memtree_subtree, &t, i, n, got, &gc), 0);
			assert_int_equal(gc, wc);
			if (gc)
				assert_memory_equal(got, want, gc * HASH_LEN);
			ref_subproof(i + 1, (const uint8_t (*)[HASH_LEN])leaves, n, 1, want, &wc);
			assert_int_equal(mt_consistency_proof(memtree_subtree, &t, i + 1, n, got, &gc), 0);
			assert_int_equal(gc, wc);
			if (gc)
				assert_memory_equal(got, want, gc * HASH_LEN);
		}
	}
	memtree_release(&t);
	free(leaves);
}

/* --- properties for every size up to MAXN --- */

static void test_inclusion_properties(void **state)
{
	uint8_t (*leaves)[HASH_LEN] = make_leaves(MAXN + 1);
	uint8_t (*roots)[HASH_LEN] = calloc(2 * MAXN + 2, HASH_LEN);
	uint8_t p[MT_MAX_PROOF][HASH_LEN], q[MT_MAX_PROOF + 1][HASH_LEN], bad[HASH_LEN];
	size_t count, j;
	struct memtree t;
	uint64_t n, i, flips = 0;

	(void)state;
	assert_non_null(roots);
	memtree_init(&t, (const uint8_t (*)[HASH_LEN])leaves, MAXN + 1);
	for (n = 0; n <= MAXN + 1; n++)
		assert_int_equal(mt_root(memtree_subtree, &t, n, roots[n]), 0);
	memset(bad, 0xab, HASH_LEN);
	for (n = 1; n <= MAXN; n++) {
		for (i = 0; i < n; i++) {
			assert_int_equal(mt_inclusion_proof(memtree_subtree, &t, i, n, p, &count), 0);
			assert_true(count <= 9);
			assert_int_equal(mt_verify_inclusion(leaves[i], i, n,
							     (const uint8_t (*)[HASH_LEN])p, count,
							     roots[n]), 0);
			/* Every hash of the proof with one bit flipped (a
			 * different bit each time). */
			for (j = 0; j < count; j++, flips++) {
				p[j][(flips / 8) % HASH_LEN] ^= (uint8_t)(1u << (flips % 8));
				assert_int_not_equal(mt_verify_inclusion(leaves[i], i, n,
						     (const uint8_t (*)[HASH_LEN])p, count, roots[n]), 0);
				p[j][(flips / 8) % HASH_LEN] ^= (uint8_t)(1u << (flips % 8));
			}
			/* The other corruptions for every index of the smaller
			 * trees, and a sample (first, last, every 7th) above. */
			if (n > 128 && i % 7 != 0 && i != n - 1)
				continue;
			/* Another leaf, the root. */
			assert_int_not_equal(mt_verify_inclusion(leaves[(i + 1) % (MAXN + 1)], i, n,
					     (const uint8_t (*)[HASH_LEN])p, count, roots[n]), 0);
			assert_int_not_equal(mt_verify_inclusion(leaves[i], i, n,
					     (const uint8_t (*)[HASH_LEN])p, count, bad), 0);
			if (n > 1) {
				assert_int_not_equal(mt_verify_inclusion(leaves[i], i, n,
						     (const uint8_t (*)[HASH_LEN])p, count, roots[n - 1]), 0);
				/* Wrong index, with this leaf or the one there. */
				assert_int_not_equal(mt_verify_inclusion(leaves[i], i ^ 1, n,
						     (const uint8_t (*)[HASH_LEN])p, count, roots[n]), 0);
				if (i + 1 < n)
					assert_int_not_equal(mt_verify_inclusion(leaves[i + 1], i + 1, n,
							     (const uint8_t (*)[HASH_LEN])p, count, roots[n]), 0);
				if (i > 0)
					assert_int_not_equal(mt_verify_inclusion(leaves[i - 1], i - 1, n,
							     (const uint8_t (*)[HASH_LEN])p, count, roots[n]), 0);
			}
			/* Wrong size: the real root of that size, or a size
			 * that needs another number of hashes. */
			assert_int_not_equal(mt_verify_inclusion(leaves[i], i, n + 1,
					     (const uint8_t (*)[HASH_LEN])p, count, roots[n + 1]), 0);
			if (i < n - 1)
				assert_int_not_equal(mt_verify_inclusion(leaves[i], i, n - 1,
						     (const uint8_t (*)[HASH_LEN])p, count, roots[n - 1]), 0);
			assert_int_equal(mt_verify_inclusion(leaves[i], i, 2 * n,
					 (const uint8_t (*)[HASH_LEN])p, count, roots[n]), CU_EINVAL);
			if (i < n / 2)
				assert_int_equal(mt_verify_inclusion(leaves[i], i, n / 2,
						 (const uint8_t (*)[HASH_LEN])p, count, roots[n]), CU_EINVAL);
			/* Index out of range. */
			assert_int_equal(mt_verify_inclusion(leaves[i], n, n,
					 (const uint8_t (*)[HASH_LEN])p, count, roots[n]), CU_EINVAL);
			/* One hash missing, one too many (at either end). */
			if (count > 0)
				assert_int_equal(mt_verify_inclusion(leaves[i], i, n,
						 (const uint8_t (*)[HASH_LEN])p, count - 1, roots[n]), CU_EINVAL);
			memcpy(q, p, count * HASH_LEN);
			memcpy(q[count], roots[n], HASH_LEN);
			assert_int_equal(mt_verify_inclusion(leaves[i], i, n,
					 (const uint8_t (*)[HASH_LEN])q, count + 1, roots[n]), CU_EINVAL);
			memcpy(q[0], bad, HASH_LEN);
			memcpy(q[1], p, count * HASH_LEN);
			assert_int_equal(mt_verify_inclusion(leaves[i], i, n,
					 (const uint8_t (*)[HASH_LEN])q, count + 1, roots[n]), CU_EINVAL);
		}
	}
	memtree_release(&t);
	free(roots);
	free(leaves);
}

static void test_consistency_properties(void **state)
{
	uint8_t (*leaves)[HASH_LEN] = make_leaves(2 * MAXN);
	uint8_t (*roots)[HASH_LEN] = calloc(2 * MAXN + 1, HASH_LEN);
	uint8_t p[MT_MAX_PROOF][HASH_LEN], q[MT_MAX_PROOF + 1][HASH_LEN], bad[HASH_LEN];
	size_t count, j;
	struct memtree t;
	uint64_t n, m, flips = 0;

	(void)state;
	assert_non_null(roots);
	memtree_init(&t, (const uint8_t (*)[HASH_LEN])leaves, 2 * MAXN);
	for (n = 0; n <= 2 * MAXN; n++)
		assert_int_equal(mt_root(memtree_subtree, &t, n, roots[n]), 0);
	memset(bad, 0xcd, HASH_LEN);
	for (n = 1; n <= MAXN; n++) {
		for (m = 1; m <= n; m++) {
			assert_int_equal(mt_consistency_proof(memtree_subtree, &t, m, n, p, &count), 0);
			assert_true(count <= 10);
			assert_int_equal(mt_verify_consistency(m, n, roots[m], roots[n],
							       (const uint8_t (*)[HASH_LEN])p, count), 0);
			if (m == n) {
				assert_int_equal(count, 0);
				assert_int_not_equal(mt_verify_consistency(m, n, roots[m], bad,
						     (const uint8_t (*)[HASH_LEN])p, 0), 0);
				continue;
			}
			for (j = 0; j < count; j++, flips++) {
				p[j][(flips / 8) % HASH_LEN] ^= (uint8_t)(1u << (flips % 8));
				assert_int_not_equal(mt_verify_consistency(m, n, roots[m], roots[n],
						     (const uint8_t (*)[HASH_LEN])p, count), 0);
				p[j][(flips / 8) % HASH_LEN] ^= (uint8_t)(1u << (flips % 8));
			}
			if (n > 128 && m % 7 != 0 && m != n - 1)
				continue;
			/* Wrong roots. */
			assert_int_not_equal(mt_verify_consistency(m, n, bad, roots[n],
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			assert_int_not_equal(mt_verify_consistency(m, n, roots[m], bad,
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			assert_int_not_equal(mt_verify_consistency(m, n, roots[n], roots[m],
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			assert_int_not_equal(mt_verify_consistency(m, n, roots[m - 1], roots[n],
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			/* Wrong sizes, with the real roots of those sizes. */
			assert_int_not_equal(mt_verify_consistency(m - 1, n, roots[m - 1], roots[n],
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			if (m + 1 < n)
				assert_int_not_equal(mt_verify_consistency(m + 1, n, roots[m + 1], roots[n],
						     (const uint8_t (*)[HASH_LEN])p, count), 0);
			assert_int_not_equal(mt_verify_consistency(m, n + 1, roots[m], roots[n + 1],
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			assert_int_not_equal(mt_verify_consistency(m, n - 1, roots[m], roots[n - 1],
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			assert_int_not_equal(mt_verify_consistency(m, 2 * n, roots[m], roots[2 * n],
					     (const uint8_t (*)[HASH_LEN])p, count), 0);
			/* Time travel. */
			assert_int_equal(mt_verify_consistency(n, m, roots[n], roots[m],
					 (const uint8_t (*)[HASH_LEN])p, count), CU_EINVAL);
			/* Missing, extra or empty proof. */
			assert_int_equal(mt_verify_consistency(m, n, roots[m], roots[n],
					 (const uint8_t (*)[HASH_LEN])p, 0), CU_EINVAL);
			assert_int_not_equal(mt_verify_consistency(m, n, roots[m], roots[n],
					     (const uint8_t (*)[HASH_LEN])p, count - 1), 0);
			memcpy(q, p, count * HASH_LEN);
			memcpy(q[count], roots[n], HASH_LEN);
			assert_int_not_equal(mt_verify_consistency(m, n, roots[m], roots[n],
					     (const uint8_t (*)[HASH_LEN])q, count + 1), 0);
			memcpy(q[0], roots[m], HASH_LEN);
			memcpy(q[1], p, count * HASH_LEN);
			assert_int_not_equal(mt_verify_consistency(m, n, roots[m], roots[n],
					     (const uint8_t (*)[HASH_LEN])q, count + 1), 0);
		}
	}
	memtree_release(&t);
	free(roots);
	free(leaves);
}

/* --- edge cases of the interface --- */

static void test_edge_cases(void **state)
{
	uint8_t (*leaves)[HASH_LEN] = make_leaves(8);
	uint8_t p[MT_MAX_PROOF][HASH_LEN], empty[HASH_LEN], r[HASH_LEN], r1[HASH_LEN];
	struct memtree t;
	size_t count;

	(void)state;
	memtree_init(&t, (const uint8_t (*)[HASH_LEN])leaves, 8);
	assert_int_equal(hash_sha256("", 0, empty), 0);
	assert_int_equal(mt_root(memtree_subtree, &t, 0, r), 0);
	assert_memory_equal(r, empty, HASH_LEN);
	assert_int_equal(mt_root(memtree_subtree, &t, 1, r1), 0);
	assert_memory_equal(r1, leaves[0], HASH_LEN);

	/* Generation refuses what the RFC does not define. */
	assert_int_equal(mt_inclusion_proof(memtree_subtree, &t, 0, 0, p, &count), CU_EINVAL);
	assert_int_equal(mt_inclusion_proof(memtree_subtree, &t, 5, 5, p, &count), CU_EINVAL);
	assert_int_equal(mt_consistency_proof(memtree_subtree, &t, 0, 5, p, &count), CU_EINVAL);
	assert_int_equal(mt_consistency_proof(memtree_subtree, &t, 6, 5, p, &count), CU_EINVAL);
	assert_int_equal(mt_inclusion_proof(memtree_subtree, &t, 0, 1, p, &count), 0);
	assert_int_equal(count, 0);

	/* Subtree callback errors come back unchanged. */
	assert_int_equal(mt_root(memtree_subtree, &t, 7, r), 0);
	t.calls = 0;
	t.fail_at = 2;
	assert_int_equal(mt_root(memtree_subtree, &t, 7, r), CU_EIO);
	t.calls = 0;
	assert_int_equal(mt_inclusion_proof(memtree_subtree, &t, 3, 7, p, &count), CU_EIO);
	assert_int_equal(count, 0);
	t.calls = 0;
	assert_int_equal(mt_consistency_proof(memtree_subtree, &t, 3, 7, p, &count), CU_EIO);
	t.fail_at = 0;

	/* Verification outside 0 < m < n. */
	assert_int_equal(mt_verify_consistency(0, 0, empty, empty, NULL, 0), 0);
	assert_int_equal(mt_verify_consistency(0, 5, empty, r, NULL, 0), 0);
	assert_int_equal(mt_verify_consistency(0, 5, r, r, NULL, 0), CU_ECRYPTO);
	assert_int_equal(mt_verify_consistency(0, 5, empty, r, (const uint8_t (*)[HASH_LEN])p, 1),
			 CU_EINVAL);
	assert_int_equal(mt_verify_consistency(1, 1, r1, r1, NULL, 0), 0);
	assert_int_equal(mt_verify_consistency(1, 1, r1, r, NULL, 0), CU_ECRYPTO);
	assert_int_equal(mt_verify_consistency(1, 1, r1, r1, (const uint8_t (*)[HASH_LEN])p, 1),
			 CU_EINVAL);
	assert_int_equal(mt_verify_consistency(2, 1, r1, r1, NULL, 0), CU_EINVAL);
	assert_int_equal(mt_verify_consistency(1, 2, r1, r1, NULL, 0), CU_EINVAL);
	assert_int_equal(mt_verify_inclusion(leaves[0], 0, 0, NULL, 0, empty), CU_EINVAL);
	assert_int_equal(mt_verify_inclusion(leaves[0], 0, 1, NULL, 0, r1), 0);
	assert_int_equal(mt_verify_inclusion(leaves[1], 0, 1, NULL, 0, r1), CU_ECRYPTO);
	assert_int_equal(mt_verify_inclusion(leaves[0], 1, 1, NULL, 0, r1), CU_EINVAL);
	assert_int_equal(mt_verify_inclusion(leaves[0], 0, 2, (const uint8_t (*)[HASH_LEN])p,
					     MT_MAX_PROOF + 1, r1), CU_EINVAL);
	memtree_release(&t);
	free(leaves);
}

/* --- the frontier --- */

struct completions {
	uint64_t expect_size;   /* size before the append being watched */
	unsigned count;         /* calls seen */
	unsigned levels;        /* bit l set: level l reported */
	const struct memtree *t;
};

static void on_complete(void *ctx, uint64_t start, unsigned level, const uint8_t hash[HASH_LEN])
{
	struct completions *c = ctx;

	/* Exactly the complete aligned subtrees ending at the new leaf,
	 * lowest level first, with their true hashes. */
	assert_int_equal(level, c->count);
	assert_int_equal(start + ((uint64_t)1 << level), c->expect_size + 1);
	assert_memory_equal(hash, c->t->level[level][start >> level], HASH_LEN);
	c->levels |= 1u << level;
	c->count++;
}

static void test_frontier(void **state)
{
	uint8_t (*leaves)[HASH_LEN] = make_leaves(MAXN);
	uint8_t got[HASH_LEN], want[HASH_LEN];
	struct mt_frontier fr;
	struct completions c;
	struct memtree t;
	uint64_t n;

	(void)state;
	memtree_init(&t, (const uint8_t (*)[HASH_LEN])leaves, MAXN);
	mt_frontier_init(&fr);
	for (n = 0; n < MAXN; n++) {
		memset(&c, 0, sizeof(c));
		c.expect_size = n;
		c.t = &t;
		assert_int_equal(mt_frontier_append(&fr, leaves[n], on_complete, &c), 0);
		/* Level 0 plus one per trailing one bit of the old size. */
		assert_int_equal(c.count, (unsigned)__builtin_ctzll(~n) + 1);
		assert_int_equal(fr.size, n + 1);
		assert_int_equal(mt_frontier_root(&fr, got), 0);
		assert_int_equal(mt_root(memtree_subtree, &t, n + 1, want), 0);
		assert_memory_equal(got, want, HASH_LEN);
	}
	memtree_release(&t);
	free(leaves);
}

/* --- huge trees: all leaves equal, so a subtree's hash is h[level] --- */

struct flat {
	uint8_t h[64][HASH_LEN]; /* h[l]: hash of any complete subtree of 2^l equal leaves */
	uint64_t n;              /* tree size the callback accepts */
};

static int flat_subtree(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN])
{
	struct flat *f = ctx;

	assert_true(level < 64);
	assert_int_equal(start & (((uint64_t)1 << level) - 1), 0);
	assert_true(((uint64_t)1 << level) <= f->n - start);
	memcpy(out, f->h[level], HASH_LEN);
	return 0;
}

static void test_huge_trees(void **state)
{
	static const uint64_t sizes[] = {
		((uint64_t)1 << 32) + 1, ((uint64_t)1 << 40) - 1, ((uint64_t)1 << 62) + 12345,
		((uint64_t)1 << 63) - 1, (uint64_t)1 << 63, UINT64_MAX - 1, UINT64_MAX,
	};
	uint8_t p[MT_MAX_PROOF][HASH_LEN], r1[HASH_LEN], r2[HASH_LEN];
	struct flat *f = calloc(1, sizeof(*f));
	uint64_t n, idx[4], m;
	size_t i, j, count;
	int rc;

	(void)state;
	assert_non_null(f);
	assert_int_equal(hash_leaf("x", 1, f->h[0]), 0);
	for (i = 1; i < 64; i++)
		assert_int_equal(hash_node(f->h[i - 1], f->h[i - 1], f->h[i]), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		f->n = n;
		assert_int_equal(mt_root(flat_subtree, f, n, r2), 0);
		idx[0] = 0;
		idx[1] = n / 3;
		idx[2] = n - 2;
		idx[3] = n - 1;
		for (j = 0; j < 4; j++) {
			assert_int_equal(mt_inclusion_proof(flat_subtree, f, idx[j], n, p, &count), 0);
			assert_true(count <= MT_MAX_PROOF);
			assert_int_equal(mt_verify_inclusion(f->h[0], idx[j], n,
							     (const uint8_t (*)[HASH_LEN])p, count, r2), 0);
			p[count / 2][3] ^= 0x40;
			assert_int_not_equal(mt_verify_inclusion(f->h[0], idx[j], n,
								 (const uint8_t (*)[HASH_LEN])p, count, r2), 0);
			/* Consistency from old size idx + 1. */
			m = idx[j] + 1;
			rc = mt_consistency_proof(flat_subtree, f, m, n, p, &count);
			if (n >= (uint64_t)1 << 63 && rc == CU_ETOOBIG)
				continue; /* 65 hashes: beyond MT_MAX_PROOF, refused */
			assert_int_equal(rc, 0);
			assert_true(count <= MT_MAX_PROOF);
			f->n = m;
			assert_int_equal(mt_root(flat_subtree, f, m, r1), 0);
			f->n = n;
			assert_int_equal(mt_verify_consistency(m, n, r1, r2,
							       (const uint8_t (*)[HASH_LEN])p, count), 0);
			if (count > 0) {
				p[count - 1][0] ^= 1;
				assert_int_not_equal(mt_verify_consistency(m, n, r1, r2,
						     (const uint8_t (*)[HASH_LEN])p, count), 0);
			}
		}
	}
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_roots),
		cmocka_unit_test(test_ct_proofs),
		cmocka_unit_test(test_matches_rfc_definitions),
		cmocka_unit_test(test_inclusion_properties),
		cmocka_unit_test(test_consistency_properties),
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_frontier),
		cmocka_unit_test(test_huge_trees),
	};

	if (getenv("MT_FILTER"))
		cmocka_set_test_filter(getenv("MT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
