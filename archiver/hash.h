/* hash.h - SHA-256 through OpenSSL 3 EVP, and the three hashes the archive
 * is built from (docs/FORMAT.md "Hashes"):
 *   leaf  = SHA-256(0x00 || record bytes)        RFC 9162 leaf hash
 *   node  = SHA-256(0x01 || left || right)       RFC 9162 interior node
 *   chain = SHA-256(chain_prev || leaf)          the per-record hash chain
 * The digest implementation is fetched once per thread-safe context; these
 * functions can be called from any thread.
 */
#ifndef CUSTOS_ARCHIVER_HASH_H
#define CUSTOS_ARCHIVER_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define HASH_LEN 32

int hash_sha256(const void *data, size_t len, uint8_t out[HASH_LEN]) CU_MUST_CHECK;
int hash_leaf(const void *data, size_t len, uint8_t out[HASH_LEN]) CU_MUST_CHECK;
int hash_node(const uint8_t left[HASH_LEN], const uint8_t right[HASH_LEN], uint8_t out[HASH_LEN]) CU_MUST_CHECK;
int hash_chain(const uint8_t prev[HASH_LEN], const uint8_t leaf[HASH_LEN], uint8_t out[HASH_LEN]) CU_MUST_CHECK;

/* SHA-256 over pieces that arrive one after another (the checksum of a
 * derived file as it is written or read back). Owned by one thread at a
 * time; hash_stream_final also frees, hash_stream_free frees without a
 * result (both may be called on a stream whose init failed). */
struct hash_stream {
	void *ctx; /* EVP_MD_CTX */
};
int hash_stream_init(struct hash_stream *h) CU_MUST_CHECK;
int hash_stream_update(struct hash_stream *h, const void *data, size_t len) CU_MUST_CHECK;
int hash_stream_final(struct hash_stream *h, uint8_t out[HASH_LEN]) CU_MUST_CHECK;
void hash_stream_free(struct hash_stream *h);

#endif
