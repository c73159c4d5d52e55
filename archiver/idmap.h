/* idmap.h - the duplicate map: (platform, source, event id) -> seq.
 *
 * Derived data (it can be rebuilt from the log) kept in DIR/idmap/ as
 * sorted run files with Bloom filters, merged in the background
 * (idmap.c), so that duplicate detection costs a hash table probe and a
 * few filter probes, and the heap stays bounded (two tables of run_keys
 * keys; the runs' filters and fences, about 1.6 bytes a key, are mapped
 * from their files) however large the archive. The archiver uses no SQL. Its high-water mark (how many log records
 * the run files reflect) is the end of the newest run; the store catches
 * the map up on open.
 *
 * One caller at a time (the store's write lock); the map's own worker
 * thread writes and merges the runs.
 */
#ifndef CUSTOS_ARCHIVER_IDMAP_H
#define CUSTOS_ARCHIVER_IDMAP_H

#include <stdint.h>

#include "common/error.h"

#define IDMAP_KEY_LEN 16
#define IDMAP_RUN_KEYS 262144 /* default: keys in memory before they are written as a run */

struct idmap;

/* Opens (creating) the map in directory dir; run_keys 0 means the default. */
int idmap_open(const char *dir, size_t run_keys, struct idmap **out, struct cu_err *err) CU_MUST_CHECK;
void idmap_close(struct idmap *m);
/* Run files idmap_open found damaged (checksum, truncation, an older
 * format): each was deleted with a warning on stderr, and the store
 * replays their keys from the log. */
unsigned idmap_damaged(const struct idmap *m);
/* For `custos verify`: loads and checks every run file in dir (whole,
 * checksum) and changes nothing. Returns how many are damaged; the first
 * is described in msg. Run files a writer would discard as leftovers of
 * a merge are checked too. Safe beside a running writer: a run file is
 * never changed after its rename. */
int idmap_check(const char *dir, char *msg, size_t len);

/* The key: first 16 bytes of SHA-256(platform 0x00 source 0x00 id). */
int idmap_key(const char *platform, size_t plen, const char *source, size_t slen,
	      const char *id, size_t idlen, uint8_t key[IDMAP_KEY_LEN]) CU_MUST_CHECK;

uint64_t idmap_hwm(struct idmap *m);
int idmap_begin(struct idmap *m, struct cu_err *err) CU_MUST_CHECK;
/* A hint that key is inserted soon: starts loading its slot of the table
 * (a cache miss per key otherwise; the committer's largest single cost). */
void idmap_prefetch(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN]);
/* Inserts key -> seq unless the key exists. Returns 1 if inserted, 0 if it
 * existed (then *existing holds its seq), negative on error. */
int idmap_insert(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t seq,
		 uint64_t *existing, struct cu_err *err) CU_MUST_CHECK;
int idmap_lookup(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq) CU_MUST_CHECK;
/* Removes keys whose seq >= from (used when the log is shorter). */
int idmap_forget_from(struct idmap *m, uint64_t from, struct cu_err *err) CU_MUST_CHECK;
/* A batch: begin, inserts, then commit (its keys now reflect hwm log
 * records) or rollback (its keys are undone). Committed keys reach a run
 * file once run_keys of them have gathered; idmap_flush forces that and
 * waits for it. idmap_hwm is what the run files hold. idmap_begin fails
 * (CU_ENOSPC, CU_EIO) only when the map cannot write its runs and its
 * memory is full. idmap_rollback returns 0 (only the batch is undone). */
int idmap_commit(struct idmap *m, uint64_t hwm, struct cu_err *err) CU_MUST_CHECK;
int idmap_rollback(struct idmap *m) CU_MUST_CHECK;
int idmap_flush(struct idmap *m, struct cu_err *err) CU_MUST_CHECK;

#endif
