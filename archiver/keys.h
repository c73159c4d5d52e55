/* keys.h - the archive's Ed25519 signing key, through OpenSSL 3 EVP.
 * Private key: PKCS#8 PEM, mode 0600. Public key: SubjectPublicKeyInfo PEM.
 */
#ifndef CUSTOS_ARCHIVER_KEYS_H
#define CUSTOS_ARCHIVER_KEYS_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define KEY_SIG_LEN 64
#define KEY_PUB_LEN 32

/* Generates a new Ed25519 key and writes it to path (0600, refuses to
 * overwrite). */
int key_generate(const char *path, struct cu_err *err) CU_MUST_CHECK;
int key_load_private(const char *path, EVP_PKEY **out, struct cu_err *err) CU_MUST_CHECK;
/* Loads a public key from PEM text (SubjectPublicKeyInfo) or a PEM file. */
int key_load_public_pem(const char *pem, size_t len, EVP_PKEY **out, struct cu_err *err) CU_MUST_CHECK;
int key_load_public_file(const char *path, EVP_PKEY **out, struct cu_err *err) CU_MUST_CHECK;
/* malloc'd NUL-terminated SubjectPublicKeyInfo PEM of key. */
int key_public_pem(EVP_PKEY *key, char **pem_out, struct cu_err *err) CU_MUST_CHECK;
int key_public_raw(EVP_PKEY *key, uint8_t out[KEY_PUB_LEN]) CU_MUST_CHECK;
int key_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[KEY_SIG_LEN]) CU_MUST_CHECK;
/* 0 if sig is a valid signature of msg by key, CU_ECRYPTO otherwise. */
int key_verify(EVP_PKEY *key, const void *msg, size_t len, const uint8_t sig[KEY_SIG_LEN]) CU_MUST_CHECK;

#endif
