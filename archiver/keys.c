/* keys.c - the archive's Ed25519 key through OpenSSL 3 EVP.
 *
 * The private key lives in one PKCS#8 PEM file, mode 0600, created with
 * O_EXCL so that a second `custos init` or `keygen` can never replace the
 * key every seal and checkpoint so far was signed with. Loading refuses
 * files other users can read, files larger than KEY_FILE_MAX, encrypted
 * keys (no interactive passphrase prompt from library code) and any key
 * type other than Ed25519.
 */
#include "archiver/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fileio.h"

#define KEY_FILE_MAX 16384 /* cap on a PEM key file we read */

/* Appends OpenSSL's most recent error reason (if any) to a message. */
static int ossl_fail(struct cu_err *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256];

	if (e) {
		ERR_error_string_n(e, reason, sizeof(reason));
		ERR_clear_error();
		return cu_err_set(err, CU_ECRYPTO, "%s: %s", what, reason);
	}
	return cu_err_set(err, CU_ECRYPTO, "%s", what);
}

/* Never prompt for a passphrase: the archive key is not encrypted, and a
 * daemon must not block on a terminal. Returning 0 makes PEM reading of an
 * encrypted key fail. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* The directory part of path, for fsyncing the new directory entry. */
static void dir_of(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		snprintf(out, outsz, ".");
		return;
	}
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/key" lives in "/" */
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

int key_generate(const char *path, struct cu_err *err)
{
	EVP_PKEY *key = NULL;
	BIO *mem = NULL;
	char *pem = NULL;
	long pemlen;
	char dir[PATH_MAX];
	int fd = -1, created = 0, rc = 0;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key) {
		rc = ossl_fail(err, "generate Ed25519 key");
		goto out;
	}
	/* Secure-heap BIO so the PEM text is cleansed when freed. */
	mem = BIO_new(BIO_s_secmem());
	if (!mem || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)) {
		rc = ossl_fail(err, "encode private key");
		goto out;
	}
	pemlen = BIO_get_mem_data(mem, &pem);
	if (pemlen <= 0) {
		rc = ossl_fail(err, "encode private key");
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			rc = cu_err_set(err, CU_EEXIST,
					"key file %s already exists; refusing to overwrite it", path);
		else
			rc = cu_err_errno(err, errno, "create key file %s", path);
		goto out;
	}
	created = 1;
	/* The umask can only remove bits, but make the mode exact anyway. */
	if (fchmod(fd, 0600) != 0) {
		rc = cu_err_errno(err, errno, "chmod key file %s", path);
		goto out;
	}
	rc = fio_write_all(fd, pem, (size_t)pemlen, path, err);
	if (rc)
		goto out;
	rc = fio_fsync(fd, path, err);
	if (rc)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		rc = cu_err_errno(err, errno, "close key file %s", path);
		goto out;
	}
	fd = -1;
	dir_of(path, dir, sizeof(dir));
	rc = fio_fsync_dir(dir, err);
out:
	if (fd >= 0)
		close(fd);
	if (rc && created)
		unlink(path); /* never leave a half-written key behind */
	BIO_free(mem);
	EVP_PKEY_free(key);
	return rc;
}

/* Rejects keys that are not Ed25519 (an RSA or EC PEM would load fine). */
static int check_ed25519(EVP_PKEY *key, const char *what, struct cu_err *err)
{
	if (!EVP_PKEY_is_a(key, "ED25519"))
		return cu_err_set(err, CU_EINVAL, "%s is a %s key, not Ed25519", what,
				  EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key)
							       : "unknown");
	return 0;
}

int key_load_private(const char *path, EVP_PKEY **out, struct cu_err *err)
{
	struct buf text;
	BIO *mem = NULL;
	EVP_PKEY *key = NULL;
	int rc = 0;

	*out = NULL;
	buf_init(&text, KEY_FILE_MAX);
	/* 0600, the caller's, not a symlink, in a 0700 keys/ directory */
	rc = fio_read_secret(path, &text, FIO_SECRET_PRIVATE_DIR, err);
	if (rc)
		goto out;
	mem = BIO_new_mem_buf(text.data, (int)text.len);
	if (!mem) {
		rc = cu_err_set(err, CU_ENOMEM, "read key file %s: out of memory", path);
		goto out;
	}
	key = PEM_read_bio_PrivateKey(mem, NULL, no_passphrase, NULL);
	if (!key) {
		char what[PATH_MAX + 64];

		snprintf(what, sizeof(what), "key file %s is not an unencrypted PKCS#8 PEM key",
			 path);
		rc = ossl_fail(err, what);
		goto out;
	}
	rc = check_ed25519(key, path, err);
	if (rc)
		goto out;
	*out = key;
	key = NULL;
out:
	EVP_PKEY_free(key);
	BIO_free(mem);
	if (text.data)
		OPENSSL_cleanse(text.data, text.len);
	buf_release(&text);
	return rc;
}

int key_load_public_pem(const char *pem, size_t len, EVP_PKEY **out, struct cu_err *err)
{
	BIO *mem = NULL;
	EVP_PKEY *key = NULL;
	int rc = 0;

	*out = NULL;
	if (len > KEY_FILE_MAX) {
		rc = cu_err_set(err, CU_ETOOBIG, "public key PEM larger than %d bytes",
				KEY_FILE_MAX);
		goto out;
	}
	mem = BIO_new_mem_buf(pem, (int)len);
	if (!mem) {
		rc = cu_err_set(err, CU_ENOMEM, "public key: out of memory");
		goto out;
	}
	key = PEM_read_bio_PUBKEY(mem, NULL, no_passphrase, NULL);
	if (!key) {
		rc = ossl_fail(err, "not a SubjectPublicKeyInfo PEM public key");
		goto out;
	}
	rc = check_ed25519(key, "public key", err);
	if (rc)
		goto out;
	*out = key;
	key = NULL;
out:
	EVP_PKEY_free(key);
	BIO_free(mem);
	return rc;
}

int key_load_public_file(const char *path, EVP_PKEY **out, struct cu_err *err)
{
	struct buf text;
	struct cu_err inner;
	int rc;

	*out = NULL;
	buf_init(&text, KEY_FILE_MAX);
	cu_err_clear(&inner);
	rc = fio_read_file(path, &text, err);
	if (rc)
		goto out;
	/* Load with a local error so the message can name the file. */
	rc = key_load_public_pem((const char *)text.data, text.len, out, &inner);
	if (rc)
		cu_err_set(err, rc, "%s: %s", path, inner.msg);
out:
	buf_release(&text);
	return rc;
}

int key_public_pem(EVP_PKEY *key, char **pem_out, struct cu_err *err)
{
	BIO *mem = NULL;
	char *data;
	long n;
	char *copy = NULL;
	int rc = 0;

	*pem_out = NULL;
	mem = BIO_new(BIO_s_mem());
	if (!mem || !PEM_write_bio_PUBKEY(mem, key)) {
		rc = ossl_fail(err, "encode public key");
		goto out;
	}
	n = BIO_get_mem_data(mem, &data);
	if (n <= 0) {
		rc = ossl_fail(err, "encode public key");
		goto out;
	}
	copy = malloc((size_t)n + 1);
	if (!copy) {
		rc = cu_err_set(err, CU_ENOMEM, "encode public key: out of memory");
		goto out;
	}
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*pem_out = copy;
out:
	BIO_free(mem);
	return rc;
}

int key_public_raw(EVP_PKEY *key, uint8_t out[KEY_PUB_LEN])
{
	size_t n = KEY_PUB_LEN;

	if (!key || !EVP_PKEY_is_a(key, "ED25519"))
		return CU_EINVAL;
	if (!EVP_PKEY_get_raw_public_key(key, out, &n) || n != KEY_PUB_LEN) {
		ERR_clear_error();
		return CU_ECRYPTO;
	}
	return 0;
}

int key_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = KEY_SIG_LEN;
	int rc = 0;

	if (!key || !EVP_PKEY_is_a(key, "ED25519"))
		return CU_EINVAL;
	ctx = EVP_MD_CTX_new();
	/* Ed25519 is "pure": no digest is named, the message is signed whole. */
	if (!ctx || EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != KEY_SIG_LEN) {
		ERR_clear_error();
		rc = CU_ECRYPTO;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int key_verify(EVP_PKEY *key, const void *msg, size_t len, const uint8_t sig[KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	int rc = CU_ECRYPTO;

	if (!key || !EVP_PKEY_is_a(key, "ED25519"))
		return CU_ECRYPTO;
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, key, NULL) == 1 &&
	    EVP_DigestVerify(ctx, sig, KEY_SIG_LEN, msg, len) == 1)
		rc = 0;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}
