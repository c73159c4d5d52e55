/* h_threema.c - POST /v1/hooks/threema/{source}: the Threema Gateway's
 * E2E callback (ingest/threema.h). The Gateway retries a callback that
 * is not answered 200, so 200 is sent only once the record is durable; a
 * message that cannot be decrypted is archived (flagged encrypted) and
 * answered 200 too. A wrong MAC is 401 and nothing is archived: the
 * request did not come from the Gateway. A callback that carries the
 * Gateway's MAC but cannot be read as a message (a field in the wrong
 * format, a message for another identity, a body over the cap) is
 * archived as a "rejected" record of the form body and answered 200: a
 * refusal would be retried and then dropped by the Gateway, and what the
 * citizen sent would be lost without a trace. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hooks.h"
#include "api/api_int.h"
#include "ingest/hook_source.h"
#include "ingest/sources.h"
#include "ingest/threema.h"

/* The callback: a message, or a "rejected" record of the form body. */
struct th_ctx {
	struct th_msg m;
	struct th_rejected rej;
	int rejected;
	int rechecked;              /* a duplicate compared with the archive */
	struct rekey rk;            /* a duplicate that was not, re-keyed */
};

static void th_ctx_free(void *p)
{
	struct th_ctx *c = p;

	if (!c)
		return;
	rekey_release(&c->rk);
	th_msg_release(&c->m);
	th_rejected_release(&c->rej);
	free(c);
}

/* Archives the Gateway-authenticated body that th_parse_callback refused
 * (why) as a "rejected" record (th_reject_fill). 0, or the reply is set. */
static int th_reject(struct api_req *r, struct th_ctx *c, const struct src_entry *e, const char *why)
{
	const char *body = r->body.data ? (const char *)r->body.data : "";

	if (th_reject_fill(&c->m, &c->rej, e, body, r->body.len, why)) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return -1;
	}
	c->rejected = 1;
	api_log("threema: a callback with a valid MAC archived as a rejected record: %s", why);
	return 0;
}

static int th_done(struct api_req *r)
{
	struct th_ctx *c = r->hctx;
	struct th_msg *m = &c->m;
	int dup;

	if (r->commit_rc) {
		api_reply_cu(r, r->commit_rc, r->commit_err.msg);
		return 0;
	}
	if (!c->rechecked) {
		/* The message id is made by the sender's app: another message
		 * (another MAC) under a known id is no redelivery. */
		struct cu_err err;

		c->rechecked = 1;
		cu_err_clear(&err);
		if (api_hook_rekey(r, &m->in, 1, RF_AUTH, &c->rk, &err) != 0) {
			api_reply_cu(r, CU_EIO, err.msg); /* the Gateway retries */
			return 0;
		}
		if (c->rk.n)
			return api_commit_async(r, c->rk.in, 1, th_done);
	}
	/* The outcome is the re-keyed copy's when there is one. */
	dup = c->rk.n ? c->rk.in[0].duplicate : m->in.duplicate;
	atomic_fetch_add(&r->srv->metrics.ingest_requests, 1); /* records: counted at the commit */
	r->results = 1;
	api_reply_json(r, 200, json_pack("{s:i, s:i, s:i}", "accepted", dup ? 0 : 1, "duplicates", dup ? 1 : 0,
					 "rejected", c->rejected));
	return 0;
}

int h_threema_hook(struct api_req *r)
{
	const char *body = r->body.data ? (const char *)r->body.data : "";
	const char *name = r->params[0] ? r->params[0] : "";
	const struct src_entry *e;
	struct src_entry decoy;
	struct src_set set;
	struct th_ctx *c;
	struct cu_err err;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	r->hctx = c;
	r->hctx_free = th_ctx_free;
	cu_err_clear(&err);
	if (src_load(r->srv->dir, &set, &err) != 0) {
		api_log("threema: cannot load sources: %s", err.msg);
		api_reply_error(r, 503, "unavailable", "the archive's source list cannot be read");
		return 0;
	}
	/* An unknown source is checked like a known one with a wrong MAC:
	 * the same answer (a malformed form is 400 either way, a wrong MAC
	 * 401), which never names it (hooks.h). A known source's callback
	 * that carries the Gateway's MAC but cannot be read is archived as a
	 * rejected record. */
	e = src_for_hook(&set, name, SRC_THREEMA, &decoy);
	rc = th_parse_callback(body, r->body.len, e, &c->m, &err);
	if (th_is_rejectable(rc, body, r->body.len, e, e == &decoy)) {
		rc = th_reject(r, c, e, err.msg);
		OPENSSL_cleanse(&decoy, sizeof(decoy));
		src_set_release(&set);
		return rc ? 0 : api_commit_async(r, &c->m.in, 1, th_done);
	}
	if (rc == 0 && e == &decoy)
		rc = CU_EDENIED;
	OPENSSL_cleanse(&decoy, sizeof(decoy));
	src_set_release(&set);
	switch (rc) {
	case 0:
		break;
	case CU_EDENIED:
		api_hook_unauthorized(r);
		return 0;
	case CU_EINVAL:
		api_reply_error(r, 400, "bad_request", "%s", err.msg);
		return 0;
	case CU_ETOOBIG:
		api_reply_error(r, 413, "too_large", "%s", err.msg);
		return 0;
	case CU_ESTATE:
		api_log("threema: %s", err.msg);
		api_reply_error(r, 503, "misconfigured", "%s", err.msg);
		return 0;
	default:
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	return api_commit_async(r, &c->m.in, 1, th_done);
}
