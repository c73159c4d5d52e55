/* retention_sched.h - the retention subsystem of the daemon
 * (retention_sched.c); started and stopped through subsystems.h
 * (api_retention_start, api_retention_stop).
 *
 * Threads: the scheduler thread ("custos-retain") runs ret_run_automatic
 * shortly after start and then every retention.interval_seconds,
 * counted on the monotonic clock from the start of the previous run; the
 * request threads of the retention endpoints call the engine directly.
 * Both use the one index writer below. Nothing outside api/ includes
 * this.
 */
#ifndef CUSTOS_API_RETENTION_SCHED_H
#define CUSTOS_API_RETENTION_SCHED_H

struct api_server;
struct idx;

/* The search index writer the retention engine needs for hold queries,
 * erasure queries and the index deletions of an execution: one handle,
 * opened on first use and shared (index handles serialise their calls
 * inside), kept beside the catch-up thread's own; SQLite's write lock
 * orders the two. NULL if it cannot be opened (logged once): the engine
 * then opens one per call. Closed by api_retention_stop. Any thread. */
struct idx *api_retention_index(struct api_server *srv);

#endif
