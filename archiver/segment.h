/* segment.h - the byte formats of a segment file (docs/FORMAT.md):
 *
 *   segment = header (120 bytes) frame* [seal (264 bytes)]
 *   frame   = frame header (48 bytes) zstd-compressed entries
 *   entry   = type (1) | length (4, BE) | bytes   type 0 record, 1 stub
 *
 * These functions only encode and check bytes; the store decides what to
 * write where. All integers are big-endian.
 */
#ifndef CUSTOS_ARCHIVER_SEGMENT_H
#define CUSTOS_ARCHIVER_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

#define SEG_HEADER_LEN 120
#define SEG_FRAME_HDR_LEN 48
#define SEG_SEAL_LEN 264
#define SEG_FRAME_MAX_RAW (32u << 20)  /* cap on a frame's decompressed size */
#define SEG_FRAME_MAX_COMP (33u << 20) /* cap on a frame's compressed size */
#define SEG_FRAME_MAX_COUNT 1000000u   /* cap on records per frame */
#define SEG_ENTRY_RECORD 0
#define SEG_ENTRY_STUB 1
#define SEG_STUB_LEN 80                /* seq 8 | leaf 32 | chain 32 | deletion seq 8 */

#define SEG_FRAME_F_ZSTD 0x01       /* payload is zstd (always set) */
#define SEG_FRAME_F_ENCRYPTED 0x02  /* payload is leaf hashes + AES-256-GCM box */

#define SEG_MAGIC "CUSTOSEG"
#define SEG_FRAME_MAGIC "CUFR"
#define SEG_SEAL_MAGIC "CUSEAL01"

struct seg_header {
	uint64_t segment_no;            /* 1, 2, 3 ... in log order */
	uint64_t first_seq;             /* seq of the first record in this segment */
	int64_t created_ms;             /* when the segment was started (for age rotation) */
	uint8_t prev_seal[HASH_LEN];    /* SHA-256 of the previous segment's seal; zeros for the first */
	uint8_t prev_chain[HASH_LEN];   /* chain value before first_seq; zeros at genesis */
};

struct seg_frame_hdr {
	uint32_t comp_len;   /* bytes of compressed entries after the header */
	uint32_t raw_len;    /* bytes after decompression (<= SEG_FRAME_MAX_RAW) */
	uint64_t first_seq;  /* seq of the first entry */
	uint32_t count;      /* number of entries */
	uint8_t flags;       /* SEG_FRAME_F_* */
};

struct seg_seal {
	uint64_t segment_no;
	uint64_t first_seq;
	uint64_t count;                  /* records in this segment */
	int64_t sealed_ms;
	uint8_t header_hash[HASH_LEN];   /* SHA-256 of this segment's 120-byte header */
	uint8_t last_chain[HASH_LEN];    /* chain value after the last record */
	uint64_t tree_size;              /* = first_seq + count */
	uint8_t tree_root[HASH_LEN];     /* Merkle tree head at tree_size */
	uint8_t sig[64];                 /* Ed25519 over the first 200 bytes of the seal */
};

void seg_header_encode(const struct seg_header *h, uint8_t out[SEG_HEADER_LEN]);
int seg_header_decode(const uint8_t in[SEG_HEADER_LEN], struct seg_header *h, struct cu_err *err) CU_MUST_CHECK;

/* Encodes the header for a frame whose compressed bytes are comp; the
 * checksum covers the header fields and comp. */
int seg_frame_hdr_encode(const struct seg_frame_hdr *fh, const uint8_t *comp,
			 uint8_t out[SEG_FRAME_HDR_LEN]) CU_MUST_CHECK;
/* Decodes and sanity-checks a frame header (magic, caps); does not check
 * the checksum, which needs the payload: see seg_frame_check. */
int seg_frame_hdr_decode(const uint8_t in[SEG_FRAME_HDR_LEN], struct seg_frame_hdr *fh,
			 struct cu_err *err) CU_MUST_CHECK;
/* 0 if the checksum in hdr matches the header fields and comp. */
int seg_frame_check(const uint8_t hdr[SEG_FRAME_HDR_LEN], const uint8_t *comp, size_t comp_len) CU_MUST_CHECK;

/* The seal's signed part (first 200 bytes) and its full encoding. */
#define SEG_SEAL_SIGNED_LEN 200
void seg_seal_encode(const struct seg_seal *s, uint8_t out[SEG_SEAL_LEN]);
int seg_seal_decode(const uint8_t in[SEG_SEAL_LEN], struct seg_seal *s, struct cu_err *err) CU_MUST_CHECK;

/* Stub entries: what remains of a deleted record. */
void seg_stub_encode(uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t chain[HASH_LEN],
		     uint64_t deletion_seq, uint8_t out[SEG_STUB_LEN]);
void seg_stub_decode(const uint8_t in[SEG_STUB_LEN], uint64_t *seq, uint8_t leaf[HASH_LEN],
		     uint8_t chain[HASH_LEN], uint64_t *deletion_seq);

/* Segment file name for a segment number: "seg-%08llu.cseg". */
void seg_file_name(uint64_t segment_no, char *out, size_t outlen);
/* Parses a segment file name; 0 and *no on success. */
int seg_parse_name(const char *name, uint64_t *no);

#endif
