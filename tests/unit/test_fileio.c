/* test_fileio.c - the two guards on files: fio_atomic_replace (and
 * fio_tmp_create under it) never writes through a file or symlink planted
 * at the temporary name, and fio_read_secret refuses a secrets file that
 * is a symlink, not a regular file, readable or writable by others, owned
 * by another user, or in a directory others can write (or, for keys/, one
 * with any group/other bits), naming the file and the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "tests/unit/test_util.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	tu_tmpdir(dir, sizeof(dir), "fileio");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(dir);
}

static void put(const char *path, const char *text, int mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

static void slurp(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t r;

	assert_non_null(f);
	r = fread(out, 1, n - 1, f);
	out[r] = '\0';
	fclose(f);
}

static void test_atomic_replace_planted(void **state)
{
	char path[400], tmp[410], victim[400], text[64];
	struct stat st;
	struct cu_err err;

	(void)state;
	snprintf(path, sizeof(path), "%s/tokens.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	put(victim, "precious", 0644);
	/* a symlink planted at the temporary name: the write must not follow it */
	assert_int_equal(symlink(victim, tmp), 0);
	cu_err_clear(&err);
	assert_int_equal(fio_atomic_replace(path, "new", 3, 0600, &err), 0);
	slurp(victim, text, sizeof(text));
	assert_string_equal(text, "precious");
	slurp(path, text, sizeof(text));
	assert_string_equal(text, "new");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(lstat(tmp, &st), -1); /* nothing left at the temporary name */
	/* a stale regular file there (a crash) is replaced, not appended to */
	put(tmp, "stale stale stale", 0666);
	assert_int_equal(fio_atomic_replace(path, "newer", 5, 0600, &err), 0);
	slurp(path, text, sizeof(text));
	assert_string_equal(text, "newer");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the mode is the one asked for, whatever the umask */
	umask(0);
	assert_int_equal(fio_atomic_replace(path, "x", 1, 0600, &err), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_tmp_create_commit(void **state)
{
	char path[400], tmp[410], victim[400], text[64];
	struct cu_err err;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/run", dir);
	snprintf(tmp, sizeof(tmp), "%s/run.tmp", dir);
	snprintf(victim, sizeof(victim), "%s/victim2", dir);
	put(victim, "keep", 0644);
	assert_int_equal(symlink(victim, tmp), 0);
	cu_err_clear(&err);
	fd = fio_tmp_create(tmp, 0640, &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "run", 3), 3);
	assert_int_equal(fio_tmp_commit(fd, tmp, path, &err), 0);
	close(fd);
	slurp(victim, text, sizeof(text));
	assert_string_equal(text, "keep");
	slurp(path, text, sizeof(text));
	assert_string_equal(text, "run");
}

/* fio_read_secret on path: expect rc, and (when refused) the message to
 * name the file and contain hint. */
static void secret(const char *path, int flags, int want, const char *hint)
{
	struct buf b;
	struct cu_err err;
	int rc;

	buf_init(&b, 4096);
	cu_err_clear(&err);
	rc = fio_read_secret(path, &b, flags, &err);
	if (rc != want)
		fail_msg("%s: rc %d, want %d (%s)", path, rc, want, err.msg);
	if (want == 0)
		assert_string_equal((const char *)b.data, "s3cret");
	if (hint && (!strstr(err.msg, path) || !strstr(err.msg, hint)))
		fail_msg("%s: message '%s' should name the file and say '%s'", path, err.msg, hint);
	buf_release(&b);
}

static void test_read_secret(void **state)
{
	char sub[300], keys[300], f[400], link[400], fifo[400];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/data", dir);
	snprintf(keys, sizeof(keys), "%s/data/keys", dir);
	assert_int_equal(mkdir(sub, 0750), 0);
	assert_int_equal(mkdir(keys, 0700), 0);
	assert_int_equal(chmod(sub, 0750), 0);

	snprintf(f, sizeof(f), "%s/tokens.json", sub);
	put(f, "s3cret", 0600);
	secret(f, 0, 0, NULL);
	put(f, "s3cret", 0400);
	secret(f, 0, 0, NULL);
	put(f, "s3cret", 0644);
	secret(f, 0, CU_EDENIED, "chmod 600");
	put(f, "s3cret", 0640);
	secret(f, 0, CU_EDENIED, "chmod 600");
	put(f, "s3cret", 0602);
	secret(f, 0, CU_EDENIED, "chmod 600");
	put(f, "s3cret", 0600);

	/* a symlink to a good file is still refused (O_NOFOLLOW) */
	snprintf(link, sizeof(link), "%s/link.json", sub);
	assert_int_equal(symlink(f, link), 0);
	secret(link, 0, CU_EDENIED, "symbolic link");
	/* not a regular file (and the open does not hang on a FIFO) */
	snprintf(fifo, sizeof(fifo), "%s/fifo", sub);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	secret(fifo, 0, CU_EDENIED, "not a regular file");
	secret(sub, 0, CU_EDENIED, "not a regular file");
	/* missing: as fio_read_file */
	snprintf(link, sizeof(link), "%s/none.json", sub);
	secret(link, 0, CU_ENOTFOUND, NULL);

	/* the directory: group/other-writable is refused */
	assert_int_equal(chmod(sub, 0770), 0);
	secret(f, 0, CU_EDENIED, "chmod go-w");
	assert_int_equal(chmod(sub, 0757), 0);
	secret(f, 0, CU_EDENIED, "chmod go-w");
	assert_int_equal(chmod(sub, 0750), 0);
	secret(f, 0, 0, NULL);

	/* keys/: 0700 and nothing else */
	snprintf(f, sizeof(f), "%s/data.key", keys);
	put(f, "s3cret", 0600);
	secret(f, FIO_SECRET_PRIVATE_DIR, 0, NULL);
	assert_int_equal(chmod(keys, 0755), 0);
	secret(f, FIO_SECRET_PRIVATE_DIR, CU_EDENIED, "chmod 700");
	assert_int_equal(chmod(keys, 0750), 0);
	secret(f, FIO_SECRET_PRIVATE_DIR, CU_EDENIED, "chmod 700");
	assert_int_equal(chmod(keys, 0700), 0);

	/* owned by someone else (only root can set that up) */
	if (geteuid() == 0) {
		assert_int_equal(chown(f, 65534, 65534), 0);
		secret(f, FIO_SECRET_PRIVATE_DIR, CU_EDENIED, "chown 0");
		assert_int_equal(chown(f, 0, 0), 0);
		assert_int_equal(chown(keys, 65534, 65534), 0);
		secret(f, FIO_SECRET_PRIVATE_DIR, CU_EDENIED, "chown 0");
		assert_int_equal(chown(keys, 0, 0), 0);
		secret(f, FIO_SECRET_PRIVATE_DIR, 0, NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_replace_planted),
		cmocka_unit_test(test_tmp_create_commit),
		cmocka_unit_test(test_read_secret),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
