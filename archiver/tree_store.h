/* tree_store.h - the persistent part of the Merkle tree.
 *
 * The tree over all leaves is never stored whole. For every level
 * L >= TS_LEVEL_MIN the hashes of the complete aligned subtrees of 2^L leaves
 * are kept in one append-only file per level (tree/level-LL), 32 bytes each,
 * entry i covering leaves [i*2^L, (i+1)*2^L). Below that level, hashes are
 * recomputed from leaf hashes fetched through the caller's leaf callback
 * (at most 2^TS_LEVEL_MIN leaf reads per proof at the current size, twice
 * that at an older size whose last block is partial). Memory stays
 * O(log n) + 256 hashes. This is derived data:
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

/* Fetches count (1..256, never crossing a 256-leaf block) consecutive leaf
 * hashes starting at index start into out; 0 or a negative CU_E* code,
 * which the tree store passes on. */
typedef int (*ts_leaves_fn)(void *ctx, uint64_t start, uint64_t count, uint8_t (*out)[HASH_LEN]);

struct tree_store;

/* Opens the level files in dir.
 *
 * rdonly = 0 (the writer): creates dir and the level files as needed, and
 * owns them: appends are written to them, ts_truncate cuts them.
 * rdonly = 1 (a reader of a live archive): opens the existing level files
 * O_RDONLY (a missing dir or file counts as empty) and never creates,
 * writes or truncates anything; appends, and entries a truncate or repair
 * needs, are kept in memory arrays (32 bytes per 256 leaves), so a reader
 * can catch up with the log and prove against its latest size while the
 * writer keeps appending to the files.
 *
 * Size after open: ts_size() = 256 * the number of whole 32-byte entries in
 * level-08, i.e. exactly what the level files alone show to be complete.
 * Nothing else is consulted and no leaf is fetched; the in-memory tail is
 * empty. Entries that level-08 implies but a higher level lacks (a crash
 * between the writes of one append) are recomputed from the level below
 * (writer: written back; reader: in memory), and the writer cuts a torn
 * partial entry and any entries of higher levels beyond what level-08
 * implies. The result may be more or fewer leaves than the log holds; the
 * caller decides: ts_truncate(log size) if ts_size() is larger, or
 * ts_append() of the leaf hashes ts_size() .. log size - 1 (fetched from the
 * log) if it is smaller. Only then do roots and proofs describe the log.
 *
 * Not thread-safe: the caller serialises every call on one struct
 * tree_store, ts_subtree included (it reads the in-memory tail and calls
 * the leaf callback). The leaf callback is only called from ts_subtree (and
 * so from ts_root/ts_inclusion/ts_consistency) and from ts_truncate. */
int ts_open(const char *dir, int rdonly, ts_leaves_fn leaves, void *leaves_ctx,
	    struct tree_store **out, struct cu_err *err) CU_MUST_CHECK;
/* Closes the files and frees everything; does not fsync (ts_sync first). */
void ts_close(struct tree_store *ts);

/* Number of leaves the store holds (complete or in the in-memory tail). */
uint64_t ts_size(const struct tree_store *ts);
/* Appends the next leaf hash (index ts_size()). Complete subtrees at
 * levels >= TS_LEVEL_MIN are written to the level files (not fsynced; kept
 * in memory when read-only). On error ts_size() and every answer stay as
 * before the call; a level file may hold a partly written entry beyond the
 * size, which the next append overwrites. */
int ts_append(struct tree_store *ts, const uint8_t leaf[HASH_LEN], struct cu_err *err) CU_MUST_CHECK;
/* fsyncs the level files written or cut since the last ts_sync (and the
 * directory if a file was created). Nothing to do, and 0, when read-only.
 * For crash safety the writer should ts_sync before the log bytes these
 * leaves come from are written and fsynced: then every level entry that a
 * crash can leave behind either is durable or lies beyond the log (and is cut
 * by the ts_truncate after reopening). */
int ts_sync(struct tree_store *ts, struct cu_err *err) CU_MUST_CHECK;
/* Forgets everything beyond n <= ts_size() leaves (recovery after a torn
 * tail): cuts level file L to floor(n / 2^L) entries (highest level first;
 * a reader only forgets its in-memory view) and rebuilds the in-memory tail
 * by fetching the leaves of the last partial 256-leaf block through the
 * callback. CU_EINVAL if n > ts_size(). If the leaf fetch fails nothing has
 * changed; if cutting a file fails the store already answers for n. */
int ts_truncate(struct tree_store *ts, uint64_t n, struct cu_err *err) CU_MUST_CHECK;

/* Checks the level files against themselves when they are opened: every
 * entry of level L+1 must be SHA-256 node(entry 2i, entry 2i+1) of level L,
 * so each entry is covered by the one above it (the entries of the right
 * edge, which have none yet, are covered by the caller's check of the
 * root against a head it trusts). Reads every level entry once (32 bytes
 * per 256 leaves) and hashes as many nodes. *vouched gets the number of
 * leaves below the first mismatch (ts_size() if there is none; msg then
 * unchanged, else it names the entries): the caller ts_truncate()s to it
 * and appends the rest again from the log. Nonzero only on I/O error. */
int ts_check(struct tree_store *ts, uint64_t *vouched, char *msg, size_t len,
	     struct cu_err *err) CU_MUST_CHECK;

/* mt_subtree_fn over this store; ctx is the struct tree_store. Levels
 * >= TS_LEVEL_MIN are read from the level file (or memory); lower levels are
 * hashed from the in-memory tail or from 2^level leaves fetched through the
 * callback. CU_EINVAL for an unaligned or incomplete subtree. */
int ts_subtree(void *ts, uint64_t start, unsigned level, uint8_t out[HASH_LEN]);

/* Tree head and proofs at any size <= ts_size() (CU_EINVAL beyond). Each
 * reads O(log n) level entries and hashes at most 2^TS_LEVEL_MIN leaves per
 * 256-leaf block it touches: inside a complete block these are fetched
 * through the callback, in the current partial block they are in memory.
 * ts_root(ts_size()) costs no I/O at all. */
int ts_root(struct tree_store *ts, uint64_t n, uint8_t out[HASH_LEN]) CU_MUST_CHECK;
int ts_inclusion(struct tree_store *ts, uint64_t index, uint64_t n,
		 uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count) CU_MUST_CHECK;
int ts_consistency(struct tree_store *ts, uint64_t m, uint64_t n,
		   uint8_t out[MT_MAX_PROOF][HASH_LEN], size_t *count) CU_MUST_CHECK;

#endif
