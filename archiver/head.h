/* head.h - DIR/head: a lower bound on the log, rewritten in place after
 * every durable commit (without its own fsync: it is written only after
 * the segment's fsync, so it never claims more than is durable). Recovery
 * and verify compare the log against it, so that acknowledged records cut
 * from the end of the active segment are noticed.
 *
 * Format: two 88-byte slots, written alternately (a writer starts with
 * the slot that does not hold the newest state) so that a torn write can
 * only damage the older one; each slot is
 *   "CUHEAD02" | size u64 BE | chain value (32) | tree head at size (32) |
 *   first 8 bytes of SHA-256 of the preceding 80 bytes.
 * The valid slot with the larger size counts. The tree head lets an opener
 * check the derived tree files up to size in O(log n) instead of
 * rebuilding them from the log.
 */
#ifndef CUSTOS_ARCHIVER_HEAD_H
#define CUSTOS_ARCHIVER_HEAD_H

#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

#define HEAD_SLOT_LEN 88

struct head_state {
	uint64_t size;            /* records acknowledged */
	uint8_t chain[HASH_LEN];  /* chain value after record size-1 */
	uint8_t root[HASH_LEN];   /* Merkle tree head at size */
	int slot;                 /* head_read: the slot it came from */
};

/* Reads DIR/head: 0, CU_ENOTFOUND if absent, CU_ECORRUPT if damaged. */
int head_read(const char *dir, struct head_state *h, struct cu_err *err) CU_MUST_CHECK;
/* Encodes one slot. */
void head_encode(const struct head_state *h, uint8_t out[HEAD_SLOT_LEN]);
/* Writes the head into slot (0 or 1) through an open fd (no fsync). */
int head_write(int fd, int slot, const struct head_state *h, struct cu_err *err) CU_MUST_CHECK;

#endif
