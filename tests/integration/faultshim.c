/* faultshim.c - an interposed write layer for the fault tests
 * (test_faults.sh builds it with `cc -shared` and loads it with
 * LD_PRELOAD). It sees every write and fsync the process makes, including
 * SQLite's, which do not go through common/fileio.c and its CUSTOS_FAULT.
 *
 *   FAULTSHIM="<op>:<n>:<errno>:<path part>"
 *       op is write (write, pwrite, pwrite64, writev) or fsync (fsync,
 *       fdatasync). Only calls on files whose path contains <path part>
 *       count; the n-th of them (1-based) fails with errno. A failing write
 *       first writes half of its bytes (a torn write), like CUSTOS_FAULT.
 *       With op "writeall", every matching write from the n-th on fails
 *       (a full disk), until the file named by FAULTSHIM_STOP exists
 *       (space was freed).
 *   FAULTSHIM_COUNT=FILE
 *       at exit, appends "write W\nfsync F\n": how many matching calls the
 *       process made (to find how many sites a command reaches).
 *   FAULTSHIM_PATH="<path part>" filters the counting when FAULTSHIM is
 *       not set; FAULTSHIM_EXCLUDE="<part>" leaves out files whose path
 *       contains it (e.g. ".db": SQLite's files).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static char op[16];          /* "write", "fsync" or "" (count only) */
static long at;              /* which matching call fails */
static int inj_errno;        /* with this errno */
static char part[256];       /* path part a file must contain */
static char excl[256];       /* path part a file must not contain ("" none) */
static long n_write, n_fsync; /* matching calls so far */
static const char *count_file;
static const char *stop_file; /* FAULTSHIM_STOP: once it exists, no more faults */

__attribute__((constructor)) static void shim_init(void)
{
	const char *f = getenv("FAULTSHIM"), *p = getenv("FAULTSHIM_PATH");

	real_write = dlsym(RTLD_NEXT, "write");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	if (f && sscanf(f, "%15[a-z]:%ld:%d:%255[^\n]", op, &at, &inj_errno, part) < 3)
		op[0] = '\0';
	if (!f && p)
		snprintf(part, sizeof(part), "%s", p);
	if ((p = getenv("FAULTSHIM_EXCLUDE")))
		snprintf(excl, sizeof(excl), "%s", p);
	count_file = getenv("FAULTSHIM_COUNT");
	stop_file = getenv("FAULTSHIM_STOP");
}

__attribute__((destructor)) static void shim_fini(void)
{
	char line[64];
	int fd, n;

	if (!count_file)
		return;
	fd = open(count_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "write %ld\nfsync %ld\n", n_write, n_fsync);
	if (real_write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

/* 1 if fd is a file (or directory) whose path contains part. */
static int matches(int fd)
{
	char link[64], path[4096];
	ssize_t k;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, path, sizeof(path) - 1);
	if (k <= 0 || path[0] != '/')
		return 0; /* pipes, sockets, terminals */
	path[k] = '\0';
	return strstr(path, part) != NULL && (!excl[0] || !strstr(path, excl));
}

/* Returns the errno to inject for this call, or 0. */
static int hit(const char *kind, long *counter, int fd)
{
	long n;

	if (!matches(fd))
		return 0;
	n = __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
	if (!op[0] || (stop_file && access(stop_file, F_OK) == 0))
		return 0;
	if (!strcmp(op, kind) && n == at)
		return inj_errno;
	return !strcmp(kind, "write") && !strcmp(op, "writeall") && n >= at ? inj_errno : 0;
}

ssize_t write(int fd, const void *p, size_t n)
{
	int e = hit("write", &n_write, fd);

	if (e) {
		if (n / 2)
			(void)!real_write(fd, p, n / 2);
		errno = e;
		return -1;
	}
	return real_write(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	int e = hit("write", &n_write, fd);

	if (e) {
		if (n / 2)
			(void)!real_pwrite(fd, p, n / 2, off);
		errno = e;
		return -1;
	}
	return real_pwrite(fd, p, n, off);
}

ssize_t pwrite64(int fd, const void *p, size_t n, off64_t off)
{
	int e = hit("write", &n_write, fd);

	if (e) {
		if (n / 2)
			(void)!real_pwrite64(fd, p, n / 2, off);
		errno = e;
		return -1;
	}
	return real_pwrite64(fd, p, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	int e = hit("write", &n_write, fd);

	if (e) {
		errno = e;
		return -1;
	}
	return real_writev(fd, iov, cnt);
}

int fsync(int fd)
{
	int e = hit("fsync", &n_fsync, fd);

	if (e) {
		errno = e;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	int e = hit("fsync", &n_fsync, fd);

	if (e) {
		errno = e;
		return -1;
	}
	return real_fdatasync(fd);
}
