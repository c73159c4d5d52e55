/* h_exports.c - POST /v1/exports, GET /v1/exports/{job},
 * GET /v1/exports/{job}/file over export/job.h. The job set is made on
 * first use for the server's archive; every append of an export (the
 * custody and "produced" records) goes through the commit queue. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/api_int.h"
#include "api/h_exports.h"
#include "api/handlers.h"
#include "api/subsystems.h"
#include "common/fileio.h"
#include "export/job.h"
#include "export/pkgfiles.h"

/* ---- the body of POST /v1/exports ---- */

/* An optional string member of at most max bytes. */
static int opt_str(json_t *o, const char *key, size_t max, char **out, struct cu_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return cu_err_set(err, CU_EINVAL, "\"%s\" must be a string of 1 to %zu bytes", key, max);
	*out = strdup(json_string_value(v));
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "out of memory");
}

int api_exports_parse_body(const char *body, size_t len, struct exp_job_request *j, struct cu_err *err)
{
	static const char *const known[] = {"format", "container", "query", "conversation", "from", "to",
					    "organization"};
	json_error_t jerr;
	json_t *o = NULL;
	const char *key;
	json_t *v;
	char *s = NULL;
	size_t i;
	int rc = 0;

	memset(j, 0, sizeof(*j));
	if (len > API_EXPORTS_MAX_BODY) {
		rc = cu_err_set(err, CU_EINVAL, "the request body is larger than %d bytes", API_EXPORTS_MAX_BODY);
		goto out;
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		rc = cu_err_set(err, CU_EINVAL, "the body must be a JSON object");
		goto out;
	}
	json_object_foreach(o, key, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			rc = cu_err_set(err, CU_EINVAL, "unknown member \"%.64s\"", key);
			goto out;
		}
	}
	if ((rc = opt_str(o, "format", 16, &s, err)))
		goto out;
	j->format = exp_format_from_name(s);
	free(s);
	s = NULL;
	if (!j->format) {
		rc = cu_err_set(err, CU_EINVAL, "\"format\" must be rsmf, dat, edrm or bagit");
		goto out;
	}
	if ((rc = opt_str(o, "container", 16, &s, err)))
		goto out;
	j->container = s ? exp_container_from_name(s) : EXP_ZIP;
	free(s);
	s = NULL;
	if (!j->container) {
		rc = cu_err_set(err, CU_EINVAL, "\"container\" must be zip or tar");
		goto out;
	}
	if ((rc = opt_str(o, "query", EXP_MAX_QUERY, &j->query, err)) ||
	    (rc = opt_str(o, "conversation", EXP_MAX_NAME, &j->conversation, err)) ||
	    (rc = opt_str(o, "organization", EXP_MAX_NAME, &j->organization, err)))
		goto out;
	j->from_ms = INT64_MIN;
	j->to_ms = INT64_MAX;
	if ((rc = opt_str(o, "from", 64, &s, err)))
		goto out;
	if (s && exp_parse_time(s, 0, &j->from_ms) != 0)
		rc = cu_err_set(err, CU_EINVAL, "\"from\" must be an RFC 3339 time or a date");
	free(s);
	s = NULL;
	if (!rc && (rc = opt_str(o, "to", 64, &s, err)) == 0 && s && exp_parse_time(s, 1, &j->to_ms) != 0)
		rc = cu_err_set(err, CU_EINVAL, "\"to\" must be an RFC 3339 time or a date");
	free(s);
	if (rc)
		goto out;
	/* Whether it names something, and from before to, exp_jobs_start
	 * checks: that is the export's rule, not the body's shape. */
	json_object_del(o, "organization");
	j->echo = o;
	o = NULL;
out:
	json_decref(o);
	if (rc)
		api_exports_body_release(j);
	return rc;
}

void api_exports_body_release(struct exp_job_request *req)
{
	free(req->query);
	free(req->conversation);
	free(req->organization);
	json_decref(req->echo);
	memset(req, 0, sizeof(*req));
}

static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct exp_jobs *jobs; /* one server per process */

static int cq_append(void *arg, struct store_input *in, size_t n, struct cu_err *err)
{
	struct api_server *srv = arg;

	return cq_submit(srv->cq, in, n, err);
}

static struct exp_jobs *get_jobs(struct api_server *srv, struct cu_err *err)
{
	struct exp_job_env env;
	struct exp_jobs *j;

	pthread_mutex_lock(&jobs_mu);
	if (!jobs) {
		memset(&env, 0, sizeof(env));
		env.st = srv->st;
		env.datadir = srv->dir;
		env.append = cq_append;
		env.append_arg = srv;
		env.package_ttl_ms = (int64_t)srv->exports.package_ttl_s * 1000; /* as started */
		if (exp_jobs_new(&env, &jobs, err) != 0)
			jobs = NULL;
	}
	j = jobs;
	pthread_mutex_unlock(&jobs_mu);
	return j;
}

int api_exports_start(struct api_server *srv, struct cu_err *err)
{
	return get_jobs(srv, err) ? 0 : (err && err->code ? err->code : CU_EIO);
}

void api_exports_stop(void)
{
	pthread_mutex_lock(&jobs_mu);
	exp_jobs_free(jobs);
	jobs = NULL;
	pthread_mutex_unlock(&jobs_mu);
}

int h_exports_start(struct api_req *r)
{
	struct exp_job_request req;
	struct exp_jobs *j;
	struct cu_err err;
	char loc[64];
	uint64_t id = 0;
	json_t *st;
	int rc;

	cu_err_clear(&err);
	j = get_jobs(r->srv, &err);
	if (!j) {
		api_reply_error(r, 503, "unavailable", "exports are not available: %s", err.msg);
		return 0;
	}
	/* The query sees what the caller may see (visibility.c); 0 would
	 * mean every kind, so a caller who sees none gets no export. */
	if (!api_vis_kinds_of(r)) {
		api_reply_error(r, 403, "forbidden", "this role reads no records");
		return 0;
	}
	rc = api_exports_parse_body(r->body.data ? (const char *)r->body.data : "", r->body.len, &req, &err);
	if (!rc) {
		rc = exp_jobs_start(j, &req, r->who.name, api_vis_kinds_of(r), &id, &err);
		api_exports_body_release(&req);
	}
	if (rc == CU_ETOOBIG) {
		r->retry_after = 10;
		api_reply_error(r, 429, "busy", "%s", err.msg);
		return 0;
	}
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	st = exp_jobs_status(j, id);
	snprintf(loc, sizeof(loc), "/v1/exports/%llu", (unsigned long long)id);
	if (st)
		json_object_set_new(st, "location", json_string(loc));
	api_audit_info(r, json_pack("{s:I, s:O}", "job", (json_int_t)id, "request",
				    st ? json_object_get(st, "request") : json_null()));
	api_reply_json(r, 202, st);
	return 0;
}

int h_exports_status(struct api_req *r)
{
	struct exp_jobs *j;
	struct cu_err err;
	uint64_t id;
	json_t *st;

	if (api_param_u64(r, 0, &id) != 0)
		return 0;
	cu_err_clear(&err);
	j = get_jobs(r->srv, &err);
	st = j ? exp_jobs_status(j, id) : NULL;
	if (!st) {
		api_reply_error(r, 404, "not_found", "no export job %llu", (unsigned long long)id);
		return 0;
	}
	api_audit_info(r, json_pack("{s:I}", "job", (json_int_t)id));
	api_reply_json(r, 200, st);
	return 0;
}

int h_exports_file(struct api_req *r)
{
	struct exp_jobs *j;
	struct cu_err err;
	struct buf file;
	uint64_t id, size = 0;
	char sha[65];
	int rc, gone = 0;

	if (api_param_u64(r, 0, &id) != 0)
		return 0;
	cu_err_clear(&err);
	j = get_jobs(r->srv, &err);
	if (!j) {
		api_reply_error(r, 404, "not_found", "no export job %llu", (unsigned long long)id);
		return 0;
	}
	/* Replies are built in memory (server.c): a larger package is
	 * fetched from DATADIR/exports by the operator. */
	buf_init(&file, API_OUT_MAX);
	rc = exp_jobs_read(j, id, &file, &size, sha, &gone, &err);
	if (gone) {
		api_audit_info(r, json_pack("{s:I, s:s}", "job", (json_int_t)id, "package", "removed"));
		api_reply_error(r, 410, "gone", "%s", err.msg);
	} else if (rc == CU_ETOOBIG) {
		api_reply_error(r, 413, "too_large", "%s; it is in %s/exports on the server (custos "
				"export-file decrypts it there)", err.msg, r->srv->dir);
	} else if (rc) {
		api_reply_cu(r, rc == CU_ENOTFOUND || rc == CU_ESTATE ? rc : CU_EIO, err.msg);
	} else {
		api_audit_info(r, json_pack("{s:I, s:s, s:I}", "job", (json_int_t)id, "package_sha256", sha,
					    "package_bytes", (json_int_t)size));
		api_reply_text(r, 200, exp_jobs_is_tar(j, id) ? "application/x-tar" : "application/zip",
			       (const char *)file.data, file.len);
	}
	if (file.data)
		OPENSSL_cleanse(file.data, file.alloc);
	buf_release(&file);
	return 0;
}
