/* test_keys.c - the archive key: generation (mode 0600, refusing to
 * overwrite), loading (refusing readable-by-others files, non-Ed25519 and
 * malformed keys), signing and verifying, public key export, and the
 * RFC 8032 test vector so the signatures are known to be standard Ed25519. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/keys.h"
#include "common/encode.h"
#include "common/fileio.h"
#include "tests/unit/test_util.h"

struct fixture {
	char dir[256];  /* fresh temporary directory */
	char path[300]; /* dir/archive.key */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_tmpdir(f->dir, sizeof(f->dir), "keys");
	snprintf(f->path, sizeof(f->path), "%s/archive.key", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

static char *read_text(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *s = calloc(1, 65536);
	size_t n;

	assert_non_null(fp);
	assert_non_null(s);
	n = fread(s, 1, 65535, fp);
	s[n] = '\0';
	fclose(fp);
	return s;
}

static void test_generate_mode_and_format(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	struct stat st;
	char *text;

	cu_err_clear(&err);
	umask(022);
	assert_int_equal(key_generate(f->path, &err), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = read_text(f->path);
	/* PKCS#8, unencrypted. */
	assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----\n"));
	assert_null(strstr(text, "ENCRYPTED"));
	free(text);
}

static void test_generate_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	char *before, *after;

	cu_err_clear(&err);
	assert_int_equal(key_generate(f->path, &err), 0);
	before = read_text(f->path);
	cu_err_clear(&err);
	assert_int_equal(key_generate(f->path, &err), CU_EEXIST);
	assert_non_null(strstr(err.msg, "refusing to overwrite"));
	after = read_text(f->path);
	assert_string_equal(before, after); /* the existing key is untouched */
	free(before);
	free(after);
}

static void test_generate_bad_dir(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	char p[400];

	snprintf(p, sizeof(p), "%s/no/such/dir.key", f->dir);
	cu_err_clear(&err);
	assert_int_not_equal(key_generate(p, &err), 0);
	assert_non_null(strstr(err.msg, p));
}

/* A failed write or fsync leaves no key file behind, so a retry of
 * `custos init` is not blocked by a half-written key. */
static void test_generate_fault_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	const char *faults[] = {"write:1:28", "fsync:1:5"}; /* ENOSPC, EIO */
	struct cu_err err;
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		setenv("CUSTOS_FAULT", faults[i], 1);
		fio_fault_reset();
		cu_err_clear(&err);
		assert_int_not_equal(key_generate(f->path, &err), 0);
		assert_int_not_equal(stat(f->path, &st), 0);
		unsetenv("CUSTOS_FAULT");
		fio_fault_reset();
	}
	cu_err_clear(&err);
	assert_int_equal(key_generate(f->path, &err), 0);
}

static void test_sign_verify(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	EVP_PKEY *key = NULL, *pub = NULL;
	uint8_t sig[KEY_SIG_LEN], raw1[KEY_PUB_LEN], raw2[KEY_PUB_LEN];
	const char msg[] = "example.org/custos\n42\nAAAA\n";
	char *pem = NULL;

	cu_err_clear(&err);
	assert_int_equal(key_generate(f->path, &err), 0);
	assert_int_equal(key_load_private(f->path, &key, &err), 0);
	assert_int_equal(key_sign(key, msg, strlen(msg), sig), 0);
	assert_int_equal(key_verify(key, msg, strlen(msg), sig), 0);

	/* The PEM public key verifies the same signature. */
	assert_int_equal(key_public_pem(key, &pem, &err), 0);
	assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----\n"));
	assert_int_equal(key_load_public_pem(pem, strlen(pem), &pub, &err), 0);
	assert_int_equal(key_verify(pub, msg, strlen(msg), sig), 0);
	assert_int_equal(key_public_raw(key, raw1), 0);
	assert_int_equal(key_public_raw(pub, raw2), 0);
	assert_memory_equal(raw1, raw2, KEY_PUB_LEN);

	/* Any change to message or signature fails. */
	assert_int_equal(key_verify(pub, msg, strlen(msg) - 1, sig), CU_ECRYPTO);
	sig[10] ^= 1;
	assert_int_equal(key_verify(pub, msg, strlen(msg), sig), CU_ECRYPTO);
	sig[10] ^= 1;
	sig[63] ^= 0x80;
	assert_int_equal(key_verify(pub, msg, strlen(msg), sig), CU_ECRYPTO);

	/* A private key cannot be loaded as a public one. */
	EVP_PKEY_free(pub);
	pub = NULL;
	{
		char *priv = read_text(f->path);

		assert_int_not_equal(key_load_public_pem(priv, strlen(priv), &pub, &err), 0);
		assert_null(pub);
		free(priv);
	}
	free(pem);
	EVP_PKEY_free(key);
}

static void test_wrong_key_rejects(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	EVP_PKEY *a = NULL, *b = NULL;
	uint8_t sig[KEY_SIG_LEN];
	char other[400];

	snprintf(other, sizeof(other), "%s/other.key", f->dir);
	cu_err_clear(&err);
	assert_int_equal(key_generate(f->path, &err), 0);
	assert_int_equal(key_generate(other, &err), 0);
	assert_int_equal(key_load_private(f->path, &a, &err), 0);
	assert_int_equal(key_load_private(other, &b, &err), 0);
	assert_int_equal(key_sign(a, "hello", 5, sig), 0);
	assert_int_equal(key_verify(a, "hello", 5, sig), 0);
	assert_int_equal(key_verify(b, "hello", 5, sig), CU_ECRYPTO);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void test_public_file(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	EVP_PKEY *key = NULL, *pub = NULL;
	char path[400], *pem = NULL;
	FILE *fp;

	cu_err_clear(&err);
	assert_int_equal(key_generate(f->path, &err), 0);
	assert_int_equal(key_load_private(f->path, &key, &err), 0);
	assert_int_equal(key_public_pem(key, &pem, &err), 0);
	snprintf(path, sizeof(path), "%s/pub.pem", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(pem, fp);
	fclose(fp);
	assert_int_equal(key_load_public_file(path, &pub, &err), 0);
	EVP_PKEY_free(pub);
	pub = NULL;

	/* Missing file: the message names it. */
	cu_err_clear(&err);
	assert_int_not_equal(key_load_public_file("/nonexistent/pub.pem", &pub, &err), 0);
	assert_non_null(strstr(err.msg, "/nonexistent/pub.pem"));

	/* Garbage: the message names the file too. */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n", fp);
	fclose(fp);
	cu_err_clear(&err);
	assert_int_not_equal(key_load_public_file(path, &pub, &err), 0);
	assert_null(pub);
	assert_non_null(strstr(err.msg, path));
	free(pem);
	EVP_PKEY_free(key);
}

static void test_load_private_refuses_readable(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	EVP_PKEY *key = NULL;

	cu_err_clear(&err);
	assert_int_equal(key_generate(f->path, &err), 0);
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(key_load_private(f->path, &key, &err), CU_EDENIED);
	assert_null(key);
	assert_non_null(strstr(err.msg, "0600"));
}

static void test_load_private_bad(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	EVP_PKEY *key = NULL, *ec = NULL;
	FILE *fp;
	int fd;

	/* Missing. */
	cu_err_clear(&err);
	assert_int_not_equal(key_load_private(f->path, &key, &err), 0);
	assert_null(key);

	/* Not PEM. */
	fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage\n", 8), 8);
	close(fd);
	cu_err_clear(&err);
	assert_int_equal(key_load_private(f->path, &key, &err), CU_ECRYPTO);
	assert_null(key);

	/* A valid PEM key of another type (EC P-256) is refused. */
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, ec, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	cu_err_clear(&err);
	assert_int_equal(key_load_private(f->path, &key, &err), CU_EINVAL);
	assert_null(key);
	assert_non_null(strstr(err.msg, "not Ed25519"));

	/* Its public key is refused the same way, and cannot sign. */
	{
		uint8_t sig[KEY_SIG_LEN] = {0};
		BIO *mem = BIO_new(BIO_s_mem());
		char *pem;
		long n;

		assert_int_equal(PEM_write_bio_PUBKEY(mem, ec), 1);
		n = BIO_get_mem_data(mem, &pem);
		cu_err_clear(&err);
		assert_int_equal(key_load_public_pem(pem, (size_t)n, &key, &err), CU_EINVAL);
		BIO_free(mem);
		assert_int_equal(key_sign(ec, "x", 1, sig), CU_EINVAL);
		assert_int_equal(key_verify(ec, "x", 1, sig), CU_ECRYPTO);
	}
	EVP_PKEY_free(ec);
}

static void test_public_pem_caps(void **state)
{
	struct cu_err err;
	EVP_PKEY *key = NULL;
	char *big = calloc(1, 20000);

	(void)state;
	assert_non_null(big);
	memset(big, 'A', 19999);
	cu_err_clear(&err);
	assert_int_equal(key_load_public_pem(big, 19999, &key, &err), CU_ETOOBIG);
	cu_err_clear(&err);
	assert_int_not_equal(key_load_public_pem("", 0, &key, &err), 0);
	assert_null(key);
	free(big);
}

/* RFC 8032 section 7.1, TEST 2 (one-byte message 0x72). */
static void test_rfc8032_vector(void **state)
{
	static const char sk_hex[] =
		"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
	static const char pk_hex[] =
		"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
	static const char sig_hex[] =
		"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
		"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
	uint8_t sk[32], pk[32], want[64], sig[64], raw[32];
	const uint8_t msg = 0x72;
	EVP_PKEY *key;

	(void)state;
	assert_int_equal(hex_decode(sk_hex, 64, sk, 32), 0);
	assert_int_equal(hex_decode(pk_hex, 64, pk, 32), 0);
	assert_int_equal(hex_decode(sig_hex, 128, want, 64), 0);
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, sizeof(sk));
	assert_non_null(key);
	assert_int_equal(key_public_raw(key, raw), 0);
	assert_memory_equal(raw, pk, 32);
	assert_int_equal(key_sign(key, &msg, 1, sig), 0);
	assert_memory_equal(sig, want, 64);
	assert_int_equal(key_verify(key, &msg, 1, want), 0);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generate_mode_and_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_refuses_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_bad_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_fault_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_private_refuses_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_private_bad, setup, teardown),
		cmocka_unit_test(test_public_pem_caps),
		cmocka_unit_test(test_rfc8032_vector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
