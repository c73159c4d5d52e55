/* fileio.c - durable file I/O with a single fault-injection point. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fault injection state, parsed once from CUSTOS_FAULT (tests may re-read
 * it with fio_fault_reset between cases, while no other thread writes). */
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static char fault_op[16];
static long fault_at;
static int fault_errno;
static atomic_long count_write, count_fsync;
/* Set in threads whose writes happen at times of their own choosing (the id
 * map's worker): counting them would make "the n-th write" of the command
 * under test depend on thread timing. A full disk ("writeall") still
 * reaches them. */
static _Thread_local int fault_exempt;

static void fault_parse(void)
{
	const char *env = getenv("CUSTOS_FAULT");

	fault_op[0] = '\0';
	if (env && sscanf(env, "%15[a-z]:%ld:%d", fault_op, &fault_at, &fault_errno) != 3)
		fault_op[0] = '\0';
}

void fio_fault_exempt_thread(void)
{
	fault_exempt = 1;
}

void fio_fault_reset(void)
{
	fault_parse();
	atomic_store(&count_write, 0);
	atomic_store(&count_fsync, 0);
}

/* Returns the errno to inject for this call of op, or 0. */
static int fault_hit(const char *op, atomic_long *counter)
{
	pthread_once(&fault_once, fault_parse);
	/* "writeall": every write from the n-th on fails (a full disk). */
	if (!strcmp(fault_op, "writeall") && !strcmp(op, "write"))
		return atomic_fetch_add(counter, 1) + 1 >= fault_at ? fault_errno : 0;
	if (fault_exempt || fault_op[0] == '\0' || strcmp(fault_op, op) != 0)
		return 0;
	return atomic_fetch_add(counter, 1) + 1 == fault_at ? fault_errno : 0;
}

int fio_pwrite_all(int fd, const void *p, size_t n, off_t off, const char *what, struct cu_err *err)
{
	const uint8_t *q = p;
	int inj = fault_hit("write", &count_write);
	ssize_t w;

	if (inj) {
		/* A short write of half, then the error: the torn tail case. */
		if (n / 2 && pwrite(fd, q, n / 2, off) < 0)
			return cu_err_errno(err, errno, "write %s", what);
		return cu_err_errno(err, inj, "write %s", what);
	}
	while (n > 0) {
		w = pwrite(fd, q, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return cu_err_errno(err, errno, "write %s", what);
		}
		q += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

int fio_write_all(int fd, const void *p, size_t n, const char *what, struct cu_err *err)
{
	const uint8_t *q = p;
	int inj = fault_hit("write", &count_write);
	ssize_t w;

	if (inj) {
		if (n / 2 && write(fd, q, n / 2) < 0)
			return cu_err_errno(err, errno, "write %s", what);
		return cu_err_errno(err, inj, "write %s", what);
	}
	while (n > 0) {
		w = write(fd, q, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return cu_err_errno(err, errno, "write %s", what);
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int fio_pread_all(int fd, void *p, size_t n, off_t off, const char *what, struct cu_err *err)
{
	uint8_t *q = p;
	ssize_t r;

	while (n > 0) {
		r = pread(fd, q, n, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return cu_err_errno(err, errno, "read %s", what);
		}
		if (r == 0)
			return cu_err_set(err, CU_ECORRUPT, "read %s: unexpected end of file at offset %lld",
					  what, (long long)off);
		q += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int fio_fsync(int fd, const char *what, struct cu_err *err)
{
	int inj = fault_hit("fsync", &count_fsync);

	if (inj)
		return cu_err_errno(err, inj, "fsync %s", what);
	if (fsync(fd) != 0)
		return cu_err_errno(err, errno, "fsync %s", what);
	return 0;
}

int fio_fsync_dir(const char *dir, struct cu_err *err)
{
	int fd, rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cu_err_errno(err, errno, "open directory %s", dir);
	rc = fio_fsync(fd, dir, err);
	close(fd);
	return rc;
}

void fio_dirname(const char *path, char *out, size_t outlen)
{
	char *slash;

	snprintf(out, outlen, "%s", path);
	slash = strrchr(out, '/');
	if (slash == out)
		out[1] = '\0'; /* "/file" -> "/" */
	else if (slash)
		*slash = '\0';
	else
		snprintf(out, outlen, ".");
}

int fio_tmp_create(const char *tmp, int mode, struct cu_err *err)
{
	const int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, 0600);

	if (fd < 0 && errno == EEXIST) {
		/* A leftover (or a planted file or symlink): remove the name
		 * itself and create afresh; never write through it. */
		if (unlink(tmp) != 0 && errno != ENOENT)
			return cu_err_errno(err, errno, "remove stale temporary file %s", tmp);
		fd = open(tmp, flags, 0600);
	}
	if (fd < 0)
		return cu_err_errno(err, errno, "create %s", tmp);
	if (fchmod(fd, (mode_t)mode) != 0) {
		int rc = cu_err_errno(err, errno, "chmod %s", tmp);

		close(fd);
		unlink(tmp);
		return rc;
	}
	return fd;
}

int fio_tmp_commit(int fd, const char *tmp, const char *path, struct cu_err *err)
{
	char dir[4096];
	int rc = fio_fsync(fd, tmp, err);

	if (rc)
		return rc;
	if (rename(tmp, path) != 0)
		return cu_err_errno(err, errno, "rename %s", tmp);
	fio_dirname(path, dir, sizeof(dir));
	return fio_fsync_dir(dir, err);
}

int fio_atomic_replace(const char *path, const void *data, size_t n, int mode, struct cu_err *err)
{
	char tmp[4096];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return cu_err_set(err, CU_EINVAL, "path too long: %s", path);
	fd = fio_tmp_create(tmp, mode, err);
	if (fd < 0)
		return fd;
	rc = fio_write_all(fd, data, n, tmp, err);
	if (rc == 0)
		rc = fio_tmp_commit(fd, tmp, path, err);
	close(fd);
	if (rc)
		unlink(tmp);
	return rc;
}

/* Reads all of fd into out. */
static int read_fd(int fd, const char *path, struct buf *out, struct cu_err *err)
{
	uint8_t chunk[65536];
	ssize_t r;
	int rc = 0;

	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return cu_err_errno(err, errno, "read %s", path);
		}
		if (r == 0)
			break;
		rc = buf_append(out, chunk, (size_t)r);
		if (rc)
			return cu_err_set(err, rc, "read %s: larger than %zu bytes", path, out->max);
	}
	return 0;
}

/* The secrets-file rules on the opened fd and its directory. */
static int check_secret(int fd, const char *path, int flags, struct cu_err *err)
{
	struct stat st, ds;
	char dir[4096];
	uid_t me = geteuid();

	if (fstat(fd, &st) != 0)
		return cu_err_errno(err, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return cu_err_set(err, CU_EDENIED, "secrets file %s is not a regular file", path);
	if (st.st_uid != me)
		return cu_err_set(err, CU_EDENIED,
				  "secrets file %s is owned by uid %u, not by the user running custos "
				  "(uid %u): chown %u %s",
				  path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
	if (st.st_mode & 077)
		return cu_err_set(err, CU_EDENIED,
				  "secrets file %s has mode %04o: other users may read or change it; "
				  "it must be 0600: chmod 600 %s",
				  path, (unsigned)(st.st_mode & 07777), path);
	fio_dirname(path, dir, sizeof(dir));
	if (stat(dir, &ds) != 0)
		return cu_err_errno(err, errno, "stat %s", dir);
	if (ds.st_uid != me && ds.st_uid != 0)
		return cu_err_set(err, CU_EDENIED,
				  "the directory %s of secrets file %s is owned by uid %u, neither the "
				  "user running custos (uid %u) nor root: chown %u %s",
				  dir, path, (unsigned)ds.st_uid, (unsigned)me, (unsigned)me, dir);
	if ((flags & FIO_SECRET_PRIVATE_DIR) && (ds.st_mode & 077))
		return cu_err_set(err, CU_EDENIED,
				  "the directory %s of secrets file %s has mode %04o; it must be 0700: "
				  "chmod 700 %s",
				  dir, path, (unsigned)(ds.st_mode & 07777), dir);
	if (ds.st_mode & 022)
		return cu_err_set(err, CU_EDENIED,
				  "the directory %s of secrets file %s has mode %04o: other users can "
				  "replace the file; chmod go-w %s",
				  dir, path, (unsigned)(ds.st_mode & 07777), dir);
	return 0;
}

int fio_read_secret(const char *path, struct buf *out, int flags, struct cu_err *err)
{
	int fd, rc;

	/* O_NONBLOCK: a FIFO planted at the name must not hang the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return cu_err_set(err, CU_EDENIED,
					  "secrets file %s is a symbolic link; put the file itself there "
					  "(mode 0600)", path);
		return cu_err_errno(err, errno, "open %s", path);
	}
	rc = check_secret(fd, path, flags, err);
	if (rc == 0)
		rc = read_fd(fd, path, out, err);
	close(fd);
	return rc;
}

int fio_read_file(const char *path, struct buf *out, struct cu_err *err)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cu_err_errno(err, errno, "open %s", path);
	rc = read_fd(fd, path, out, err);
	close(fd);
	return rc;
}

int fio_mkdir(const char *path, int mode, struct cu_err *err)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return cu_err_errno(err, errno, "mkdir %s", path);
}
