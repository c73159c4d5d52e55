/* envelope_split.c - finds the envelopes of a JSON array (the body of an
 * ingest request) in one pass of yajl's event parser, so that each one's
 * exact bytes can go to env_parse (envelope.h). */
#include "ingest/envelope.h"
#include "ingest/envelope_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

struct split_state {
	yajl_handle h;
	int depth;
	size_t max, n;
	struct env_span *spans;
	size_t not_object;  /* first element that is no object, +1 */
	const char *fail;
	int too_many;
};

/* A value starts; at depth 1 it is an element of the array. One that is
 * no object is remembered, and the parse goes on so that an error in the
 * JSON itself (nesting depth, say) is the one reported. */
static int split_value(struct split_state *s, int opens_object)
{
	if (s->depth != 1)
		return 1;
	if (s->n == s->max) {
		s->too_many = 1;
		return 0;
	}
	if (!opens_object) {
		if (!s->not_object)
			s->not_object = s->n + 1;
		s->spans[s->n].off = s->spans[s->n].len = 0;
		s->n++;
		return 1;
	}
	s->spans[s->n].off = yajl_get_bytes_consumed(s->h) - 1; /* the '{' just read */
	return 1;
}

static int split_scalar(void *ctx)
{
	return split_value(ctx, 0);
}

static int split_bool(void *ctx, int b)
{
	(void)b;
	return split_value(ctx, 0);
}

static int split_number(void *ctx, const char *t, size_t n)
{
	(void)t;
	(void)n;
	return split_value(ctx, 0);
}

static int split_string(void *ctx, const unsigned char *t, size_t n)
{
	(void)t;
	(void)n;
	return split_value(ctx, 0);
}

static int split_open(struct split_state *s, int object)
{
	if (s->depth == 0 && object) {
		s->fail = "expected a JSON array";
		return 0;
	}
	if (!split_value(s, object))
		return 0;
	if (s->depth >= ENV_MAX_DEPTH) {
		s->fail = "maximum nesting depth (2048) exceeded";
		return 0;
	}
	s->depth++;
	return 1;
}

static int split_start_map(void *ctx)
{
	return split_open(ctx, 1);
}

static int split_start_array(void *ctx)
{
	return split_open(ctx, 0);
}

static int split_end_map(void *ctx)
{
	struct split_state *s = ctx;

	if (--s->depth == 1) { /* an element closed: the '}' just read */
		s->spans[s->n].len = yajl_get_bytes_consumed(s->h) - s->spans[s->n].off;
		s->n++;
	}
	return 1;
}

static int split_end_array(void *ctx)
{
	struct split_state *s = ctx;

	s->depth--;
	return 1;
}

static int split_key(void *ctx, const unsigned char *t, size_t n)
{
	(void)ctx;
	(void)t;
	(void)n;
	return 1;
}

static const yajl_callbacks split_callbacks = {
	.yajl_null = split_scalar,
	.yajl_boolean = split_bool,
	.yajl_number = split_number,
	.yajl_string = split_string,
	.yajl_start_map = split_start_map,
	.yajl_map_key = split_key,
	.yajl_end_map = split_end_map,
	.yajl_start_array = split_start_array,
	.yajl_end_array = split_end_array,
};

int env_split_array(const char *text, size_t len, size_t max, struct env_span **spans,
		    size_t *n, struct cu_err *err)
{
	struct split_state s;
	yajl_status st;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	*spans = NULL;
	*n = 0;
	s.max = max;
	/* An element takes at least 3 bytes ("{}" and a comma or bracket). */
	s.spans = malloc(((max < len / 3 ? max : len / 3) + 1) * sizeof(*s.spans));
	s.h = yajl_alloc(&split_callbacks, NULL, &s);
	if (!s.spans || !s.h) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if (s.max > len / 3 + 1)
		s.max = len / 3 + 1;
	st = yajl_parse(s.h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(s.h);
	if (st != yajl_status_ok) {
		if (s.too_many) {
			rc = cu_err_set(err, CU_ETOOBIG, "more than %zu envelopes", max);
		} else if (s.fail) {
			rc = cu_err_set(err, CU_EINVAL, "envelope %zu: %s", s.n + 1, s.fail);
		} else {
			char prefix[48];
			snprintf(prefix, sizeof(prefix), "envelope %zu: ", s.n + 1);
			rc = env_json_error(s.h, prefix, err);
		}
		goto out;
	}
	if (s.not_object) {
		rc = cu_err_set(err, CU_EINVAL, "envelope %zu: expected a JSON object", s.not_object);
		goto out;
	}
	*spans = s.spans;
	*n = s.n;
	s.spans = NULL;
out:
	if (s.h)
		yajl_free(s.h);
	free(s.spans);
	return rc;
}
