/* job.c - export jobs in background threads (job.h). */
#include "export/job.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/layout.h"
#include "common/timeutil.h"
#include "export/atrest.h"
#include "export/pkgfiles.h"
#include "search/index.h"

enum job_state {
	JOB_RUNNING = 0,
	JOB_DONE,
	JOB_FAILED,
	JOB_CANCELLED,
};

struct job {
	struct exp_jobs *owner;
	uint64_t id;
	char by[EXP_MAX_NAME + 1];    /* who asked */
	uint64_t kinds;               /* what the query may match (idx_query.kinds) */
	char *query, *conversation, *organization; /* owned, or NULL */
	int64_t from_ms, to_ms;       /* INT64_MIN / INT64_MAX when open */
	enum exp_format format;
	enum exp_container container;
	json_t *request;              /* the selection as asked, for status */
	char *path;                   /* the package file */
	pthread_t thread;
	int cancel;                   /* set to stop the export (read by exp_run) */
	/* under owner->mu: */
	enum job_state state;
	int64_t started_ms, finished_ms;
	struct exp_result res;        /* when done */
	struct cu_err err;            /* when failed */
	const char *phase;            /* static string from exp_run */
	uint64_t done, total;
	struct job *next;             /* newer jobs first */
};

struct exp_jobs {
	struct exp_job_env env;       /* datadir copied */
	char *outdir;                 /* DATADIR/exports */
	pthread_mutex_t mu;           /* guards the list and every job's state */
	struct job *head;
	uint64_t next_id;
	unsigned running;
	/* the sweeper of expired packages */
	pthread_t sweeper;
	pthread_cond_t sweep_cv;      /* on the monotonic clock; signalled to stop */
	int sweeper_started;
	int stop;                     /* under mu: the sweeper exits */
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->query);
	free(j->conversation);
	free(j->organization);
	free(j->path);
	json_decref(j->request);
	free(j);
}

/* Removes the packages older than the time to live: at once, then every
 * half of it (at least every second, at most every hour). Expiry is a
 * promise of docs/EXPORTS.md, so a failure is logged and tried again. */
static void *sweeper_main(void *arg)
{
	struct exp_jobs *s = arg;
	int64_t every = s->env.package_ttl_ms / 2;
	struct timespec next;
	int stop = 0;

	pthread_setname_np(pthread_self(), "custos-expire");
	fio_fault_exempt_thread(); /* it writes when it chooses: not counted by fault injection */
	if (every < 1000)
		every = 1000;
	if (every > 3600000)
		every = 3600000;
	while (!stop) {
		struct cu_err err;
		json_t *removed = json_array();

		cu_err_clear(&err);
		if (exp_pkg_sweep(s->outdir, LAYOUT_EXPORTS_DIR, store_data_key(s->env.st), NULL, 0,
				  time_now_ms() - s->env.package_ttl_ms, 0, removed, &err) != 0)
			fprintf(stderr, "custos: exports: expired packages could not be removed: %s\n", err.msg);
		else if (json_array_size(removed))
			fprintf(stderr, "custos: exports: %zu expired package(s) removed\n", json_array_size(removed));
		json_decref(removed);
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_sec += (time_t)(every / 1000);
		next.tv_nsec += (long)(every % 1000) * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->mu);
		while (!s->stop && pthread_cond_timedwait(&s->sweep_cv, &s->mu, &next) == 0)
			;
		stop = s->stop;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

int exp_jobs_new(const struct exp_job_env *env, struct exp_jobs **out, struct cu_err *err)
{
	struct exp_jobs *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	s->env = *env;
	s->env.datadir = strdup(env->datadir);
	if (!s->env.max_running)
		s->env.max_running = 1;
	if (!s->env.max_kept)
		s->env.max_kept = 64;
	s->next_id = 1;
	if (!s->env.datadir || asprintf(&s->outdir, "%s/" LAYOUT_EXPORTS_DIR, env->datadir) < 0) {
		s->outdir = NULL;
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto fail;
	}
	rc = fio_mkdir(s->outdir, 0750, err);
	if (rc)
		goto fail;
	pthread_mutex_init(&s->mu, NULL);
	if (s->env.package_ttl_ms > 0) {
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->sweep_cv, &ca);
		pthread_condattr_destroy(&ca);
		if (pthread_create(&s->sweeper, NULL, sweeper_main, s) != 0) {
			pthread_cond_destroy(&s->sweep_cv);
			pthread_mutex_destroy(&s->mu);
			rc = cu_err_set(err, CU_ENOMEM, "cannot start the package sweeper");
			goto fail;
		}
		s->sweeper_started = 1;
	}
	*out = s;
	return 0;
fail:
	free((char *)s->env.datadir);
	free(s->outdir);
	free(s);
	return rc;
}

void exp_jobs_free(struct exp_jobs *s)
{
	struct job *j, *next;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	for (j = s->head; j; j = j->next)
		__atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
	s->stop = 1;
	if (s->sweeper_started)
		pthread_cond_broadcast(&s->sweep_cv);
	pthread_mutex_unlock(&s->mu);
	if (s->sweeper_started) {
		pthread_join(s->sweeper, NULL);
		pthread_cond_destroy(&s->sweep_cv);
	}
	for (j = s->head; j; j = next) {
		next = j->next;
		pthread_join(j->thread, NULL);
		job_free(j);
	}
	pthread_mutex_destroy(&s->mu);
	free((char *)s->env.datadir);
	free(s->outdir);
	free(s);
}

static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	struct job *j = arg;

	pthread_mutex_lock(&j->owner->mu);
	j->phase = phase;
	j->done = done;
	j->total = total;
	pthread_mutex_unlock(&j->owner->mu);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct exp_jobs *s = j->owner;
	struct exp_request req;
	struct exp_result res;
	struct exp_index xi = {0};
	struct idx *ix = NULL;
	struct cu_err err;
	int rc = 0;

	pthread_setname_np(pthread_self(), "custos-export"); /* for top -H, ps -L */
	cu_err_clear(&err);
	memset(&req, 0, sizeof(req));
	req.st = s->env.st;
	req.query = j->query;
	req.conversation = j->conversation;
	req.from_ms = j->from_ms;
	req.to_ms = j->to_ms;
	req.format = j->format;
	req.container = j->container;
	req.by = j->by;
	req.organization = j->organization;
	req.out_path = j->path;
	req.progress = on_progress;
	req.progress_arg = j;
	req.append = s->env.append;
	req.append_arg = s->env.append_arg;
	req.cancel = &j->cancel;
	/* Kept in the data directory: encrypted when the archive is, and
	 * listed so that an erasure finds it (export/pkgfiles.h). */
	req.at_rest = store_data_key(s->env.st);
	req.record_list = 1;
	if (j->query) {
		/* A read-only handle of its own: the daemon's index follows the
		 * log in the background; what it has indexed is what matches. */
		rc = idx_open(s->env.datadir, IDX_RDONLY, &ix, &err);
		xi.ix = ix;
		xi.st = s->env.st;
		xi.kinds = j->kinds;
		req.query_fn = exp_query_index;
		req.query_arg = &xi;
	}
	if (!rc)
		rc = exp_run(&req, &res, &err);
	idx_close(ix);
	pthread_mutex_lock(&s->mu);
	j->finished_ms = time_now_ms();
	if (!rc) {
		j->res = res;
		j->state = JOB_DONE;
	} else {
		j->err = err;
		if (!j->err.code)
			j->err.code = rc;
		j->state = __atomic_load_n(&j->cancel, __ATOMIC_RELAXED) ? JOB_CANCELLED : JOB_FAILED;
	}
	s->running--;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Copies req's selection into j and checks that it names something. */
static int take_request(struct job *j, const struct exp_job_request *req, struct cu_err *err)
{
	j->format = req->format;
	j->container = req->container ? req->container : EXP_ZIP;
	j->from_ms = req->from_ms;
	j->to_ms = req->to_ms;
	if ((req->query && !(j->query = strdup(req->query))) ||
	    (req->conversation && !(j->conversation = strdup(req->conversation))) ||
	    (req->organization && !(j->organization = strdup(req->organization))))
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	if (!j->format)
		return cu_err_set(err, CU_EINVAL, "no export format");
	if (!j->query && !j->conversation && j->from_ms == INT64_MIN && j->to_ms == INT64_MAX)
		return cu_err_set(err, CU_EINVAL, "name what to export: query, conversation, from or to");
	if (j->from_ms >= j->to_ms)
		return cu_err_set(err, CU_EINVAL, "\"from\" must be before \"to\"");
	j->request = req->echo ? json_incref(req->echo) : json_object();
	if (!j->request)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	return 0;
}

/* Forgets finished jobs beyond max_kept (oldest first); under mu. */
static void prune(struct exp_jobs *s)
{
	struct job **pp = &s->head, *j;
	unsigned kept = 0;

	while ((j = *pp)) {
		if (j->state != JOB_RUNNING && ++kept > s->env.max_kept) {
			*pp = j->next;
			pthread_join(j->thread, NULL); /* finished: returns at once */
			job_free(j);
			continue;
		}
		pp = &j->next;
	}
}

int exp_jobs_start(struct exp_jobs *s, const struct exp_job_request *req, const char *by, uint64_t kinds,
		   uint64_t *id, struct cu_err *err)
{
	struct job *j = calloc(1, sizeof(*j));
	char stamp[32];
	struct tm tm;
	time_t t;
	int rc;

	if (!j)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	j->owner = s;
	if (!by || !*by || strlen(by) > EXP_MAX_NAME) {
		rc = cu_err_set(err, CU_EINVAL, "no requester");
		goto fail;
	}
	snprintf(j->by, sizeof(j->by), "%s", by);
	j->kinds = kinds;
	rc = take_request(j, req, err);
	if (rc)
		goto fail;
	pthread_mutex_lock(&s->mu);
	if (s->running >= s->env.max_running) {
		pthread_mutex_unlock(&s->mu);
		rc = cu_err_set(err, CU_ETOOBIG, "%u export(s) running already; try again later",
				s->running);
		goto fail;
	}
	j->id = s->next_id++;
	j->started_ms = time_now_ms();
	t = (time_t)(j->started_ms / 1000);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (asprintf(&j->path, "%s/%s-job%llu.%s", s->outdir, stamp, (unsigned long long)j->id,
		     exp_container_name(j->container)) < 0) {
		j->path = NULL;
		pthread_mutex_unlock(&s->mu);
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto fail;
	}
	j->state = JOB_RUNNING;
	j->phase = "queued";
	rc = pthread_create(&j->thread, NULL, job_main, j);
	if (rc) {
		pthread_mutex_unlock(&s->mu);
		rc = cu_err_set(err, CU_ENOMEM, "cannot start the export thread");
		goto fail;
	}
	s->running++;
	j->next = s->head;
	s->head = j;
	*id = j->id;
	prune(s);
	pthread_mutex_unlock(&s->mu);
	return 0;
fail:
	job_free(j);
	return rc;
}

static struct job *find(struct exp_jobs *s, uint64_t id)
{
	struct job *j;

	for (j = s->head; j; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

static const char *state_name(enum job_state st)
{
	switch (st) {
	case JOB_RUNNING: return "running";
	case JOB_DONE: return "done";
	case JOB_FAILED: return "failed";
	case JOB_CANCELLED: return "cancelled";
	}
	return "?";
}

json_t *exp_jobs_status(struct exp_jobs *s, uint64_t id)
{
	char t1[32], t2[32];
	struct job *j;
	json_t *o = NULL;

	pthread_mutex_lock(&s->mu);
	j = find(s, id);
	if (!j)
		goto out;
	time_format_rfc3339(j->started_ms, t1, sizeof(t1));
	o = json_pack("{s:I, s:s, s:s, s:s, s:O, s:{s:s, s:I, s:I}}", "id", (json_int_t)j->id, "state",
		      state_name(j->state), "requested_by", j->by, "started", t1, "request", j->request,
		      "progress", "phase", j->phase ? j->phase : "", "done", (json_int_t)j->done, "total",
		      (json_int_t)j->total);
	if (!o || j->state == JOB_RUNNING)
		goto out;
	time_format_rfc3339(j->finished_ms, t2, sizeof(t2));
	json_object_set_new(o, "finished", json_string(t2));
	if (j->state == JOB_DONE && access(j->path, F_OK) != 0)
		json_object_set_new(o, "package", json_string("removed"));
	if (j->state == JOB_DONE)
		json_object_set_new(o, "result",
				    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "export_id",
					      j->res.export_id, "records", (json_int_t)j->res.records,
					      "skipped_deleted", (json_int_t)j->res.skipped_deleted,
					      "tree_size", (json_int_t)j->res.tree_size, "request_seq",
					      (json_int_t)j->res.request_seq, "produced_seq",
					      (json_int_t)j->res.produced_seq, "files", (json_int_t)j->res.files,
					      "package_bytes", (json_int_t)j->res.package_bytes,
					      "package_sha256", j->res.package_sha256));
	else
		json_object_set_new(o, "error", json_pack("{s:s, s:s}", "code", cu_err_name(j->err.code),
							  "message", j->err.msg));
out:
	pthread_mutex_unlock(&s->mu);
	return o;
}

int exp_jobs_file(struct exp_jobs *s, uint64_t id, char **path, uint64_t *size, char sha256[65],
		  struct cu_err *err)
{
	struct job *j;
	int rc = 0;

	*path = NULL;
	pthread_mutex_lock(&s->mu);
	j = find(s, id);
	if (!j)
		rc = cu_err_set(err, CU_ENOTFOUND, "no export job %llu", (unsigned long long)id);
	else if (j->state != JOB_DONE)
		rc = cu_err_set(err, CU_ESTATE, "export job %llu is %s", (unsigned long long)id,
				state_name(j->state));
	else if (!(*path = strdup(j->path)))
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
	if (!rc) {
		*size = j->res.package_bytes;
		memcpy(sha256, j->res.package_sha256, 65);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int exp_jobs_read(struct exp_jobs *s, uint64_t id, struct buf *out, uint64_t *size, char sha256[65], int *gone,
		  struct cu_err *err)
{
	char *path = NULL;
	int rc;

	*gone = 0;
	rc = exp_jobs_file(s, id, &path, size, sha256, err);
	if (rc)
		return rc;
	if (*size > out->max) {
		rc = cu_err_set(err, CU_ETOOBIG, "the package has %llu bytes, more than the %zu a reply may carry",
				(unsigned long long)*size, out->max);
		goto out;
	}
	rc = atrest_read_buf(path, store_data_key(s->env.st), out, err);
	if (rc == CU_ENOTFOUND) {
		*gone = 1;
		rc = cu_err_set(err, CU_ENOTFOUND, "the package of export job %llu was removed (it held erased "
				"records, or it expired)", (unsigned long long)id);
	} else if (rc == 0 && out->len != *size) {
		rc = cu_err_set(err, CU_ECORRUPT, "the package of export job %llu has %zu bytes, not %llu",
				(unsigned long long)id, out->len, (unsigned long long)*size);
	}
out:
	free(path);
	return rc;
}

int exp_jobs_is_tar(struct exp_jobs *s, uint64_t id)
{
	struct job *j;
	int tar;

	pthread_mutex_lock(&s->mu);
	j = find(s, id);
	tar = j && j->container == EXP_TAR;
	pthread_mutex_unlock(&s->mu);
	return tar;
}
