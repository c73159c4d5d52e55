/* h_tokens.c - token management for admins: GET /v1/tokens,
 * POST /v1/tokens {"name", "role", "source"} (the new token is in the
 * reply, once; never in the audit record), DELETE /v1/tokens/{name}. */
#include <string.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "api/json_body.h"
#include "common/timeutil.h"

int h_tokens_list(struct api_req *r)
{
	json_t *arr = json_array(), *o;
	char ts[32];
	size_t i;

	if (!arr) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		return 0;
	}
	pthread_rwlock_rdlock(&r->srv->lock);
	for (i = 0; i < r->srv->tokens.n; i++) {
		const struct tok_entry *e = &r->srv->tokens.v[i];

		time_format_rfc3339(e->created_ms, ts, sizeof(ts));
		o = json_pack("{s:s, s:s, s:s}", "name", e->name, "role", tok_role_name(e->role), "created", ts);
		if (o && e->source[0])
			json_object_set_new(o, "source", json_string(e->source));
		if (o)
			json_array_append_new(arr, o);
	}
	pthread_rwlock_unlock(&r->srv->lock);
	r->results = (long long)json_array_size(arr);
	api_reply_json(r, 200, json_pack("{s:o}", "tokens", arr));
	return 0;
}

int h_tokens_add(struct api_req *r)
{
	const char *name = NULL, *role = NULL, *source = NULL;
	char token[TOK_TEXT_MAX];
	struct cu_err err;
	json_error_t jerr;
	json_t *body;
	unsigned rbit;
	int rc;

	cu_err_clear(&err);
	body = api_body_json(r);
	if (!body)
		return 0;
	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s:s, s?s}", "name", &name, "role", &role,
			   "source", &source) != 0) {
		api_reply_error(r, 400, "bad_request", "expected {\"name\", \"role\", \"source\"?}: %s", jerr.text);
		goto out;
	}
	api_audit_info(r, json_pack("{s:s, s:s}", "token_name", name, "token_role", role));
	if (source)
		api_audit_add(r, "token_source", json_string(source));
	rbit = tok_role_from_name(role);
	if (!rbit) {
		api_reply_error(r, 400, "bad_request", "role must be admin, officer, auditor or ingest");
		goto out;
	}
	rc = tok_add(r->srv->dir, name, rbit, source, token, &err);
	if (!rc)
		rc = api_tokens_reload(r->srv, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto out;
	}
	r->results = 1;
	api_reply_json(r, 201, json_pack("{s:s, s:s, s:s*, s:s}", "name", name, "role", role,
					 "source", rbit == ROLE_INGEST ? source : NULL, "token", token));
	memset(token, 0, sizeof(token));
out:
	json_decref(body);
	return 0;
}

int h_tokens_revoke(struct api_req *r)
{
	struct cu_err err;
	int rc;

	cu_err_clear(&err);
	api_audit_info(r, json_pack("{s:s}", "token_name", r->params[0]));
	rc = tok_revoke(r->srv->dir, r->params[0], &err);
	if (!rc)
		rc = api_tokens_reload(r->srv, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	r->results = 1;
	api_reply_json(r, 200, json_pack("{s:s}", "revoked", r->params[0]));
	return 0;
}
