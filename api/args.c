/* args.c - what a request asks, checked once before any handler runs
 * (api_int.h "Request inputs"): the query parameters are collected into
 * r->args, one value per name, and the path, its captures and the
 * recorded headers are checked. Handlers read parameters only through
 * api_query, and the audit record is built from the same r->args, so the
 * record names exactly the values the handler used. Numbers in query and
 * path parameters are read with api_query_u64 and api_param_u64. */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "common/utf8.h"

/* Request headers whose values are copied into records (the payload type
 * of signed-ingest evidence, ingest/ingest_sig.c). */
static const char *const recorded_headers[] = {
	MHD_HTTP_HEADER_CONTENT_TYPE,
};

#define ESC_MAX 4096 /* cap on one escaped text in an audit record */

int api_escape(const char *p, size_t n, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *s = (const uint8_t *)p;
	size_t i = 0, k;
	uint32_t cp;
	int rc = 0;

	while (i < n && rc == 0) {
		k = s[i] >= 0x80 ? utf8_decode(s + i, n - i, &cp) : 0;
		if (k) { /* a valid multi-byte character: kept as it is */
			rc = buf_append(out, s + i, k);
			i += k;
		} else if (s[i] > 0x20 && s[i] < 0x7f && s[i] != '%') {
			rc = buf_append_byte(out, s[i++]);
		} else {
			char e[3] = {'%', hex[s[i] >> 4], hex[s[i] & 15]};

			rc = buf_append(out, e, 3);
			i++;
		}
	}
	return rc;
}

/* A JSON string of api_escape(p[0..n)), or NULL when out of memory. */
static json_t *escaped_string(const char *p, size_t n)
{
	struct buf b;
	json_t *j = NULL;

	buf_init(&b, 3 * ESC_MAX);
	if (api_escape(p, n < ESC_MAX ? n : ESC_MAX, &b) == 0)
		j = json_stringn(b.data ? (const char *)b.data : "", b.len);
	buf_release(&b);
	return j;
}

struct arg_scan {
	json_t *args;        /* name -> value (null for a name without '=') */
	json_t *received;    /* [[name, value], ...] escaped, for the audit of a refusal */
	int oom;
	const char *why;     /* the first reason to refuse, or NULL */
	char name[128];      /* the parameter it concerns (escaped, truncated) */
};

static void refuse_arg(struct arg_scan *a, const char *why, const char *key, size_t key_size)
{
	struct buf b;

	if (a->why)
		return;
	a->why = why;
	buf_init(&b, sizeof(a->name) * 3);
	if (api_escape(key, key_size, &b) != 0 || buf_append_byte(&b, '\0') != 0)
		a->oom = 1;
	else
		snprintf(a->name, sizeof(a->name), "%s", (const char *)b.data);
	buf_release(&b);
}

static enum MHD_Result scan_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				const char *value, size_t value_size)
{
	struct arg_scan *a = cls;
	json_t *pair;

	(void)kind;
	if (!key)
		return MHD_YES;
	/* Every pair as received, for the audit record if the request is
	 * refused: a repeat or bad bytes are then shown as they came. */
	pair = json_pack("[o, o]", escaped_string(key, key_size),
			 value ? escaped_string(value, value_size) : json_null());
	if (!pair || json_array_append_new(a->received, pair) != 0) {
		a->oom = 1;
		return MHD_NO;
	}
	/* key_size and value_size count a NUL that %00 put into the text,
	 * which the C string would silently end at. */
	if (!utf8_check(key, key_size, 0, NULL) || (value && !utf8_check(value, value_size, 0, NULL))) {
		refuse_arg(a, "is not valid UTF-8 (or holds a NUL)", key, key_size);
		return MHD_YES;
	}
	if (json_object_get(a->args, key)) {
		refuse_arg(a, "is given more than once", key, key_size);
		return MHD_YES;
	}
	if (json_object_set_new(a->args, key, value ? json_stringn(value, value_size) : json_null()) != 0)
		a->oom = 1;
	return a->oom ? MHD_NO : MHD_YES;
}

/* The query parameters into r->args; 0, or the reply is set. */
static int collect_args(struct api_req *r)
{
	struct arg_scan a;

	memset(&a, 0, sizeof(a));
	a.args = json_object();
	a.received = json_array();
	if (a.args && a.received)
		MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, scan_arg, &a);
	if (!a.args || !a.received || a.oom) {
		json_decref(a.args);
		json_decref(a.received);
		api_reply_error(r, 503, "no_memory", "out of memory reading the query parameters");
		return CU_ENOMEM;
	}
	if (a.why) {
		json_decref(a.args);
		r->args_received = a.received;
		api_reply_error(r, 400, "bad_request", "query parameter '%s' %s", a.name, a.why);
		return CU_EINVAL;
	}
	json_decref(a.received);
	r->args = a.args;
	return 0;
}

void api_escape_in_place(char *s, size_t cap)
{
	struct buf b;

	buf_init(&b, cap - 1);
	(void)!api_escape(s, strlen(s), &b); /* on failure, the prefix that fit */
	memcpy(s, b.data ? (const char *)b.data : "", b.len);
	s[b.len] = '\0';
	buf_release(&b);
}

int api_check_path(struct api_req *r, const char *url)
{
	if (!utf8_valid_str(r->method))
		api_escape_in_place(r->method, sizeof(r->method));
	if (strlen(url) >= sizeof(r->path)) { /* r->path holds a cut copy */
		if (!utf8_valid_str(r->path)) {
			api_escape_in_place(r->path, sizeof(r->path));
			r->path_escaped = 1;
		}
		api_reply_error(r, 404, "not_found", "path too long");
		return CU_ENOTFOUND;
	}
	if (!utf8_valid_str(r->path)) {
		api_escape_in_place(r->path, sizeof(r->path));
		r->path_escaped = 1;
		api_reply_error(r, 400, "bad_request", "the path is not valid UTF-8: %s", r->path);
		return CU_EINVAL;
	}
	return 0;
}

int api_check_args(struct api_req *r)
{
	const char *h;
	size_t i;

	for (i = 0; i < sizeof(recorded_headers) / sizeof(recorded_headers[0]); i++) {
		h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, recorded_headers[i]);
		if (h && !utf8_valid_str(h)) {
			api_reply_error(r, 400, "bad_request", "the %s header is not valid UTF-8",
					recorded_headers[i]);
			return CU_EINVAL;
		}
	}
	return collect_args(r);
}

const char *api_query(struct api_req *r, const char *key)
{
	return json_string_value(json_object_get(r->args, key));
}

/* ---- numbers ---------------------------------------------------------- */

int api_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || strlen(s) > 19)
		return CU_EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return CU_EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int api_query_u64(struct api_req *r, const char *key, uint64_t def, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	const char *s = api_query(r, key);
	uint64_t v;

	if (!s) {
		*out = def;
		return 0;
	}
	if (api_parse_u64(s, &v) != 0 || v < min || v > max) {
		api_reply_error(r, 400, "bad_request", "query parameter '%s' must be an integer from %llu to %llu",
				key, (unsigned long long)min, (unsigned long long)max);
		return CU_EINVAL;
	}
	*out = v;
	return 0;
}

int api_param_u64(struct api_req *r, int idx, uint64_t *out)
{
	if (idx < 0 || idx >= API_MAX_PARAMS || api_parse_u64(r->params[idx], out) != 0) {
		api_reply_error(r, 400, "bad_request", "'%s' is not a decimal number",
				idx >= 0 && idx < API_MAX_PARAMS && r->params[idx] ? r->params[idx] : "");
		return CU_EINVAL;
	}
	return 0;
}
