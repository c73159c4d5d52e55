/* h_verify.c - POST /v1/verify starts `custos verify` (verify_archive) as
 * a background job, GET /v1/verify/{job} reports its progress and result.
 * One job at a time; the server keeps the latest job only (in memory). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "api/subsystems.h"
#include "archiver/verify.h"
#include "common/encode.h"
#include "common/timeutil.h"

/* Progress shared with the job thread (lock-free reads for status). */
static _Atomic uint64_t progress_done, progress_total;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	atomic_store(&progress_done, done);
	atomic_store(&progress_total, total);
}

static json_t *result_json(const struct verify_result *v)
{
	char root[2 * HASH_LEN + 1];
	json_t *j;

	hex_encode(v->root, HASH_LEN, root);
	j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "intact", v->intact,
		      "segments", (json_int_t)v->segments, "sealed", (json_int_t)v->sealed,
		      "frames", (json_int_t)v->frames, "records", (json_int_t)v->records,
		      "stubs", (json_int_t)v->stubs, "bytes", (json_int_t)v->bytes, "root_hash", root,
		      "torn_bytes", (json_int_t)v->torn_bytes);
	if (j && !v->intact)
		json_object_set_new(j, "mismatch",
				    json_pack("{s:s, s:I, s:I, s:s}", "segment", v->segment, "frame_offset",
					      (json_int_t)v->frame_offset, "seq", (json_int_t)v->seq,
					      "reason", v->reason));
	/* A damaged derived file: the log is intact; the daemon, which holds
	 * the archive, rebuilds the file at its next start. */
	if (j && v->derived_damaged)
		json_object_set_new(j, "derived_damaged",
				    json_pack("{s:i, s:s}", "files", (int)v->derived_damaged, "first",
					      v->derived_reason));
	return j;
}

static void *verify_main(void *arg)
{
	struct api_server *srv = arg;
	struct verify_result res;
	struct cu_err err;
	json_t *j;
	int rc;

	pthread_setname_np(pthread_self(), "custos-vjob"); /* for top -H, ps -L */
	memset(&res, 0, sizeof(res));
	cu_err_clear(&err);
	rc = verify_archive(srv->dir, &res, on_progress, NULL, &err);
	if (rc == 0)
		j = result_json(&res);
	else
		j = json_pack("{s:s, s:s}", "error", cu_err_name(rc), "message", err.msg);
	pthread_mutex_lock(&srv->verify.mu);
	srv->verify.rc = rc;
	srv->verify.result = j;
	srv->verify.running = 0;
	srv->verify.finished_ms = time_now_ms();
	pthread_mutex_unlock(&srv->verify.mu);
	if (rc == 0)
		api_log("verify job %llu: %s", (unsigned long long)srv->verify.id,
			res.intact ? "intact" : res.reason);
	else
		api_log("verify job %llu could not run: %s", (unsigned long long)srv->verify.id, err.msg);
	return NULL;
}

/* The job's status document; call with verify.mu held. */
static json_t *status_json(struct api_verify_job *v)
{
	char t1[32], t2[32];
	const char *state;
	json_t *j;

	state = v->running ? "running" : v->rc ? "failed" : "done";
	time_format_rfc3339(v->started_ms, t1, sizeof(t1));
	j = json_pack("{s:I, s:s, s:s, s:s, s:{s:I, s:I}}", "job", (json_int_t)v->id, "state", state,
		      "requested_by", v->requested_by, "started", t1, "progress", "bytes_done",
		      (json_int_t)atomic_load(&progress_done), "bytes_total",
		      (json_int_t)atomic_load(&progress_total));
	if (!j)
		return NULL;
	if (!v->running) {
		time_format_rfc3339(v->finished_ms, t2, sizeof(t2));
		json_object_set_new(j, "finished", json_string(t2));
		if (v->result)
			json_object_set(j, "result", v->result);
	}
	return j;
}

int h_verify_start(struct api_req *r)
{
	struct api_verify_job *v = &r->srv->verify;
	char loc[64];
	json_t *j;
	int rc;

	pthread_mutex_lock(&v->mu);
	if (v->running) {
		j = status_json(v);
		pthread_mutex_unlock(&v->mu);
		api_audit_info(r, json_pack("{s:I, s:b}", "job", (json_int_t)v->id, "already_running", 1));
		api_reply_json(r, 202, j);
		return 0;
	}
	if (v->started) {
		pthread_join(v->thread, NULL);
		v->started = 0;
	}
	json_decref(v->result);
	v->result = NULL;
	v->id++;
	v->running = 1;
	v->rc = 0;
	v->started_ms = time_now_ms();
	v->finished_ms = 0;
	snprintf(v->requested_by, sizeof(v->requested_by), "%s", r->who.name);
	atomic_store(&progress_done, 0);
	atomic_store(&progress_total, 0);
	rc = pthread_create(&v->thread, NULL, verify_main, r->srv);
	if (rc) {
		v->running = 0;
		pthread_mutex_unlock(&v->mu);
		api_reply_error(r, 503, "unavailable", "cannot start the verification thread");
		return 0;
	}
	v->started = 1;
	j = status_json(v);
	pthread_mutex_unlock(&v->mu);
	api_audit_info(r, json_pack("{s:I}", "job", (json_int_t)v->id));
	snprintf(loc, sizeof(loc), "/v1/verify/%llu", (unsigned long long)v->id);
	if (j)
		json_object_set_new(j, "location", json_string(loc));
	api_reply_json(r, 202, j);
	return 0;
}

int h_verify_status(struct api_req *r)
{
	struct api_verify_job *v = &r->srv->verify;
	uint64_t id;
	json_t *j;

	if (api_param_u64(r, 0, &id) != 0)
		return 0;
	pthread_mutex_lock(&v->mu);
	if (id == 0 || id != v->id) {
		pthread_mutex_unlock(&v->mu);
		api_reply_error(r, 404, "not_found", "no verification job %llu (the server keeps the latest only)",
				(unsigned long long)id);
		return 0;
	}
	j = status_json(v);
	pthread_mutex_unlock(&v->mu);
	r->results = 1;
	api_reply_json(r, 200, j);
	return 0;
}

int api_verify_start(struct api_server *srv, struct cu_err *err)
{
	(void)err;
	pthread_mutex_init(&srv->verify.mu, NULL);
	return 0;
}

void api_verify_stop(struct api_server *srv)
{
	struct api_verify_job *v = &srv->verify;

	/* verify_archive cannot be interrupted; it only reads, so waiting for
	 * it is the clean way out (it is bounded by the archive's size). */
	if (v->started) {
		pthread_join(v->thread, NULL);
		v->started = 0;
	}
	json_decref(v->result);
	v->result = NULL;
	pthread_mutex_destroy(&v->mu);
}
