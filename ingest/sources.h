/* sources.h - the ingest sources (messenger hooks) and how each one
 * authenticates what it sends (docs/INTEGRATIONS.md "Sources").
 *
 * DIR/sources.json, mode 0600, replaced atomically (fio_atomic_replace)
 * under an exclusive lock on DIR/sources.lock so that concurrent `custos
 * source` / `custos matrix-registration` commands do not lose each other's
 * changes:
 *
 *   {"version": 1, "sources": [
 *     {"name": "synapse", "type": "matrix", "created": "...",
 *      "hs_token_sha256": "<64 hex>", "as_id": "custos", "url": "..."},
 *     {"name": "prosody", "type": "xmpp", "created": "...",
 *      "hmac_secret": "<text>"},
 *     {"name": "threema", "type": "threema", "created": "...",
 *      "identity": "*ABCDEFG", "api_secret": "<text>",
 *      "private_key": "<64 hex>", "peer_keys": {"ECHOECHO": "<64 hex>"}},
 *     {"name": "partner", "type": "generic", "created": "...",
 *      "ed25519_public_key": "<64 hex>"}  (or "hmac_secret")]}
 *
 * Why secrets are kept in clear: an HMAC can only be checked with the
 * secret itself, and the Threema box can only be opened with the
 * gateway's private key. The Matrix hs_token is only compared, so only its
 * SHA-256 is kept. Every comparison of a presented secret is constant-time
 * (CRYPTO_memcmp) and visits every candidate.
 *
 * ingest/ knows nothing of HTTP: the api/ handlers load the set and
 * call the verifiers below.
 */
#ifndef CUSTOS_INGEST_SOURCES_H
#define CUSTOS_INGEST_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

#define SRC_NAME_MAX 64          /* names: [A-Za-z0-9._@:-]{1,64} */
#define SRC_SECRET_MAX 256       /* HMAC secrets and API secrets, bytes */
#define SRC_MAX_ENTRIES 1024     /* cap on sources in the file */
#define SRC_MAX_PEERS 100000     /* cap on Threema peer keys of one source */
#define SRC_FILE_MAX (32u << 20) /* cap on sources.json */
#define SRC_KEY_LEN 32           /* Ed25519 / X25519 keys */
#define SRC_THREEMA_ID_LEN 8     /* Threema identities are 8 characters */

/* On disk as names ("matrix", "xmpp", "threema", "generic"). */
enum src_type {
	SRC_MATRIX = 1,  /* Matrix homeserver via the Application Service API */
	SRC_XMPP = 2,    /* Prosody with mod_custos */
	SRC_THREEMA = 3, /* Threema Gateway E2E callback */
	SRC_GENERIC = 4, /* POST /v1/ingest, optionally signed */
};

/* A sender public key known to a Threema source. */
struct src_peer {
	char id[SRC_THREEMA_ID_LEN + 1];  /* the Threema ID, NUL-terminated */
	uint8_t pub[SRC_KEY_LEN];         /* its Curve25519 public key */
};

struct src_entry {
	char name[SRC_NAME_MAX + 1];      /* unique; stored in every record as RF_SOURCE */
	enum src_type type;
	int64_t created_ms;               /* when it was added, ms since the epoch */
	/* matrix */
	int has_hs_token;                 /* 1: hs_token_sha256 is set */
	uint8_t hs_token_sha256[HASH_LEN];/* SHA-256 of the homeserver's hs_token */
	char as_id[SRC_NAME_MAX + 1];     /* the registration's id (informational) */
	char url[512];                    /* the URL given to the homeserver (informational) */
	/* xmpp, generic: HMAC-SHA256 key (the secret text's bytes) */
	size_t hmac_secret_len;           /* 0: no HMAC secret */
	char hmac_secret[SRC_SECRET_MAX + 1];
	/* generic: Ed25519 public key */
	int has_ed25519;
	uint8_t ed25519_pub[SRC_KEY_LEN];
	/* threema */
	char identity[SRC_THREEMA_ID_LEN + 1]; /* the gateway ID ("*ABCDEFG"), "" if not checked */
	size_t api_secret_len;
	char api_secret[SRC_SECRET_MAX + 1];   /* the Gateway API secret (MAC key) */
	int has_private_key;
	uint8_t private_key[SRC_KEY_LEN];      /* the gateway ID's Curve25519 private key */
	struct src_peer *peers;                /* sender public keys, sorted by id */
	size_t npeers;
};

struct src_set {
	struct src_entry *v;  /* entries in file order */
	size_t n;
};

const char *src_type_name(enum src_type t);
/* 0 if unknown. */
enum src_type src_type_from_name(const char *name);
int src_name_valid(const char *s);
/* 1 if s is a Threema ID: 8 characters of A-Z 0-9 and '*'. */
int src_threema_id_valid(const char *s);

/* Loads DIR/sources.json; a missing file is an empty set. */
int src_load(const char *dir, struct src_set *out, struct cu_err *err) CU_MUST_CHECK;
void src_set_release(struct src_set *s);
/* Wipes secrets and frees one entry's memory (not the struct itself). */
void src_entry_release(struct src_entry *e);
/* Deep copy (peers included). */
int src_entry_copy(struct src_entry *dst, const struct src_entry *src) CU_MUST_CHECK;

const struct src_entry *src_find(const struct src_set *s, const char *name);
/* The Matrix source whose hs_token is token (constant time over all). */
const struct src_entry *src_find_hs_token(const struct src_set *s, const char *token, size_t len);
/* The Threema peer key for id, or NULL. */
const struct src_peer *src_peer_find(const struct src_entry *e, const char *id);

/* Read-modify-write under DIR/sources.lock. add: CU_EEXIST if the name is
 * taken unless replace is set; remove: CU_ENOTFOUND if absent; peer:
 * sets (or replaces) a Threema sender's public key. */
int src_add(const char *dir, const struct src_entry *e, int replace, struct cu_err *err) CU_MUST_CHECK;
int src_remove(const char *dir, const char *name, struct cu_err *err) CU_MUST_CHECK;
int src_set_peer(const char *dir, const char *name, const char *id, const uint8_t pub[SRC_KEY_LEN],
		 struct cu_err *err) CU_MUST_CHECK;

/* HMAC-SHA256 through OpenSSL EVP_MAC. */
int src_hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
		    uint8_t out[HASH_LEN]) CU_MUST_CHECK;
/* Checks a hex HMAC-SHA256 of data under key, in constant time: 0 when it
 * matches, CU_EDENIED when not, CU_EINVAL when mac is not 64 hex digits. */
int src_check_hmac_hex(const void *key, size_t klen, const void *data, size_t len,
		       const char *mac_hex, size_t mac_len) CU_MUST_CHECK;
/* Verifies an Ed25519 signature (64 bytes) over data: 0, or CU_EDENIED. */
int src_check_ed25519(const uint8_t pub[SRC_KEY_LEN], const void *data, size_t len,
		      const uint8_t *sig, size_t siglen) CU_MUST_CHECK;

/* Random secret text: 43 base64url characters (32 random bytes). */
int src_random_secret(char out[48]) CU_MUST_CHECK;

#endif
