/* reply.c - setting a request's reply (api_int.h "Replies"): JSON bodies,
 * text bodies, the error object of docs/API.md, and the mapping of CU_E*
 * codes to HTTP statuses. The HTTP layer (http.c) sends what is set here. */
#include <stdarg.h>
#include <stdio.h>

#include "api/api_int.h"
#include "common/utf8.h"

static int dump_cb(const char *p, size_t n, void *data)
{
	return buf_append(data, p, n) == 0 ? 0 : -1;
}

void api_reply_json(struct api_req *r, unsigned status, json_t *j)
{
	buf_reset(&r->out);
	if (!j || json_dump_callback(j, dump_cb, &r->out, JSON_COMPACT) != 0 ||
	    buf_append_byte(&r->out, '\n') != 0) {
		json_decref(j);
		buf_reset(&r->out);
		api_reply_error(r, j ? 500 : 503, j ? "response_too_large" : "no_memory",
				"the response could not be built");
		return;
	}
	json_decref(j);
	r->status = status;
	r->ctype = "application/json";
}

void api_reply_text(struct api_req *r, unsigned status, const char *ctype, const char *text, size_t len)
{
	buf_reset(&r->out);
	if (buf_append(&r->out, text, len) != 0) {
		api_reply_error(r, 500, "response_too_large", "the response could not be built");
		return;
	}
	r->status = status;
	r->ctype = ctype;
}

void api_reply_error(struct api_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!utf8_valid_str(msg)) /* cut inside a character, or quoting bad input */
		api_escape_in_place(msg, sizeof(msg));
	buf_reset(&r->out);
	j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
	if (!j || json_dump_callback(j, dump_cb, &r->out, JSON_COMPACT) != 0 ||
	    buf_append_byte(&r->out, '\n') != 0) {
		/* Out of memory even for an error: a fixed body. */
		static const char fixed[] = "{\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\"}}\n";

		buf_reset(&r->out);
		if (buf_append(&r->out, fixed, sizeof(fixed) - 1) != 0)
			buf_reset(&r->out);
		status = 503;
	}
	json_decref(j);
	r->status = status;
	r->ctype = "application/json";
	if ((status == 503 || status == 429) && !r->retry_after)
		r->retry_after = 1;
}

void api_reply_cu(struct api_req *r, int rc, const char *msg)
{
	const char *m = msg && *msg ? msg : cu_err_name(rc);

	switch (rc) {
	case CU_EINVAL:
		api_reply_error(r, 400, "bad_request", "%s", m);
		break;
	case CU_ENOTFOUND:
		api_reply_error(r, 404, "not_found", "%s", m);
		break;
	case CU_EDENIED:
		api_reply_error(r, 403, "forbidden", "%s", m);
		break;
	case CU_ETOOBIG:
		api_reply_error(r, 413, "too_large", "%s", m);
		break;
	case CU_EEXIST:
	case CU_ESTATE:
		api_reply_error(r, 409, "conflict", "%s", m);
		break;
	case CU_EIO:
	case CU_ENOSPC:
	case CU_ENOMEM:
		api_reply_error(r, 503, rc == CU_ENOSPC ? "no_space" : "unavailable",
				"storage unavailable, nothing was stored: %s", m);
		break;
	default:
		api_reply_error(r, 500, "internal", "%s", m);
		break;
	}
}
