/* frame_cache.c - recently decompressed frames, least recently used out
 * (see frame_cache.h). */
#include "archiver/frame_cache.h"

#include <string.h>

void frame_cache_init(struct frame_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void frame_cache_release(struct frame_cache *c)
{
	size_t i;

	for (i = 0; i < FRAME_CACHE_SLOTS; i++)
		frame_prefix_release(&c->slot[i].pf);
	pthread_mutex_destroy(&c->lock);
}

struct frame_cache_slot *frame_cache_put(struct frame_cache *c, uint64_t segno, uint64_t off,
					 const struct seg_frame_hdr *fh, struct frame_prefix *pf,
					 uint64_t gen)
{
	struct frame_cache_slot *s = frame_cache_find(c, segno, off);
	struct frame_prefix tmp;
	size_t i;

	if (gen != c->gen)
		return NULL;
	if (s && (s->pf.complete || (!pf->complete && s->pf.nents >= pf->nents)))
		return s;
	if (!s) {
		s = &c->slot[0];
		for (i = 1; i < FRAME_CACHE_SLOTS; i++)
			if (!c->slot[i].valid || (s->valid && c->slot[i].used < s->used))
				s = &c->slot[i];
	}
	tmp = s->pf;
	s->pf = *pf;
	*pf = tmp;
	s->segno = segno;
	s->off = off;
	s->first_seq = fh->first_seq;
	s->count = fh->count;
	s->used = ++c->clock;
	s->valid = 1;
	return s;
}

void frame_cache_forget(struct frame_cache *c, uint64_t segno)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < FRAME_CACHE_SLOTS; i++)
		if (c->slot[i].segno == segno)
			c->slot[i].valid = 0;
	c->gen++; /* frames read before now must not come in */
	pthread_mutex_unlock(&c->lock);
}
