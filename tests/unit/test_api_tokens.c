/* test_api_tokens.c - bearer tokens: format, only the hash is stored,
 * lookup, duplicates, revocation, validation of names/roles/sources, and a
 * damaged tokens.json refused with a message. */
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

#include "api/tokens.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "tests/unit/test_util.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	tu_tmpdir(dir, sizeof(dir), "tokens");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(dir);
}

static void read_file(const char *name, struct buf *b)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf_init(b, 1 << 20);
	assert_int_equal(fio_read_file(path, b, NULL), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(fio_atomic_replace(path, text, strlen(text), 0600, NULL), 0);
}

static void test_add_lookup_revoke(void **state)
{
	char t1[TOK_TEXT_MAX], t2[TOK_TEXT_MAX], bad[TOK_TEXT_MAX];
	const struct tok_entry *e;
	struct tok_set s;
	struct buf b;
	struct stat sb;
	char path[512];
	size_t i;

	(void)state;
	assert_int_equal(tok_load(dir, &s, NULL), 0); /* no file: empty */
	assert_int_equal(s.n, 0);
	assert_int_equal(tok_add(dir, "alice", ROLE_OFFICER, NULL, t1, NULL), 0);
	assert_int_equal(tok_add(dir, "synapse", ROLE_INGEST, "matrix-main", t2, NULL), 0);
	assert_int_equal(strlen(t1), 4 + 43);
	assert_memory_equal(t1, "cst_", 4);
	for (i = 4; t1[i]; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", t1[i]));
	assert_string_not_equal(t1, t2);

	/* only hashes on disk, mode 0600 */
	read_file("tokens.json", &b);
	assert_null(strstr((char *)b.data, t1 + 4));
	assert_null(strstr((char *)b.data, t2 + 4));
	assert_non_null(strstr((char *)b.data, "\"sha256\""));
	buf_release(&b);
	snprintf(path, sizeof(path), "%s/tokens.json", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(tok_load(dir, &s, NULL), 0);
	assert_int_equal(s.n, 2);
	e = tok_lookup(&s, t1, strlen(t1));
	assert_non_null(e);
	assert_string_equal(e->name, "alice");
	assert_int_equal(e->role, ROLE_OFFICER);
	assert_string_equal(e->source, "");
	e = tok_lookup(&s, t2, strlen(t2));
	assert_non_null(e);
	assert_string_equal(e->source, "matrix-main");
	assert_int_equal(e->role, ROLE_INGEST);
	/* near misses do not match */
	memcpy(bad, t1, sizeof(bad));
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_null(tok_lookup(&s, bad, strlen(bad)));
	assert_null(tok_lookup(&s, t1, strlen(t1) - 1));
	assert_null(tok_lookup(&s, "", 0));
	tok_set_release(&s);

	/* names are unique */
	struct cu_err err;
	cu_err_clear(&err);
	assert_int_equal(tok_add(dir, "alice", ROLE_AUDITOR, NULL, bad, &err), CU_EEXIST);
	assert_non_null(strstr(err.msg, "alice"));

	assert_int_equal(tok_revoke(dir, "alice", NULL), 0);
	assert_int_equal(tok_revoke(dir, "alice", NULL), CU_ENOTFOUND);
	assert_int_equal(tok_load(dir, &s, NULL), 0);
	assert_int_equal(s.n, 1);
	assert_null(tok_lookup(&s, t1, strlen(t1)));
	assert_non_null(tok_lookup(&s, t2, strlen(t2)));
	tok_set_release(&s);
	assert_int_equal(tok_revoke(dir, "synapse", NULL), 0);
}

static void test_validation(void **state)
{
	char t[TOK_TEXT_MAX];

	(void)state;
	assert_int_equal(tok_add(dir, "", ROLE_ADMIN, NULL, t, NULL), CU_EINVAL);
	assert_int_equal(tok_add(dir, "a b", ROLE_ADMIN, NULL, t, NULL), CU_EINVAL);
	assert_int_equal(tok_add(dir, "a\"b", ROLE_ADMIN, NULL, t, NULL), CU_EINVAL);
	assert_int_equal(tok_add(dir, "x", 0, NULL, t, NULL), CU_EINVAL);
	assert_int_equal(tok_add(dir, "x", ROLE_ADMIN | ROLE_OFFICER, NULL, t, NULL), CU_EINVAL);
	assert_int_equal(tok_add(dir, "x", ROLE_INGEST, NULL, t, NULL), CU_EINVAL);
	assert_int_equal(tok_add(dir, "x", ROLE_INGEST, "bad source", t, NULL), CU_EINVAL);
	assert_int_equal(tok_add(dir, "x", ROLE_OFFICER, "src", t, NULL), CU_EINVAL);
	assert_string_equal(t, "");
	assert_true(tok_name_valid("bob@example.org"));
	assert_true(tok_name_valid("matrix:main-1.x_y"));
	assert_false(tok_name_valid("ümlaut"));
	assert_int_equal(tok_role_from_name("auditor"), ROLE_AUDITOR);
	assert_int_equal(tok_role_from_name("root"), 0);
	assert_string_equal(tok_role_name(ROLE_INGEST), "ingest");
}

static void test_damaged_file(void **state)
{
	static const char *bad[] = {
		"{",
		"[]",
		"{\"version\": 2, \"tokens\": []}",
		"{\"version\": 1, \"tokens\": [{\"name\": \"a\", \"role\": \"god\", \"sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
		"{\"version\": 1, \"tokens\": [{\"name\": \"a\", \"role\": \"admin\", \"sha256\": \"00\"}]}",
		"{\"version\": 1, \"tokens\": [{\"name\": \"a\", \"role\": \"ingest\", \"sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
		"{\"version\": 1, \"tokens\": [{\"name\": \"a\", \"role\": \"admin\", \"token\": \"x\", \"sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
		"{\"version\": 1, \"tokens\": [{\"name\": \"a\", \"role\": \"admin\", \"sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}, {\"name\": \"a\", "
		"\"role\": \"admin\", \"sha256\": "
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
	};
	struct tok_set s;
	struct cu_err err;
	char t[TOK_TEXT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("tokens.json", bad[i]);
		cu_err_clear(&err);
		assert_int_not_equal(tok_load(dir, &s, &err), 0);
		assert_non_null(strstr(err.msg, "tokens.json"));
		assert_null(s.v);
		/* and nothing is added on top of a damaged file */
		assert_int_not_equal(tok_add(dir, "new", ROLE_ADMIN, NULL, t, NULL), 0);
	}
	write_file("tokens.json", "{\"version\": 1, \"tokens\": []}");
	assert_int_equal(tok_load(dir, &s, NULL), 0);
	assert_int_equal(s.n, 0);
	tok_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_lookup_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
