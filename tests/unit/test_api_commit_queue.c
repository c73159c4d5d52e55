/* test_api_commit_queue.c - group commit: merging, order, failures answer
 * every waiter of that commit, retry of a bad member, back-pressure, drain
 * on close. The commit function is a fake log so that the queue is tested
 * alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/commit_queue.h"

/* The fake log: assigns dense seqs, can be told to fail or to block. */
struct fake_log {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t size;          /* records "durable" so far */
	unsigned commits;       /* successful commit calls */
	size_t last_n;          /* records in the last commit call */
	unsigned calls;         /* commit calls so far */
	unsigned fail_call;     /* 1-based call number that fails, 0 = none */
	int fail_code;          /* the CU_E* it fails with */
	int gated;              /* 1: a call waits at the gate until it gets a pass */
	unsigned passes;        /* calls allowed through the gate */
	int in_commit;          /* 1 while a call is waiting at the gate */
	unsigned sleep_us;      /* simulated fsync time */
	unsigned afters;        /* after-hook calls */
	size_t after_records;   /* records reported to the after hook */
};

static int fake_commit(void *ctx, struct store_input *in, size_t n, struct cu_err *err)
{
	struct fake_log *l = ctx;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	l->in_commit = 1;
	pthread_cond_broadcast(&l->cv);
	while (l->gated && l->passes == 0)
		pthread_cond_wait(&l->cv, &l->mu);
	if (l->gated)
		l->passes--;
	l->in_commit = 0;
	l->last_n = n;
	l->calls++;
	if (l->calls == l->fail_call) {
		rc = cu_err_set(err, l->fail_code, "injected failure");
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* a record with kind 99 is one the store refuses */
		if (in[i].rec.kind == 99) {
			rc = cu_err_set(err, CU_EINVAL, "bad record");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		in[i].seq = l->size++;
		in[i].duplicate = 0;
	}
	l->commits++;
out:
	pthread_mutex_unlock(&l->mu);
	if (l->sleep_us)
		usleep(l->sleep_us);
	return rc;
}

static void fake_after(void *ctx, size_t records)
{
	struct fake_log *l = ctx;

	pthread_mutex_lock(&l->mu);
	l->afters++;
	l->after_records += records;
	pthread_mutex_unlock(&l->mu);
}

static void log_init(struct fake_log *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
}

static struct commit_queue *queue_new(struct fake_log *l, size_t max_batch, size_t max_pending)
{
	struct cq_config cfg = {0};
	struct commit_queue *q = NULL;

	cfg.commit = fake_commit;
	cfg.commit_ctx = l;
	cfg.after = fake_after;
	cfg.after_ctx = l;
	cfg.max_batch_records = max_batch;
	cfg.max_pending_records = max_pending;
	assert_int_equal(cq_new(&cfg, &q, NULL), 0);
	return q;
}

/* An async submission with its outcome. */
struct sub {
	struct cq_item item;
	struct store_input in[16];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int finished;
	int rc;
};

static void sub_done(void *arg, int rc, const struct cu_err *err)
{
	struct sub *s = arg;

	(void)err;
	pthread_mutex_lock(&s->mu);
	s->rc = rc;
	s->finished = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void sub_init(struct sub *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	for (size_t i = 0; i < n; i++)
		s->in[i].seq = UINT64_MAX;
	s->item.in = s->in;
	s->item.n = n;
	s->item.done = sub_done;
	s->item.arg = s;
}

static void sub_wait(struct sub *s)
{
	pthread_mutex_lock(&s->mu);
	while (!s->finished)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

static void close_gate_and_wait_inside(struct fake_log *l, struct commit_queue *q, struct sub *blocker)
{
	pthread_mutex_lock(&l->mu);
	l->gated = 1;
	l->passes = 0;
	pthread_mutex_unlock(&l->mu);
	assert_int_equal(cq_submit_async(q, &blocker->item, NULL), 0);
	pthread_mutex_lock(&l->mu);
	while (!l->in_commit)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

static void open_gate(struct fake_log *l)
{
	pthread_mutex_lock(&l->mu);
	l->gated = 0;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void fail_call(struct fake_log *l, unsigned call, int code)
{
	pthread_mutex_lock(&l->mu);
	l->fail_call = call;
	l->fail_code = code;
	pthread_mutex_unlock(&l->mu);
}

static void test_sync_submit_assigns_seqs(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct store_input in[3];
	struct cq_stats st;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 0, 0);
	memset(in, 0, sizeof(in));
	assert_int_equal(cq_submit(q, in, 3, NULL), 0);
	assert_int_equal(in[0].seq, 0);
	assert_int_equal(in[2].seq, 2);
	assert_int_equal(cq_submit(q, in, 2, NULL), 0);
	assert_int_equal(in[0].seq, 3);
	assert_int_equal(cq_submit(q, in, 0, NULL), 0); /* empty is fine */
	cq_get_stats(q, &st);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.submissions, 3);
	cq_free(q);
	assert_int_equal(l.afters, 2);
	assert_int_equal(l.after_records, 5);
}

/* While one commit is in progress, waiting submissions are merged into
 * the next commit, in submission order. */
static void test_merges_waiting_submissions(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct sub blocker, s[5];
	int i;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 0, 0);
	sub_init(&blocker, 1);
	close_gate_and_wait_inside(&l, q, &blocker);
	for (i = 0; i < 5; i++) {
		sub_init(&s[i], (size_t)i + 1);
		assert_int_equal(cq_submit_async(q, &s[i].item, NULL), 0);
	}
	open_gate(&l);
	sub_wait(&blocker);
	for (i = 0; i < 5; i++)
		sub_wait(&s[i]);
	assert_int_equal(blocker.rc, 0);
	assert_int_equal(l.commits, 2);    /* the blocker, then one merged commit */
	assert_int_equal(l.last_n, 15);
	/* order: s[0] got seq 1, s[1] seqs 2..3, s[2] 4..6 ... */
	uint64_t next = 1;
	for (i = 0; i < 5; i++) {
		assert_int_equal(s[i].rc, 0);
		for (int j = 0; j <= i; j++)
			assert_int_equal(s[i].in[j].seq, next++);
	}
	cq_free(q);
}

/* The batch cap splits a long queue into several commits. */
static void test_batch_cap(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct sub blocker, s[4];
	int i;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 10, 0);
	sub_init(&blocker, 1);
	close_gate_and_wait_inside(&l, q, &blocker);
	for (i = 0; i < 4; i++) {
		sub_init(&s[i], 4);
		assert_int_equal(cq_submit_async(q, &s[i].item, NULL), 0);
	}
	open_gate(&l);
	for (i = 0; i < 4; i++)
		sub_wait(&s[i]);
	assert_int_equal(l.commits, 3); /* blocker, 4+4, 4+4 */
	assert_int_equal(l.size, 17);
	cq_free(q);
}

/* A failed commit answers its submitter with the error (nothing
 * acknowledged) and the next commit works again. */
static void test_failure_then_recovery(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct store_input in[2];
	struct cu_err err;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 0, 0);
	fail_call(&l, 1, CU_ENOSPC);
	memset(in, 0, sizeof(in));
	in[0].seq = in[1].seq = UINT64_MAX;
	cu_err_clear(&err);
	assert_int_equal(cq_submit(q, in, 2, &err), CU_ENOSPC);
	assert_string_equal(err.msg, "injected failure");
	assert_int_equal(in[0].seq, UINT64_MAX);
	assert_int_equal(cq_submit(q, in, 2, NULL), 0);
	assert_int_equal(in[1].seq, 1);
	cq_free(q);
	assert_int_equal(l.afters, 1); /* only the successful commit */
}

/* A merged commit that fails (EIO/ENOSPC) answers every member with the
 * error and assigns nothing. */
static void test_merged_failure(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct sub blocker, s[4];
	int i;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 0, 0);
	sub_init(&blocker, 1);
	close_gate_and_wait_inside(&l, q, &blocker);
	for (i = 0; i < 4; i++) {
		sub_init(&s[i], 3);
		assert_int_equal(cq_submit_async(q, &s[i].item, NULL), 0);
	}
	fail_call(&l, 2, CU_EIO); /* the merged commit is call 2 */
	open_gate(&l);
	sub_wait(&blocker);
	assert_int_equal(blocker.rc, 0);
	for (i = 0; i < 4; i++) {
		sub_wait(&s[i]);
		assert_int_equal(s[i].rc, CU_EIO);
		assert_int_equal(s[i].in[0].seq, UINT64_MAX); /* nothing acknowledged */
	}
	assert_int_equal(l.size, 1); /* only the blocker */
	assert_int_equal(l.last_n, 12);
	assert_int_equal(l.calls, 2); /* I/O errors are not retried */
	cq_free(q);
}

/* One member with a record the store refuses (CU_EINVAL) fails alone; its
 * neighbours in the merged commit are retried and succeed. */
static void test_bad_member_retried_alone(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct sub blocker, s[3];
	int i;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 0, 0);
	sub_init(&blocker, 1);
	close_gate_and_wait_inside(&l, q, &blocker);
	for (i = 0; i < 3; i++) {
		sub_init(&s[i], 2);
		if (i == 1)
			s[i].in[1].rec.kind = 99;
		assert_int_equal(cq_submit_async(q, &s[i].item, NULL), 0);
	}
	open_gate(&l);
	for (i = 0; i < 3; i++)
		sub_wait(&s[i]);
	assert_int_equal(s[0].rc, 0);
	assert_int_equal(s[1].rc, CU_EINVAL);
	assert_int_equal(s[2].rc, 0);
	assert_int_equal(s[0].in[0].seq, 1);
	assert_int_equal(s[2].in[0].seq, 3); /* order kept */
	assert_int_equal(l.size, 5);
	cq_free(q);
}

static void test_backpressure(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct sub blocker, a, b, c;
	struct cu_err err;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 0, 10);
	sub_init(&blocker, 1);
	close_gate_and_wait_inside(&l, q, &blocker);
	sub_init(&a, 8);
	sub_init(&b, 4);
	sub_init(&c, 2);
	assert_int_equal(cq_submit_async(q, &a.item, NULL), 0);
	cu_err_clear(&err);
	assert_int_equal(cq_submit_async(q, &b.item, &err), CU_ETOOBIG);
	assert_true(strstr(err.msg, "waiting") != NULL);
	assert_int_equal(cq_submit_async(q, &c.item, NULL), 0);
	open_gate(&l);
	sub_wait(&a);
	sub_wait(&c);
	struct cq_stats st;
	cq_get_stats(q, &st);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.pending_records, 0);
	cq_free(q);
}

/* The admit hook: the index is far behind */
static _Atomic int admit_open;

static int admit_fn(void *ctx)
{
	(void)ctx;
	return admit_open;
}

/* While admit says no, throttled submissions wait and others go ahead of
 * them; cq_kick lets them go once admit says yes; closing commits them
 * whatever admit says. */
static void test_admit_throttles(void **state)
{
	struct fake_log l;
	struct cq_config cfg = {0};
	struct commit_queue *q = NULL;
	struct sub ingest1, audit, ingest2, late;
	struct cq_stats st;

	(void)state;
	log_init(&l);
	cfg.commit = fake_commit;
	cfg.commit_ctx = &l;
	cfg.admit = admit_fn;
	admit_open = 0;
	assert_int_equal(cq_new(&cfg, &q, NULL), 0);
	sub_init(&ingest1, 3);
	ingest1.item.throttle = 1;
	sub_init(&audit, 1);
	sub_init(&ingest2, 2);
	ingest2.item.throttle = 1;
	assert_int_equal(cq_submit_async(q, &ingest1.item, NULL), 0);
	assert_int_equal(cq_submit_async(q, &audit.item, NULL), 0);
	assert_int_equal(cq_submit_async(q, &ingest2.item, NULL), 0);
	sub_wait(&audit); /* not held back by the ingest before it */
	assert_int_equal(audit.rc, 0);
	assert_int_equal(audit.in[0].seq, 0);
	usleep(50000);
	assert_int_equal(ingest1.finished, 0);
	assert_int_equal(ingest2.finished, 0);
	admit_open = 1;
	cq_kick(q);
	sub_wait(&ingest1);
	sub_wait(&ingest2);
	assert_int_equal(ingest1.in[0].seq, 1); /* in their own order */
	assert_int_equal(ingest2.in[0].seq, 4);
	cq_get_stats(q, &st);
	assert_true(st.throttled_ns_total >= 40000000ull);
	/* closing commits a throttled submission even while admit says no */
	admit_open = 0;
	sub_init(&late, 1);
	late.item.throttle = 1;
	assert_int_equal(cq_submit_async(q, &late.item, NULL), 0);
	cq_free(q);
	assert_int_equal(late.finished, 1);
	assert_int_equal(late.rc, 0);
	assert_int_equal(l.size, 7);
}

/* cq_free commits what was submitted before it, then refuses more. */
static void test_close_drains(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct sub s[3];
	int i;

	(void)state;
	log_init(&l);
	l.sleep_us = 2000;
	q = queue_new(&l, 0, 0);
	for (i = 0; i < 3; i++) {
		sub_init(&s[i], 1);
		assert_int_equal(cq_submit_async(q, &s[i].item, NULL), 0);
	}
	cq_free(q);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s[i].finished, 1);
		assert_int_equal(s[i].rc, 0);
	}
	assert_int_equal(l.size, 3);
}

/* After cq_close, submissions are refused (the queue stays valid until
 * cq_free, so late submitters get an error instead of a dangling queue). */
static void test_submit_after_close(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct store_input in[1];
	struct cu_err err;

	(void)state;
	log_init(&l);
	q = queue_new(&l, 0, 0);
	memset(in, 0, sizeof(in));
	assert_int_equal(cq_submit(q, in, 1, NULL), 0);
	cq_close(q);
	cq_close(q); /* idempotent */
	cu_err_clear(&err);
	assert_int_equal(cq_submit(q, in, 1, &err), CU_ESTATE);
	assert_non_null(strstr(err.msg, "shutting down"));
	cq_free(q);
	assert_int_equal(l.size, 1);
}

/* Many threads, synchronous submissions, a slow "fsync": every record is
 * committed exactly once, seqs are dense, and commits are merged. */
struct worker {
	struct commit_queue *q;
	int rounds;
	uint64_t *seen;      /* shared bitmap of seqs (one byte each) */
	size_t seen_len;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct store_input in[7];
	int r;

	for (r = 0; r < w->rounds; r++) {
		size_t n = (size_t)(r % 7) + 1, i;

		memset(in, 0, sizeof(in));
		if (cq_submit(w->q, in, n, NULL) != 0) {
			w->failures++;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (in[i].seq >= w->seen_len)
				w->failures++;
			else
				__atomic_fetch_add(&w->seen[in[i].seq], 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void test_many_threads(void **state)
{
	struct fake_log l;
	struct commit_queue *q;
	struct worker w[8];
	pthread_t t[8];
	uint64_t *seen;
	size_t total = 0, i;
	int k;

	(void)state;
	log_init(&l);
	l.sleep_us = 500;
	q = queue_new(&l, 0, 0);
	seen = calloc(8 * 100 * 7, sizeof(*seen));
	assert_non_null(seen);
	for (k = 0; k < 8; k++) {
		w[k].q = q;
		w[k].rounds = 100;
		w[k].seen = seen;
		w[k].seen_len = 8 * 100 * 7;
		w[k].failures = 0;
		assert_int_equal(pthread_create(&t[k], NULL, worker_main, &w[k]), 0);
	}
	for (k = 0; k < 8; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(w[k].failures, 0);
		for (int r = 0; r < 100; r++)
			total += (size_t)(r % 7) + 1;
	}
	cq_free(q);
	assert_int_equal(l.size, total);
	for (i = 0; i < total; i++)
		assert_int_equal(seen[i], 1);
	/* 800 submissions with a 0.5 ms "fsync" must have been merged. */
	assert_true(l.commits < 800);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_submit_assigns_seqs),
		cmocka_unit_test(test_merges_waiting_submissions),
		cmocka_unit_test(test_batch_cap),
		cmocka_unit_test(test_failure_then_recovery),
		cmocka_unit_test(test_merged_failure),
		cmocka_unit_test(test_bad_member_retried_alone),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_admit_throttles),
		cmocka_unit_test(test_close_drains),
		cmocka_unit_test(test_submit_after_close),
		cmocka_unit_test(test_many_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
