/* audit.c - builds the audit record of a request (audit.h). */
#include "api/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/timeutil.h"

void api_audit_info(struct api_req *r, json_t *details)
{
	json_decref(r->audit_details);
	r->audit_details = details;
	if (!details || !json_is_object(details))
		r->audit_incomplete = 1;
}

void api_audit_add(struct api_req *r, const char *key, json_t *value)
{
	if (!r->audit_details || json_object_set_new(r->audit_details, key, value) != 0)
		r->audit_incomplete = 1;
	if (!r->audit_details)
		json_decref(value);
}

void api_audit_release(struct api_req *r)
{
	free(r->audit_meta);
	free(r->audit_body);
	r->audit_meta = NULL;
	r->audit_body = NULL;
}

/* meta: every member is checked; any failure fails the whole record. */
static json_t *build_meta(struct api_req *r, const char *at)
{
	json_t *meta;
	int bad = 0;

	meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
			 "who", r->who.name, "role", tok_role_name(r->who.role),
			 "method", r->method, "path", r->path,
			 "route", r->route ? r->route->name : "",
			 "status", (int)r->status, "at", at);
	if (!meta)
		return NULL;
	if (r->args_received)
		bad |= json_object_set(meta, "query_received", r->args_received);
	else
		bad |= json_object_set_new(meta, "query", r->args ? json_incref(r->args) : json_object());
	bad |= json_object_set_new(meta, "results", r->results >= 0 ? json_integer(r->results) : json_null());
	if (r->path_escaped)
		bad |= json_object_set_new(meta, "path_escaped", json_true());
	if (r->audit_details)
		bad |= json_object_update_missing(meta, r->audit_details);
	if (bad) {
		json_decref(meta);
		return NULL;
	}
	return meta;
}

int api_audit_build(struct api_req *r)
{
	struct rec_view *v = &r->audit_in.rec;
	json_t *meta = NULL, *query;
	char at[32], res[48] = "", *qtext = NULL, *itext = NULL;
	int64_t now = time_now_ms();
	size_t blen;
	int rc = CU_ENOMEM, n;

	api_audit_release(r);
	memset(&r->audit_in, 0, sizeof(r->audit_in));
	if (r->audit_incomplete)
		goto out; /* a handler detail is missing: no partial record */
	time_format_rfc3339(now, at, sizeof(at));
	meta = build_meta(r, at);
	if (!meta)
		goto out;
	r->audit_meta = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	if (!r->audit_meta)
		goto out;
	query = r->args_received ? r->args_received : r->args;
	if (json_is_array(query) ? json_array_size(query) : json_object_size(query)) {
		qtext = json_dumps(query, JSON_COMPACT | JSON_SORT_KEYS);
		if (!qtext)
			goto out;
	}
	if (r->audit_details && json_object_size(r->audit_details)) {
		itext = json_dumps(r->audit_details, JSON_COMPACT | JSON_SORT_KEYS);
		if (!itext)
			goto out;
	}
	/* "auditor carol: GET /v1/audit {"q":"x"} -> 200, 3 results"; the
	 * handler's details (record seq, token name ...) follow the query. */
	blen = strlen(r->who.name) + strlen(r->path) + (qtext ? strlen(qtext) : 0) +
	       (itext ? strlen(itext) : 0) + 128;
	r->audit_body = malloc(blen);
	if (!r->audit_body)
		goto out;
	if (r->results >= 0)
		snprintf(res, sizeof(res), ", %lld result%s", r->results, r->results == 1 ? "" : "s");
	n = snprintf(r->audit_body, blen, "%s %s: %s %s%s%s%s%s -> %u%s", tok_role_name(r->who.role),
		     r->who.name, r->method, r->path, qtext ? " " : "", qtext ? qtext : "",
		     itext ? " " : "", itext ? itext : "", r->status, res);
	if (n < 0 || (size_t)n >= blen)
		goto out; /* cannot happen with blen as computed: refuse, never cut */
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
	if (rc)
		api_audit_release(r);
	return rc;
}
