/* test_idmap.c - the duplicate map (archiver/idmap.h): keys that share
 * their first 8 bytes stay apart, batches commit and roll back as units,
 * keys reach run files and are merged while every key stays found, what
 * was flushed survives a reopen, forgetting cuts runs at any seq, leftovers
 * of a crash are cleaned up, and a map that cannot write its runs (a full
 * disk) refuses new batches once its memory is full and recovers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/idmap.h"
#include "common/error.h"
#include "common/fileio.h"
#include "tests/unit/test_util.h"

static char top[64], path[128];

static int setup(void **state)
{
	(void)state;
	tu_tmpdir(top, sizeof(top), "idmap");
	snprintf(path, sizeof(path), "%s/idmap", top);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(top);
}

static void make_key(uint8_t key[IDMAP_KEY_LEN], uint8_t head, uint8_t tail)
{
	memset(key, head, 8);
	memset(key + 8, tail, IDMAP_KEY_LEN - 8);
}

/* Key number i, as the store makes them (a hash). */
static void nth_key(uint8_t key[IDMAP_KEY_LEN], unsigned i)
{
	char id[32];
	int n = snprintf(id, sizeof(id), "ev-%u", i);

	assert_int_equal(idmap_key("matrix", 6, "hook", 4, id, (size_t)n, key), 0);
}

/* Run files in the map's directory. */
static int count_runs(void)
{
	struct dirent *d;
	DIR *dp = opendir(path);
	int n = 0;

	assert_non_null(dp);
	while ((d = readdir(dp)))
		n += !strncmp(d->d_name, "run-", 4);
	closedir(dp);
	return n;
}

/* Inserts keys [from, to) as seqs [from, to) in batches of batch. */
static void insert_range(struct idmap *m, unsigned from, unsigned to, unsigned batch)
{
	struct cu_err err;
	uint8_t key[IDMAP_KEY_LEN];
	uint64_t seq;
	unsigned i;

	cu_err_clear(&err);
	for (i = from; i < to;) {
		assert_int_equal(idmap_begin(m, &err), 0);
		for (unsigned j = 0; j < batch && i < to; j++, i++) {
			nth_key(key, i);
			assert_int_equal(idmap_insert(m, key, i, &seq, &err), 1);
		}
		assert_int_equal(idmap_commit(m, i, &err), 0);
	}
}

/* Every key [from, to) is found with its seq; [to, to + 50) are not. */
static void check_range(struct idmap *m, unsigned from, unsigned to)
{
	uint8_t key[IDMAP_KEY_LEN];
	uint64_t seq;
	unsigned i;

	for (i = from; i < to; i++) {
		nth_key(key, i);
		assert_int_equal(idmap_lookup(m, key, &seq), 1);
		assert_int_equal(seq, i);
	}
	for (i = to; i < to + 50; i++) {
		nth_key(key, i);
		assert_int_equal(idmap_lookup(m, key, &seq), 0);
	}
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
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
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
	/* what was flushed survives a reopen, keys sharing heads in a run too */
	assert_int_equal(idmap_flush(m, &err), 0);
	assert_int_equal(idmap_hwm(m), 13);
	idmap_close(m);
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 13);
	assert_int_equal(idmap_lookup(m, a, &seq), 1);
	assert_int_equal(seq, 10);
	assert_int_equal(idmap_lookup(m, b, &seq), 1);
	assert_int_equal(seq, 11);
	/* forgetting from a seq removes later keys */
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_forget_from(m, 11, &err), 0);
	assert_int_equal(idmap_commit(m, 11, &err), 0);
	assert_int_equal(idmap_lookup(m, b, &seq), 0);
	assert_int_equal(idmap_lookup(m, a, &seq), 1);
	assert_int_equal(idmap_flush(m, &err), 0);
	assert_int_equal(idmap_hwm(m), 11);
	idmap_close(m);
}

/* Committed batches reach a run at the latest on close. */
static void test_close_flushes(void **state)
{
	struct idmap *m;
	struct cu_err err;
	uint8_t a[IDMAP_KEY_LEN];
	uint64_t seq;

	(void)state;
	cu_err_clear(&err);
	make_key(a, 3, 3);
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_insert(m, a, 0, &seq, &err), 1);
	assert_int_equal(idmap_commit(m, 1, &err), 0);
	idmap_close(m);
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 1);
	assert_int_equal(idmap_lookup(m, a, &seq), 1);
	idmap_close(m);
}

/* Small runs: keys go to runs and are merged as they come; all stay
 * found, before and after a reopen, and the runs stay few. */
static void test_runs_and_merges(void **state)
{
	struct idmap *m;
	struct cu_err err;
	uint8_t key[IDMAP_KEY_LEN];
	uint64_t seq;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(idmap_open(path, 16, &m, &err), 0);
	insert_range(m, 0, 5000, 7);
	check_range(m, 0, 5000);
	/* a duplicate of a key long written to a run */
	nth_key(key, 3);
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_insert(m, key, 6000, &seq, &err), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(idmap_commit(m, 5000, &err), 0);
	assert_int_equal(idmap_flush(m, &err), 0);
	assert_int_equal(idmap_hwm(m), 5000);
	idmap_close(m);
	assert_int_equal(idmap_open(path, 16, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 5000);
	check_range(m, 0, 5000);
	/* The worker merges (a merge that close interrupted too): about
	 * log2(5000 / 16) runs remain, not 5000 / 16. */
	for (int t = 0; t < 1000 && count_runs() > 12; t++)
		usleep(10000);
	assert_true(count_runs() <= 12);
	check_range(m, 0, 5000);
	/* cut in the middle of a merged run */
	assert_int_equal(idmap_forget_from(m, 3333, &err), 0);
	assert_int_equal(idmap_hwm(m), 3333);
	check_range(m, 0, 3333);
	idmap_close(m);
	assert_int_equal(idmap_open(path, 16, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 3333);
	check_range(m, 0, 3333);
	idmap_close(m);
}

static void write_file(const char *name, const void *data, size_t n)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", path, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

/* Leftovers: an unfinished run, a torn run, a run past a gap, and a run
 * that a merge replaced but a crash left behind; the map keeps the
 * longest whole chain from 0 and deletes the rest. */
static void test_crash_leftovers(void **state)
{
	struct idmap *m;
	struct cu_err err;
	char first[256], kept[256], merged[256];

	(void)state;
	cu_err_clear(&err);
	snprintf(first, sizeof(first), "%s/run-%016llx-%016llx", path, 0ull, 20ull);
	snprintf(kept, sizeof(kept), "%s/kept", top);
	snprintf(merged, sizeof(merged), "%s/run-%016llx-%016llx", path, 0ull, 64ull);
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	insert_range(m, 0, 20, 20);
	assert_int_equal(idmap_flush(m, &err), 0);
	copy_file(first, kept);
	insert_range(m, 20, 64, 11);
	assert_int_equal(idmap_flush(m, &err), 0); /* [20, 64) is merged with [0, 20) */
	for (int t = 0; t < 1000 && access(merged, F_OK) != 0; t++)
		usleep(10000);
	idmap_close(m);
	assert_int_equal(access(merged, F_OK), 0);
	assert_int_equal(count_runs(), 1);
	copy_file(kept, first);                                              /* replaced by the merge */
	write_file("run-0000000000000000-0000000000000030", "CUSTOSID", 8); /* torn */
	write_file("run-0000000000000040-0000000000000050.tmp", "x", 1);    /* unfinished */
	copy_file(merged, kept);
	write_file("run-0000000000000050-0000000000000060", "garbage", 7);  /* past a gap */
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 64);
	check_range(m, 0, 64);
	idmap_close(m);
	assert_int_equal(count_runs(), 1);
	assert_int_equal(access(merged, F_OK), 0);
	/* A run whose header does not match its name is deleted. */
	unlink(merged);
	snprintf(merged, sizeof(merged), "%s/run-%016llx-%016llx", path, 0ull, 20ull);
	copy_file(kept, merged); /* wrong range for its name: deleted */
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	assert_int_equal(idmap_hwm(m), 0);
	idmap_close(m);
	assert_int_equal(count_runs(), 0);
}

/* Flips one byte at off of file f (from the end if off < 0). */
static void flip_byte(const char *f, long off)
{
	int fd = open(f, O_RDWR);
	unsigned char c;
	off_t at;

	assert_true(fd >= 0);
	at = off < 0 ? lseek(fd, off, SEEK_END) : (off_t)off;
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* A run whose bytes were changed anywhere (an entry, the filter, the
 * fence, the header, the checksum) is found at open by its checksum,
 * deleted and counted, and idmap_check names it; so is a run of the
 * older format without a checksum (version 3), which is rebuilt once. */
static void test_damaged_runs(void **state)
{
	static const long offsets[] = {64 + 24 * 7 + 2, 64 + 24 * 7 + 20, -40, -33, -1, 20, 40};
	char run[256], kept[256], msg[512];
	struct idmap *m;
	struct cu_err err;
	size_t i;

	(void)state;
	cu_err_clear(&err);
	snprintf(run, sizeof(run), "%s/run-%016llx-%016llx", path, 0ull, 40ull);
	snprintf(kept, sizeof(kept), "%s/kept", top);
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	insert_range(m, 0, 40, 40);
	assert_int_equal(idmap_flush(m, &err), 0);
	idmap_close(m);
	copy_file(run, kept);
	assert_int_equal(idmap_check(path, msg, sizeof(msg)), 0);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		copy_file(kept, run);
		flip_byte(run, offsets[i]);
		msg[0] = '\0';
		assert_int_equal(idmap_check(path, msg, sizeof(msg)), 1);
		assert_non_null(strstr(msg, "run-0000000000000000-0000000000000028"));
		assert_int_equal(idmap_open(path, 0, &m, &err), 0);
		assert_int_equal(idmap_damaged(m), 1);
		assert_int_equal(idmap_hwm(m), 0); /* the store replays [0, 40) */
		idmap_close(m);
		assert_int_equal(count_runs(), 0);
	}
	/* The older format: version 3 in the header (bytes 8..11). */
	copy_file(kept, run);
	{
		int fd = open(run, O_RDWR);
		unsigned char v3[4] = {0, 0, 0, 3};

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, v3, 4, 8), 4);
		close(fd);
	}
	assert_int_equal(idmap_check(path, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "older format"));
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	assert_int_equal(idmap_damaged(m), 1);
	assert_int_equal(idmap_hwm(m), 0);
	insert_range(m, 0, 40, 40); /* rebuilt: now in the current format */
	assert_int_equal(idmap_flush(m, &err), 0);
	idmap_close(m);
	assert_int_equal(idmap_check(path, msg, sizeof(msg)), 0);
	assert_int_equal(idmap_open(path, 0, &m, &err), 0);
	assert_int_equal(idmap_damaged(m), 0);
	check_range(m, 0, 40);
	idmap_close(m);
}

/* The worker cannot write its runs (a full disk): batches go on while
 * memory lasts, then begin fails with CU_ENOSPC; once writes work again,
 * the next begin succeeds and nothing was lost. */
static void test_full_disk(void **state)
{
	struct idmap *m;
	struct cu_err err;
	unsigned i = 0;
	int rc = 0;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(idmap_open(path, 8, &m, &err), 0);
	setenv("CUSTOS_FAULT", "writeall:1:28", 1);
	fio_fault_reset();
	for (i = 0; i < 200; i += 8) {
		uint8_t key[IDMAP_KEY_LEN];
		uint64_t seq;
		rc = idmap_begin(m, &err);
		if (rc)
			break;
		for (unsigned j = i; j < i + 8; j++) {
			nth_key(key, j);
			assert_int_equal(idmap_insert(m, key, j, &seq, &err), 1);
		}
		assert_int_equal(idmap_commit(m, i + 8, &err), 0);
	}
	assert_int_equal(rc, CU_ENOSPC);
	assert_non_null(strstr(err.msg, "No space left"));
	assert_true(i >= 16); /* batches went on while memory lasted */
	check_range(m, 0, i); /* the keys not written are still found */
	unsetenv("CUSTOS_FAULT");
	fio_fault_reset();
	cu_err_clear(&err);
	assert_int_equal(idmap_begin(m, &err), 0);
	assert_int_equal(idmap_commit(m, i, &err), 0);
	assert_int_equal(idmap_flush(m, &err), 0);
	check_range(m, 0, i);
	idmap_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shared_heads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runs_and_merges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_runs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
