/* tree_store.h - the persistent part of the Merkle tree.
 *
 * The tree over all leaves is never stored whole. For every level
 * L >= TS_LEVEL_MIN the hashes of the complete aligned subtrees of 2^L leaves
 * are kept in one append-only file per level (tree/level-LL), 32 bytes each,
 * entry i covering leaves [i*2^L, (i+1)*2^L). Below that level, hashes are
 * recomputed from leaf hashes fetched through the caller's leaf callback
 * (at most 2^TS_LEVEL_MIN leaf reads per proof). This is derived data:
 * it can be rebuilt from the segments, and is truncated and caught up on
 * open (ts_truncate + ts_append).
 */
#ifndef CUSTOS_ARCHIVER_TREE_STORE_H
#define CUSTOS_ARCHIVER_TREE_STORE_H

#include <stdint.h>

#include "archiver/hash.h"
#include "archiver/merkle.h"
#include "common/error.h"

#define TS_LEVEL_MIN 8 /* 256-leaf subtrees: 1/8 byte of tree per record */

/* Fetches count consecutive leaf hashes starting at index start. */
typedef int (*ts_leaves_fn)(void *ctx, uint64_t start, uint64_t count, uint8_t (*out)[HASH_LEN]);

struct tree_store;

/* Opens (creating if needed) the level files in dir. */
int ts_open(const char *dir, ts_leaves_fn leaves, void *leaves_ctx,
	    struct tree_store **out, struct cu_err *err) CU_MUST_CHECK;
void ts_close(struct tree_store *ts);

/* Number of leaves the store holds (complete or in the in-memory tail). */
uint64_t ts_size(const struct tree_store *ts);
/* Appends the next leaf hash (index ts_size()). Complete subtrees at
 * levels >= TS_LEVEL_MIN are written to the level files (not fsynced). */
int ts_append(struct tree_store *ts, const uint8_t leaf[HASH_LEN], struct cu_err *err) CU_MUST_CHECK;
/* fsyncs the level files. */
int ts_sync(struct tree_store *ts, struct cu_err *err) CU_MUST_CHECK;
/* Forgets everything beyond n leaves (recovery after a torn tail). */
int ts_truncate(struct tree_store *ts, uint64_t n, struct cu_err *err) CU_MUST_CHECK;

/* mt_subtree_fn over this store; ctx is the struct tree_store. */
int ts_subtree(void *ts, uint64_t start, unsigned level, uint8_t out[HASH_LEN]);

/* Tree head and proofs at any size <= ts_size(). */
int ts_root(struct tree_store *ts, uint64_t n, uint8_t out[HASH_LEN]) CU_MUST_CHECK;
int ts_inclusion(struct tree_store *ts, uint64_t index, uint64_t n,
		 uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count) CU_MUST_CHECK;
int ts_consistency(struct tree_store *ts, uint64_t m, uint64_t n,
		   uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count) CU_MUST_CHECK;

#endif
