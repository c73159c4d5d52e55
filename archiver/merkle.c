/* merkle.c - RFC 9162 section 2.1 over complete aligned subtrees.
 *
 * The RFC defines MTH, PATH and SUBPROOF recursively, splitting D[n] at
 * k = the largest power of two smaller than n. Every left part D[0:k] is then
 * a complete subtree whose first leaf is a multiple of k, and every right
 * part D[k:n] starts at a multiple of the smallest power of two >= its
 * length. So each range the recursion visits is either one complete aligned
 * subtree (one mt_subtree_fn call) or a "right part", whose hash is the fold
 * of the complete aligned subtrees given by the set bits of its length
 * (mth_range). The recursions are written as loops that walk down the split
 * points and collect the siblings, then reverse them: the RFC emits the
 * deepest sibling first.
 *
 * Verification follows the bit-shifting algorithms of RFC 9162 2.1.3.2 and
 * 2.1.4.2 step by step; they need no tree at all.
 */
#include "archiver/merkle.h"

#include <string.h>

/* SHA-256 of the empty string: MTH of the empty tree. */
static const uint8_t mt_empty_root[HASH_LEN] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* floor(log2(x)) for x > 0. */
static unsigned ilog2(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/* The RFC's k for n >= 2: the largest power of two strictly below n. */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << ilog2(n - 1);
}

/* len with the bits 0..l cleared (l may be 63). */
static uint64_t bits_above(uint64_t len, unsigned l)
{
	return l >= 63 ? 0 : (len >> (l + 1)) << (l + 1);
}

/* MTH(D[start:start+len]) for len >= 1, where start is a multiple of the
 * largest power of two <= len: the complete aligned subtrees are the set
 * bits of len from the highest (leftmost subtree) down; fold them from the
 * right, as the RFC recursion does. popcount(len) subtree reads. */
static int mth_range(mt_subtree_fn fn, void *ctx, uint64_t start, uint64_t len,
		     uint8_t out[HASH_LEN])
{
	uint8_t sub[HASH_LEN];
	unsigned l = (unsigned)__builtin_ctzll(len);
	int rc;

	/* Rightmost (smallest) subtree first. */
	rc = fn(ctx, start + bits_above(len, l), l, out);
	if (rc)
		return rc;
	for (l = l + 1; l < 64; l++) {
		if (!(len & ((uint64_t)1 << l)))
			continue;
		rc = fn(ctx, start + bits_above(len, l), l, sub);
		if (rc)
			return rc;
		rc = hash_node(sub, out, out);
		if (rc)
			return rc;
	}
	return 0;
}

/* Reverses out[0..count) in place. */
static void reverse_hashes(uint8_t (*out)[HASH_LEN], size_t count)
{
	uint8_t tmp[HASH_LEN];
	size_t i;

	for (i = 0; i < count / 2; i++) {
		memcpy(tmp, out[i], HASH_LEN);
		memcpy(out[i], out[count - 1 - i], HASH_LEN);
		memcpy(out[count - 1 - i], tmp, HASH_LEN);
	}
}

int mt_root(mt_subtree_fn fn, void *ctx, uint64_t n, uint8_t out[HASH_LEN])
{
	if (n == 0) {
		memcpy(out, mt_empty_root, HASH_LEN);
		return 0;
	}
	return mth_range(fn, ctx, 0, n, out);
}

int mt_inclusion_proof(mt_subtree_fn fn, void *ctx, uint64_t index, uint64_t n,
		       uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count)
{
	uint64_t start = 0, len = n, k;
	size_t c = 0;
	int rc = 0;

	*count = 0;
	if (index >= n)
		return CU_EINVAL;
	/* PATH(m, D[n]): descend towards the leaf; the sibling of each
	 * step is the other part of the split. */
	while (len > 1) {
		if (c >= MT_MAX_PROOF)
			return CU_ETOOBIG;
		k = split_point(len);
		if (index - start < k) {
			rc = mth_range(fn, ctx, start + k, len - k, out[c]);
			len = k;
		} else {
			rc = fn(ctx, start, ilog2(k), out[c]);
			start += k;
			len -= k;
		}
		if (rc)
			return rc;
		c++;
	}
	reverse_hashes(out, c);
	*count = c;
	return 0;
}

int mt_consistency_proof(mt_subtree_fn fn, void *ctx, uint64_t m, uint64_t n,
			 uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count)
{
	uint64_t start = 0, len = n, mm = m, k;
	int whole = 1; /* the RFC's b: D[start:start+mm] is the old tree itself */
	size_t c = 0;
	int rc = 0;

	*count = 0;
	if (m == 0 || m > n)
		return CU_EINVAL;
	/* SUBPROOF(m, D[n], true): descend until the old tree's right edge
	 * coincides with a node; collect the siblings on the way. */
	while (mm != len) {
		if (c >= MT_MAX_PROOF)
			return CU_ETOOBIG;
		k = split_point(len);
		if (mm <= k) {
			rc = mth_range(fn, ctx, start + k, len - k, out[c]);
			len = k;
		} else {
			rc = fn(ctx, start, ilog2(k), out[c]);
			start += k;
			len -= k;
			mm -= k;
			whole = 0;
		}
		if (rc)
			return rc;
		c++;
	}
	if (!whole) {
		/* The node where the descent stopped comes first: move the
		 * siblings up by one after reversing them into place. */
		if (c >= MT_MAX_PROOF)
			return CU_ETOOBIG;
		reverse_hashes(out, c);
		memmove(out[1], out[0], c * HASH_LEN);
		rc = mth_range(fn, ctx, start, len, out[0]);
		if (rc)
			return rc;
		c++;
	} else {
		reverse_hashes(out, c);
	}
	*count = c;
	return 0;
}

int mt_verify_inclusion(const uint8_t leaf[HASH_LEN], uint64_t index, uint64_t n,
			const uint8_t (*proof)[HASH_LEN], size_t count,
			const uint8_t root[HASH_LEN])
{
	uint8_t r[HASH_LEN];
	uint64_t fn, sn;
	size_t i;
	int rc;

	/* 1. */
	if (index >= n || count > MT_MAX_PROOF || (count > 0 && !proof))
		return CU_EINVAL;
	/* 2., 3. */
	fn = index;
	sn = n - 1;
	memcpy(r, leaf, HASH_LEN);
	/* 4. */
	for (i = 0; i < count; i++) {
		if (sn == 0)
			return CU_EINVAL; /* 4a: more hashes than levels */
		if ((fn & 1) || fn == sn) {
			rc = hash_node(proof[i], r, r);
			if (rc)
				return rc;
			if (!(fn & 1)) {
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			rc = hash_node(r, proof[i], r);
			if (rc)
				return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. */
	if (sn != 0)
		return CU_EINVAL; /* fewer hashes than levels */
	return memcmp(r, root, HASH_LEN) == 0 ? 0 : CU_ECRYPTO;
}

int mt_verify_consistency(uint64_t m, uint64_t n, const uint8_t root1[HASH_LEN],
			  const uint8_t root2[HASH_LEN], const uint8_t (*proof)[HASH_LEN],
			  size_t count)
{
	uint8_t fr[HASH_LEN], sr[HASH_LEN];
	const uint8_t *c;
	uint64_t fn, sn;
	size_t i, first;
	int rc;

	/* Cases outside the RFC's 0 < first < second. */
	if (m > n || count > MT_MAX_PROOF || (count > 0 && !proof))
		return CU_EINVAL;
	if (m == n) {
		if (count != 0)
			return CU_EINVAL;
		return memcmp(root1, root2, HASH_LEN) == 0 ? 0 : CU_ECRYPTO;
	}
	if (m == 0) {
		/* Every tree extends the empty one, whose hash is fixed. */
		if (count != 0)
			return CU_EINVAL;
		return memcmp(root1, mt_empty_root, HASH_LEN) == 0 ? 0 : CU_ECRYPTO;
	}
	/* 1. */
	if (count == 0)
		return CU_EINVAL;
	/* 2. If m is a power of two, the path starts with root1 itself:
	 * "first" is then the index into proof of the second path element. */
	first = (m & (m - 1)) == 0 ? 0 : 1;
	/* 3. */
	fn = m - 1;
	sn = n - 1;
	/* 4. */
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. */
	memcpy(fr, first ? proof[0] : root1, HASH_LEN);
	memcpy(sr, fr, HASH_LEN);
	/* 6. */
	for (i = first; i < count; i++) {
		c = proof[i];
		if (sn == 0)
			return CU_EINVAL; /* 6a: more hashes than levels */
		if ((fn & 1) || fn == sn) {
			rc = hash_node(c, fr, fr);
			if (rc == 0)
				rc = hash_node(c, sr, sr);
			if (rc)
				return rc;
			if (!(fn & 1)) {
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			rc = hash_node(sr, c, sr);
			if (rc)
				return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* 7. */
	if (sn != 0)
		return CU_EINVAL; /* fewer hashes than levels */
	if (memcmp(fr, root1, HASH_LEN) != 0 || memcmp(sr, root2, HASH_LEN) != 0)
		return CU_ECRYPTO;
	return 0;
}

void mt_frontier_init(struct mt_frontier *fr)
{
	memset(fr, 0, sizeof(*fr));
}

int mt_frontier_append(struct mt_frontier *fr, const uint8_t leaf[HASH_LEN],
		       void (*on_complete)(void *ctx, uint64_t start, unsigned level,
					   const uint8_t hash[HASH_LEN]),
		       void *ctx)
{
	uint8_t cur[HASH_LEN];
	uint64_t size = fr->size;
	unsigned l = 0;
	int rc;

	if (size == UINT64_MAX)
		return CU_ETOOBIG;
	memcpy(cur, leaf, HASH_LEN);
	if (on_complete)
		on_complete(ctx, size, 0, cur);
	/* Each trailing one bit of size is a left sibling waiting for this
	 * right edge: merging it completes a subtree one level up. fr is
	 * only changed at the end, so a hash failure leaves it as it was (the
	 * callbacks already made stand: act on them only when this returns 0). */
	while (size & ((uint64_t)1 << l)) {
		rc = hash_node(fr->node[l], cur, cur);
		if (rc)
			return rc;
		l++;
		if (on_complete)
			on_complete(ctx, (size + 1) - ((uint64_t)1 << l), l, cur);
	}
	memcpy(fr->node[l], cur, HASH_LEN);
	fr->size = size + 1;
	return 0;
}

int mt_frontier_root(const struct mt_frontier *fr, uint8_t out[HASH_LEN])
{
	unsigned l;
	int rc;

	if (fr->size == 0) {
		memcpy(out, mt_empty_root, HASH_LEN);
		return 0;
	}
	l = (unsigned)__builtin_ctzll(fr->size);
	memcpy(out, fr->node[l], HASH_LEN);
	for (l = l + 1; l < 64; l++) {
		if (!(fr->size & ((uint64_t)1 << l)))
			continue;
		rc = hash_node(fr->node[l], out, out);
		if (rc)
			return rc;
	}
	return 0;
}
