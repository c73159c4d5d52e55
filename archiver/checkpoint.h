/* checkpoint.h - signed tree heads in the C2SP signed-note checkpoint
 * format (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note):
 *
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n
 *   \n
 *   — <key name> <base64(key id (4 bytes) || Ed25519 signature (64))>\n
 *
 * The signature is over the note text (the first three lines, with their
 * newlines). key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 ||
 * 32-byte public key), per the signed-note spec for Ed25519.
 */
#ifndef CUSTOS_ARCHIVER_CHECKPOINT_H
#define CUSTOS_ARCHIVER_CHECKPOINT_H

#include <openssl/evp.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/error.h"

#define CKPT_MAX_LEN 4096 /* cap on a checkpoint note we parse */

struct checkpoint {
	char origin[256];          /* the log's origin line */
	uint64_t size;             /* tree size */
	uint8_t root[HASH_LEN];    /* tree head at that size */
};

/* Writes the signed note for c, signed by key under the name c->origin,
 * as a malloc'd NUL-terminated string. */
int ckpt_sign(const struct checkpoint *c, EVP_PKEY *key, char **note_out, struct cu_err *err) CU_MUST_CHECK;

/* Parses note and verifies that it carries a valid signature by pub under
 * the key name equal to its origin. Unknown extra signature lines from other
 * keys (witnesses) are allowed and ignored. */
int ckpt_verify(const char *note, size_t len, EVP_PKEY *pub, struct checkpoint *out,
		struct cu_err *err) CU_MUST_CHECK;

/* Parses note with the same strictness as ckpt_verify (syntax of every
 * line, signature lines included) but checks no signature: for builders
 * that must confirm a note matches the tree they prove against. Never use
 * the result as trusted. */
int ckpt_parse(const char *note, size_t len, struct checkpoint *out,
	       struct cu_err *err) CU_MUST_CHECK;

/* Like ckpt_verify, for logs whose key name differs from their origin
 * (e.g. sum.golang.org signs "go.sum database tree"). */
int ckpt_verify_named(const char *note, size_t len, EVP_PKEY *pub, const char *key_name,
		      struct checkpoint *out, struct cu_err *err) CU_MUST_CHECK;

/* The signed-note key id for (name, Ed25519 public key). */
int ckpt_key_id(const char *name, EVP_PKEY *pub, uint8_t out[4]) CU_MUST_CHECK;

#endif
