/* audit.c - builds the audit record of a request (audit.h). */
#include "api/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "common/timeutil.h"

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	json_t *q = cls;

	(void)kind;
	if (key)
		json_object_set_new(q, key, value ? json_string(value) : json_null());
	return MHD_YES;
}

void api_audit_release(struct api_req *r)
{
	free(r->audit_meta);
	free(r->audit_body);
	r->audit_meta = NULL;
	r->audit_body = NULL;
}

int api_audit_build(struct api_req *r)
{
	struct rec_view *v = &r->audit_in.rec;
	json_t *meta = NULL, *query = NULL;
	char at[32], *qtext = NULL, *itext = NULL;
	int64_t now = time_now_ms();
	size_t blen;
	int rc = CU_ENOMEM;

	api_audit_release(r);
	memset(&r->audit_in, 0, sizeof(r->audit_in));
	query = json_object();
	if (!query)
		goto out;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, query);
	time_format_rfc3339(now, at, sizeof(at));
	meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:i, s:s}",
			 "who", r->who.name, "role", tok_role_name(r->who.role),
			 "method", r->method, "path", r->path,
			 "route", r->route ? r->route->name : "",
			 "query", query, "status", (int)r->status, "at", at);
	if (!meta)
		goto out;
	if (json_object_set_new(meta, "results", r->results >= 0 ? json_integer(r->results) : json_null()))
		goto out;
	if (r->audit_info && json_is_object(r->audit_info) &&
	    json_object_update_missing(meta, r->audit_info) != 0)
		goto out;
	r->audit_meta = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	qtext = json_object_size(query) ? json_dumps(query, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	itext = r->audit_info && json_object_size(r->audit_info)
			? json_dumps(r->audit_info, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!r->audit_meta)
		goto out;
	/* "auditor carol: GET /v1/audit {"q":"x"} -> 200, 3 results"; the
	 * handler's details (record seq, token name ...) follow the query. */
	blen = strlen(r->who.name) + strlen(r->path) + (qtext ? strlen(qtext) : 0) +
	       (itext ? strlen(itext) : 0) + 128;
	r->audit_body = malloc(blen);
	if (!r->audit_body)
		goto out;
	if (r->results >= 0)
		snprintf(r->audit_body, blen, "%s %s: %s %s%s%s%s%s -> %u, %lld result%s",
			 tok_role_name(r->who.role), r->who.name, r->method, r->path, qtext ? " " : "",
			 qtext ? qtext : "", itext ? " " : "", itext ? itext : "", r->status, r->results,
			 r->results == 1 ? "" : "s");
	else
		snprintf(r->audit_body, blen, "%s %s: %s %s%s%s%s%s -> %u", tok_role_name(r->who.role),
			 r->who.name, r->method, r->path, qtext ? " " : "", qtext ? qtext : "",
			 itext ? " " : "", itext ? itext : "", r->status);
	v->kind = REC_AUDIT;
	v->origin_ts = now;
	rec_set(v, RF_PLATFORM, AUDIT_PLATFORM);
	rec_set(v, RF_SOURCE, AUDIT_SOURCE);
	rec_set(v, RF_SENDER, r->who.name);
	rec_set(v, RF_BODY, r->audit_body);
	rec_set(v, RF_META, r->audit_meta);
	rc = 0;
out:
	free(qtext);
	free(itext);
	json_decref(meta);
	json_decref(query);
	if (rc)
		api_audit_release(r);
	return rc;
}
