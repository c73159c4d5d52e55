/* error.h - error codes and the optional error struct carried by fallible calls.
 *
 * Fallible functions return 0 or a negative CU_E* code. When the caller passes
 * a non-NULL struct cu_err, the callee also fills in a human-readable message
 * naming what failed (file, seq, field ...). Library code never exits.
 */
#ifndef CUSTOS_COMMON_ERROR_H
#define CUSTOS_COMMON_ERROR_H

#include <stddef.h>

#define CU_MUST_CHECK __attribute__((warn_unused_result))

enum cu_errcode {
	CU_OK = 0,
	CU_EINVAL = -1,    /* bad input: malformed envelope, bad argument */
	CU_EIO = -2,       /* read/write/fsync failed */
	CU_ENOSPC = -3,    /* disk full */
	CU_ENOMEM = -4,    /* allocation failed or a cap was exceeded */
	CU_ECORRUPT = -5,  /* bytes on disk do not match what they claim */
	CU_ENOTFOUND = -6, /* no such record, file, token ... */
	CU_EEXIST = -7,    /* refusing to overwrite something that exists */
	CU_ECRYPTO = -8,   /* OpenSSL/libsodium failure or bad signature */
	CU_ETOOBIG = -9,   /* input exceeds a documented cap */
	CU_ESTATE = -10,   /* operation not allowed in the current state */
	CU_EDENIED = -11,  /* not permitted (role, hold, four-eyes) */
};

/* Carries the message of the first error; cleared with cu_err_clear(). */
struct cu_err {
	int code;       /* the CU_E* code, 0 when no error */
	char msg[512];  /* NUL-terminated description, empty when no error */
};

void cu_err_clear(struct cu_err *err);

/* Records code and a printf-style message in err (if err is not NULL) and
 * returns code, so that callers can write `return cu_err_set(err, ...)`.
 * Only the first error is kept: a later set does not overwrite it. */
int cu_err_set(struct cu_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like cu_err_set but appends ": strerror(errno_value)". */
int cu_err_errno(struct cu_err *err, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Maps an errno value to a CU_E* code (ENOSPC/EDQUOT -> CU_ENOSPC ...). */
int cu_err_from_errno(int errno_value);

/* A short stable name for a code ("io", "no_space", "corrupt" ...). */
const char *cu_err_name(int code);

#endif
