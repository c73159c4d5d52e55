/* fileio.h - durable file I/O: full writes, fsync of files and directories,
 * atomic replace (temp file + fsync + rename + fsync dir), capped reads.
 *
 * Every write site goes through fio_write_all/fio_pwrite_all/fio_fsync so
 * that tests can inject faults (short writes, EIO, ENOSPC, failed fsync) in
 * one place: see fio_fault_* below.
 */
#ifndef CUSTOS_COMMON_FILEIO_H
#define CUSTOS_COMMON_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"

int fio_write_all(int fd, const void *p, size_t n, const char *what, struct cu_err *err) CU_MUST_CHECK;
int fio_pwrite_all(int fd, const void *p, size_t n, off_t off, const char *what, struct cu_err *err) CU_MUST_CHECK;
/* Reads exactly n bytes at off; CU_ECORRUPT if the file is shorter. */
int fio_pread_all(int fd, void *p, size_t n, off_t off, const char *what, struct cu_err *err) CU_MUST_CHECK;
int fio_fsync(int fd, const char *what, struct cu_err *err) CU_MUST_CHECK;
int fio_fsync_dir(const char *dir, struct cu_err *err) CU_MUST_CHECK;
/* Replaces path with data atomically: path.tmp (fio_tmp_create), fsync,
 * rename, fsync dir (fio_tmp_commit). Every whole-file replace uses it. */
int fio_atomic_replace(const char *path, const void *data, size_t n, int mode, struct cu_err *err) CU_MUST_CHECK;
/* Creates the temporary file tmp (open flags O_RDWR, mode) for a later
 * fio_tmp_commit, with O_CREAT|O_EXCL|O_NOFOLLOW: a file or symlink that
 * is already at tmp (a leftover of a crash, or planted by someone who can
 * write the directory) is never opened or followed. It is unlinked
 * (unlink never follows a symlink) and the create tried once more; if
 * something appears again, the create fails. The mode is set with fchmod,
 * so the umask cannot widen or narrow it. Returns the fd, or a negative
 * CU_E* code with err set.
 * Callers that write tmp concurrently must serialise (one tmp name). */
int fio_tmp_create(const char *tmp, int mode, struct cu_err *err);
/* Makes a finished temporary file durable under its final name: fsync fd,
 * rename tmp to path, fsync path's directory. Does not close fd. */
int fio_tmp_commit(int fd, const char *tmp, const char *path, struct cu_err *err) CU_MUST_CHECK;
/* The directory part of path ("." when it has none) into out. */
void fio_dirname(const char *path, char *out, size_t outlen);

/* Reads a secrets file (key, data key, KEK, tokens.json, sources.json,
 * TLS key) into out, after checking on the opened descriptor that it is a
 * regular file (O_NOFOLLOW: not a symlink), owned by the running user,
 * with no group or other permission bits (0600 or 0400); and that its
 * directory is owned by the running user or root and not writable by
 * group or others (someone else could replace the file). With
 * FIO_SECRET_PRIVATE_DIR the directory must have no group or other bits
 * at all (0700; the archive's keys/ directory). CU_EDENIED with a message
 * that names the file and the command that fixes it; a missing file is
 * CU_ENOTFOUND as with fio_read_file. */
#define FIO_SECRET_PRIVATE_DIR 1
int fio_read_secret(const char *path, struct buf *out, int flags, struct cu_err *err) CU_MUST_CHECK;
/* Reads a whole file into out (which must be initialised with a cap). */
int fio_read_file(const char *path, struct buf *out, struct cu_err *err) CU_MUST_CHECK;
/* mkdir -p for one level, succeeding if it exists as a directory. */
int fio_mkdir(const char *path, int mode, struct cu_err *err) CU_MUST_CHECK;

/* Fault injection for tests: when the environment variable
 * CUSTOS_FAULT="<op>:<n>:<errno>" is set (op = write|fsync), the n-th call
 * (1-based) of that kind in the process fails with that errno; "write"
 * faults become a short write of half the bytes followed by the error.
 * op "writeall" fails every write from the n-th on (a full disk). */
void fio_fault_reset(void);
/* Background threads that write when they choose call this: their writes
 * and fsyncs are not counted for "write"/"fsync" faults (which would make
 * the n-th call racy), only "writeall" reaches them. */
void fio_fault_exempt_thread(void);

#endif
