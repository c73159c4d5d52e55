/* verify.h - `custos verify`: recompute everything from the bytes on disk.
 *
 * Reads the segment files directly (it trusts no state of the store):
 * segment headers and their links to the previous seal and chain value,
 * every frame's checksum and decompression, every record's seq, leaf hash
 * and chain value, the Merkle tree over all leaves, every seal's fields and
 * Ed25519 signature, and the head file's lower bound on the log. Stops at
 * the first mismatch and names the segment, frame offset and seq, and why.
 *
 * Derived files are checked too, but apart: the persisted subtree hashes
 * (tree/, against the tree recomputed from the log) and the duplicate
 * map's run files (idmap/, their checksums). A damaged derived file loses
 * no evidence (it is rebuilt from the segments when the archive is next
 * opened), so it does not make the log "not intact": it is reported in
 * derived_damaged / derived_reason.
 *
 * Contract:
 * - Threads: runs on the caller's thread, with a pool of worker threads
 *   (verify_pool.h) that it starts and stops before returning; progress
 *   is called on the caller's thread. It shares no state with a struct
 *   store and takes no lock in the data directory.
 * - Durability: reads only; never writes to the data directory.
 * - Format: frames are read through the frame codec (frame.h), as the
 *   store reads them; what is checked is listed in docs/FORMAT.md "What
 *   `custos verify` checks".
 */
#ifndef CUSTOS_ARCHIVER_VERIFY_H
#define CUSTOS_ARCHIVER_VERIFY_H

#include <limits.h>
#include <openssl/evp.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

struct verify_result {
	int intact;                  /* 1 when everything matched */
	uint64_t segments;           /* segment files checked */
	uint64_t sealed;             /* of which sealed */
	uint64_t frames;             /* frames checked */
	uint64_t records;            /* records (including stubs) checked */
	uint64_t stubs;              /* deleted records (stubs) seen */
	uint64_t bytes;              /* segment bytes read */
	uint8_t root[HASH_LEN];      /* tree head over all records */
	uint64_t torn_bytes;         /* unacknowledged torn tail after a crash (cut on next open) */
	int encrypted;               /* the archive is encrypted at rest */
	uint64_t unread_records;     /* encrypted, no key: records checked by stored leaf hash only */
	/* Where the first mismatch is (when !intact). */
	char segment[256];           /* segment file name, or "" */
	int64_t frame_offset;        /* offset of the frame in it, or -1 */
	int64_t seq;                 /* seq concerned, or -1 */
	char reason[512];            /* what does not match */
	/* Derived files (tree/, idmap/) that do not match the log or their
	 * checksum; checked when the log is intact. */
	unsigned derived_damaged;
	char derived_reason[512];    /* the first of them */
};

/* progress(ctx, bytes_done, bytes_total) is called now and then. */
typedef void (*verify_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Verifies the archive in dir. Returns 0 when the check could run (see
 * res->intact), negative when it could not start (no archive, no key). */
int verify_archive(const char *dir, struct verify_result *res, verify_progress_fn progress,
		   void *ctx, struct cu_err *err) CU_MUST_CHECK;
/* The same with an explicit key-encryption key file for an encrypted
 * archive (NULL: $CUSTOS_KEK_FILE or "kek_file" in custos.json). Without
 * any key, an encrypted archive's frames, chain, tree and seals are still
 * checked through the leaf hashes stored beside the ciphertext; the
 * records themselves are not (res->unread_records counts them). */
int verify_archive_kek(const char *dir, const char *kek_file, struct verify_result *res,
		       verify_progress_fn progress, void *ctx, struct cu_err *err) CU_MUST_CHECK;

#endif
