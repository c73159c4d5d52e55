/* json_slice.c - byte ranges of array elements in a JSON body, with
 * jansson (json_slice.h). */
#include "ingest/json_slice.h"

#include <jansson.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Decodes the one JSON value at p; returns its length in bytes (0 on a
 * syntax error) and, if out is set, the value. */
static size_t value_len(const char *p, const char *end, json_t **out)
{
	json_error_t jerr;
	json_t *j = json_loadb(p, (size_t)(end - p), JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &jerr);
	size_t n;

	if (!j)
		return 0;
	n = jerr.position > 0 && (size_t)jerr.position <= (size_t)(end - p) ? (size_t)jerr.position : 0;
	if (out && n)
		*out = j;
	else
		json_decref(j);
	return n;
}

/* Walks the array at *pp ('['), calling fn for each element. */
static int walk_array(const char **pp, const char *end, const char *member, jslice_fn fn, void *ctx,
		      struct cu_err *err)
{
	const char *p = *pp;
	size_t i = 0, n;
	int rc;

	if (p >= end || *p != '[')
		return cu_err_set(err, CU_EINVAL, "\"%s\" is not an array", member);
	p = skip_ws(p + 1, end);
	if (p < end && *p == ']') {
		*pp = p + 1;
		return 0;
	}
	for (;; i++) {
		n = value_len(p, end, NULL);
		if (!n)
			return cu_err_set(err, CU_EINVAL, "element %zu of \"%s\" is not valid JSON", i, member);
		rc = fn(ctx, i, p, n, err);
		if (rc)
			return rc;
		p = skip_ws(p + n, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == ']')
			break;
		return cu_err_set(err, CU_EINVAL, "after element %zu of \"%s\": expected ',' or ']'", i, member);
	}
	*pp = p + 1;
	return 0;
}

int jslice_member_array(const char *body, size_t len, const char *member, jslice_fn fn, void *ctx,
			struct cu_err *err)
{
	const char *p = body, *end = body + len;
	json_t *key = NULL;
	int rc = 0, seen = 0;
	size_t n;

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return cu_err_set(err, CU_EINVAL, "the body is not a JSON object");
	p = skip_ws(p + 1, end);
	while (p < end && *p != '}') {
		key = NULL;
		n = value_len(p, end, &key);
		if (!n || !json_is_string(key)) {
			rc = cu_err_set(err, CU_EINVAL, "bad member name in the body");
			goto out;
		}
		p = skip_ws(p + n, end);
		if (p >= end || *p != ':') {
			rc = cu_err_set(err, CU_EINVAL, "expected ':' in the body");
			goto out;
		}
		p = skip_ws(p + 1, end);
		if (!strcmp(json_string_value(key), member)) {
			if (seen++) {
				rc = cu_err_set(err, CU_EINVAL, "\"%s\" appears twice", member);
				goto out;
			}
			rc = walk_array(&p, end, member, fn, ctx, err);
			if (rc)
				goto out;
		} else {
			n = value_len(p, end, NULL);
			if (!n) {
				rc = cu_err_set(err, CU_EINVAL, "bad value of \"%s\"", json_string_value(key));
				goto out;
			}
			p += n;
		}
		json_decref(key);
		key = NULL;
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
		else if (p >= end || *p != '}') {
			rc = cu_err_set(err, CU_EINVAL, "expected ',' or '}' in the body");
			goto out;
		}
	}
	if (!seen)
		rc = cu_err_set(err, CU_EINVAL, "the body has no \"%s\" array", member);
out:
	json_decref(key);
	return rc;
}
