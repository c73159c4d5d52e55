/* crypt.c - AES-256-GCM through OpenSSL EVP, key files, DEK wrapping. */
#include "archiver/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/encode.h"
#include "common/fileio.h"
#include "common/layout.h"

#define DEK_AAD "custos data key v1"

int crypt_kek_generate(const char *path, struct cu_err *err)
{
	uint8_t k[CRYPT_KEY_LEN];
	char hex[2 * CRYPT_KEY_LEN + 2];
	int fd, rc;

	if (RAND_priv_bytes(k, sizeof(k)) != 1)
		return cu_err_set(err, CU_ECRYPTO, "no randomness for the key");
	hex_encode(k, sizeof(k), hex);
	OPENSSL_cleanse(k, sizeof(k));
	strcat(hex, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return cu_err_errno(err, errno, "create %s", path);
	rc = fio_write_all(fd, hex, strlen(hex), path, err);
	if (rc == 0)
		rc = fio_fsync(fd, path, err);
	close(fd);
	OPENSSL_cleanse(hex, sizeof(hex));
	if (rc)
		unlink(path);
	return rc;
}

int crypt_kek_load(const char *path, struct crypt_key *kek, struct cu_err *err)
{
	struct buf b;
	size_t n;
	int rc;

	buf_init(&b, 256);
	rc = fio_read_secret(path, &b, 0, err);
	if (rc == 0) {
		n = b.len;
		while (n && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
			n--;
		if (hex_decode((const char *)b.data, n, kek->key, CRYPT_KEY_LEN) != 0)
			rc = cu_err_set(err, CU_EINVAL, "%s: expected 64 hex digits (a 256-bit key)", path);
	}
	if (b.data)
		OPENSSL_cleanse(b.data, b.alloc);
	buf_release(&b);
	return rc;
}

int crypt_seal(const struct crypt_key *k, const uint8_t *aad, size_t aadlen,
	       const uint8_t *in, size_t len, struct buf *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *p;
	int n, rc = CU_ECRYPTO;

	if (len > INT_MAX - 64)
		return CU_ETOOBIG;
	buf_reset(out);
	rc = buf_reserve(out, CRYPT_NONCE_LEN + len + CRYPT_TAG_LEN);
	if (rc)
		return rc;
	rc = CU_ECRYPTO;
	p = out->data;
	if (RAND_bytes(p, CRYPT_NONCE_LEN) != 1)
		goto out;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, p) ||
	    (aadlen && !EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen)) ||
	    !EVP_EncryptUpdate(ctx, p + CRYPT_NONCE_LEN, &n, in, (int)len) ||
	    !EVP_EncryptFinal_ex(ctx, p + CRYPT_NONCE_LEN + n, &n) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPT_TAG_LEN, p + CRYPT_NONCE_LEN + len))
		goto out;
	out->len = CRYPT_NONCE_LEN + len + CRYPT_TAG_LEN;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int crypt_open_box(const struct crypt_key *k, const uint8_t *aad, size_t aadlen,
		   const uint8_t *in, size_t len, struct buf *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	size_t clen;
	int n, rc;

	if (len < CRYPT_NONCE_LEN + CRYPT_TAG_LEN || len > INT_MAX - 64)
		return CU_ECRYPTO;
	clen = len - CRYPT_NONCE_LEN - CRYPT_TAG_LEN;
	buf_reset(out);
	rc = buf_reserve(out, clen);
	if (rc)
		return rc;
	rc = CU_ECRYPTO;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, in) ||
	    (aadlen && !EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen)) ||
	    !EVP_DecryptUpdate(ctx, out->data, &n, in + CRYPT_NONCE_LEN, (int)clen) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPT_TAG_LEN,
				 (void *)(in + CRYPT_NONCE_LEN + clen)) ||
	    EVP_DecryptFinal_ex(ctx, out->data + n, &n) != 1)
		goto out;
	out->len = clen;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static void dek_path(const char *dir, char *out, size_t outlen)
{
	if (snprintf(out, outlen, "%s/" LAYOUT_DATA_KEY, dir) >= (int)outlen)
		out[0] = '\0';
}

/* The KEK's id: first 8 bytes of SHA-256 of the key, to tell which KEK a
 * DEK was wrapped with without revealing it. */
static void kek_id(const struct crypt_key *kek, char out[17])
{
	uint8_t d[32];
	unsigned int n = 0;

	EVP_Digest(kek->key, CRYPT_KEY_LEN, d, &n, EVP_sha256(), NULL);
	hex_encode(d, 8, out);
}

int crypt_dek_create(const char *dir, const struct crypt_key *kek, struct cu_err *err)
{
	struct crypt_key dek;
	char path[PATH_MAX], id[17];
	struct buf box;
	json_t *o = NULL;
	char *b64 = NULL, *text = NULL;
	int rc;

	buf_init(&box, 4096);
	if (RAND_priv_bytes(dek.key, sizeof(dek.key)) != 1)
		return cu_err_set(err, CU_ECRYPTO, "no randomness for the data key");
	rc = crypt_seal(kek, (const uint8_t *)DEK_AAD, strlen(DEK_AAD), dek.key, sizeof(dek.key), &box);
	OPENSSL_cleanse(&dek, sizeof(dek));
	if (rc) {
		rc = cu_err_set(err, rc, "cannot wrap the data key");
		goto out;
	}
	kek_id(kek, id);
	b64 = b64_encode(box.data, box.len);
	o = b64 ? json_pack("{s:s, s:s, s:s}", "algorithm", "AES-256-GCM", "kek_id", id,
			    "wrapped_key", b64) : NULL;
	text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	if (!text) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	dek_path(dir, path, sizeof(path));
	rc = fio_atomic_replace(path, text, strlen(text), 0600, err);
out:
	free(b64);
	free(text);
	json_decref(o);
	buf_release(&box);
	return rc;
}

int crypt_archive_encrypted(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;

	dek_path(dir, path, sizeof(path));
	return stat(path, &sb) == 0;
}

int crypt_dek_load(const char *dir, const struct crypt_key *kek, struct crypt_key *dek,
		   struct cu_err *err)
{
	char path[PATH_MAX], id[17];
	struct buf b, plain;
	json_t *o = NULL;
	uint8_t *box = NULL;
	size_t boxlen;
	const char *w, *want;
	int rc;

	buf_init(&b, 65536);
	buf_init(&plain, 64);
	dek_path(dir, path, sizeof(path));
	rc = fio_read_secret(path, &b, FIO_SECRET_PRIVATE_DIR, err);
	if (rc)
		goto out;
	o = json_loadb((const char *)b.data, b.len, 0, NULL);
	w = json_string_value(json_object_get(o, "wrapped_key"));
	want = json_string_value(json_object_get(o, "kek_id"));
	if (!w || !want || b64_decode(w, strlen(w), 256, &box, &boxlen) != 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "%s is damaged", path);
		goto out;
	}
	kek_id(kek, id);
	if (strcmp(id, want) != 0) {
		rc = cu_err_set(err, CU_ECRYPTO, "the key-encryption key (id %s) is not the one this "
				"archive's data key is wrapped with (id %s)", id, want);
		goto out;
	}
	rc = crypt_open_box(kek, (const uint8_t *)DEK_AAD, strlen(DEK_AAD), box, boxlen, &plain);
	if (rc || plain.len != CRYPT_KEY_LEN) {
		rc = cu_err_set(err, CU_ECRYPTO, "%s: cannot unwrap the data key", path);
		goto out;
	}
	memcpy(dek->key, plain.data, CRYPT_KEY_LEN);
out:
	if (plain.data)
		OPENSSL_cleanse(plain.data, plain.alloc);
	buf_release(&plain);
	buf_release(&b);
	free(box);
	json_decref(o);
	return rc;
}

int crypt_open(const char *dir, const char *kek_path, struct crypt_key *dek, struct cu_err *err)
{
	char path[PATH_MAX];
	struct crypt_key kek;
	struct custos_config *cfg = NULL;
	int rc;

	if (!kek_path || !*kek_path)
		kek_path = getenv("CUSTOS_KEK_FILE");
	if (!kek_path || !*kek_path) {
		/* "kek_file" of custos.json, through the one loader (common/config.h) */
		snprintf(path, sizeof(path), "%s/" LAYOUT_CONFIG, dir);
		if ((rc = config_read(path, 1, &cfg, err)))
			return rc;
		kek_path = cfg->store.kek_file;
	}
	if (!kek_path || !*kek_path) {
		rc = cu_err_set(err, CU_ENOTFOUND, "%s is encrypted at rest and no key-encryption key "
				"is configured (--kek FILE, CUSTOS_KEK_FILE or \"kek_file\" in "
				"custos.json)", dir);
		goto out;
	}
	if (access(kek_path, R_OK) != 0) {
		rc = cu_err_errno(err, errno, "%s is encrypted at rest; cannot read its key-encryption "
				  "key %s", dir, kek_path);
		goto out;
	}
	rc = crypt_kek_load(kek_path, &kek, err);
	if (rc == 0)
		rc = crypt_dek_load(dir, &kek, dek, err);
	OPENSSL_cleanse(&kek, sizeof(kek));
out:
	free(cfg);
	return rc;
}
