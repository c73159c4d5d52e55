/* hash.c - SHA-256 via EVP with one fetched EVP_MD and a per-thread context,
 * so that hashing millions of small records does not pay for a fetch and a
 * context allocation each time. */
#include "archiver/hash.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *sha256_md;            /* fetched once, never freed */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key;        /* per-thread EVP_MD_CTX, freed at thread exit */

static void ctx_destroy(void *p)
{
	EVP_MD_CTX_free(p);
}

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (pthread_key_create(&ctx_key, ctx_destroy) != 0) {
		EVP_MD_free(sha256_md);
		sha256_md = NULL;
	}
}

static EVP_MD_CTX *ctx_get(void)
{
	EVP_MD_CTX *ctx;

	pthread_once(&sha256_once, fetch_sha256);
	if (!sha256_md)
		return NULL;
	ctx = pthread_getspecific(ctx_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || pthread_setspecific(ctx_key, ctx) != 0) {
			EVP_MD_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* Hashes up to three pieces in order. */
static int digest3(const void *a, size_t alen, const void *b, size_t blen,
		   const void *c, size_t clen, uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *ctx = ctx_get();

	if (!ctx || !EVP_DigestInit_ex2(ctx, sha256_md, NULL))
		return CU_ECRYPTO;
	if ((alen && !EVP_DigestUpdate(ctx, a, alen)) ||
	    (blen && !EVP_DigestUpdate(ctx, b, blen)) ||
	    (clen && !EVP_DigestUpdate(ctx, c, clen)) ||
	    !EVP_DigestFinal_ex(ctx, out, NULL))
		return CU_ECRYPTO;
	return 0;
}

int hash_sha256(const void *data, size_t len, uint8_t out[HASH_LEN])
{
	return digest3(data, len, NULL, 0, NULL, 0, out);
}

int hash_leaf(const void *data, size_t len, uint8_t out[HASH_LEN])
{
	static const uint8_t prefix = 0x00;

	return digest3(&prefix, 1, data, len, NULL, 0, out);
}

int hash_node(const uint8_t left[HASH_LEN], const uint8_t right[HASH_LEN], uint8_t out[HASH_LEN])
{
	static const uint8_t prefix = 0x01;

	return digest3(&prefix, 1, left, HASH_LEN, right, HASH_LEN, out);
}

int hash_chain(const uint8_t prev[HASH_LEN], const uint8_t leaf[HASH_LEN], uint8_t out[HASH_LEN])
{
	return digest3(prev, HASH_LEN, leaf, HASH_LEN, NULL, 0, out);
}

int hash_stream_init(struct hash_stream *h)
{
	EVP_MD_CTX *ctx;

	h->ctx = NULL;
	pthread_once(&sha256_once, fetch_sha256);
	if (!sha256_md)
		return CU_ECRYPTO;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return CU_ENOMEM;
	if (!EVP_DigestInit_ex2(ctx, sha256_md, NULL)) {
		EVP_MD_CTX_free(ctx);
		return CU_ECRYPTO;
	}
	h->ctx = ctx;
	return 0;
}

int hash_stream_update(struct hash_stream *h, const void *data, size_t len)
{
	if (!h->ctx)
		return CU_ECRYPTO;
	return !len || EVP_DigestUpdate(h->ctx, data, len) ? 0 : CU_ECRYPTO;
}

int hash_stream_final(struct hash_stream *h, uint8_t out[HASH_LEN])
{
	int ok = h->ctx && EVP_DigestFinal_ex(h->ctx, out, NULL);

	hash_stream_free(h);
	return ok ? 0 : CU_ECRYPTO;
}

void hash_stream_free(struct hash_stream *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}
