/* h_xmpp.c - POST /v1/hooks/xmpp/{source}: what mod_custos.lua sends
 * (ingest/xmpp.h has the body). The request carries
 *   X-Custos-Signature: hmac-sha256=<hex HMAC-SHA256 of the exact body>
 * under the source's secret. All items of a request are committed
 * together and answered 200 {"accepted", "duplicates", "rejected"} once
 * durable; the module deletes its spool files only then. An item that
 * cannot be archived as a message is archived as a "rejected" record
 * (counted in "accepted" and in "rejected"), never refused: a refusal
 * would make the module resend it, and hold back every later message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hooks.h"
#include "api/api_int.h"
#include "ingest/hook_source.h"
#include "ingest/ingest_sig.h"
#include "ingest/sources.h"
#include "ingest/xmpp.h"

struct xmpp_ctx {
	struct xmpp_batch b;        /* the parsed items (own the strings) */
	struct store_input *in;     /* copies for the commit queue */
	char source[SRC_NAME_MAX + 1];
	int rechecked;              /* duplicates compared with the archive */
	struct rekey rk;            /* duplicates that were not, re-keyed */
};

static void xmpp_ctx_free(void *p)
{
	struct xmpp_ctx *c = p;

	if (!c)
		return;
	rekey_release(&c->rk);
	xmpp_batch_release(&c->b);
	free(c->in);
	free(c);
}

static int xmpp_done(struct api_req *r)
{
	struct xmpp_ctx *c = r->hctx;
	size_t i, dups = 0;

	if (r->commit_rc) {
		api_reply_cu(r, r->commit_rc, r->commit_err.msg);
		return 0;
	}
	if (!c->rechecked) {
		/* An old module took the id from the stanza: a different
		 * stanza under a known id is no duplicate (ingest/rekey.h). */
		struct cu_err err;

		c->rechecked = 1;
		cu_err_clear(&err);
		if (api_hook_rekey(r, c->in, c->b.n, RF_PAYLOAD, &c->rk, &err) != 0) {
			api_reply_cu(r, CU_EIO, err.msg); /* the module resends; nothing is lost */
			return 0;
		}
		if (c->rk.n)
			return api_commit_async(r, c->rk.in, c->rk.n, xmpp_done);
	}
	for (i = 0; i < c->b.n; i++)
		dups += c->in[i].duplicate ? 1 : 0;
	for (i = 0; i < c->rk.n; i++)
		dups -= c->rk.in[i].duplicate ? 0 : 1;
	atomic_fetch_add(&r->srv->metrics.ingest_requests, 1); /* records: counted at the commit */
	r->results = (long long)c->b.n;
	if (c->b.rejected)
		api_log("xmpp: %zu item(s) of %s archived as rejected records", c->b.rejected, c->source);
	api_reply_json(r, 200, json_pack("{s:I, s:I, s:I}", "accepted", (json_int_t)(c->b.n - dups), "duplicates",
					 (json_int_t)dups, "rejected", (json_int_t)c->b.rejected));
	return 0;
}

/* Checks the HMAC header against source name's secret
 * (src_check_hook_hmac). 0, or the reply is set. mac_out receives the hex
 * MAC. */
static int check_source(struct api_req *r, const char *name, char *mac_out, size_t mac_cap)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, ISIG_HEADER);
	const char *body = r->body.data ? (const char *)r->body.data : "";
	struct src_set set;
	struct cu_err err;
	int rc;

	cu_err_clear(&err);
	if (src_load(r->srv->dir, &set, &err) != 0) {
		api_log("xmpp: cannot load sources: %s", err.msg);
		api_reply_error(r, 503, "unavailable", "the archive's source list cannot be read");
		return -1;
	}
	/* The same answer for every failure, whether the source exists or
	 * not (ingest/hook_source.h). */
	rc = src_check_hook_hmac(&set, name, SRC_XMPP, h, body, r->body.len, mac_out, mac_cap);
	if (rc)
		api_hook_unauthorized(r);
	src_set_release(&set);
	return rc ? -1 : 0;
}

int h_xmpp_hook(struct api_req *r)
{
	const char *body = r->body.data ? (const char *)r->body.data : "";
	char mac[65];
	struct xmpp_ctx *c;
	struct cu_err err;
	size_t i;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	r->hctx = c;
	r->hctx_free = xmpp_ctx_free;
	snprintf(c->source, sizeof(c->source), "%s", r->params[0] ? r->params[0] : "");
	if (check_source(r, c->source, mac, sizeof(mac)))
		return 0;
	cu_err_clear(&err);
	rc = xmpp_parse_hook(body, r->body.len, c->source, mac, &c->b, &err);
	if (rc) {
		api_reply_error(r, rc == CU_ETOOBIG ? 413 : rc == CU_EINVAL ? 400 : 503,
				rc == CU_ETOOBIG ? "too_large" : rc == CU_EINVAL ? "bad_request" : "unavailable", "%s",
				err.msg);
		return 0;
	}
	if (c->b.n == 0) {
		api_reply_json(r, 200, json_pack("{s:i, s:i, s:i}", "accepted", 0, "duplicates", 0, "rejected", 0));
		return 0;
	}
	c->in = malloc(c->b.n * sizeof(*c->in));
	if (!c->in) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	for (i = 0; i < c->b.n; i++)
		c->in[i] = c->b.m[i].in;
	return api_commit_async(r, c->in, c->b.n, xmpp_done);
}
