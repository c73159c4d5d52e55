/* verify_pool.h - verify's first phase on worker threads: frames are read,
 * checksummed, decompressed and their records hashed (phase A) ahead of the
 * checks that must run in log order (phase B: seqs, chain, tree, seals), so
 * that the two phases overlap. Frames are handed out and returned in the
 * order they were queued; at most a fixed number are in flight, so memory
 * does not grow with the archive. Internal to archiver/verify.c.
 *
 * Contract:
 * - Threads: all functions are called by one thread (verify's); the
 *   workers only decode, each into its own slot, and hand it back under
 *   the pool's mutex.
 * - Ownership: a struct vframe and its buffers belong to the pool; the
 *   caller reads the one vpool_next gives out until vpool_done. Frames are
 *   decoded with the frame codec (frame.h).
 * - Durability: reads only.
 */
#ifndef CUSTOS_ARCHIVER_VERIFY_POOL_H
#define CUSTOS_ARCHIVER_VERIFY_POOL_H

#include <stdint.h>

#include "archiver/crypt.h"
#include "archiver/frame.h"
#include "archiver/hash.h"
#include "archiver/segment.h"
#include "common/buf.h"

/* One frame as phase A found it, for phase B to check in log order. */
struct vframe {
	uint64_t off;                /* offset of the frame in the segment */
	struct seg_frame_hdr fh;     /* its header */
	int read_rc;                 /* frame_read result (0 = readable) */
	uint32_t nvalid;             /* entries decoded before entry_err */
	int sealed_content;          /* 1: encrypted, no key: only stored leaf hashes checked */
	char entry_err[600];         /* why entry nvalid is malformed, "" if none */
	uint64_t *seq;               /* per entry: the seq it carries */
	uint8_t *is_stub;            /* per entry: 1 for a stub */
	uint8_t (*leaf)[HASH_LEN];   /* per entry: leaf hash */
	uint8_t (*stub_chain)[HASH_LEN]; /* per stub: its stored chain value */
	struct frame_entry *ents;    /* per entry: where it is in recs */
	size_t alloc;                /* entries the arrays hold */
	struct buf comp, raw, recs;  /* this frame's bytes, and its records reassembled */
};

struct vpool;

/* Starts the pool with worker threads for frames under key (NULL: not
 * encrypted, or no key). If no thread can be started, vpool_next decodes
 * on the caller's thread. Returns NULL when out of memory. */
struct vpool *vpool_start(const struct crypt_key *key);
/* Stops the workers (after vpool_drain) and frees everything. */
void vpool_stop(struct vpool *p);
/* 1 when no more frames can be queued until one is returned. */
int vpool_full(const struct vpool *p);
/* Queues the frame at off of the segment file path (open as fd, fsize
 * bytes); path and fd must stay valid until vpool_drain. */
void vpool_queue(struct vpool *p, const char *path, int fd, uint64_t fsize, uint64_t off);
/* The oldest queued frame once decoded, or NULL when none is queued. */
const struct vframe *vpool_next(struct vpool *p);
/* Returns the frame vpool_next gave out. */
void vpool_done(struct vpool *p);
/* Forgets the queued frames and waits for those being decoded, so that
 * their segment file can be closed. */
void vpool_drain(struct vpool *p);

#endif
