/* subsystems.h - the daemon's subsystems that run beside the requests,
 * started and stopped by the application layer (server.c) through its
 * table, never by the HTTP layer. Nothing outside api/ includes this.
 *
 * Each start returns 0 or an error (the server then does not start); each
 * stop is safe when its start was never called or failed, and waits for
 * the subsystem's threads. Both run in the thread that starts or stops
 * the server.
 */
#ifndef CUSTOS_API_SUBSYSTEMS_H
#define CUSTOS_API_SUBSYSTEMS_H

#include "common/error.h"

struct api_server;

/* Export jobs (h_exports.c): makes the job set at start, which starts the
 * sweeper of expired packages (exports.package_ttl_seconds): call once
 * the store is open. Stop cancels running exports and waits for them:
 * call before the store is closed (and before the commit queue closes:
 * exports append through it). */
int api_exports_start(struct api_server *srv, struct cu_err *err);
void api_exports_stop(void);

/* The retention scheduler (retention_sched.c): reads the "retention" object
 * of the configuration file and starts the scheduler thread, which runs
 * ret_run_automatic shortly after start and then every
 * retention.interval_seconds. A bad "retention" object is an error (a
 * typo must not silently keep the default); a failing run later is only
 * logged. Stop waits for a run under way and closes the index handle the
 * retention endpoints share: call before the store is closed. */
int api_retention_start(struct api_server *srv, struct cu_err *err) CU_MUST_CHECK;
void api_retention_stop(struct api_server *srv);

/* Verification jobs (h_verify.c): start makes the job slot; stop waits
 * for a running job (verify_archive cannot be interrupted; it only reads)
 * and frees the last result. */
int api_verify_start(struct api_server *srv, struct cu_err *err) CU_MUST_CHECK;
void api_verify_stop(struct api_server *srv);

#endif
