/* crypt.h - encryption at rest (optional per archive): frames encrypted
 * with AES-256-GCM under a data key (DEK) that is stored only wrapped, by a
 * key-encryption key (KEK) read from a file kept off the data disk.
 * docs/FORMAT.md "Encryption at rest" has the bytes.
 */
#ifndef CUSTOS_ARCHIVER_CRYPT_H
#define CUSTOS_ARCHIVER_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define CRYPT_KEY_LEN 32
#define CRYPT_NONCE_LEN 12
#define CRYPT_TAG_LEN 16

/* An unwrapped data key. */
struct crypt_key {
	uint8_t key[CRYPT_KEY_LEN];
};

/* Writes a new random KEK to path as 64 hex digits (mode 0600, refuses to
 * overwrite). */
int crypt_kek_generate(const char *path, struct cu_err *err) CU_MUST_CHECK;
int crypt_kek_load(const char *path, struct crypt_key *kek, struct cu_err *err) CU_MUST_CHECK;

/* Creates a DEK, wraps it with kek and writes DIR/keys/data.key. */
int crypt_dek_create(const char *dir, const struct crypt_key *kek, struct cu_err *err) CU_MUST_CHECK;
/* 1 if DIR/keys/data.key exists (the archive is encrypted), else 0. */
int crypt_archive_encrypted(const char *dir);
/* Unwraps DIR/keys/data.key with kek; CU_ECRYPTO for the wrong KEK. */
int crypt_dek_load(const char *dir, const struct crypt_key *kek, struct crypt_key *dek,
		   struct cu_err *err) CU_MUST_CHECK;
/* Finds the KEK for an encrypted archive: kek_path if given, else
 * $CUSTOS_KEK_FILE, else "kek_file" in DIR/custos.json; unwraps the DEK.
 * Returns CU_ENOTFOUND when no KEK is configured. */
int crypt_open(const char *dir, const char *kek_path, struct crypt_key *dek,
	       struct cu_err *err) CU_MUST_CHECK;

/* AES-256-GCM with a random nonce: out = nonce || ciphertext || tag. */
int crypt_seal(const struct crypt_key *k, const uint8_t *aad, size_t aadlen,
	       const uint8_t *in, size_t len, struct buf *out) CU_MUST_CHECK;
/* Opens what crypt_seal wrote into out; CU_ECRYPTO if it was changed. */
int crypt_open_box(const struct crypt_key *k, const uint8_t *aad, size_t aadlen,
		   const uint8_t *in, size_t len, struct buf *out) CU_MUST_CHECK;

#endif
