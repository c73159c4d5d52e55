/* h_threema.c - POST /v1/hooks/threema/{source}: the Threema Gateway's
 * E2E callback (archiver/threema.h). The Gateway retries a callback that
 * is not answered 200, so 200 is sent only once the record is durable; a
 * message that cannot be decrypted is archived (flagged encrypted) and
 * answered 200 too. A wrong MAC is 401 and nothing is archived: the
 * request did not come from the Gateway. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hooks.h"
#include "api/internal.h"
#include "archiver/sources.h"
#include "archiver/threema.h"

static void th_ctx_free(void *p)
{
	struct th_msg *m = p;

	th_msg_release(m);
	free(m);
}

static int th_done(struct api_req *r)
{
	struct th_msg *m = r->hctx;

	if (r->commit_rc) {
		api_reply_cu(r, r->commit_rc, r->commit_err.msg);
		return 0;
	}
	atomic_fetch_add(&r->srv->metrics.ingest_requests, 1); /* records: counted at the commit */
	r->results = 1;
	api_reply_json(r, 200, json_pack("{s:i, s:i}", "accepted", m->in.duplicate ? 0 : 1, "duplicates",
					 m->in.duplicate ? 1 : 0));
	return 0;
}

int h_threema_hook(struct api_req *r)
{
	const char *body = r->body.data ? (const char *)r->body.data : "";
	const char *name = r->params[0] ? r->params[0] : "";
	const struct src_entry *e;
	struct src_entry decoy;
	struct src_set set;
	struct th_msg *m;
	struct cu_err err;
	int rc;

	m = calloc(1, sizeof(*m));
	if (!m) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	r->hctx = m;
	r->hctx_free = th_ctx_free;
	cu_err_clear(&err);
	if (src_load(r->srv->dir, &set, &err) != 0) {
		api_log("threema: cannot load sources: %s", err.msg);
		api_reply_error(r, 503, "unavailable", "the archive's source list cannot be read");
		return 0;
	}
	/* An unknown source is checked like a known one with a wrong MAC:
	 * the same answer (a malformed form is 400 either way, a wrong MAC
	 * 401), which never names it (hooks.h). */
	e = api_hook_source(&set, name, SRC_THREEMA, &decoy);
	rc = th_parse_callback(body, r->body.len, e, m, &err);
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
	return api_commit_async(r, &m->in, 1, th_done);
}
