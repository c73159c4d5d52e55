/* h_ingest.c - POST /v1/ingest: a JSON array or JSON Lines of generic
 * envelopes (ingest/envelope_batch.h), archived as the token's source and
 * answered only when durable (docs/API.md "Ingest").
 *
 * A request is all or nothing: one malformed envelope refuses the whole
 * request (400, naming it) and nothing of it is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hooks.h"
#include "api/api_int.h"
#include "api/handlers.h"
#include "ingest/envelope_batch.h"
#include "ingest/ingest_sig.h"
#include "ingest/sources.h"

/* What the request holds while its records are committed. */
struct ingest_ctx {
	struct env_batch b;         /* parsed envelopes (own the field strings) */
	struct store_input *in;     /* copies of b.msgs[i].in, contiguous for the queue */
	char auth[1024];            /* JSON: how the source authenticated */
	int is_signed;              /* 1: the body's signature was verified (isig_check) */
	struct isig_evidence ev;    /* signed: the whole body as one more record */
};

static void ingest_ctx_free(void *p)
{
	struct ingest_ctx *c = p;

	if (!c)
		return;
	env_batch_release(&c->b);
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
	for (i = 0; i < c->b.n; i++) {
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
	r->results = (long long)c->b.n;
	api_reply_json(r, 200, j);
	return 0;
}

int h_ingest(struct api_req *r)
{
	enum env_batch_outcome o;
	struct ingest_ctx *c;
	struct cu_err err;
	size_t i;

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
	cu_err_clear(&err);
	o = env_batch_parse((const char *)r->body.data, r->body.len, r->lim.max_records_per_request, r->who.source,
			    c->auth, &c->b, &err);
	if (o != ENVB_OK) {
		switch (o) {
		case ENVB_EMPTY:
			api_reply_error(r, 400, "bad_request", "%s", err.msg);
			break;
		case ENVB_TOO_MANY:
			api_reply_error(r, 413, "too_many_records", "%s", err.msg);
			break;
		case ENVB_TOO_LARGE:
			api_reply_error(r, 413, "envelope_too_large", "%s", err.msg);
			break;
		case ENVB_BAD_ENVELOPE:
			api_reply_error(r, 400, "bad_envelope", "%s", err.msg);
			break;
		case ENVB_BAD_JSON:
			api_reply_error(r, 400, "bad_json", "%s", err.msg);
			break;
		default:
			api_reply_error(r, 503, "no_memory", "%s", err.msg);
			break;
		}
		atomic_fetch_add(&r->srv->metrics.ingest_rejected, c->b.n); /* parsed before the failure */
		env_batch_clear(&c->b);
		return 0;
	}
	if (c->b.n == 0) {
		r->hctx = c;
		return ingest_done(r);
	}
	c->in = malloc((c->b.n + 1) * sizeof(*c->in));
	if (!c->in) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	for (i = 0; i < c->b.n; i++) {
		c->in[i] = c->b.msgs[i].in;
		if (c->is_signed) /* a bearer token alone is no signature over the payload */
			c->in[i].rec.flags |= REC_F_SIGNED;
	}
	if (c->ev.present)
		c->in[c->b.n] = c->ev.in;
	r->uncounted = (size_t)c->ev.present; /* the evidence record is no envelope */
	return api_commit_async(r, c->in, c->b.n + (size_t)c->ev.present, ingest_done);
}
