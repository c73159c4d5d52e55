/* error.c - the error struct helpers. */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cu_err_clear(struct cu_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

static void set_va(struct cu_err *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code != 0)
		return;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int cu_err_set(struct cu_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_va(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int cu_err_from_errno(int errno_value)
{
	switch (errno_value) {
	case ENOSPC:
	case EDQUOT:
		return CU_ENOSPC;
	case ENOMEM:
		return CU_ENOMEM;
	case ENOENT:
		return CU_ENOTFOUND;
	case EEXIST:
		return CU_EEXIST;
	case EINVAL:
		return CU_EINVAL;
	case EACCES:
	case EPERM:
		return CU_EDENIED;
	default:
		return CU_EIO;
	}
}

int cu_err_errno(struct cu_err *err, int errno_value, const char *fmt, ...)
{
	int code = cu_err_from_errno(errno_value);
	va_list ap;
	size_t n;

	if (!err || err->code != 0)
		return code;
	va_start(ap, fmt);
	set_va(err, code, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errno_value));
	return code;
}

const char *cu_err_name(int code)
{
	switch (code) {
	case CU_OK: return "ok";
	case CU_EINVAL: return "invalid";
	case CU_EIO: return "io";
	case CU_ENOSPC: return "no_space";
	case CU_ENOMEM: return "no_memory";
	case CU_ECORRUPT: return "corrupt";
	case CU_ENOTFOUND: return "not_found";
	case CU_EEXIST: return "exists";
	case CU_ECRYPTO: return "crypto";
	case CU_ETOOBIG: return "too_big";
	case CU_ESTATE: return "state";
	case CU_EDENIED: return "denied";
	default: return "error";
	}
}
