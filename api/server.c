/* server.c - the application layer of the daemon: the server object
 * (api_int.h "struct api_server"), the archive and the commit queue every
 * append goes through, the tokens, the subsystems that run beside the
 * requests (subsystems.h), and the order in which all of them and the
 * HTTP layer (http.c) start and stop. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/search_index.h"
#include "api/subsystems.h"
#include "common/timeutil.h"

/* ---- logging ---------------------------------------------------------- */

void api_log(const char *fmt, ...)
{
	char ts[32], line[1024];
	va_list ap;

	time_format_rfc3339(time_now_ms(), ts, sizeof(ts));
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s custos serve: %s\n", ts, line);
}

/* ---- commits ---------------------------------------------------------- */

/* The commit function: store_append, remembering whether it failed so
 * that /healthz can say so. */
static int store_commit(void *ctx, struct store_input *in, size_t n, struct cu_err *err)
{
	struct api_server *srv = ctx;
	int rc = store_append(srv->st, in, n, err);

	if (rc && (rc == CU_EIO || rc == CU_ENOSPC)) {
		if (!atomic_exchange(&srv->commit_failing, 1))
			api_log("commit of %zu records failed: %s", n, err && err->msg[0] ? err->msg : cu_err_name(rc));
	} else if (!rc) {
		if (atomic_exchange(&srv->commit_failing, 0))
			api_log("commits succeed again");
	}
	return rc;
}

/* ---- tokens ----------------------------------------------------------- */

int api_tokens_reload(struct api_server *srv, struct cu_err *err)
{
	struct tok_set fresh, old;
	int rc;

	rc = tok_load(srv->dir, &fresh, err);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&srv->lock);
	old = srv->tokens;
	srv->tokens = fresh;
	pthread_rwlock_unlock(&srv->lock);
	tok_set_release(&old);
	return 0;
}

/* ---- subsystems ------------------------------------------------------- */

struct api_subsys {
	const char *name;
	int (*start)(struct api_server *srv, struct cu_err *err);
	void (*stop)(struct api_server *srv);
	/* NULL, or handed the commit queue once it runs, and NULL before it
	 * is freed */
	void (*queue)(struct api_server *srv, struct commit_queue *cq);
	/* 0: starts before the commit queue and the HTTP daemon, stops after
	 * they are gone; 1: starts once requests are served, stops before the
	 * commit queue closes (what it appends goes through the queue) */
	int serving;
};

static void exports_stop(struct api_server *srv)
{
	(void)srv;
	api_exports_stop();
}

/* In start order; each phase stops in the reverse order: exports are
 * cancelled before a retention run under way is waited for, and the
 * verification job is waited for before the index closes. */
static const struct api_subsys subsystems[] = {
	{"search index", api_search_open, api_search_close, api_search_set_queue, 0},
	{"verification jobs", api_verify_start, api_verify_stop, NULL, 0},
	{"retention scheduler", api_retention_start, api_retention_stop, NULL, 1},
	{"export jobs", api_exports_start, exports_stop, NULL, 1}, /* and the sweeper of expired packages */
};
#define NSUBSYS (sizeof(subsystems) / sizeof(subsystems[0]))

/* Stops the subsystems of a phase among the first n, last first. */
static void subsys_stop(struct api_server *srv, int serving, size_t n)
{
	while (n-- > 0)
		if (subsystems[n].serving == serving)
			subsystems[n].stop(srv);
}

/* Starts the subsystems of a phase; on a failure, those of the phase it
 * started are stopped again. */
static int subsys_start(struct api_server *srv, int serving, struct cu_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < NSUBSYS; i++) {
		if (subsystems[i].serving != serving)
			continue;
		rc = subsystems[i].start(srv, err);
		if (rc) {
			subsys_stop(srv, serving, i);
			return rc;
		}
	}
	return 0;
}

static void subsys_queue(struct api_server *srv, struct commit_queue *cq)
{
	size_t i;

	for (i = 0; i < NSUBSYS; i++)
		if (subsystems[i].queue)
			subsystems[i].queue(srv, cq);
}

/* ---- the server ------------------------------------------------------- */

/* The commit queue's after-commit hook: the index's pacing and catch-up. */
static void after_commit(void *ctx, size_t records)
{
	api_search_committed(ctx, records); /* the committer's pacing */
	api_search_after_commit(ctx, records);
}

int api_server_start(const char *dir, const char *config_path, const struct custos_config *all,
		     struct api_server **out, struct cu_err *err)
{
	const struct api_config *cfg = &all->server;
	struct api_server *srv;
	struct api_http_setup hs;
	struct cq_config qc;
	int rc, early = 0;

	*out = NULL;
	api_http_setup_init(&hs);
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	snprintf(srv->dir, sizeof(srv->dir), "%s", dir);
	snprintf(srv->config_path, sizeof(srv->config_path), "%s", config_path ? config_path : "");
	srv->cfg = *cfg;
	srv->live = *cfg;
	srv->retention = all->retention;
	srv->exports = all->exports;
	srv->started_ms = time_now_ms();
	pthread_rwlock_init(&srv->lock, NULL);

	/* The listen address and the TLS files are checked before anything
	 * is opened. */
	rc = api_http_prepare(cfg, &hs, err);
	if (rc)
		goto fail;
	rc = tok_load(dir, &srv->tokens, err);
	if (rc)
		goto fail;
	rc = store_open(dir, NULL, 0, &srv->st, err);
	if (rc)
		goto fail;
	rc = subsys_start(srv, 0, err);
	if (rc)
		goto fail;
	early = 1;
	memset(&qc, 0, sizeof(qc));
	qc.commit = store_commit;
	qc.commit_ctx = srv;
	qc.after = after_commit;
	qc.after_ctx = srv;
	qc.max_batch_records = cfg->commit_batch_records;
	qc.max_pending_records = cfg->max_pending_records;
	if (cfg->index_max_lag) {
		qc.admit = api_search_admit;
		qc.admit_ctx = srv;
	}
	rc = cq_new(&qc, &srv->cq, err);
	if (rc)
		goto fail;
	subsys_queue(srv, srv->cq);
	rc = api_http_start(srv, &hs, err);
	if (rc)
		goto fail;
	rc = subsys_start(srv, 1, err);
	if (rc)
		goto fail;
	api_http_setup_release(&hs);
	*out = srv;
	return 0;
fail:
	api_http_setup_release(&hs);
	api_http_stop(srv);
	subsys_queue(srv, NULL);
	if (srv->cq)
		cq_free(srv->cq);
	if (early)
		subsys_stop(srv, 0, NSUBSYS);
	if (srv->st)
		store_close(srv->st);
	tok_set_release(&srv->tokens);
	pthread_rwlock_destroy(&srv->lock);
	free(srv);
	return rc;
}

uint16_t api_server_port(const struct api_server *srv)
{
	return srv->port;
}

int api_server_reload(struct api_server *srv, struct cu_err *err)
{
	struct api_config fresh = srv->cfg;
	int rc;

	if (srv->config_path[0]) {
		rc = api_config_load(srv->config_path, &fresh, err);
		if (rc)
			return rc;
	}
	rc = api_tokens_reload(srv, err);
	if (rc)
		return rc;
	/* The listen address is not compared: --listen may override it. */
	if (fresh.threads != srv->cfg.threads || fresh.max_connections != srv->cfg.max_connections ||
	    fresh.max_connections_per_address != srv->cfg.max_connections_per_address ||
	    fresh.connection_timeout_s != srv->cfg.connection_timeout_s ||
	    fresh.header_timeout_s != srv->cfg.header_timeout_s ||
	    fresh.max_header_bytes != srv->cfg.max_header_bytes ||
	    fresh.max_pending_records != srv->cfg.max_pending_records ||
	    fresh.commit_batch_records != srv->cfg.commit_batch_records ||
	    strcmp(fresh.tls_cert_file, srv->cfg.tls_cert_file) ||
	    strcmp(fresh.tls_key_file, srv->cfg.tls_key_file))
		api_log("reload: listen, threads, connection, commit and TLS settings take effect on restart only");
	pthread_rwlock_wrlock(&srv->lock);
	srv->live = fresh;
	pthread_rwlock_unlock(&srv->lock);
	return 0;
}

void api_server_stop(struct api_server *srv, unsigned grace_ms)
{
	if (!srv)
		return;
	api_http_quiesce(srv, grace_ms);
	subsys_stop(srv, 1, NSUBSYS);
	/* The commit queue drains before MHD goes: a suspended request is
	 * resumed by its commit's answer, which MHD_stop_daemon needs. A late
	 * request submitting after this gets 503 (queue closed). */
	cq_close(srv->cq);
	api_http_stop(srv);
	subsys_queue(srv, NULL);
	cq_free(srv->cq);
	subsys_stop(srv, 0, NSUBSYS);
	store_close(srv->st);
	tok_set_release(&srv->tokens);
	pthread_rwlock_destroy(&srv->lock);
	free(srv);
}
