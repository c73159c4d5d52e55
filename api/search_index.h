/* search_index.h - the search index in the daemon (search_index.c): one
 * writer handle that the catch-up thread keeps following the log, and a
 * small pool of read-only handles for the requests. Nothing outside api/
 * includes this.
 *
 * Threads: the catch-up thread ("custos-index", nice +10) alone uses the
 * writer; the commit queue's committer thread calls api_search_admit,
 * api_search_committed and api_search_after_commit; request threads
 * borrow a reader (api_search_run, api_search_context) and may wait for
 * the index (api_search_wait). The index is derived from the log: what it
 * has not caught up with at stop is indexed at the next start.
 */
#ifndef CUSTOS_API_SEARCH_INDEX_H
#define CUSTOS_API_SEARCH_INDEX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct api_req;
struct api_server;
struct commit_queue;
struct idx_ctx_side;
struct idx_query;

/* Opens the handles and starts the catch-up thread (the server's search
 * subsystem); close stops the thread (a catch-up under way finishes
 * first) and closes the handles. Close is safe after a failed open. */
int api_search_open(struct api_server *srv, struct cu_err *err) CU_MUST_CHECK;
void api_search_close(struct api_server *srv);
/* Hands the commit queue to the index thread (after cq_new), or takes it
 * back (NULL, before cq_free). */
void api_search_set_queue(struct api_server *srv, struct commit_queue *cq);

/* The commit queue's after-commit hook (ctx = the server): wakes the
 * index catch-up. Also called after the retention engine appended. */
void api_search_after_commit(void *ctx, size_t records);
/* The commit queue's admit hook: 1 while the index is within
 * index_max_lag records of the log (ingest may be committed); above a
 * quarter of that, ingest is paced at the index's rate. Committer thread
 * only, as is api_search_committed, which charges a commit to the pacing. */
int api_search_admit(void *srv);
void api_search_committed(struct api_server *srv, size_t records);

/* Index lag in records for /metrics, -1 when unknown. */
long long api_search_lag(struct api_server *srv);
/* Waits (at most timeout_ms) until the index holds the log's first size
 * records; 1 if it does. */
int api_search_wait(struct api_server *srv, uint64_t size, unsigned timeout_ms);

/* Runs a query for r's caller on a pooled read-only index handle:
 * idx_search_json with q->kinds replaced by what the caller may see
 * (api_vis_kinds_of), so results and counts hold nothing else. CU_ESTATE
 * when there is no index, CU_EDENIED when the caller sees no records. */
int api_search_run(struct api_req *r, const struct idx_query *q, json_t **out,
		   struct cu_err *err) CU_MUST_CHECK;
/* idx_context (a record's neighbours in its conversation) on a pooled
 * read-only index handle. CU_ESTATE when there is no index. */
int api_search_context(struct api_server *srv, const char *conv, uint64_t anchor, int64_t *anchor_ts,
		       struct idx_ctx_side *before, struct idx_ctx_side *after, uint64_t *hwm,
		       struct cu_err *err) CU_MUST_CHECK;

#endif
