/* envelope_batch.c - a request body of envelopes, a JSON array or JSON
 * Lines (ingest/envelope_batch.h). */
#include "ingest/envelope_batch.h"

#include <stdlib.h>
#include <string.h>

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void env_batch_clear(struct env_batch *b)
{
	while (b->n > 0)
		env_release(&b->msgs[--b->n]);
}

void env_batch_release(struct env_batch *b)
{
	if (!b)
		return;
	env_batch_clear(b);
	free(b->msgs);
	memset(b, 0, sizeof(*b));
}

/* Parses one envelope of len bytes as element number idx (0-based). */
static enum env_batch_outcome add_one(struct env_batch *b, size_t max, const char *text, size_t len, size_t idx,
				      const char *source, const char *auth, struct cu_err *err)
{
	struct cu_err perr;
	int rc;

	if (b->n >= max) {
		cu_err_set(err, CU_ETOOBIG, "more than %zu envelopes in one request", max);
		return ENVB_TOO_MANY;
	}
	if (b->n == b->cap) {
		size_t ncap = b->cap ? 2 * b->cap : 64;
		struct env_msg *m = realloc(b->msgs, ncap * sizeof(*m));

		if (!m) {
			cu_err_set(err, CU_ENOMEM, "out of memory");
			return ENVB_NOMEM;
		}
		b->msgs = m;
		b->cap = ncap;
	}
	cu_err_clear(&perr);
	rc = env_parse(text, len, source, auth, &b->msgs[b->n], &perr);
	if (rc) {
		cu_err_set(err, rc, "envelope %zu: %s", idx + 1, perr.msg);
		return rc == CU_ETOOBIG ? ENVB_TOO_LARGE : ENVB_BAD_ENVELOPE;
	}
	b->n++;
	return ENVB_OK;
}

/* A JSON array: one pass of the JSON parser finds each element's exact
 * bytes, which then go to env_parse. */
static enum env_batch_outcome parse_array(struct env_batch *b, size_t max, const char *p, const char *end,
					  const char *source, const char *auth, struct cu_err *err)
{
	enum env_batch_outcome o = ENVB_OK;
	struct env_span *spans;
	struct cu_err serr;
	size_t n, i;
	int rc;

	cu_err_clear(&serr);
	rc = env_split_array(p, (size_t)(end - p), max, &spans, &n, &serr);
	if (rc == CU_ETOOBIG) {
		cu_err_set(err, rc, "more than %zu envelopes in one request", max);
		return ENVB_TOO_MANY;
	}
	if (rc) {
		cu_err_set(err, rc, "%s", serr.msg);
		return rc == CU_ENOMEM ? ENVB_NOMEM : ENVB_BAD_JSON;
	}
	for (i = 0; o == ENVB_OK && i < n; i++)
		o = add_one(b, max, p + spans[i].off, spans[i].len, i, source, auth, err);
	free(spans);
	return o;
}

/* JSON Lines: one envelope per line, blank lines ignored. */
static enum env_batch_outcome parse_lines(struct env_batch *b, size_t max, const char *p, const char *end,
					  const char *source, const char *auth, struct cu_err *err)
{
	enum env_batch_outcome o;
	size_t idx = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *e = le;

		while (s < e && is_ws(*s))
			s++;
		while (e > s && is_ws(e[-1]))
			e--;
		if (e > s) {
			o = add_one(b, max, s, (size_t)(e - s), idx, source, auth, err);
			if (o != ENVB_OK)
				return o;
			idx++;
		}
		p = nl ? nl + 1 : end;
	}
	return ENVB_OK;
}

enum env_batch_outcome env_batch_parse(const char *body, size_t len, size_t max, const char *source,
				       const char *auth, struct env_batch *b, struct cu_err *err)
{
	const char *p = body, *end = body ? body + len : NULL;

	while (p && p < end && is_ws(*p))
		p++;
	if (!p || p == end) {
		cu_err_set(err, CU_EINVAL, "the body is empty: send a JSON array or JSON Lines of envelopes");
		return ENVB_EMPTY;
	}
	if (*p == '[')
		return parse_array(b, max, p, end, source, auth, err);
	return parse_lines(b, max, p, end, source, auth, err);
}
