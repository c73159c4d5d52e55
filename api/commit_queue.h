/* commit_queue.h - group commit across threads.
 *
 * Many threads submit batches of records; one committer thread takes
 * everything that is waiting (up to a cap), merges it into one call of the
 * commit function (store_append: one frame, one fsync) and only then
 * answers each submitter with its own outcome. While one commit is being
 * fsynced the next batches accumulate, so the number of fsyncs grows with
 * the disk's speed, not with the number of requests.
 *
 * Guarantees:
 * - a submitter is answered 0 only after the commit function returned 0 for
 *   a commit that contained all of its records (durable, per store.h);
 * - when a commit fails, every submitter in it is answered with that error
 *   (nothing of theirs is acknowledged); for CU_EINVAL/CU_ETOOBIG (one bad
 *   record) the members are retried one submission at a time so that one
 *   bad batch does not fail its neighbours;
 * - submissions are committed in the order they were submitted, except
 *   that while the admit hook says no, throttled submissions wait and the
 *   others (audit records of people's requests) go ahead of them.
 *
 * The queue knows nothing of HTTP: the server submits ingest batches and
 * audit records, the search index registers an after-commit hook to catch
 * up with the log. It lives in api/ because the daemon is its only user:
 * only there do many threads append at once. The CLI appends from one
 * thread (cmd_ingest.c calls store_append per batch), so it has nothing to
 * group and waits for no one.
 */
#ifndef CUSTOS_API_COMMIT_QUEUE_H
#define CUSTOS_API_COMMIT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/store.h"
#include "common/error.h"

/* Appends n records durably, or fails leaving nothing acknowledged
 * (store_append's contract). ctx is cq_config.commit_ctx. */
typedef int (*cq_commit_fn)(void *ctx, struct store_input *in, size_t n, struct cu_err *err);

/* Called after every successful commit, in the committer thread, after the
 * submitters of that commit have been answered. Must be quick (signal a
 * thread, do not index inline). records = how many records the commit held. */
typedef void (*cq_after_fn)(void *ctx, size_t records);

/* May throttled submissions be committed now? Called by the committer
 * with the queue's lock held: must be quick and take no queue call. */
typedef int (*cq_admit_fn)(void *ctx);

struct cq_config {
	cq_commit_fn commit;        /* required */
	void *commit_ctx;           /* passed to commit (the struct store) */
	cq_after_fn after;          /* optional after-commit hook */
	void *after_ctx;
	size_t max_batch_records;   /* merge at most this many records per commit [8192] */
	size_t max_pending_records; /* refuse new submissions beyond this many waiting [200000] */
	cq_admit_fn admit;          /* optional: back-pressure for throttled submissions */
	void *admit_ctx;
};

/* Called exactly once per submission, from the committer thread (or from
 * cq_free for submissions left when the queue is closed). rc is 0 when the
 * records are durable and in->seq/duplicate are filled in; otherwise a
 * negative CU_E* code and err describes it. */
typedef void (*cq_done_fn)(void *arg, int rc, const struct cu_err *err);

/* One submission, owned by the submitter: it (and the records it points at)
 * must stay valid until done is called. */
struct cq_item {
	struct store_input *in;     /* the records; seq and duplicate are filled in */
	size_t n;                   /* number of records (may be 0) */
	cq_done_fn done;            /* completion callback */
	void *arg;                  /* passed to done */
	int throttle;               /* 1: waits while cq_config.admit says no */
	struct cq_item *next;       /* private: the queue's list link */
};

struct cq_stats {
	uint64_t commits;           /* successful commit calls */
	uint64_t failed_commits;    /* commit calls that returned an error */
	uint64_t records;           /* records in successful commits (incl. duplicates) */
	uint64_t submissions;       /* submissions answered with success */
	uint64_t failed_submissions;/* submissions answered with an error */
	uint64_t rejected;          /* submissions refused because the queue was full */
	uint64_t pending_records;   /* records waiting right now */
	uint64_t max_commit_records;/* largest merged commit so far */
	uint64_t commit_ns_total;   /* time spent in the commit function */
	uint64_t throttled_ns_total;/* time throttled submissions waited for admit */
};

struct commit_queue;

/* Starts the committer thread. */
int cq_new(const struct cq_config *cfg, struct commit_queue **out, struct cu_err *err) CU_MUST_CHECK;

/* Stops taking new submissions (cq_submit_async then fails with
 * CU_ESTATE), commits everything already submitted, answers it and joins
 * the committer thread. The queue stays valid until cq_free. */
void cq_close(struct commit_queue *q);

/* cq_close if not done yet, then frees the queue. */
void cq_free(struct commit_queue *q);

/* Queues item; item->done is called later. Fails without calling done:
 * CU_ETOOBIG when more than max_pending_records are already waiting (the
 * caller should ask its client to retry later), CU_ESTATE when the queue
 * is closing. An empty queue always takes a submission, whatever its size. */
int cq_submit_async(struct commit_queue *q, struct cq_item *item, struct cu_err *err) CU_MUST_CHECK;

/* Submits and waits until the records are durable or failed. */
int cq_submit(struct commit_queue *q, struct store_input *in, size_t n, struct cu_err *err) CU_MUST_CHECK;

void cq_get_stats(struct commit_queue *q, struct cq_stats *out);

/* Tells the committer that admit may say yes now (what it waits for moved). */
void cq_kick(struct commit_queue *q);

#endif
