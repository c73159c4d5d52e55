/* retention_sched.c - the retention subsystem of the daemon: the
 * scheduler thread of automatic retention runs, and the search index
 * writer that the retention engine uses for the endpoints and the
 * scheduler alike (retention_sched.h, subsystems.h). */
#include "api/retention_sched.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "api/search_index.h"
#include "api/subsystems.h"
#include "common/timeutil.h"
#include "retention/retention.h"
#include "search/index.h"

/* The scheduler and the index handle the endpoints share (one server per
 * process, like the export jobs). */
struct retapi {
	pthread_mutex_t ix_mu;     /* guards ix and ix_failed */
	struct idx *ix;            /* index writer for the engine, or NULL */
	int ix_failed;             /* 1: opening failed once (logged), engine opens its own */

	pthread_mutex_t mu;        /* guards stop */
	pthread_cond_t cv;         /* signalled on stop */
	int stop;                  /* 1: the scheduler exits */
	pthread_t thread;          /* the scheduler */
	int started;               /* 1: thread runs and must be joined */
	struct api_server *srv;    /* for the scheduler */
	unsigned interval_s;       /* between the starts of two runs */
	unsigned delay_s;          /* from start-up to the first run */
};

static struct retapi ra = {
	.ix_mu = PTHREAD_MUTEX_INITIALIZER,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

struct idx *api_retention_index(struct api_server *srv)
{
	struct cu_err err;
	struct idx *ix;

	pthread_mutex_lock(&ra.ix_mu);
	if (!ra.ix && !ra.ix_failed) {
		cu_err_clear(&err);
		if (idx_open(srv->dir, 0, &ra.ix, &err) != 0) {
			ra.ix = NULL;
			ra.ix_failed = 1;
			api_log("retention: cannot open the search index (%s); each operation opens its own", err.msg);
		}
	}
	ix = ra.ix;
	pthread_mutex_unlock(&ra.ix_mu);
	return ix;
}

/* ---- the scheduler ---------------------------------------------------- */

static void run_once(struct api_server *srv)
{
	struct cu_err err;
	json_t *out = NULL;
	int rc;

	cu_err_clear(&err);
	rc = ret_run_automatic(srv->st, api_retention_index(srv), time_now_ms(), &out, &err);
	if (rc) {
		api_log("retention: automatic run failed (tried again in %u s): %s", ra.interval_s,
			err.msg[0] ? err.msg : cu_err_name(rc));
	} else if (json_is_integer(json_object_get(out, "plan"))) {
		json_t *ex = json_object_get(out, "execution");

		api_log("retention: automatic run: plan %lld, %lld records, certificate %lld",
			(long long)json_integer_value(json_object_get(out, "plan")),
			(long long)json_integer_value(json_object_get(out, "count")),
			(long long)json_integer_value(json_object_get(ex, "certificate")));
		api_search_after_commit(srv, 0);
	}
	json_decref(out);
}

/* Adds s seconds to the monotonic time t. */
static void ts_add(struct timespec *t, unsigned s)
{
	t->tv_sec += (time_t)s;
}

static void *scheduler_main(void *arg)
{
	struct api_server *srv = arg;
	struct timespec next;
	int stop;

	pthread_setname_np(pthread_self(), "custos-retain"); /* for top -H, ps -L */
	clock_gettime(CLOCK_MONOTONIC, &next);
	ts_add(&next, ra.delay_s);
	for (;;) {
		pthread_mutex_lock(&ra.mu);
		/* 0 is a signal or a spurious wake-up: look at stop and wait
		 * on; anything else (ETIMEDOUT) means the time has come. */
		while (!ra.stop && pthread_cond_timedwait(&ra.cv, &ra.mu, &next) == 0)
			;
		stop = ra.stop;
		pthread_mutex_unlock(&ra.mu);
		if (stop)
			break;
		/* The next run is counted from this one's start; a run longer
		 * than the interval is followed by the next at once. */
		clock_gettime(CLOCK_MONOTONIC, &next);
		ts_add(&next, ra.interval_s);
		run_once(srv);
	}
	return NULL;
}

int api_retention_start(struct api_server *srv, struct cu_err *err)
{
	pthread_condattr_t ca;
	int rc;

	/* the "retention" section, loaded with the rest at start (common/config.h) */
	ra.interval_s = srv->retention.interval_s;
	ra.delay_s = srv->retention.first_run_delay_s;
	/* A condition variable on the monotonic clock: setting the wall
	 * clock does not move the schedule. */
	pthread_cond_destroy(&ra.cv);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ra.cv, &ca);
	pthread_condattr_destroy(&ca);
	ra.stop = 0;
	ra.srv = srv;
	rc = pthread_create(&ra.thread, NULL, scheduler_main, srv);
	if (rc)
		return cu_err_errno(err, rc, "cannot start the retention scheduler");
	ra.started = 1;
	api_log("retention: automatic runs every %u s, the first in %u s", ra.interval_s, ra.delay_s);
	return 0;
}

void api_retention_stop(struct api_server *srv)
{
	(void)srv;
	if (ra.started) {
		pthread_mutex_lock(&ra.mu);
		ra.stop = 1;
		pthread_cond_broadcast(&ra.cv);
		pthread_mutex_unlock(&ra.mu);
		pthread_join(ra.thread, NULL);
		ra.started = 0;
	}
	pthread_mutex_lock(&ra.ix_mu);
	idx_close(ra.ix);
	ra.ix = NULL;
	ra.ix_failed = 0;
	pthread_mutex_unlock(&ra.ix_mu);
}
