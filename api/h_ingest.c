/* h_ingest.c - POST /v1/ingest: a JSON array or JSON Lines of generic
 * envelopes (ingest/envelope.h), archived as the token's source and
 * answered only when durable (docs/API.md "Ingest").
 *
 * A request is all or nothing: one malformed envelope refuses the whole
 * request (400, naming it) and nothing of it is stored. Each envelope's
 * payload is its exact bytes in the request: for an array, the element's
 * bytes (env_split_array), for JSON Lines, the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hooks.h"
#include "api/internal.h"
#include "ingest/envelope.h"
#include "ingest/ingest_sig.h"
#include "ingest/sources.h"

/* What the request holds while its records are committed. */
struct ingest_ctx {
	struct env_msg *msgs;       /* parsed envelopes (own the field strings) */
	struct store_input *in;     /* copies of msgs[i].in, contiguous for the queue */
	size_t n;                   /* envelopes parsed */
	size_t cap;                 /* elements allocated in msgs and in */
	char auth[1024];            /* JSON: how the source authenticated */
	int is_signed;              /* 1: the body's signature was verified (isig_check) */
	struct isig_evidence ev;    /* signed: the whole body as one more record */
};

static void ingest_ctx_free(void *p)
{
	struct ingest_ctx *c = p;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		env_release(&c->msgs[i]);
	free(c->msgs);
	free(c->in);
	isig_evidence_release(&c->ev);
	free(c);
}

/* The signature check (ingest/ingest_sig.h) on this request, against the
 * token's source as registered. 0, or the reply is set. */
static int check_sig(struct api_req *r, struct ingest_ctx *c)
{
	struct isig_request q;
	struct src_set set;
	struct cu_err err;
	int rc = -1;

	cu_err_clear(&err);
	if (src_load(r->srv->dir, &set, &err) != 0) {
		api_log("ingest: cannot load sources: %s", err.msg);
		api_reply_error(r, 503, "unavailable", "the archive's source list cannot be read");
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.src = src_find(&set, r->who.source);
	q.source = r->who.source;
	q.token = r->who.name;
	q.header = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, ISIG_HEADER);
	q.body = (const char *)r->body.data;
	q.len = r->body.len;
	q.content_type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	cu_err_clear(&err);
	switch (isig_check(&q, c->auth, sizeof(c->auth), &c->is_signed, &c->ev, &err)) {
	case ISIG_OK:
		rc = 0;
		break;
	case ISIG_REQUIRED:
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		api_reply_error(r, 401, "signature_required", "%s", err.msg);
		break;
	case ISIG_NO_KEY:
		api_reply_error(r, 401, "no_key", "%s", err.msg);
		break;
	case ISIG_MALFORMED:
		api_reply_error(r, 400, "bad_signature", "%s", err.msg);
		break;
	case ISIG_MISMATCH:
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		api_reply_error(r, 401, "bad_signature", "%s", err.msg);
		break;
	case ISIG_FAILED:
		api_reply_error(r, 500, "internal", "%s", err.msg);
		break;
	case ISIG_NOMEM:
		api_reply_error(r, 503, "no_memory", "%s", err.msg);
		break;
	}
	src_set_release(&set);
	return rc;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses one envelope of len bytes as element number idx (0-based). */
static int add_one(struct api_req *r, struct ingest_ctx *c, const char *text, size_t len, size_t idx)
{
	struct cu_err err;
	int rc;

	if (c->n >= r->lim.max_records_per_request) {
		api_reply_error(r, 413, "too_many_records", "more than %zu envelopes in one request",
				r->lim.max_records_per_request);
		return CU_ETOOBIG;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 64;
		struct env_msg *m = realloc(c->msgs, ncap * sizeof(*m));

		if (!m) {
			api_reply_error(r, 503, "no_memory", "out of memory");
			return CU_ENOMEM;
		}
		c->msgs = m;
		c->cap = ncap;
	}
	cu_err_clear(&err);
	rc = env_parse(text, len, r->who.source, c->auth, &c->msgs[c->n], &err);
	if (rc) {
		api_reply_error(r, rc == CU_ETOOBIG ? 413 : 400, rc == CU_ETOOBIG ? "envelope_too_large" : "bad_envelope",
				"envelope %zu: %s", idx + 1, err.msg);
		return rc;
	}
	c->n++;
	return 0;
}

/* A JSON array: one pass of the JSON parser finds each element's exact
 * bytes, which then go to env_parse. */
static int parse_array(struct api_req *r, struct ingest_ctx *c, const char *p, const char *end)
{
	struct env_span *spans;
	struct cu_err err;
	size_t n, i;
	int rc;

	cu_err_clear(&err);
	rc = env_split_array(p, (size_t)(end - p), r->lim.max_records_per_request, &spans, &n, &err);
	if (rc == CU_ETOOBIG) {
		api_reply_error(r, 413, "too_many_records", "more than %zu envelopes in one request",
				r->lim.max_records_per_request);
		return rc;
	}
	if (rc) {
		api_reply_error(r, rc == CU_ENOMEM ? 503 : 400, rc == CU_ENOMEM ? "no_memory" : "bad_json",
				"%s", err.msg);
		return rc;
	}
	for (i = 0; rc == 0 && i < n; i++)
		rc = add_one(r, c, p + spans[i].off, spans[i].len, i);
	free(spans);
	return rc;
}

/* JSON Lines: one envelope per line, blank lines ignored. */
static int parse_lines(struct api_req *r, struct ingest_ctx *c, const char *p, const char *end)
{
	size_t idx = 0;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *e = le;

		while (s < e && is_ws(*s))
			s++;
		while (e > s && is_ws(e[-1]))
			e--;
		if (e > s) {
			rc = add_one(r, c, s, (size_t)(e - s), idx);
			if (rc)
				return rc;
			idx++;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int ingest_done(struct api_req *r)
{
	struct ingest_ctx *c = r->hctx;
	size_t i, accepted = 0, dups = 0;
	uint64_t first = 0, last = 0;
	json_t *j;

	if (r->commit_rc) {
		api_reply_cu(r, r->commit_rc, r->commit_err.msg);
		return 0;
	}
	for (i = 0; i < c->n; i++) {
		if (c->in[i].duplicate) {
			dups++;
			continue;
		}
		if (!accepted)
			first = c->in[i].seq;
		last = c->in[i].seq;
		accepted++;
	}
	atomic_fetch_add(&r->srv->metrics.ingest_requests, 1); /* records: counted at the commit */
	j = json_pack("{s:I, s:I}", "accepted", (json_int_t)accepted, "duplicates", (json_int_t)dups);
	if (j) {
		json_object_set_new(j, "first_seq", accepted ? json_integer((json_int_t)first) : json_null());
		json_object_set_new(j, "last_seq", accepted ? json_integer((json_int_t)last) : json_null());
	}
	r->results = (long long)c->n;
	api_reply_json(r, 200, j);
	return 0;
}

int h_ingest(struct api_req *r)
{
	struct ingest_ctx *c;
	const char *p = (const char *)r->body.data, *end = p + r->body.len;
	size_t i;
	int rc;

	if (!r->who.source[0]) {
		api_reply_error(r, 403, "forbidden", "this token has no ingest source");
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	r->hctx = c;
	r->hctx_free = ingest_ctx_free;
	snprintf(c->auth, sizeof(c->auth), "{\"method\":\"bearer\",\"token\":\"%s\"}", r->who.name);
	if (check_sig(r, c) != 0)
		return 0;
	while (p && p < end && is_ws(*p))
		p++;
	if (!p || p == end) {
		api_reply_error(r, 400, "bad_request", "the body is empty: send a JSON array or JSON Lines of envelopes");
		return 0;
	}
	if (*p == '[')
		rc = parse_array(r, c, p, end);
	else
		rc = parse_lines(r, c, p, end);
	if (rc) {
		size_t k;

		atomic_fetch_add(&r->srv->metrics.ingest_rejected, c->n);
		for (k = 0; k < c->n; k++)
			env_release(&c->msgs[k]);
		c->n = 0;
		return 0;
	}
	if (c->n == 0) {
		r->hctx = c;
		return ingest_done(r);
	}
	c->in = malloc((c->n + 1) * sizeof(*c->in));
	if (!c->in) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	for (i = 0; i < c->n; i++) {
		c->in[i] = c->msgs[i].in;
		if (c->is_signed) /* a bearer token alone is no signature over the payload */
			c->in[i].rec.flags |= REC_F_SIGNED;
	}
	if (c->ev.present)
		c->in[c->n] = c->ev.in;
	r->uncounted = (size_t)c->ev.present; /* the evidence record is no envelope */
	return api_commit_async(r, c->in, c->n + (size_t)c->ev.present, ingest_done);
}
