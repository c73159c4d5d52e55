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
/* Replaces path with data atomically: path.tmp, fsync, rename, fsync dir. */
int fio_atomic_replace(const char *path, const void *data, size_t n, int mode, struct cu_err *err) CU_MUST_CHECK;
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
