/* merkle.h - RFC 9162 (Certificate Transparency 2.0) Merkle tree algorithms:
 * tree head, inclusion proofs and consistency proofs, and their verification.
 *
 * The algorithms are written over complete, aligned subtrees: every node the
 * RFC's recursive definitions touch is either such a subtree
 * [start, start + 2^level) with start a multiple of 2^level, or is computed
 * from them. The caller supplies those hashes through mt_subtree_fn (from
 * the persistent tree store, or from an in-memory array in tests), which is
 * what makes proofs cost O(log n) reads.
 */
#ifndef CUSTOS_ARCHIVER_MERKLE_H
#define CUSTOS_ARCHIVER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

#define MT_MAX_PROOF 64 /* hashes in any proof for trees below 2^63 leaves */

/* Returns in out the hash of the complete subtree of 2^level leaves starting
 * at leaf index start (start % 2^level == 0). level 0 is a leaf hash. */
typedef int (*mt_subtree_fn)(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN]);

/* MTH(D[0:n]). The empty tree's hash is SHA-256 of the empty string. */
int mt_root(mt_subtree_fn fn, void *ctx, uint64_t n, uint8_t out[HASH_LEN]) CU_MUST_CHECK;

/* PATH(index, D[0:n]) in RFC 9162 order (leaf's sibling first). */
int mt_inclusion_proof(mt_subtree_fn fn, void *ctx, uint64_t index, uint64_t n,
		       uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count) CU_MUST_CHECK;

/* PROOF(m, D[0:n]) for 0 < m <= n, RFC 9162 order. */
int mt_consistency_proof(mt_subtree_fn fn, void *ctx, uint64_t m, uint64_t n,
			 uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count) CU_MUST_CHECK;

/* RFC 9162 section 2.1.3.2: 0 if the proof shows leaf at index is in the
 * tree of size n with root, CU_ECRYPTO if not, CU_EINVAL if malformed. */
int mt_verify_inclusion(const uint8_t leaf[HASH_LEN], uint64_t index, uint64_t n,
			const uint8_t (*proof)[HASH_LEN], size_t count,
			const uint8_t root[HASH_LEN]) CU_MUST_CHECK;

/* RFC 9162 section 2.1.4.2: 0 if the tree of size n with root2 extends the
 * tree of size m with root1; CU_ECRYPTO if not, CU_EINVAL if malformed
 * (m > n, or the proof has the wrong number of hashes). Outside the RFC's
 * 0 < m < n: m == n needs an empty proof and root1 == root2; m == 0 needs an
 * empty proof and root1 == the empty tree's hash. */
int mt_verify_consistency(uint64_t m, uint64_t n, const uint8_t root1[HASH_LEN],
			  const uint8_t root2[HASH_LEN], const uint8_t (*proof)[HASH_LEN],
			  size_t count) CU_MUST_CHECK;

/* The right edge ("compact range") of a growing tree: one hash per set bit
 * of the size, enough to append a leaf and compute the root in O(log n)
 * without any storage. Used by verify and by the store's writer. */
struct mt_frontier {
	uint64_t size;                      /* leaves appended so far */
	uint8_t node[64][HASH_LEN];         /* node[l] valid iff bit l of size is set */
};

void mt_frontier_init(struct mt_frontier *fr);
/* Appends a leaf hash. on_complete, if not NULL, is called for the leaf
 * (level 0) and for every complete aligned subtree the append completes,
 * lowest level first. On error fr is unchanged, but calls already made
 * stand: act on them only once this returns 0. */
int mt_frontier_append(struct mt_frontier *fr, const uint8_t leaf[HASH_LEN],
		       void (*on_complete)(void *ctx, uint64_t start, unsigned level,
					   const uint8_t hash[HASH_LEN]),
		       void *ctx) CU_MUST_CHECK;
int mt_frontier_root(const struct mt_frontier *fr, uint8_t out[HASH_LEN]) CU_MUST_CHECK;

#endif
