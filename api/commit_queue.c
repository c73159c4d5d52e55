/* commit_queue.c - one committer thread merging waiting submissions into
 * one commit (see commit_queue.h for the guarantees). */
#include "api/commit_queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

#define CQ_DEFAULT_BATCH 8192
#define CQ_DEFAULT_PENDING 200000

struct commit_queue {
	struct cq_config cfg;       /* copied at cq_new, defaults applied */
	pthread_mutex_t mu;         /* guards everything below except merged/merged_cap */
	pthread_cond_t wake;        /* signalled when items arrive or closing is set */
	struct cq_item *head;       /* FIFO of waiting submissions */
	struct cq_item *tail;
	size_t pending;             /* records in the FIFO */
	int closing;                /* 1: no new submissions; committer drains and exits */
	int joined;                 /* 1: the committer thread was joined */
	struct cq_stats stats;      /* counters, read under mu */
	pthread_t thread;           /* the committer */
	struct store_input *merged; /* committer only: scratch array for a merged commit */
	size_t merged_cap;          /* elements allocated in merged */
};

/* Runs the commit function over records; counts it. */
static int run_commit(struct commit_queue *q, struct store_input *in, size_t n, struct cu_err *err)
{
	uint64_t t0 = time_mono_ns();
	int rc = q->cfg.commit(q->cfg.commit_ctx, in, n, err);
	uint64_t dt = time_mono_ns() - t0;

	pthread_mutex_lock(&q->mu);
	q->stats.commit_ns_total += dt;
	if (rc == 0) {
		q->stats.commits++;
		q->stats.records += n;
		if (n > q->stats.max_commit_records)
			q->stats.max_commit_records = n;
	} else {
		q->stats.failed_commits++;
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

static void answer(struct commit_queue *q, struct cq_item *it, int rc, const struct cu_err *err)
{
	pthread_mutex_lock(&q->mu);
	if (rc == 0)
		q->stats.submissions++;
	else
		q->stats.failed_submissions++;
	pthread_mutex_unlock(&q->mu);
	it->done(it->arg, rc, err);
}

/* Commits the chain of items starting at first (count items, total
 * records) as one merged commit, then answers them. */
static void commit_chain(struct commit_queue *q, struct cq_item *first, size_t count, size_t total)
{
	struct cu_err err;
	struct cq_item *it, *next;
	struct store_input *in;
	size_t off, i;
	int rc;

	cu_err_clear(&err);
	if (count == 1) {
		in = first->in;
	} else {
		if (total > q->merged_cap) {
			struct store_input *p = realloc(q->merged, total * sizeof(*p));

			if (!p) {
				/* No memory to merge: commit one submission at a time. */
				for (it = first, i = 0; i < count; i++, it = next) {
					next = it->next;
					commit_chain(q, it, 1, it->n);
				}
				return;
			}
			q->merged = p;
			q->merged_cap = total;
		}
		in = q->merged;
		for (it = first, off = 0, i = 0; i < count; i++, it = it->next) {
			if (it->n)
				memcpy(in + off, it->in, it->n * sizeof(*in));
			off += it->n;
		}
	}

	rc = total ? run_commit(q, in, total, &err) : 0;

	if (rc != 0 && count > 1 && (rc == CU_EINVAL || rc == CU_ETOOBIG)) {
		/* One submission carries a record the store refuses; nothing was
		 * written (store_append's contract), so try them one by one. */
		for (it = first, i = 0; i < count; i++, it = next) {
			next = it->next;
			commit_chain(q, it, 1, it->n);
		}
		return;
	}

	for (it = first, off = 0, i = 0; i < count; i++, it = next) {
		next = it->next; /* done() may free the item */
		if (rc == 0 && count > 1 && it->n)
			memcpy(it->in, in + off, it->n * sizeof(*in));
		off += it->n;
		answer(q, it, rc, &err);
	}
	if (rc == 0 && total && q->cfg.after)
		q->cfg.after(q->cfg.after_ctx, total);
}

/* Unlinks the items to commit next (caller holds mu): in order, up to the
 * batch cap (always at least one, however large), passing over throttled
 * ones while blocked. Returns the first of a NULL-terminated chain. */
static struct cq_item *take_items(struct commit_queue *q, int blocked, size_t *count, size_t *total)
{
	struct cq_item **pp = &q->head, *first = NULL, **link = &first, *it, *prev = NULL;

	*count = *total = 0;
	while ((it = *pp)) {
		if ((blocked && it->throttle) ||
		    (*count && *total + it->n > q->cfg.max_batch_records)) {
			if (*count && !blocked)
				break;
			prev = it;
			pp = &it->next;
			continue;
		}
		*pp = it->next; /* unlink */
		it->next = NULL;
		*link = it;
		link = &it->next;
		(*count)++;
		*total += it->n;
	}
	q->tail = NULL; /* recompute: items may have been taken from the end */
	for (it = prev ? prev : q->head; it; it = it->next)
		q->tail = it;
	if (!q->head)
		q->tail = NULL;
	return first;
}

static void *committer_main(void *arg)
{
	struct commit_queue *q = arg;
	struct cq_item *first;
	struct timespec until;
	size_t count, total;
	uint64_t wait_from = 0;
	int blocked;

	pthread_setname_np(pthread_self(), "custos-commit"); /* for top -H, ps -L */
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (!q->head && !q->closing)
			pthread_cond_wait(&q->wake, &q->mu);
		if (!q->head) {
			pthread_mutex_unlock(&q->mu);
			break;
		}
		/* Back-pressure: throttled submissions wait for admit (when
		 * closing, everything submitted is committed). */
		blocked = !q->closing && q->cfg.admit && !q->cfg.admit(q->cfg.admit_ctx);
		first = take_items(q, blocked, &count, &total);
		if (!first) {
			if (!wait_from)
				wait_from = time_mono_ns();
			/* cq_kick wakes us; meanwhile admit is asked again every
			 * 2 ms (what it waits for may move without a kick) */
			time_deadline_ms(&until, 2);
			pthread_cond_timedwait(&q->wake, &q->mu, &until);
			pthread_mutex_unlock(&q->mu);
			continue;
		}
		if (wait_from && !blocked) {
			q->stats.throttled_ns_total += time_mono_ns() - wait_from;
			wait_from = 0;
		}
		q->pending -= total;
		q->stats.pending_records = q->pending;
		pthread_mutex_unlock(&q->mu);

		commit_chain(q, first, count, total);
	}
	return NULL;
}

void cq_kick(struct commit_queue *q)
{
	pthread_mutex_lock(&q->mu);
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->mu);
}

int cq_new(const struct cq_config *cfg, struct commit_queue **out, struct cu_err *err)
{
	struct commit_queue *q;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->commit)
		return cu_err_set(err, CU_EINVAL, "commit queue: no commit function");
	q = calloc(1, sizeof(*q));
	if (!q)
		return cu_err_set(err, CU_ENOMEM, "commit queue: out of memory");
	q->cfg = *cfg;
	if (!q->cfg.max_batch_records)
		q->cfg.max_batch_records = CQ_DEFAULT_BATCH;
	if (!q->cfg.max_pending_records)
		q->cfg.max_pending_records = CQ_DEFAULT_PENDING;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->wake, NULL);
	rc = pthread_create(&q->thread, NULL, committer_main, q);
	if (rc != 0) {
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->mu);
		free(q);
		return cu_err_errno(err, rc, "commit queue: cannot start the committer thread");
	}
	*out = q;
	return 0;
}

void cq_close(struct commit_queue *q)
{
	if (!q || q->joined)
		return;
	pthread_mutex_lock(&q->mu);
	q->closing = 1;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL); /* drains the FIFO before exiting */
	q->joined = 1;
}

void cq_free(struct commit_queue *q)
{
	if (!q)
		return;
	cq_close(q);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->mu);
	free(q->merged);
	free(q);
}

int cq_submit_async(struct commit_queue *q, struct cq_item *item, struct cu_err *err)
{
	int rc = 0;

	item->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->closing) {
		rc = cu_err_set(err, CU_ESTATE, "the commit queue is shutting down");
		goto out;
	}
	if (q->head && q->pending + item->n > q->cfg.max_pending_records) {
		q->stats.rejected++;
		rc = cu_err_set(err, CU_ETOOBIG, "too many records waiting to be committed (%zu)",
				q->pending);
		goto out;
	}
	if (q->tail)
		q->tail->next = item;
	else
		q->head = item;
	q->tail = item;
	q->pending += item->n;
	q->stats.pending_records = q->pending;
	pthread_cond_signal(&q->wake);
out:
	pthread_mutex_unlock(&q->mu);
	return rc;
}

/* State of one synchronous submission. */
struct cq_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int finished;               /* set by sync_done */
	int rc;                     /* the outcome */
	struct cu_err err;          /* its message */
};

static void sync_done(void *arg, int rc, const struct cu_err *err)
{
	struct cq_wait *w = arg;

	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	if (rc != 0 && err)
		w->err = *err;
	w->finished = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int cq_submit(struct commit_queue *q, struct store_input *in, size_t n, struct cu_err *err)
{
	struct cq_wait w;
	struct cq_item item;
	int rc;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	item.in = in;
	item.n = n;
	item.done = sync_done;
	item.arg = &w;
	item.next = NULL;
	rc = cq_submit_async(q, &item, err);
	if (rc != 0)
		goto out;
	pthread_mutex_lock(&w.mu);
	while (!w.finished)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	rc = w.rc;
	if (rc != 0) {
		if (w.err.code)
			cu_err_set(err, w.err.code, "%s", w.err.msg);
		else
			cu_err_set(err, rc, "commit failed");
	}
out:
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

void cq_get_stats(struct commit_queue *q, struct cq_stats *out)
{
	pthread_mutex_lock(&q->mu);
	*out = q->stats;
	pthread_mutex_unlock(&q->mu);
}
