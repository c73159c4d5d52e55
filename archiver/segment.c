/* segment.c - encode and check segment headers, frame headers, seals. */
#include "archiver/segment.h"

#include <stdio.h>
#include <string.h>

#include "common/bytes.h"

void seg_header_encode(const struct seg_header *h, uint8_t out[SEG_HEADER_LEN])
{
	uint8_t digest[HASH_LEN];

	memset(out, 0, SEG_HEADER_LEN);
	memcpy(out, SEG_MAGIC, 8);
	put_be32(out + 8, 1);                 /* format version */
	put_be32(out + 12, SEG_HEADER_LEN);
	put_be64(out + 16, h->segment_no);
	put_be64(out + 24, h->first_seq);
	put_be64(out + 32, (uint64_t)h->created_ms);
	memcpy(out + 40, h->prev_seal, HASH_LEN);
	memcpy(out + 72, h->prev_chain, HASH_LEN);
	/* Header checksum: first 16 bytes of SHA-256 of bytes 0..103. A
	 * failure of SHA-256 leaves zeros, which decode then rejects. */
	if (hash_sha256(out, 104, digest) == 0)
		memcpy(out + 104, digest, 16);
}

int seg_header_decode(const uint8_t in[SEG_HEADER_LEN], struct seg_header *h, struct cu_err *err)
{
	uint8_t digest[HASH_LEN];

	if (memcmp(in, SEG_MAGIC, 8) != 0)
		return cu_err_set(err, CU_ECORRUPT, "segment header: bad magic");
	if (get_be32(in + 8) != 1 || get_be32(in + 12) != SEG_HEADER_LEN)
		return cu_err_set(err, CU_ECORRUPT, "segment header: unknown version %u",
				  get_be32(in + 8));
	if (hash_sha256(in, 104, digest) != 0 || memcmp(digest, in + 104, 16) != 0)
		return cu_err_set(err, CU_ECORRUPT, "segment header: checksum mismatch");
	h->segment_no = get_be64(in + 16);
	h->first_seq = get_be64(in + 24);
	h->created_ms = (int64_t)get_be64(in + 32);
	memcpy(h->prev_seal, in + 40, HASH_LEN);
	memcpy(h->prev_chain, in + 72, HASH_LEN);
	return 0;
}

/* The frame checksum: first 16 bytes of SHA-256(header bytes 0..31 ||
 * SHA-256(comp)). Hashing the payload's digest rather than the payload
 * avoids copying the payload next to the header. */
static int frame_sum(const uint8_t hdr[SEG_FRAME_HDR_LEN], const uint8_t *comp, size_t comp_len,
		     uint8_t out[16])
{
	uint8_t both[32 + HASH_LEN];
	uint8_t digest[HASH_LEN];
	int rc;

	memcpy(both, hdr, 32);
	rc = hash_sha256(comp, comp_len, both + 32);
	if (rc == 0)
		rc = hash_sha256(both, sizeof(both), digest);
	if (rc == 0)
		memcpy(out, digest, 16);
	return rc;
}

int seg_frame_hdr_encode(const struct seg_frame_hdr *fh, const uint8_t *comp,
			 uint8_t out[SEG_FRAME_HDR_LEN])
{
	memset(out, 0, SEG_FRAME_HDR_LEN);
	memcpy(out, SEG_FRAME_MAGIC, 4);
	out[4] = 1;            /* frame version */
	out[5] = fh->flags;
	put_be32(out + 8, fh->comp_len);
	put_be32(out + 12, fh->raw_len);
	put_be64(out + 16, fh->first_seq);
	put_be32(out + 24, fh->count);
	return frame_sum(out, comp, fh->comp_len, out + 32);
}

int seg_frame_hdr_decode(const uint8_t in[SEG_FRAME_HDR_LEN], struct seg_frame_hdr *fh,
			 struct cu_err *err)
{
	if (memcmp(in, SEG_FRAME_MAGIC, 4) != 0)
		return cu_err_set(err, CU_ECORRUPT, "frame: bad magic");
	if (in[4] != 1)
		return cu_err_set(err, CU_ECORRUPT, "frame: unknown version %u", in[4]);
	fh->flags = in[5];
	fh->comp_len = get_be32(in + 8);
	fh->raw_len = get_be32(in + 12);
	fh->first_seq = get_be64(in + 16);
	fh->count = get_be32(in + 24);
	if (fh->comp_len == 0 || fh->comp_len > SEG_FRAME_MAX_COMP ||
	    fh->raw_len > SEG_FRAME_MAX_RAW || fh->count == 0 || fh->count > SEG_FRAME_MAX_COUNT)
		return cu_err_set(err, CU_ECORRUPT,
				  "frame: sizes out of range (compressed %u, raw %u, count %u)",
				  fh->comp_len, fh->raw_len, fh->count);
	return 0;
}

int seg_frame_check(const uint8_t hdr[SEG_FRAME_HDR_LEN], const uint8_t *comp, size_t comp_len)
{
	uint8_t sum[16];

	if (frame_sum(hdr, comp, comp_len, sum) != 0)
		return CU_ECRYPTO;
	return memcmp(sum, hdr + 32, 16) == 0 ? 0 : CU_ECORRUPT;
}

void seg_seal_encode(const struct seg_seal *s, uint8_t out[SEG_SEAL_LEN])
{
	memset(out, 0, SEG_SEAL_LEN);
	memcpy(out, SEG_SEAL_MAGIC, 8);
	put_be64(out + 8, s->segment_no);
	put_be64(out + 16, s->first_seq);
	put_be64(out + 24, s->count);
	put_be64(out + 32, (uint64_t)s->sealed_ms);
	memcpy(out + 40, s->header_hash, HASH_LEN);
	memcpy(out + 72, s->last_chain, HASH_LEN);
	put_be64(out + 104, s->tree_size);
	memcpy(out + 112, s->tree_root, HASH_LEN);
	/* bytes 144..199 reserved (zero) */
	memcpy(out + SEG_SEAL_SIGNED_LEN, s->sig, 64);
}

int seg_seal_decode(const uint8_t in[SEG_SEAL_LEN], struct seg_seal *s, struct cu_err *err)
{
	size_t i;

	if (memcmp(in, SEG_SEAL_MAGIC, 8) != 0)
		return cu_err_set(err, CU_ECORRUPT, "seal: bad magic");
	for (i = 144; i < SEG_SEAL_SIGNED_LEN; i++)
		if (in[i])
			return cu_err_set(err, CU_ECORRUPT, "seal: reserved bytes not zero");
	s->segment_no = get_be64(in + 8);
	s->first_seq = get_be64(in + 16);
	s->count = get_be64(in + 24);
	s->sealed_ms = (int64_t)get_be64(in + 32);
	memcpy(s->header_hash, in + 40, HASH_LEN);
	memcpy(s->last_chain, in + 72, HASH_LEN);
	s->tree_size = get_be64(in + 104);
	memcpy(s->tree_root, in + 112, HASH_LEN);
	memcpy(s->sig, in + SEG_SEAL_SIGNED_LEN, 64);
	return 0;
}

void seg_stub_encode(uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t chain[HASH_LEN],
		     uint64_t deletion_seq, uint8_t out[SEG_STUB_LEN])
{
	put_be64(out, seq);
	memcpy(out + 8, leaf, HASH_LEN);
	memcpy(out + 40, chain, HASH_LEN);
	put_be64(out + 72, deletion_seq);
}

void seg_stub_decode(const uint8_t in[SEG_STUB_LEN], uint64_t *seq, uint8_t leaf[HASH_LEN],
		     uint8_t chain[HASH_LEN], uint64_t *deletion_seq)
{
	*seq = get_be64(in);
	memcpy(leaf, in + 8, HASH_LEN);
	memcpy(chain, in + 40, HASH_LEN);
	*deletion_seq = get_be64(in + 72);
}

void seg_file_name(uint64_t segment_no, char *out, size_t outlen)
{
	snprintf(out, outlen, "seg-%08llu.cseg", (unsigned long long)segment_no);
}

int seg_parse_name(const char *name, uint64_t *no)
{
	unsigned long long v;
	int n = 0;

	if (sscanf(name, "seg-%8llu.cseg%n", &v, &n) != 1 || n != 17 || name[n] != '\0')
		return CU_EINVAL;
	*no = v;
	return 0;
}
