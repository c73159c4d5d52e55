/* frame_cache.h - the store's cache of recently decompressed frames (all
 * of a frame, or its first entries as far as a store_reader read them):
 * search results and conversation context read neighbouring records, which
 * sit in the same frames, so a hit costs a copy instead of a whole frame.
 *
 * Contract:
 * - Threads: one mutex (lock) protects everything in struct frame_cache.
 *   frame_cache_find, frame_cache_use and frame_cache_put are called with
 *   it held; frame_cache_forget takes it itself. In the store's lock order
 *   it is the innermost: taken inside meta_lock when both are held
 *   (store_int.h).
 * - Durability: none; the cache is memory only and may always be empty.
 * - Ownership: a slot owns its struct frame_prefix; frame_cache_put swaps
 *   the caller's prefix with the slot's, so the caller gets the replaced
 *   slot's memory back to reuse or release. A slot stays valid only while
 *   lock is held.
 * - Staleness: a segment rewritten by retention (store_erase) must be
 *   forgotten (frame_cache_forget); that bumps gen, and a frame read while
 *   the cache was at an older gen is not taken in.
 */
#ifndef CUSTOS_ARCHIVER_FRAME_CACHE_H
#define CUSTOS_ARCHIVER_FRAME_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "archiver/frame.h"
#include "archiver/segment.h"

#define FRAME_CACHE_SLOTS 8

/* One cached frame, or the first entries of one. */
struct frame_cache_slot {
	int valid;                   /* 1 when the slot holds a frame */
	uint64_t segno, off;         /* which frame */
	uint64_t first_seq;          /* its first seq */
	uint32_t count;              /* its entries */
	uint64_t used;               /* cache clock at last use (LRU) */
	struct frame_prefix pf;      /* what of it is decompressed */
};

struct frame_cache {
	pthread_mutex_t lock;        /* protects all of the below */
	struct frame_cache_slot slot[FRAME_CACHE_SLOTS];
	uint64_t clock;
	uint64_t gen;                /* bumped when a segment is rewritten: frames read before stay out */
};

void frame_cache_init(struct frame_cache *c);
/* Frees the cached frames and destroys the lock. */
void frame_cache_release(struct frame_cache *c);

/* The cached frame of segment segno at offset off, or NULL. Caller holds
 * lock. Inline: it is on the path of every record read. */
static inline struct frame_cache_slot *frame_cache_find(struct frame_cache *c, uint64_t segno,
							uint64_t off)
{
	size_t i;

	for (i = 0; i < FRAME_CACHE_SLOTS; i++)
		if (c->slot[i].valid && c->slot[i].segno == segno && c->slot[i].off == off)
			return &c->slot[i];
	return NULL;
}

/* Marks slot s as just used (for LRU). Caller holds lock. */
static inline void frame_cache_use(struct frame_cache *c, struct frame_cache_slot *s)
{
	s->used = ++c->clock;
}

/* Hands pf (a frame of fh at segno/off, or its first entries, read when
 * the cache was at generation gen) to the cache, unless the cache knows as
 * much of that frame already or the segment was rewritten meanwhile; pf
 * gets the memory of the slot it replaces. Returns the slot holding that
 * frame, or NULL when it was not taken in. Caller holds lock. */
struct frame_cache_slot *frame_cache_put(struct frame_cache *c, uint64_t segno, uint64_t off,
					 const struct seg_frame_hdr *fh, struct frame_prefix *pf,
					 uint64_t gen);
/* Drops cached frames of a segment (its file was rewritten). Takes lock. */
void frame_cache_forget(struct frame_cache *c, uint64_t segno);

#endif
