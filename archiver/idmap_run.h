/* idmap_run.h - one sorted run of the duplicate map (archiver/idmap.c):
 * a file of (key, seq) entries in key order with a Bloom filter and a
 * fence of block heads, written once and never changed (docs/FORMAT.md
 * "idmap/"). Internal to the id map.
 */
#ifndef CUSTOS_ARCHIVER_IDMAP_RUN_H
#define CUSTOS_ARCHIVER_IDMAP_RUN_H

#include <limits.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "archiver/idmap.h"
#include "common/error.h"

#define RUN_HEADER_LEN 64
#define RUN_ENTRY_LEN 24      /* key (16) | seq (8, big-endian) */
#define RUN_BLOCK 170         /* entries per block: 4080 bytes, one read per probe */
#define RUN_BLOOM_BITS 12     /* Bloom filter bits per key (about 1% false positives) */
#define RUN_SUM_LEN HASH_LEN  /* trailer: SHA-256 of the rest of the file */

struct id_entry {
	uint8_t key[IDMAP_KEY_LEN];
	uint64_t seq;
};

/* A run as loaded: the file stays open for probes; its filter and fence
 * (about 1.6 bytes per key) are mapped from the file, so they are page
 * cache the kernel manages, not the process's heap. */
struct id_run {
	int fd;
	uint64_t lo, hi;        /* the log records [lo, hi) whose keys it holds */
	uint64_t count;         /* entries */
	const uint8_t *bloom;   /* bloom_blocks blocks of 512 bits (big-endian words) */
	uint64_t bloom_blocks;
	const uint8_t *fence;   /* first 8 key bytes of each block (big-endian) */
	uint64_t nblocks;
	void *map;              /* the mapping that holds both */
	size_t map_len;
	char path[PATH_MAX];
};

/* Large buffers (tables, sorted copies, I/O buffers) are mapped and
 * unmapped, so that the memory goes back to the system when freed
 * instead of fragmenting the heap as the archive grows. */
void *big_alloc(size_t n);
void big_free(void *p, size_t n);

/* Writes a run: entries in strictly ascending key order, at most max
 * of them; finish makes it durable under its final name. */
struct run_writer {
	int fd;
	uint64_t lo, hi, count, max;
	uint8_t *buf;           /* entries not written yet */
	size_t blen;
	uint64_t off;           /* file offset of buf */
	uint8_t last[IDMAP_KEY_LEN];
	uint64_t *bloom, bloom_blocks, *fence, nblocks;
	struct hash_stream sum; /* the trailer's checksum, over what is written */
	char dir[PATH_MAX], tmp[PATH_MAX + 16];
};

int run_writer_open(struct run_writer *w, const char *dir, uint64_t lo, uint64_t hi, uint64_t max,
		    struct cu_err *err) CU_MUST_CHECK;
int run_writer_add(struct run_writer *w, const struct id_entry *e, struct cu_err *err) CU_MUST_CHECK;
int run_writer_finish(struct run_writer *w, struct id_run **out, struct cu_err *err) CU_MUST_CHECK;
void run_writer_abort(struct run_writer *w);

/* "run-<lo>-<hi>" (16 hex digits each): 1 and lo, hi if name is one. */
int run_name_parse(const char *name, uint64_t *lo, uint64_t *hi);
/* Opens and checks a run file: CU_ECORRUPT (err names why) if it is not a
 * whole run, its checksum does not match (every byte is read and hashed:
 * about 25 bytes a key), or it has an older format without one. The
 * caller deletes such a file and rebuilds its keys from the log. */
int run_load(const char *path, struct id_run **out, struct cu_err *err) CU_MUST_CHECK;
/* 1 and *seq if key is in the run, 0 if not, negative on a read error. */
int run_find(const struct id_run *r, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq,
	     struct cu_err *err) CU_MUST_CHECK;
/* Closes; with remove, deletes the file too. */
void run_free(struct id_run *r, int remove);

/* Reads a run's entries in order. */
struct run_reader {
	const struct id_run *r;
	uint8_t *buf;
	size_t n, pos;          /* entries in buf, next to hand out */
	uint64_t next;          /* index of the entry after buf */
};

int run_reader_open(struct run_reader *rd, const struct id_run *r, struct cu_err *err) CU_MUST_CHECK;
/* 1 and e, 0 at the end, negative on error. */
int run_reader_next(struct run_reader *rd, struct id_entry *e, struct cu_err *err) CU_MUST_CHECK;
void run_reader_close(struct run_reader *rd);

#endif
