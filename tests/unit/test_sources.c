/* test_sources.c - DIR/sources.json: add, replace, remove, peer keys,
 * mode 0600, corrupt files refused; hs_token lookup; HMAC-SHA256 (RFC 4231)
 * and Ed25519 (RFC 8032) checks, including tampered inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/fileio.h"
#include "ingest/sources.h"
#include "tests/unit/test_util.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	tu_tmpdir(dir, sizeof(dir), "src");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(dir);
}

static void write_file(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600); /* a secrets file: read only at 0600 */
}

static void test_add_list_remove(void **state)
{
	struct src_entry e;
	struct src_set s;
	struct cu_err err;
	const struct src_entry *x;
	uint8_t pub[32];
	char path[400];
	struct stat sb;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(src_load(dir, &s, &err), 0); /* missing file: empty */
	assert_int_equal(s.n, 0);

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "synapse");
	e.type = SRC_MATRIX;
	e.has_hs_token = 1;
	assert_int_equal(hash_sha256("hs-secret", 9, e.hs_token_sha256), 0);
	snprintf(e.as_id, sizeof(e.as_id), "custos");
	assert_int_equal(src_add(dir, &e, 0, &err), 0);
	assert_int_equal(src_add(dir, &e, 0, &err), CU_EEXIST);

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "prosody");
	e.type = SRC_XMPP;
	e.hmac_secret_len = 6;
	memcpy(e.hmac_secret, "s3cr3t", 7);
	assert_int_equal(src_add(dir, &e, 0, &err), 0);

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "threema");
	e.type = SRC_THREEMA;
	memcpy(e.identity, "*AMTGW01", 9);
	e.api_secret_len = 4;
	memcpy(e.api_secret, "abcd", 5);
	e.has_private_key = 1;
	memset(e.private_key, 7, 32);
	assert_int_equal(src_add(dir, &e, 0, &err), 0);
	memset(pub, 9, 32);
	assert_int_equal(src_set_peer(dir, "threema", "ECHOECHO", pub, &err), 0);
	pub[0] = 1;
	assert_int_equal(src_set_peer(dir, "threema", "AAAAAAAA", pub, &err), 0);
	assert_int_equal(src_set_peer(dir, "threema", "ECHOECHO", pub, &err), 0); /* replaces */
	assert_int_equal(src_set_peer(dir, "prosody", "ECHOECHO", pub, &err), CU_ENOTFOUND);
	assert_int_equal(src_set_peer(dir, "threema", "bad", pub, &err), CU_EINVAL);

	snprintf(path, sizeof(path), "%s/sources.json", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(src_load(dir, &s, &err), 0);
	assert_int_equal(s.n, 3);
	x = src_find(&s, "threema");
	assert_non_null(x);
	assert_int_equal(x->npeers, 2);
	assert_non_null(src_peer_find(x, "ECHOECHO"));
	assert_int_equal(src_peer_find(x, "ECHOECHO")->pub[0], 1);
	assert_null(src_peer_find(x, "ZZZZZZZZ"));
	assert_string_equal(x->identity, "*AMTGW01");
	assert_int_equal(x->private_key[5], 7);
	x = src_find(&s, "prosody");
	assert_non_null(x);
	assert_int_equal(x->hmac_secret_len, 6);
	assert_string_equal(x->hmac_secret, "s3cr3t");
	/* hs_token lookup */
	assert_ptr_equal(src_find_hs_token(&s, "hs-secret", 9), src_find(&s, "synapse"));
	assert_null(src_find_hs_token(&s, "hs-secreT", 9));
	assert_null(src_find_hs_token(&s, "", 0));
	src_set_release(&s);

	assert_int_equal(src_remove(dir, "prosody", &err), 0);
	assert_int_equal(src_remove(dir, "prosody", &err), CU_ENOTFOUND);
	assert_int_equal(src_load(dir, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_null(src_find(&s, "prosody"));
	src_set_release(&s);

	/* bad names refused */
	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "bad name");
	e.type = SRC_GENERIC;
	assert_int_equal(src_add(dir, &e, 0, &err), CU_EINVAL);
}

static void test_corrupt_files(void **state)
{
	static const char *const bad[] = {
		"not json",
		"{\"version\": 2, \"sources\": []}",
		"{\"version\": 1, \"sources\": [{\"name\": \"a\"}]}",
		"{\"version\": 1, \"sources\": [{\"name\": \"a\", \"type\": \"nope\"}]}",
		"{\"version\": 1, \"sources\": [{\"name\": \"a\", \"type\": \"xmpp\", \"extra\": 1}]}",
		"{\"version\": 1, \"sources\": [{\"name\": \"a\", \"type\": \"matrix\", \"hs_token_sha256\": \"zz\"}]}",
		"{\"version\": 1, \"sources\": [{\"name\": \"a\", \"type\": \"xmpp\"}, {\"name\": \"a\", \"type\": \"xmpp\"}]}",
		"{\"version\": 1, \"sources\": [{\"name\": \"a\", \"type\": \"threema\", \"peer_keys\": {\"x\": \"00\"}}]}",
		"{\"version\": 1, \"sources\": [{\"name\": \"a\", \"type\": \"threema\", \"identity\": \"short\"}]}",
	};
	struct src_set s;
	struct cu_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("sources.json", bad[i]);
		cu_err_clear(&err);
		assert_int_equal(src_load(dir, &s, &err), CU_ECORRUPT);
		assert_non_null(strstr(err.msg, "sources.json"));
		assert_int_equal(s.n, 0);
	}
}

/* RFC 4231 test case 2 */
static void test_hmac(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	static const char want[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	char wrong[65];

	(void)state;
	assert_int_equal(src_check_hmac_hex("Jefe", 4, data, strlen(data), want, 64), 0);
	memcpy(wrong, want, 65);
	wrong[63] = '2';
	assert_int_equal(src_check_hmac_hex("Jefe", 4, data, strlen(data), wrong, 64), CU_EDENIED);
	assert_int_equal(src_check_hmac_hex("Jefe", 4, data, strlen(data) - 1, want, 64), CU_EDENIED);
	assert_int_equal(src_check_hmac_hex("Jeff", 4, data, strlen(data), want, 64), CU_EDENIED);
	assert_int_equal(src_check_hmac_hex("Jefe", 4, data, strlen(data), want, 62), CU_EINVAL);
	assert_int_equal(src_check_hmac_hex("Jefe", 4, data, strlen(data), "xx", 2), CU_EINVAL);
}

/* RFC 8032 section 7.1, test 2 (one-byte message 0x72) */
static void test_ed25519(void **state)
{
	static const char pub_hex[] = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
	static const char sig_hex[] = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
				      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
	uint8_t pub[32], sig[64];

	(void)state;
	assert_int_equal(hex_decode(pub_hex, 64, pub, 32), 0);
	assert_int_equal(hex_decode(sig_hex, 128, sig, 64), 0);
	assert_int_equal(src_check_ed25519(pub, "\x72", 1, sig, 64), 0);
	assert_int_equal(src_check_ed25519(pub, "\x73", 1, sig, 64), CU_EDENIED);
	assert_int_equal(src_check_ed25519(pub, "\x72", 1, sig, 63), CU_EDENIED);
	sig[10] ^= 1;
	assert_int_equal(src_check_ed25519(pub, "\x72", 1, sig, 64), CU_EDENIED);
}

static void test_random_secret(void **state)
{
	char a[48], b[48];
	size_t i;

	(void)state;
	assert_int_equal(src_random_secret(a), 0);
	assert_int_equal(src_random_secret(b), 0);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	for (i = 0; i < 43; i++)
		assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]) != NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_list_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_random_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
