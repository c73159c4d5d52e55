/* search_index.c - the search index's life in the daemon (search_index.h),
 * for search (h_search.c), conversation context and the audit listing:
 *
 * - one writer handle, used only by the catch-up thread, which the commit
 *   queue's after-commit hook wakes: the index follows the log in the
 *   background, at a lower CPU priority (nice +10) and at most every
 *   CATCHUP_GAP_MS, so that under a burst of ingest the acknowledgements
 *   get the CPU. Its lag is bounded: while it is more than index_max_lag
 *   records behind, the commit queue holds messenger ingest back
 *   (api_search_admit), and from a quarter of that on paces it at the
 *   index's rate (api/pace.h), so under sustained full-speed ingest the
 *   index sets the pace without its pauses stopping acknowledgements;
 * - a pool of SEARCH_READERS read-only handles, so that searches run in
 *   parallel with each other and with the catch-up (SQLite WAL readers do
 *   not wait for the writer); a search waits for a free handle.
 */
#include "api/search_index.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/pace.h"
#include "common/timeutil.h"
#include "search/index.h"

struct api_search {
	struct idx *writer;          /* catch-up only */
	struct idx **readers;        /* pool for searches */
	size_t nreaders;
	int *busy;                   /* busy[i]: readers[i] is lent out */
	pthread_mutex_t pool_mu;     /* guards busy */
	pthread_cond_t pool_cv;      /* a reader was returned */

	pthread_t thread;            /* the catch-up thread */
	int thread_started;
	pthread_mutex_t mu;          /* guards wake, stop */
	pthread_cond_t cv;
	int wake;                    /* commits since the last catch-up began */
	int stop;                    /* 1: exit (a catch-up under way finishes first) */
	_Atomic uint64_t hwm;        /* the index's mark after the last catch-up */
	pthread_cond_t caught;       /* broadcast (under mu) after each catch-up */
	struct store *st;
	struct commit_queue *cq;     /* kicked when the mark moves (under mu); or NULL */
	uint64_t max_lag;            /* index_max_lag */
	struct pace pace;            /* ingest's pacing (committer thread only) */
};

#define SEARCH_READERS 2    /* read-only index handles for searches */
#define CATCHUP_GAP_MS 50   /* least time between the starts of two catch-ups */
#define CATCHUP_NICE 10     /* the catch-up thread's nice value */
/* Records per catch-up transaction at most, as the CLI's ingest indexes:
 * held-back ingest is paced on the records processed (idx_working), not
 * on the mark, so a larger transaction does not make it wait longer. Each
 * commit writes out FTS5's words as a new segment and rewrites every
 * B-tree page it touched, so larger ones index faster: measured (when
 * meta still had conversation and sender indexes), 8192 indexed 15% more
 * per second than 2000, and 65536 (with index_max_lag 100000, which
 * bounds how much is there to take) 17% more than 8192 (with 20000) over
 * HTTP. */
#define CATCHUP_STEP 65536

/* After each catch-up transaction: publish the mark and let ingest that
 * waits for the index go on (api_search_admit). */
static void catchup_progress(void *arg, uint64_t done, uint64_t total)
{
	struct api_search *s = arg;

	(void)total;
	atomic_store(&s->hwm, done);
	pthread_mutex_lock(&s->mu);
	if (s->cq)
		cq_kick(s->cq);
	pthread_mutex_unlock(&s->mu);
}

static void *catchup_main(void *arg)
{
	struct api_search *s = arg;
	struct cu_err err;
	struct timespec next;
	uint64_t hwm;
	int failing = 0, stop;

	pthread_setname_np(pthread_self(), "custos-index"); /* for top -H, ps -L */
	/* Linux applies nice per thread; failing to lower it only costs
	 * ingest throughput under contention. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), CATCHUP_NICE) != 0)
		api_log("index thread keeps normal priority (setpriority failed)");
	clock_gettime(CLOCK_REALTIME, &next);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->wake && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		/* Coalesce: wait out the gap since the last catch-up began. */
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &next) == 0)
			;
		stop = s->stop;
		s->wake = 0;
		pthread_mutex_unlock(&s->mu);
		/* Stopping: the index is derived and catches up at the next start. */
		if (stop)
			break;
		time_deadline_ms(&next, CATCHUP_GAP_MS);

		cu_err_clear(&err);
		if (idx_catch_up_n(s->writer, s->st, CATCHUP_STEP, catchup_progress, s, &err) != 0) {
			if (!failing)
				api_log("search index catch-up failed (searches see a lagging index): %s", err.msg);
			failing = 1;
		} else if (failing) {
			api_log("search index catch-up works again");
			failing = 0;
		}
		if (idx_hwm(s->writer, &hwm, NULL) == 0)
			atomic_store(&s->hwm, hwm);
		pthread_mutex_lock(&s->mu);
		pthread_cond_broadcast(&s->caught);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

void api_search_close(struct api_server *srv)
{
	struct api_search *s = srv->search;
	size_t i;

	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	for (i = 0; i < s->nreaders; i++)
		idx_close(s->readers[i]);
	idx_close(s->writer);
	free(s->readers);
	free(s->busy);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_cond_destroy(&s->pool_cv);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->caught);
	free(s);
	srv->search = NULL;
}

int api_search_open(struct api_server *srv, struct cu_err *err)
{
	struct api_search *s;
	size_t i;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->caught, NULL);
	s->st = srv->st;
	s->max_lag = srv->cfg.index_max_lag;
	srv->search = s;
	rc = idx_open(srv->dir, 0, &s->writer, err);
	if (rc)
		goto fail;
	/* Each handle has its own SQLite page cache (tens of MiB once warm):
	 * two readers serve two cores, more would only hold more memory. */
	s->nreaders = srv->cfg.threads < SEARCH_READERS ? srv->cfg.threads : SEARCH_READERS;
	if (!s->nreaders)
		s->nreaders = 1;
	s->readers = calloc(s->nreaders, sizeof(*s->readers));
	s->busy = calloc(s->nreaders, sizeof(*s->busy));
	if (!s->readers || !s->busy) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		s->nreaders = 0;
		goto fail;
	}
	for (i = 0; i < s->nreaders; i++) {
		rc = idx_open(srv->dir, IDX_RDONLY, &s->readers[i], err);
		if (rc) {
			s->nreaders = i;
			goto fail;
		}
	}
	s->wake = 1; /* catch up with what the log holds at start */
	rc = pthread_create(&s->thread, NULL, catchup_main, s);
	if (rc) {
		rc = cu_err_errno(err, rc, "cannot start the index thread");
		goto fail;
	}
	s->thread_started = 1;
	return 0;
fail:
	api_search_close(srv);
	return rc;
}

void api_search_after_commit(void *ctx, size_t records)
{
	struct api_server *srv = ctx;
	struct api_search *s = srv->search;

	(void)records;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->wake = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void api_search_set_queue(struct api_server *srv, struct commit_queue *cq)
{
	struct api_search *s = srv->search;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->cq = cq;
	pthread_mutex_unlock(&s->mu);
}

int api_search_admit(void *ctx)
{
	struct api_server *srv = ctx;
	struct api_search *s = srv->search;
	uint64_t done;

	if (!s)
		return 1;
	/* Records the catch-up has processed count, committed or not: the
	 * mark itself moves only once per transaction, and pacing on it made
	 * ingest wait in steps of a whole transaction. */
	done = idx_working(s->writer);
	if (done < atomic_load(&s->hwm))
		done = atomic_load(&s->hwm);
	return pace_admit(&s->pace, time_mono_ns(), done, store_size(s->st), s->max_lag);
}

void api_search_committed(struct api_server *srv, size_t records)
{
	struct api_search *s = srv->search;

	if (s)
		pace_charge(&s->pace, records);
}

long long api_search_lag(struct api_server *srv)
{
	struct api_search *s = srv->search;
	uint64_t size, hwm;

	if (!s)
		return -1;
	size = store_size(srv->st);
	hwm = atomic_load(&s->hwm);
	return size > hwm ? (long long)(size - hwm) : 0;
}

int api_search_wait(struct api_server *srv, uint64_t size, unsigned timeout_ms)
{
	struct api_search *s = srv->search;
	struct timespec until;
	int ok;

	if (!s)
		return 0;
	time_deadline_ms(&until, timeout_ms);
	pthread_mutex_lock(&s->mu);
	while (atomic_load(&s->hwm) < size && !s->stop) {
		s->wake = 1; /* make sure a catch-up is coming */
		pthread_cond_signal(&s->cv);
		if (pthread_cond_timedwait(&s->caught, &s->mu, &until) != 0)
			break;
	}
	ok = atomic_load(&s->hwm) >= size;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* Lends a reader handle (waits while all are lent). */
static size_t reader_get(struct api_search *s)
{
	size_t i;

	pthread_mutex_lock(&s->pool_mu);
	for (;;) {
		for (i = 0; i < s->nreaders; i++)
			if (!s->busy[i]) {
				s->busy[i] = 1;
				pthread_mutex_unlock(&s->pool_mu);
				return i;
			}
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	}
}

static void reader_put(struct api_search *s, size_t i)
{
	pthread_mutex_lock(&s->pool_mu);
	s->busy[i] = 0;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

int api_search_run(struct api_req *r, const struct idx_query *q, json_t **out, struct cu_err *err)
{
	struct api_search *s = r->srv->search;
	struct idx_query vq = *q;
	size_t i;
	int rc;

	vq.kinds = api_vis_kinds_of(r);
	if (!vq.kinds)
		return cu_err_set(err, CU_EDENIED, "this role reads no records");
	if (!s || !s->nreaders)
		return cu_err_set(err, CU_ESTATE, "the search index is not available");
	i = reader_get(s);
	rc = idx_search_json(s->readers[i], r->srv->st, &vq, out, err);
	reader_put(s, i);
	return rc;
}

int api_search_context(struct api_server *srv, const char *conv, uint64_t anchor, int64_t *anchor_ts,
		       struct idx_ctx_side *before, struct idx_ctx_side *after, uint64_t *hwm,
		       struct cu_err *err)
{
	struct api_search *s = srv->search;
	size_t i;
	int rc;

	if (!s || !s->nreaders)
		return cu_err_set(err, CU_ESTATE, "the search index is not available");
	i = reader_get(s);
	rc = idx_context(s->readers[i], conv, anchor, anchor_ts, before, after, hwm, err);
	reader_put(s, i);
	return rc;
}
