/* idmap.h - the duplicate map: (platform, source, event id) -> seq.
 *
 * Derived data (it can be rebuilt from the log) kept in DIR/idmap.db, an
 * SQLite database used purely as a key-value store, so that duplicate
 * detection costs O(log n) and bounded memory however large the archive.
 * Its high-water mark (how many log records it reflects) is written in the
 * same transaction as the keys; the store catches it up on open. The
 * archiver uses no SQL anywhere else.
 */
#ifndef CUSTOS_ARCHIVER_IDMAP_H
#define CUSTOS_ARCHIVER_IDMAP_H

#include <stdint.h>

#include "common/error.h"

#define IDMAP_KEY_LEN 16

struct idmap;

int idmap_open(const char *path, struct idmap **out, struct cu_err *err) CU_MUST_CHECK;
void idmap_close(struct idmap *m);

/* The key: first 16 bytes of SHA-256(platform 0x00 source 0x00 id). */
int idmap_key(const char *platform, size_t plen, const char *source, size_t slen,
	      const char *id, size_t idlen, uint8_t key[IDMAP_KEY_LEN]) CU_MUST_CHECK;

uint64_t idmap_hwm(const struct idmap *m);
int idmap_begin(struct idmap *m, struct cu_err *err) CU_MUST_CHECK;
/* Inserts key -> seq unless the key exists. Returns 1 if inserted, 0 if it
 * existed (then *existing holds its seq), negative on error. */
int idmap_insert(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t seq,
		 uint64_t *existing, struct cu_err *err) CU_MUST_CHECK;
int idmap_lookup(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq) CU_MUST_CHECK;
/* Removes keys whose seq >= from (used when the log is shorter). */
int idmap_forget_from(struct idmap *m, uint64_t from, struct cu_err *err) CU_MUST_CHECK;
/* A batch: begin, inserts, then commit (its keys now reflect hwm log
 * records) or rollback (its keys are undone). Committed batches reach the
 * database file about once a second (idmap.c); idmap_flush forces that.
 * idmap_hwm is what the file holds. idmap_rollback returns -1 when more
 * than the batch was undone: the keys after idmap_hwm must be replayed. */
int idmap_commit(struct idmap *m, uint64_t hwm, struct cu_err *err) CU_MUST_CHECK;
int idmap_rollback(struct idmap *m) CU_MUST_CHECK;
int idmap_flush(struct idmap *m, struct cu_err *err) CU_MUST_CHECK;

#endif
