/* h_matrix.c - the Matrix Application Service API (spec v1.x,
 * "Application Service API"), as an archiver that owns no users and no
 * rooms:
 *
 *   PUT  /_matrix/app/v1/transactions/{txnId}  (and legacy /transactions/{txnId})
 *        events -> records (ingest/matrix.h); 200 {} only once durable;
 *        a txnId already archived -> 200 {} and nothing archived again;
 *        an event (or a body) that cannot be archived as such is archived
 *        as a "rejected" record and answered 200 all the same: the
 *        homeserver resends a refused transaction for ever, holding back
 *        every later event
 *   POST /_matrix/app/v1/ping                  200 {}
 *   GET  /_matrix/app/v1/users/{userId}, /rooms/{alias} (and legacy
 *        /users/{userId}, /rooms/{alias}), /_matrix/app/v1/thirdparty/...
 *        404 M_NOT_FOUND: the archive owns none of them
 *   anything else under /_matrix, with any method, and other methods on
 *        the legacy paths                       404 M_UNRECOGNIZED, or 405
 *        M_UNRECOGNIZED for a known path with another method (routes.c
 *        sends them all here: method "*")
 *
 * Authentication: the hs_token as "Authorization: Bearer" or, as older
 * homeservers send it, the access_token query parameter; if both are sent
 * they must be equal. None: 401 M_UNAUTHORIZED; wrong: 403 M_FORBIDDEN.
 * Errors have the Matrix form {"errcode": ..., "error": ...}. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hooks.h"
#include "api/api_int.h"
#include "ingest/matrix.h"
#include "ingest/matrix_txn.h"
#include "ingest/sources.h"

#define MX_V1 "/_matrix/app/v1"

static void mx_error(struct api_req *r, unsigned status, const char *errcode, const char *msg)
{
	api_reply_json(r, status, json_pack("{s:s, s:s}", "errcode", errcode, "error", msg));
}

static void mx_ok(struct api_req *r)
{
	api_reply_json(r, 200, json_object());
}

/* The token the homeserver presented: the Authorization header's Bearer
 * token or the access_token parameter (both must then agree). Returns 0
 * with the token, its length and how it came set, else the Matrix error
 * to answer. */
enum mx_presented { MX_TOKEN, MX_NOT_BEARER, MX_DIFFER, MX_NONE };

static enum mx_presented mx_presented(struct api_req *r, const char **tok, size_t *len, const char **method)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *q = api_query(r, "access_token");

	*tok = NULL;
	*len = 0;
	if (h) {
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return MX_NOT_BEARER;
		h += 7;
		while (*h == ' ')
			h++;
		*len = strlen(h);
		while (*len && h[*len - 1] == ' ')
			(*len)--;
		*tok = h;
		*method = "hs_token";
	}
	if (q) {
		if (*tok && (strlen(q) != *len || CRYPTO_memcmp(q, *tok, *len) != 0))
			return MX_DIFFER;
		if (!*tok) {
			*tok = q;
			*len = strlen(q);
			*method = "access_token";
		}
	}
	return *tok && *len ? MX_TOKEN : MX_NONE;
}

int h_matrix_caller_known(struct api_req *r)
{
	const char *tok, *method;
	struct src_set set;
	struct cu_err err;
	size_t len;
	int known;

	if (mx_presented(r, &tok, &len, &method) != MX_TOKEN)
		return 0;
	cu_err_clear(&err);
	if (src_load(r->srv->dir, &set, &err) != 0)
		return 0;
	known = src_find_hs_token(&set, tok, len) != NULL;
	src_set_release(&set);
	return known;
}

/* Finds the source whose hs_token the homeserver presented. Returns 0 and
 * fills source and *method, or sets the error reply and returns -1. */
static int mx_auth(struct api_req *r, char source[SRC_NAME_MAX + 1], const char **method)
{
	const char *tok;
	const struct src_entry *e;
	struct src_set set;
	struct cu_err err;
	size_t hlen;
	int rc = -1;

	switch (mx_presented(r, &tok, &hlen, method)) {
	case MX_TOKEN:
		break;
	case MX_NOT_BEARER:
		mx_error(r, 401, "M_UNAUTHORIZED", "the Authorization header is not a Bearer token");
		return -1;
	case MX_DIFFER:
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		mx_error(r, 403, "M_FORBIDDEN", "the Authorization header and access_token differ");
		return -1;
	case MX_NONE:
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		mx_error(r, 401, "M_UNAUTHORIZED", "no hs_token was presented");
		return -1;
	}
	cu_err_clear(&err);
	if (src_load(r->srv->dir, &set, &err) != 0) {
		api_log("matrix: cannot load sources: %s", err.msg);
		mx_error(r, 503, "M_UNKNOWN", "the archive's source list cannot be read");
		return -1;
	}
	e = src_find_hs_token(&set, tok, hlen);
	if (e) {
		snprintf(source, SRC_NAME_MAX + 1, "%s", e->name);
		rc = 0;
	} else {
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		mx_error(r, 403, "M_FORBIDDEN", "the hs_token is not known to this archive");
	}
	src_set_release(&set);
	return rc;
}

/* ---- transactions ----------------------------------------------------- */

struct mx_ctx {
	struct mx_txn t;               /* the parsed events (own the strings) */
	struct store_input *in;        /* copies for the commit queue */
	char source[SRC_NAME_MAX + 1]; /* RF_SOURCE of every record points here */
	char txn_id[MX_TXN_ID_MAX + 1];
	uint8_t sha[HASH_LEN];
};

static void mx_ctx_free(void *p)
{
	struct mx_ctx *c = p;

	if (!c)
		return;
	mx_txn_release(&c->t);
	free(c->in);
	free(c);
}

static void txn_remember(struct api_req *r, struct mx_ctx *c)
{
	struct cu_err err;

	cu_err_clear(&err);
	/* Not fatal: a replay is still deduplicated event by event. */
	if (mx_txns_record(r->srv->dir, c->source, c->txn_id, c->sha, c->t.n, &err) != 0)
		api_log("matrix: transaction %s of %s archived, but not remembered: %s", c->txn_id, c->source,
			err.msg);
}

static int mx_txn_done(struct api_req *r)
{
	struct mx_ctx *c = r->hctx;

	if (r->commit_rc) {
		api_log("matrix: transaction %s of %s not archived: %s", c->txn_id, c->source, r->commit_err.msg);
		mx_error(r, r->commit_rc == CU_EINVAL || r->commit_rc == CU_ETOOBIG ? 400 : 503,
			 r->commit_rc == CU_EINVAL || r->commit_rc == CU_ETOOBIG ? "M_BAD_JSON" : "M_UNKNOWN",
			 r->commit_err.msg[0] ? r->commit_err.msg : "the events could not be stored");
		return 0;
	}
	atomic_fetch_add(&r->srv->metrics.ingest_requests, 1); /* records: counted at the commit */
	txn_remember(r, c);
	if (c->t.rejected)
		api_log("matrix: transaction %s of %s: %zu element(s) archived as rejected records", c->txn_id,
			c->source, c->t.rejected);
	r->results = (long long)c->t.n;
	mx_ok(r);
	return 0;
}

int h_matrix_txn(struct api_req *r)
{
	const char *body = r->body.data ? (const char *)r->body.data : "";
	const char *method = "hs_token";
	struct mx_ctx *c;
	struct cu_err err;
	size_t i;
	int seen, rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		mx_error(r, 503, "M_UNKNOWN", "out of memory");
		return 0;
	}
	r->hctx = c;
	r->hctx_free = mx_ctx_free;
	if (mx_auth(r, c->source, &method))
		return 0;
	if (!r->params[0] || strlen(r->params[0]) > MX_TXN_ID_MAX) {
		mx_error(r, 400, "M_INVALID_PARAM", "the transaction id must be 1-255 bytes");
		return 0;
	}
	snprintf(c->txn_id, sizeof(c->txn_id), "%s", r->params[0]);
	if (hash_sha256(body, r->body.len, c->sha) != 0) {
		mx_error(r, 500, "M_UNKNOWN", "hash failed");
		return 0;
	}
	cu_err_clear(&err);
	seen = mx_txns_seen(r->srv->dir, c->source, c->txn_id, c->sha, &err);
	if (seen == 1) {
		atomic_fetch_add(&r->srv->metrics.ingest_requests, 1);
		mx_ok(r);
		return 0;
	}
	if (seen < 0)
		api_log("matrix: cannot look up transaction %s: %s (archiving it; events are deduplicated)",
			c->txn_id, err.msg);
	else if (seen == 2)
		api_log("matrix: %s sent transaction id %s again with another body: archiving its new events",
			c->source, c->txn_id);
	cu_err_clear(&err);
	rc = mx_parse_txn(body, r->body.len, c->source, c->txn_id, method, &c->t, &err);
	if (rc) {
		mx_error(r, rc == CU_ETOOBIG ? 413 : rc == CU_EINVAL ? 400 : 503,
			 rc == CU_ETOOBIG ? "M_TOO_LARGE" : rc == CU_EINVAL ? "M_BAD_JSON" : "M_UNKNOWN", err.msg);
		return 0;
	}
	if (c->t.n == 0) {
		txn_remember(r, c);
		mx_ok(r);
		return 0;
	}
	c->in = malloc(c->t.n * sizeof(*c->in));
	if (!c->in) {
		mx_error(r, 503, "M_UNKNOWN", "out of memory");
		return 0;
	}
	for (i = 0; i < c->t.n; i++)
		c->in[i] = c->t.ev[i].in;
	return api_commit_async(r, c->in, c->t.n, mx_txn_done);
}

/* ---- ping, queries, everything else ----------------------------------- */

int h_matrix_ping(struct api_req *r)
{
	char source[SRC_NAME_MAX + 1];
	const char *method;

	if (mx_auth(r, source, &method))
		return 0;
	mx_ok(r);
	return 0;
}

static int has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p)) && s[strlen(p)];
}

/* The method a known path takes, or NULL for an unknown path. */
static const char *known_method(const char *path)
{
	if (has_prefix(path, MX_V1 "/transactions/") || has_prefix(path, "/transactions/"))
		return "PUT";
	if (!strcmp(path, MX_V1 "/ping"))
		return "POST";
	if (has_prefix(path, MX_V1 "/users/") || has_prefix(path, MX_V1 "/rooms/") ||
	    has_prefix(path, MX_V1 "/thirdparty/") || has_prefix(path, "/users/") || has_prefix(path, "/rooms/"))
		return "GET";
	return NULL;
}

static void unrecognized(struct api_req *r)
{
	const char *m = known_method(r->path);

	if (m) {
		snprintf(r->allow, sizeof(r->allow), "%s", m);
		mx_error(r, 405, "M_UNRECOGNIZED", "method not allowed on this endpoint");
	} else {
		mx_error(r, 404, "M_UNRECOGNIZED", "unrecognized request");
	}
}

int h_matrix_get(struct api_req *r)
{
	char source[SRC_NAME_MAX + 1];
	const char *method;
	const char *m = known_method(r->path);

	if (!m || strcmp(m, "GET")) {
		unrecognized(r);
		return 0;
	}
	if (mx_auth(r, source, &method))
		return 0;
	/* The archive owns no users, no room aliases and no bridged
	 * protocols: the homeserver must not wait for it to create any. */
	mx_error(r, 404, "M_NOT_FOUND", has_prefix(r->path, MX_V1 "/thirdparty/")
						? "this application service bridges no protocol"
						: "this application service owns no users and no rooms");
	return 0;
}

int h_matrix_other(struct api_req *r)
{
	unrecognized(r);
	return 0;
}
