/* frame.h - the frame codec: a frame as stored in a segment (header, then
 * zstd-compressed entries, the records' salts after the last entry,
 * optionally encrypted) to and from its entries. The bytes are described
 * in docs/FORMAT.md "Frame (48-byte header + compressed entries)" and
 * "Encryption at rest"; the frame header itself is segment.h's.
 *
 * Contract:
 * - Threads: no state of its own; every function works on the buffers it
 *   is given, so any number of threads may call it at once, each with its
 *   own buffers (and, for frame_build, its own ZSTD_CCtx).
 * - Durability: none here. frame_read reads with pread on an fd the
 *   caller opened; frame_build and frame_wrap only produce bytes, which
 *   the caller writes and fsyncs (store.c, store_erase.c).
 * - Ownership: the caller owns every buffer. Entries (struct frame_entry)
 *   point into a buffer the caller passed and are valid until it is reset,
 *   grown or released. Nothing is allocated that outlives a call, except
 *   what a struct frame_prefix holds until frame_prefix_release.
 * - Checks: frame_read checks the header, the caps (SEG_FRAME_MAX_*) and
 *   the checksum before anything else, and never allocates more than the
 *   caps allow, whatever the bytes say: it is safe on hostile input.
 */
#ifndef CUSTOS_ARCHIVER_FRAME_H
#define CUSTOS_ARCHIVER_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "archiver/crypt.h"
#include "archiver/hash.h"
#include "archiver/record.h"
#include "archiver/segment.h"
#include "common/buf.h"
#include "common/error.h"

/* Where a record's salt sits in its bytes. Frames store records without
 * their salt, and all salts together after the last entry, because random
 * bytes in the middle of each record would break zstd's matches between
 * neighbouring records (docs/FORMAT.md "Frame"). */
#define FRAME_SALT_AT (REC_HEADER_LEN - REC_SALT_LEN)

/* One entry of a decompressed frame. */
struct frame_entry {
	int type;                /* SEG_ENTRY_RECORD or SEG_ENTRY_STUB */
	const uint8_t *p;        /* entry bytes */
	size_t len;
};

/* ---- reading ------------------------------------------------------------ */

/* Reads, checks (checksum, caps), decrypts (with key, for an encrypted
 * frame) and decompresses the frame at off of the file path (open as fd)
 * into raw; limit is where the frame must end. comp keeps the stored
 * payload: for an encrypted frame its first count*32 bytes are the
 * records' leaf hashes. An encrypted frame without key: CU_ESTATE after
 * the checksum was checked. raw NULL: only read and check header, caps and
 * checksum. */
int frame_read(const char *path, int fd, uint64_t off, uint64_t limit,
	       struct seg_frame_hdr *fh, struct buf *comp, struct buf *raw,
	       const struct crypt_key *key, struct cu_err *err) CU_MUST_CHECK;
/* frame_read's first half, for a caller that decompresses by itself (a
 * store_reader, block by block): reads and checks the frame into comp,
 * decrypts an encrypted one into plain, and points *z, *zlen at the zstd
 * bytes (in comp or plain), whose declared size matches the header's. */
int frame_read_payload(const char *path, int fd, uint64_t off, uint64_t limit,
		       struct seg_frame_hdr *fh, struct buf *comp, struct buf *plain,
		       const struct crypt_key *key, const uint8_t **z, size_t *zlen,
		       struct cu_err *err) CU_MUST_CHECK;
/* Splits a decompressed frame into at most max entries; record entries are
 * reassembled (salt back in place) into recs, which the entries point into. */
int frame_entries(const struct seg_frame_hdr *fh, const struct buf *raw, struct buf *recs,
		  struct frame_entry *out, size_t max, struct cu_err *err) CU_MUST_CHECK;

/* ---- writing ------------------------------------------------------------ */

/* Adds an entry to a frame being built: record bytes go to raw without
 * their salt, the salt to salts; the frame is raw followed by salts. */
int frame_add(struct buf *raw, struct buf *salts, int type, const uint8_t *p, size_t len) CU_MUST_CHECK;
/* Builds a whole frame (header and payload) from entries in raw into out:
 * zstd at level, then, with key, AES-256-GCM with the leaf hashes in the
 * clear before the box (docs/FORMAT.md "Encryption at rest"). scratch
 * holds the compressed entries meanwhile. */
int frame_build(ZSTD_CCtx *cctx, int level, const struct crypt_key *key, const struct buf *raw,
		const uint8_t (*leaves)[HASH_LEN], uint64_t first_seq, uint32_t count,
		struct buf *scratch, struct buf *out, struct cu_err *err) CU_MUST_CHECK;
/* The same from entries already compressed (comp: one zstd frame of
 * raw_len bytes of entries). */
int frame_wrap(const struct crypt_key *key, const struct buf *comp, size_t raw_len,
	       const uint8_t (*leaves)[HASH_LEN], uint64_t first_seq, uint32_t count,
	       struct buf *out, struct cu_err *err) CU_MUST_CHECK;

/* ---- a frame decompressed as far as needed ------------------------------ */

/* The decompressed part of a frame: all of it, or (read by a
 * store_reader) its first entries. Records are not reassembled: their
 * salts follow the last entry, so a prefix has none, and a complete frame
 * puts a record's salt back when it is copied out (frame_prefix_copy). */
struct frame_prefix {
	struct buf raw;              /* decompressed bytes so far */
	struct frame_entry *ents;    /* parsed entries, pointing into raw (records without salt) */
	uint32_t *recno;             /* per entry: its number among the frame's records */
	size_t nents;                /* entries parsed */
	size_t ents_alloc;
	size_t parse_off;            /* raw offset of the next entry */
	uint32_t nrec;               /* records among the parsed entries */
	int complete;                /* the whole frame is in raw: salts are at salts_at */
	size_t salts_at;
};

/* Readies pf to parse the entries of a frame of fh (keeps the memory it
 * has; raw is left as it is). CU_ENOMEM when out of memory. */
int frame_prefix_entries(struct frame_prefix *pf, const struct seg_frame_hdr *fh) CU_MUST_CHECK;
/* Readies pf for a frame of fh that is yet to be decompressed into raw. */
int frame_prefix_start(struct frame_prefix *pf, const struct seg_frame_hdr *fh) CU_MUST_CHECK;
/* Parses the entries whose bytes are in pf->raw, from the first not yet
 * parsed; done says raw holds the whole frame (then every entry and the
 * salts after them must be there). */
int frame_prefix_parse(struct frame_prefix *pf, const struct seg_frame_hdr *fh, int done,
		       struct cu_err *err) CU_MUST_CHECK;
/* Copies entry i of pf into out as record bytes: with its salt when the
 * frame is complete, else with zeros there. */
int frame_prefix_copy(const struct frame_prefix *pf, size_t i, struct buf *out,
		      struct cu_err *err) CU_MUST_CHECK;
/* Frees what pf holds and zeroes it. */
void frame_prefix_release(struct frame_prefix *pf);

#endif
