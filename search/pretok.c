/* pretok.c - the tokenizing worker thread of the index (pretok.h). */
#include "search/pretok.h"

#include <pthread.h>
#include <stdlib.h>

struct pretok {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* a job arrived, finished, or quit was asked */
	struct tok_ctx *tc;      /* the worker's own (stem cache, stemmer) */
	struct tok_pre *job;     /* the job running or to run; NULL when idle */
	int quit;
};

static void *worker(void *arg)
{
	struct pretok *pt = arg;
	struct tok_pre *job;

	pthread_setname_np(pthread_self(), "custos-tok"); /* for top -H, ps -L */
	pthread_mutex_lock(&pt->mu);
	for (;;) {
		while (!pt->job && !pt->quit)
			pthread_cond_wait(&pt->cv, &pt->mu);
		if (!pt->job)
			break;
		job = pt->job;
		pthread_mutex_unlock(&pt->mu);
		tok_pre_run(pt->tc, job);
		pthread_mutex_lock(&pt->mu);
		pt->job = NULL;
		pthread_cond_broadcast(&pt->cv);
	}
	pthread_mutex_unlock(&pt->mu);
	return NULL;
}

int pretok_new(struct pretok **out, struct cu_err *err)
{
	struct pretok *pt;
	int rc;

	*out = NULL;
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return cu_err_set(err, CU_ENOMEM, "index: out of memory");
	rc = tok_ctx_new(&pt->tc, err);
	if (rc) {
		free(pt);
		return rc;
	}
	pthread_mutex_init(&pt->mu, NULL);
	pthread_cond_init(&pt->cv, NULL);
	if (pthread_create(&pt->th, NULL, worker, pt) != 0) {
		pthread_cond_destroy(&pt->cv);
		pthread_mutex_destroy(&pt->mu);
		tok_ctx_free(pt->tc);
		free(pt);
		return cu_err_set(err, CU_ENOMEM, "index: cannot start the tokenizing thread");
	}
	*out = pt;
	return 0;
}

void pretok_free(struct pretok *pt)
{
	if (!pt)
		return;
	pretok_wait(pt);
	pthread_mutex_lock(&pt->mu);
	pt->quit = 1;
	pthread_cond_broadcast(&pt->cv);
	pthread_mutex_unlock(&pt->mu);
	pthread_join(pt->th, NULL);
	pthread_cond_destroy(&pt->cv);
	pthread_mutex_destroy(&pt->mu);
	tok_ctx_free(pt->tc);
	free(pt);
}

void pretok_start(struct pretok *pt, struct tok_pre *pre)
{
	pthread_mutex_lock(&pt->mu);
	while (pt->job)
		pthread_cond_wait(&pt->cv, &pt->mu);
	pt->job = pre;
	pthread_cond_broadcast(&pt->cv);
	pthread_mutex_unlock(&pt->mu);
}

void pretok_wait(struct pretok *pt)
{
	pthread_mutex_lock(&pt->mu);
	while (pt->job)
		pthread_cond_wait(&pt->cv, &pt->mu);
	pthread_mutex_unlock(&pt->mu);
}
