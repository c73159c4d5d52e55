/* store_int.h - internals shared by the store's source files (store.c:
 * open, recovery and append; store_read.c: frame reading and iteration;
 * store_proof.c: tree head, proofs, checkpoints). Not for use outside
 * archiver/. */
#ifndef CUSTOS_ARCHIVER_STORE_INT_H
#define CUSTOS_ARCHIVER_STORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <zstd.h>

#include "archiver/crypt.h"
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

/* The decompressed part of a frame: all of it, or (read by a
 * store_reader) its first entries. Records are not reassembled: their
 * salts follow the last entry (docs/FORMAT.md "Frame"), so a prefix has
 * none, and a complete frame puts a record's salt back when it is copied
 * out. */
struct st_prefix {
	struct buf raw;              /* decompressed bytes so far */
	struct st_entry_raw *ents;   /* parsed entries, pointing into raw (records without salt) */
	uint32_t *recno;             /* per entry: its number among the frame's records */
	size_t nents;                /* entries parsed */
	size_t ents_alloc;
	size_t parse_off;            /* raw offset of the next entry */
	uint32_t nrec;               /* records among the parsed entries */
	int complete;                /* the whole frame is in raw: salts are at salts_at */
	size_t salts_at;
};

/* A decompressed frame (or its first entries) kept for store_get and
 * store_reader_get (search results and conversation context read
 * neighbours from the same frames). */
#define FCACHE_SLOTS 8
struct fcache_slot {
	int valid;                   /* 1 when the slot holds a frame */
	uint64_t segno, off;         /* which frame */
	uint64_t first_seq;          /* its first seq */
	uint32_t count;              /* its entries */
	uint64_t used;               /* cache clock at last use (LRU) */
	struct st_prefix pf;         /* what of it is decompressed */
};

struct store {
	char dir[PATH_MAX];          /* data directory */
	char segdir[PATH_MAX];       /* dir/segments */
	int rdonly;                  /* STORE_RDONLY: never writes, no lock */
	int lock_fd;                 /* writer: flock()ed DIR/lock */
	struct store_config cfg;     /* with defaults filled in */
	char origin[256];            /* checkpoint origin line */
	EVP_PKEY *key;               /* signing key (private for the writer, public for readers) */

	/* Lock order: write_lock -> tree_lock -> meta_lock. */
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

	pthread_mutex_t cache_lock;  /* protects cache (inside meta_lock when both) */
	struct fcache_slot cache[FCACHE_SLOTS];
	uint64_t cache_clock;
	uint64_t cache_gen;          /* bumped when a segment is rewritten: frames read before stay out */

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
/* Reads, checks (checksum, caps), decrypts (with key, for an encrypted
 * frame) and decompresses the frame at off into raw; limit is where the
 * frame must end. comp keeps the stored payload: for an encrypted frame
 * its first count*32 bytes are the records' leaf hashes. An encrypted
 * frame without key: CU_ESTATE after the checksum was checked. raw NULL:
 * only read and check header, caps and checksum. */
int st_read_frame(const char *path, int fd, uint64_t off, uint64_t limit,
		  struct seg_frame_hdr *fh, struct buf *comp, struct buf *raw,
		  const struct crypt_key *key, struct cu_err *err) CU_MUST_CHECK;
/* Builds a whole frame (header and payload) from entries in raw into out:
 * zstd at level, then, with key, AES-256-GCM with the leaf hashes in the
 * clear before the box (docs/FORMAT.md "Encryption at rest"). */
int st_frame_build(ZSTD_CCtx *cctx, int level, const struct crypt_key *key, const struct buf *raw,
		   const uint8_t (*leaves)[HASH_LEN], uint64_t first_seq, uint32_t count,
		   struct buf *scratch, struct buf *out, struct cu_err *err) CU_MUST_CHECK;
/* The same from entries already compressed (comp: one zstd frame of
 * raw_len bytes of entries). */
int st_frame_wrap(const struct crypt_key *key, const struct buf *comp, size_t raw_len,
		  const uint8_t (*leaves)[HASH_LEN], uint64_t first_seq, uint32_t count,
		  struct buf *out, struct cu_err *err) CU_MUST_CHECK;
/* Calls fn for each entry of a decompressed frame. */
struct st_entry_raw {
	int type;                /* SEG_ENTRY_RECORD or SEG_ENTRY_STUB */
	const uint8_t *p;        /* entry bytes */
	size_t len;
};
/* Splits a decompressed frame into its entries; record entries are
 * reassembled (salt back in place) into recs, which the entries point into. */
int st_frame_entries(const struct seg_frame_hdr *fh, const struct buf *raw, struct buf *recs,
		     struct st_entry_raw *out, size_t max, struct cu_err *err) CU_MUST_CHECK;
/* Adds an entry to a frame being built: record bytes go to raw without
 * their salt, the salt to salts; the frame is raw followed by salts. */
int st_frame_add(struct buf *raw, struct buf *salts, int type, const uint8_t *p, size_t len) CU_MUST_CHECK;
/* Fills e (seq, leaf, stub fields) from an entry; chain is not touched. */
int st_entry_to(const struct st_entry_raw *r, uint64_t expect_seq, struct store_entry *e,
		struct cu_err *err) CU_MUST_CHECK;
void st_seg_path(const struct store *st, uint64_t no, char *out, size_t outlen);
int st_leaves(void *ctx, uint64_t start, uint64_t count, uint8_t (*out)[HASH_LEN]);
/* Drops cached frames of a segment (its file was rewritten). */
void st_cache_forget(struct store *st, uint64_t segno);
void st_cache_release(struct store *st);
/* The data key to read and write frames with, or NULL when not encrypted. */
static inline const struct crypt_key *st_key(const struct store *st)
{
	return st->encrypted ? &st->dek : NULL;
}

#endif
