/* store_int.h - the store's internals, shared by its own source files
 * only (store*.c): store.c (open, recovery, append, seal), store_read.c
 * (reads by seq, iteration, frame index), store_proof.c (tree head,
 * proofs, checkpoints) and store_erase.c (retention rewrites). Anyone
 * else uses store.h, and for the bytes of frames the frame codec
 * (frame.h): verify reads segments through it, never through struct store.
 *
 * Contract:
 * - Threads: the locks below guard the fields named next to them; their
 *   order is write_lock -> tree_lock -> meta_lock -> cache.lock, each
 *   taken only with those before it or none. Fields marked "writer" are
 *   touched only by the writer under write_lock.
 * - Durability: segments, the head file and the tree files are written
 *   and fsynced by store.c and store_erase.c (docs/FORMAT.md "Crash
 *   recovery", "Retention rewrites"); nothing in memory here is durable.
 * - Ownership: struct store owns every buffer, fd and index in it; they
 *   are freed by store_close. */
#ifndef CUSTOS_ARCHIVER_STORE_INT_H
#define CUSTOS_ARCHIVER_STORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <zstd.h>

#include "archiver/crypt.h"
#include "archiver/frame.h"
#include "archiver/frame_cache.h"
#include "archiver/idmap.h"
#include "archiver/merkle.h"
#include "archiver/segment.h"
#include "archiver/store.h"
#include "archiver/zstream.h"
#include "archiver/tree_store.h"

/* Where a frame starts in its segment and which seqs it holds. */
struct frame_loc {
	uint64_t off;        /* file offset of the frame header */
	uint64_t first_seq;  /* seq of its first entry */
	uint32_t count;      /* entries in it */
};

/* One segment file as the store sees it. */
struct seg_info {
	uint64_t no;                 /* segment number (file name) */
	uint64_t first_seq;          /* first seq it holds */
	uint64_t count;              /* records it holds */
	uint64_t data_end;           /* end of the last frame (start of the seal, if any) */
	int sealed;                  /* 1 when a valid seal follows data_end */
	struct frame_loc *frames;    /* frame index, built lazily (NULL until needed) */
	size_t nframes;              /* entries in frames */
	size_t frames_alloc;         /* allocated entries */
	int frames_complete;         /* 1 when frames covers all of [first_seq, first_seq+count) */
};

struct store {
	char dir[PATH_MAX];          /* data directory */
	char segdir[PATH_MAX];       /* dir/segments */
	int rdonly;                  /* STORE_RDONLY: never writes, no lock */
	int lock_fd;                 /* writer: flock()ed DIR/lock */
	struct store_config cfg;     /* with defaults filled in */
	char origin[256];            /* checkpoint origin line */
	EVP_PKEY *key;               /* signing key (private for the writer, public for readers) */

	/* Lock order: write_lock -> tree_lock -> meta_lock -> cache.lock. */
	pthread_mutex_t write_lock;  /* serialises appends and seals */
	pthread_mutex_t tree_lock;   /* protects ts and frontier */
	pthread_mutex_t meta_lock;   /* protects segs/nsegs/size and frame indexes */

	struct seg_info *segs;       /* all segments in order */
	size_t nsegs;
	size_t segs_alloc;
	uint64_t size;               /* records in the log */
	uint64_t sealed_size;        /* records in sealed segments (tree files durable up to here) */
	uint8_t chain[HASH_LEN];     /* chain value after the last record */
	uint8_t last_seal[HASH_LEN]; /* SHA-256 of the last seal written (zeros if none) */
	int active_fd;               /* writer: fd of the unsealed last segment, or -1 */
	int64_t active_created;      /* creation time of the active segment */
	uint8_t active_hdr_hash[HASH_LEN]; /* SHA-256 of the active segment's header */

	struct frame_cache cache;    /* recently read frames; its lock inside meta_lock when both */

	struct mt_frontier frontier; /* right edge of the tree at size */
	struct tree_store *ts;       /* persistent subtree hashes */
	int ts_behind;               /* writer: ts is missing leaves (a write failed) */
	unsigned tree_repaired;      /* open: tree level files found damaged and rebuilt */
	struct idmap *ids;           /* writer: duplicate map */
	int ids_behind;              /* writer: id map needs catch-up from its hwm */

	uint64_t acked;              /* size the head file says was acknowledged */
	uint8_t acked_root[HASH_LEN];/* the head file's tree head at acked */
	int head_fd;                 /* writer: DIR/head, rewritten after each commit */
	int head_slot;               /* writer: which head slot the next write goes to */
	int encrypted;               /* frames are encrypted at rest (keys/data.key exists) */
	uint64_t erasures;           /* store_erase calls that erased something (atomic) */
	struct crypt_key dek;        /* the unwrapped data key when encrypted */
	ZSTD_CCtx *cctx;             /* writer: compression context (zs's) */
	struct zstream zs;           /* writer: the frame's compression as it is built */
	struct buf raw;              /* writer: frame being built (entries) */
	struct buf comp;             /* writer: its compressed form */
	struct buf salts;            /* writer: the salts of the frame being built */
	struct buf frame;            /* writer: the frame as written (header + payload) */
	struct buf rec;              /* writer: one encoded record */
	struct buf scratch;          /* writer: per-append leaves, salts and frame list */
	uint64_t frames_written, fsyncs; /* under meta_lock */
};

/* store_read.c */
/* Fills e (seq, leaf, stub fields) from an entry of a decompressed frame;
 * chain is not touched. */
int st_entry_to(const struct frame_entry *r, uint64_t expect_seq, struct store_entry *e,
		struct cu_err *err) CU_MUST_CHECK;
void st_seg_path(const struct store *st, uint64_t no, char *out, size_t outlen);
/* ts_leaves_fn: leaf hashes of [start, start+count) read from the log. */
int st_leaves(void *ctx, uint64_t start, uint64_t count, uint8_t (*out)[HASH_LEN]);
/* The data key to read and write frames with, or NULL when not encrypted. */
static inline const struct crypt_key *st_key(const struct store *st)
{
	return st->encrypted ? &st->dek : NULL;
}

#endif
