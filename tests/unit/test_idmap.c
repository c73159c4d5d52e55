/* test_idmap.c - the duplicate map (archiver/idmap.h): keys that share
 * their first 8 bytes stay apart, batches commit and roll back as units,
 * the high-water mark reaches the file when flushed, and an id map of an
 * older layout is dropped for a rebuild from the log. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/idmap.h"

static char top[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/custos-test-idmap-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(path, sizeof(path), "%s/idmap.db", top);
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void make_key(uint8_t key[IDMAP_KEY_LEN], uint8_t head, uint8_t tail)
{
	memset(key, head, 8);
	memset(key + 8, tail, IDMAP_KEY_LEN - 8);
}

static void test_shared_heads(void **state)
{
	struct idmap *m;
	struct cu_err err;
	uint8_t a[IDMAP_KEY_LEN], b[IDMAP_KEY_LEN], c[IDMAP_KEY_LEN];
	uint64_t seq = 99;

	(void)state;
	cu_err_clear(&err);
	make_key(a, 7, 1);
	make_key(b, 7, 2); /* same first 8 bytes as a */
	make_key(c, 8, 1);
	assert_int_equal(idmap_open(path, &m, &err), 0);
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_insert(m, a, 10, &seq, &err), 1);
	assert_int_equal(idmap_insert(m, b, 11, &seq, &err), 1);
	assert_int_equal(idmap_insert(m, c, 12, &seq, &err), 1);
	assert_int_equal(idmap_insert(m, b, 13, &seq, &err), 0);
	assert_int_equal(seq, 11);
	assert_int_equal(idmap_insert(m, a, 14, &seq, &err), 0);
	assert_int_equal(seq, 10);
	assert_int_equal(idmap_commit(m, 13, &err), 0);
	assert_int_equal(idmap_lookup(m, b, &seq), 1);
	assert_int_equal(seq, 11);
	/* a rolled-back batch leaves nothing behind */
	make_key(c, 9, 9);
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_insert(m, c, 20, &seq, &err), 1);
	assert_int_equal(idmap_rollback(m), 0);
	assert_int_equal(idmap_lookup(m, c, &seq), 0);
	/* forgetting from a seq removes keys in both tables */
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_forget_from(m, 11, &err), 0);
	assert_int_equal(idmap_commit(m, 11, &err), 0);
	assert_int_equal(idmap_lookup(m, b, &seq), 0);
	assert_int_equal(idmap_lookup(m, a, &seq), 1);
	assert_int_equal(idmap_flush(m, &err), 0);
	assert_int_equal(idmap_hwm(m), 11);
	idmap_close(m);
	/* what was committed survives a reopen */
	assert_int_equal(idmap_open(path, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 11);
	assert_int_equal(idmap_lookup(m, a, &seq), 1);
	assert_int_equal(seq, 10);
	idmap_close(m);
}

/* Committed batches reach the file at the latest on close. */
static void test_close_flushes(void **state)
{
	struct idmap *m;
	struct cu_err err;
	uint8_t a[IDMAP_KEY_LEN];
	uint64_t seq;

	(void)state;
	cu_err_clear(&err);
	make_key(a, 3, 3);
	assert_int_equal(idmap_open(path, &m, &err), 0);
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_insert(m, a, 0, &seq, &err), 1);
	assert_int_equal(idmap_commit(m, 1, &err), 0);
	idmap_close(m);
	assert_int_equal(idmap_open(path, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 1);
	assert_int_equal(idmap_lookup(m, a, &seq), 1);
	idmap_close(m);
}

/* An id map of the first layout (16-byte blob keys) is rebuilt. */
static void test_old_layout(void **state)
{
	struct idmap *m;
	struct cu_err err;
	sqlite3 *db;

	(void)state;
	cu_err_clear(&err);
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE ids(k BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
				      "CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
				      "INSERT INTO meta VALUES('hwm', 500);"
				      "INSERT INTO ids VALUES(x'00112233445566778899aabbccddeeff', 3);",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(idmap_open(path, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 0); /* the store replays the whole log */
	idmap_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shared_heads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_layout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
