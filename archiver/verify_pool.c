/* verify_pool.c - verify's phase A on worker threads (see verify_pool.h).
 *
 * The frames live in a ring of slots, numbered by the order they were
 * queued. The caller queues frames at the head of the ring; workers take
 * them in the same order and decode them; the caller checks and returns
 * them at the tail. So while the caller checks frame k in log order, the
 * workers are already decoding k+1, k+2, ... A slot keeps its buffers from
 * frame to frame: reusing a few warm buffers, rather than touching fresh
 * memory for every frame, is itself a good part of the speed.
 */
#include "archiver/verify_pool.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"

#define VP_MAX_WORKERS 4

/* One frame in flight. */
struct vslot {
	const char *path;            /* its segment file */
	int fd;
	uint64_t fsize;
	int done;                    /* 1 once decoded (under mu) */
	EVP_MD_CTX *md;              /* for leaf hashes (one decoder per slot at a time) */
	struct vframe f;
};

struct vpool {
	const struct crypt_key *key;
	EVP_MD *sha256;
	pthread_mutex_t mu;
	pthread_cond_t work;         /* workers: a frame was queued, or stop */
	pthread_cond_t done;         /* caller: a frame was decoded */
	uint64_t queued;             /* frames queued so far (under mu) */
	uint64_t taken;              /* of which taken by a decoder (under mu) */
	uint64_t returned;           /* of which checked and returned */
	int stop;                    /* workers: exit (under mu) */
	size_t nslots;               /* frames in flight at most */
	size_t nworkers;             /* threads running */
	pthread_t th[VP_MAX_WORKERS];
	struct vslot slot[VP_MAX_WORKERS + 2];
};

static int vframe_reserve(struct vframe *f, size_t n)
{
	if (f->alloc >= n)
		return 0;
	free(f->seq);
	free(f->is_stub);
	free(f->leaf);
	free(f->stub_chain);
	free(f->ents);
	f->ents = malloc(n * sizeof(*f->ents));
	f->seq = malloc(n * sizeof(*f->seq));
	f->is_stub = malloc(n);
	f->leaf = malloc(n * HASH_LEN);
	f->stub_chain = malloc(n * HASH_LEN);
	f->alloc = f->ents && f->seq && f->is_stub && f->leaf && f->stub_chain ? n : 0;
	return f->alloc ? 0 : CU_ENOMEM;
}

static void vframe_release(struct vframe *f)
{
	free(f->seq);
	free(f->is_stub);
	free(f->leaf);
	free(f->stub_chain);
	free(f->ents);
	buf_release(&f->comp);
	buf_release(&f->raw);
	buf_release(&f->recs);
}

/* Where a record's salt goes back in: the record bytes the leaf hash
 * covers are the entry's first SALT_AT bytes, its salt, then the rest of
 * the entry (docs/FORMAT.md "Frame"). */
#define SALT_AT FRAME_SALT_AT

/* The common frame, records only and well formed, hashed in one pass
 * straight from the decompressed bytes, each salt fed to the hash in its
 * place. frame_entries would first copy every record to put its salt
 * back, and walk the frame twice: on frames of megabytes that is a good
 * share of verify's time. Returns 0 when all entries were hashed, 1 when
 * the frame is not such a frame (a stub, or anything malformed: the general
 * path then takes it and names what is wrong), CU_ECRYPTO if hashing failed. */
static int hash_records_in_place(struct vframe *f, EVP_MD_CTX *ctx, const EVP_MD *sha256)
{
	static const uint8_t leaf_prefix = 0x00; /* RFC 9162 leaf, as hash_leaf */
	const uint8_t *d = f->raw.data, *p, *salt;
	size_t off = 0, end, nsalt = (size_t)f->fh.count * REC_SALT_LEN;
	uint32_t i, len;

	if (f->raw.len < nsalt)
		return 1;
	end = f->raw.len - nsalt;
	salt = d + end;
	for (i = 0; i < f->fh.count; i++, salt += REC_SALT_LEN) {
		if (end - off < 5 || d[off] != SEG_ENTRY_RECORD)
			return 1;
		len = get_be32(d + off + 1);
		if (len > end - off - 5 || len < SALT_AT)
			return 1;
		p = d + off + 5;
		f->seq[i] = get_be64(p + 4);
		f->is_stub[i] = 0;
		if (!EVP_DigestInit_ex2(ctx, sha256, NULL) ||
		    !EVP_DigestUpdate(ctx, &leaf_prefix, 1) ||
		    !EVP_DigestUpdate(ctx, p, SALT_AT) ||
		    !EVP_DigestUpdate(ctx, salt, REC_SALT_LEN) ||
		    !EVP_DigestUpdate(ctx, p + SALT_AT, len - SALT_AT) ||
		    !EVP_DigestFinal_ex(ctx, f->leaf[i], NULL))
			return CU_ECRYPTO;
		off += 5 + (size_t)len;
	}
	return off == end ? 0 : 1;
}

/* An encrypted frame also stores the leaf hashes in the clear: 1 when
 * entry i's differs from the one recomputed. */
static int stored_leaf_differs(const struct vframe *f, uint32_t i)
{
	return (f->fh.flags & SEG_FRAME_F_ENCRYPTED) &&
	       memcmp(f->leaf[i], f->comp.data + (size_t)i * HASH_LEN, HASH_LEN) != 0;
}

/* Phase A: read, check and decompress the frame, hash every record. */
static void decode_frame(const char *path, int fd, uint64_t fsize, const struct crypt_key *key,
			 EVP_MD_CTX *ctx, const EVP_MD *sha256, struct vframe *f)
{
	struct frame_entry *ents;
	uint64_t deletion_seq;
	struct cu_err err;
	uint32_t i;

	f->nvalid = 0;
	f->entry_err[0] = '\0';
	f->read_rc = frame_read(path, fd, f->off, fsize, &f->fh, &f->comp, &f->raw, key, NULL);
	if (f->read_rc == CU_ESTATE) {
		/* Encrypted and no key: the stored leaf hashes still let the
		 * chain, the tree and the seals be checked. */
		f->read_rc = vframe_reserve(f, f->fh.count);
		for (i = 0; f->read_rc == 0 && i < f->fh.count; i++) {
			f->seq[i] = f->fh.first_seq + i;
			f->is_stub[i] = 0;
			memcpy(f->leaf[i], f->comp.data + (size_t)i * HASH_LEN, HASH_LEN);
		}
		f->nvalid = f->read_rc ? 0 : f->fh.count;
		f->sealed_content = 1;
		return;
	}
	f->sealed_content = 0;
	if (f->read_rc)
		return;
	if (vframe_reserve(f, f->fh.count) != 0) {
		f->read_rc = CU_ENOMEM;
		return;
	}
	if (hash_records_in_place(f, ctx, sha256) == 0) {
		for (i = 0; i < f->fh.count; i++) {
			if (stored_leaf_differs(f, i)) {
				snprintf(f->entry_err, sizeof(f->entry_err), "stored leaf hash "
					 "differs from the decrypted record");
				return;
			}
			f->nvalid = i + 1;
		}
		return;
	}
	/* The general path: stubs, a frame that is not well formed, or a hash
	 * that failed (it names which entry). */
	ents = f->ents;
	cu_err_clear(&err);
	if (frame_entries(&f->fh, &f->raw, &f->recs, ents, f->fh.count, &err) != 0) {
		snprintf(f->entry_err, sizeof(f->entry_err), "%s", err.msg);
		return;
	}
	for (i = 0; i < f->fh.count; i++) {
		/* The store's st_entry_to checks the seq too; phase B reports
		 * a wrong one in order, so take the seq the entry carries
		 * whatever it is. */
		if (ents[i].type == SEG_ENTRY_STUB && ents[i].len != SEG_STUB_LEN) {
			snprintf(f->entry_err, sizeof(f->entry_err), "stub of wrong length");
			return;
		}
		if (ents[i].type == SEG_ENTRY_STUB) {
			seg_stub_decode(ents[i].p, &f->seq[i], f->leaf[i], f->stub_chain[i], &deletion_seq);
			f->is_stub[i] = 1;
		} else {
			if (ents[i].len < REC_HEADER_LEN) {
				snprintf(f->entry_err, sizeof(f->entry_err), "record too short");
				return;
			}
			f->seq[i] = get_be64(ents[i].p + 4);
			f->is_stub[i] = 0;
			if (hash_leaf(ents[i].p, ents[i].len, f->leaf[i]) != 0) {
				snprintf(f->entry_err, sizeof(f->entry_err), "hash failed");
				return;
			}
		}
		if (stored_leaf_differs(f, i)) {
			snprintf(f->entry_err, sizeof(f->entry_err), "stored leaf hash differs from the "
				 "decrypted record");
			return;
		}
		f->nvalid = i + 1;
	}
}

/* Takes the next queued frame (mu held), decodes it without the lock and
 * marks it done. */
static void take_and_decode(struct vpool *p)
{
	struct vslot *s = &p->slot[p->taken++ % p->nslots];

	pthread_mutex_unlock(&p->mu);
	decode_frame(s->path, s->fd, s->fsize, p->key, s->md, p->sha256, &s->f);
	pthread_mutex_lock(&p->mu);
	s->done = 1;
	pthread_cond_signal(&p->done);
}

static void *worker(void *arg)
{
	struct vpool *p = arg;

	pthread_setname_np(pthread_self(), "custos-verify"); /* for top -H, ps -L */
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->taken == p->queued)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		take_and_decode(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct vpool *vpool_start(const struct crypt_key *key)
{
	struct vpool *p = calloc(1, sizeof(*p));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want, i;
	int ok;

	if (!p)
		return NULL;
	p->key = key;
	p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ok = p->sha256 != NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	/* One worker per core: the caller's in-order checks are a small part
	 * of the work and it sleeps while it waits. Two frames more than
	 * workers, so that one is being checked and one is ready while every
	 * worker decodes. */
	want = ncpu < 1 ? 1 : ncpu > VP_MAX_WORKERS ? VP_MAX_WORKERS : (size_t)ncpu;
	p->nslots = want + 2;
	for (i = 0; i < p->nslots; i++) {
		buf_init(&p->slot[i].f.comp, SEG_FRAME_MAX_COMP);
		buf_init(&p->slot[i].f.raw, SEG_FRAME_MAX_RAW);
		buf_init(&p->slot[i].f.recs, SEG_FRAME_MAX_RAW);
		p->slot[i].md = EVP_MD_CTX_new();
		ok = ok && p->slot[i].md;
	}
	if (!ok) {
		vpool_stop(p);
		return NULL;
	}
	while (p->nworkers < want && pthread_create(&p->th[p->nworkers], NULL, worker, p) == 0)
		p->nworkers++;
	return p;
}

void vpool_stop(struct vpool *p)
{
	size_t i;

	if (!p)
		return;
	vpool_drain(p);
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nworkers; i++)
		pthread_join(p->th[i], NULL);
	for (i = 0; i < p->nslots; i++) {
		vframe_release(&p->slot[i].f);
		EVP_MD_CTX_free(p->slot[i].md);
	}
	EVP_MD_free(p->sha256);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int vpool_full(const struct vpool *p)
{
	/* queued only changes on the caller's thread: no lock needed */
	return p->queued - p->returned >= p->nslots;
}

void vpool_queue(struct vpool *p, const char *path, int fd, uint64_t fsize, uint64_t off)
{
	struct vslot *s = &p->slot[p->queued % p->nslots];

	s->path = path;
	s->fd = fd;
	s->fsize = fsize;
	s->f.off = off;
	pthread_mutex_lock(&p->mu);
	s->done = 0;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

const struct vframe *vpool_next(struct vpool *p)
{
	struct vslot *s = &p->slot[p->returned % p->nslots];

	if (p->returned == p->queued)
		return NULL;
	pthread_mutex_lock(&p->mu);
	/* Not taken yet (all workers busy, or none): decode it here rather
	 * than wait for it. */
	if (p->taken == p->returned)
		take_and_decode(p);
	while (!s->done)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return &s->f;
}

void vpool_done(struct vpool *p)
{
	p->returned++;
}

void vpool_drain(struct vpool *p)
{
	pthread_mutex_lock(&p->mu);
	p->queued = p->taken;
	while (p->returned < p->queued) {
		while (!p->slot[p->returned % p->nslots].done)
			pthread_cond_wait(&p->done, &p->mu);
		p->returned++;
	}
	pthread_mutex_unlock(&p->mu);
}
