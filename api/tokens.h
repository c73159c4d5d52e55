/* tokens.h - bearer tokens and roles (docs/API.md "Tokens").
 *
 * A token is "cst_" followed by 43 base64url characters (32 random bytes).
 * It is shown once when created; DIR/tokens.json keeps only the SHA-256 of
 * the whole token text, its name, role, ingest source and creation time:
 *
 *   {"version": 1, "tokens": [
 *     {"name": "alice", "role": "officer", "sha256": "<64 hex>",
 *      "created": "2024-05-01T12:00:00.000Z"},
 *     {"name": "synapse", "role": "ingest", "source": "matrix-main", ...}]}
 *
 * The file is replaced atomically (fio_atomic_replace, mode 0600) under an
 * exclusive lock on DIR/tokens.lock, so that concurrent `custos token`
 * commands and the daemon's admin endpoints do not lose each other's
 * changes. Lookups hash the presented token and compare with every entry
 * in constant time (CRYPTO_memcmp).
 *
 * Threads: a struct tok_set is plain data owned by its loader; the
 * daemon replaces its set on reload under srv->lock (api_int.h) and
 * looks tokens up under the same lock.
 */
#ifndef CUSTOS_API_TOKENS_H
#define CUSTOS_API_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

#define TOK_PREFIX "cst_"
#define TOK_RANDOM_BYTES 32
#define TOK_TEXT_MAX 64      /* "cst_" + 43 base64url + NUL fits */
#define TOK_NAME_MAX 64      /* names and sources: [A-Za-z0-9._@:-]{1,64} */
#define TOK_MAX_ENTRIES 4096 /* cap on tokens in the file */
#define TOK_FILE_MAX (4u << 20)

/* Roles, as bits so that a route can allow several. */
#define ROLE_INGEST  0x1u    /* may only ingest, as its own source */
#define ROLE_OFFICER 0x2u    /* search, records, context */
#define ROLE_AUDITOR 0x4u    /* audit trail, checkpoints, proofs, verification */
#define ROLE_ADMIN   0x8u    /* tokens and policies */
#define ROLE_PERSON  (ROLE_OFFICER | ROLE_AUDITOR | ROLE_ADMIN)

struct tok_entry {
	char name[TOK_NAME_MAX + 1];    /* unique, names the person or hook */
	unsigned role;                  /* exactly one ROLE_* bit */
	char source[TOK_NAME_MAX + 1];  /* ingest only: the source it ingests as */
	uint8_t hash[HASH_LEN];         /* SHA-256 of the token text */
	int64_t created_ms;             /* creation time, ms since the epoch */
};

struct tok_set {
	struct tok_entry *v;            /* entries, in file order */
	size_t n;
};

/* "admin", "officer", "auditor", "ingest" <-> ROLE_*; 0 / NULL if unknown. */
unsigned tok_role_from_name(const char *name);
const char *tok_role_name(unsigned role);
/* 1 if s is a valid token name or source name. */
int tok_name_valid(const char *s);

/* Loads DIR/tokens.json; a missing file is an empty set. */
int tok_load(const char *dir, struct tok_set *out, struct cu_err *err) CU_MUST_CHECK;
void tok_set_release(struct tok_set *s);

/* Finds the entry whose hash matches the presented token (len bytes), or
 * NULL. Every entry is compared, in constant time. */
const struct tok_entry *tok_lookup(const struct tok_set *s, const char *token, size_t len);

/* Creates a token: CU_EEXIST if the name is taken, CU_EINVAL for a bad
 * name/role/source (source required for ingest, refused otherwise).
 * Writes the token text (shown once) to token_out. */
int tok_add(const char *dir, const char *name, unsigned role, const char *source,
	    char token_out[TOK_TEXT_MAX], struct cu_err *err) CU_MUST_CHECK;

/* Removes the token called name; CU_ENOTFOUND if there is none. */
int tok_revoke(const char *dir, const char *name, struct cu_err *err) CU_MUST_CHECK;

#endif
