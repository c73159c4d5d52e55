/* http.c - the HTTP layer: libmicrohttpd glue, the request state machine
 * (api_int.h), authentication, body caps, suspension while a commit is in
 * flight, the audit of a person's request before its reply, and sending
 * the reply. It knows routes only by their table entry and flags
 * (routes.c), never by the feature behind them; the application layer
 * (server.c) starts and stops it. */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/audit.h"
#include "api/conn_guard.h"
#include "common/fileio.h"
#include "common/timeutil.h"

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[1024];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	api_log("httpd: %s", line);
}

/* ---- commits ---------------------------------------------------------- */

/* Counts what a commit archived, where its outcome is known: whether the
 * client is still there to get the reply or not (a request whose client
 * went away is never continued). Committer thread, or the request's when
 * the queue refused the submission. */
static void count_commit(struct api_req *r, int rc)
{
	struct api_metrics *m = &r->srv->metrics;
	size_t i, n, dups = 0;

	if (r->commit_is_audit) {
		atomic_fetch_add(rc ? &m->audit_failures : &m->audit_records, 1);
		return;
	}
	n = r->item.n > r->uncounted ? r->item.n - r->uncounted : 0;
	if (rc) {
		atomic_fetch_add(&m->ingest_rejected, n);
		return;
	}
	for (i = 0; i < n; i++)
		dups += r->item.in[i].duplicate ? 1 : 0;
	atomic_fetch_add(&m->ingest_accepted, n - dups);
	atomic_fetch_add(&m->ingest_duplicates, dups);
}

/* Runs in the committer thread: record the outcome, wake the request. */
static void req_commit_done(void *arg, int rc, const struct cu_err *err)
{
	struct api_req *r = arg;

	count_commit(r, rc);
	r->commit_rc = rc;
	cu_err_clear(&r->commit_err);
	if (rc)
		cu_err_set(&r->commit_err, rc, "%s", err && err->msg[0] ? err->msg : cu_err_name(rc));
	MHD_resume_connection(r->conn); /* r must not be touched after this */
}

/* Suspends first, so that a commit finishing at once cannot resume a
 * connection that is not suspended yet. A refused submission is reported
 * through commit_rc like a failed commit, with commit_refused set. */
static void commit_start(struct api_req *r, struct store_input *in, size_t n, int throttle, int audit)
{
	struct cu_err err;
	int rc;

	MHD_suspend_connection(r->conn);
	r->commit_rc = 0;
	r->commit_refused = 0;
	r->commit_is_audit = audit;
	memset(&r->item, 0, sizeof(r->item));
	r->item.in = in;
	r->item.n = n;
	r->item.done = req_commit_done;
	r->item.arg = r;
	r->item.throttle = throttle;
	cu_err_clear(&err);
	rc = cq_submit_async(r->srv->cq, &r->item, &err);
	if (rc) {
		count_commit(r, rc);
		r->commit_rc = rc;
		r->commit_refused = 1;
		cu_err_clear(&r->commit_err);
		cu_err_set(&r->commit_err, rc, "%s", err.msg);
		MHD_resume_connection(r->conn);
	}
}

/* A refused submission: 429 when the queue is full, 503 when stopping. */
static void reply_refused(struct api_req *r)
{
	if (r->commit_rc == CU_ETOOBIG) {
		r->retry_after = 1;
		api_reply_error(r, 429, "too_many_requests", "%s; retry later", r->commit_err.msg);
	} else {
		api_reply_error(r, 503, "unavailable", "%s", r->commit_err.msg);
	}
}

int api_commit_async(struct api_req *r, struct store_input *in, size_t n,
		     int (*on_commit)(struct api_req *r))
{
	r->on_commit = on_commit;
	commit_start(r, in, n, 1, 0); /* messenger ingest waits for a lagging index */
	return API_ASYNC;
}

/* ---- authentication --------------------------------------------------- */

/* Finds the caller's token; 1 if valid (r->who filled), 0 if not. */
static int authenticate(struct api_req *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const struct tok_entry *e;
	size_t len;
	int ok = 0;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len && h[len - 1] == ' ')
		len--;
	pthread_rwlock_rdlock(&r->srv->lock);
	e = tok_lookup(&r->srv->tokens, h, len);
	if (e) {
		r->who = *e;
		ok = 1;
	}
	pthread_rwlock_unlock(&r->srv->lock);
	return ok;
}

/* ---- request lifecycle ------------------------------------------------ */

static struct api_req *req_new(struct api_server *srv, struct MHD_Connection *conn,
			       const char *method, const char *url)
{
	struct api_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->srv = srv;
	r->conn = conn;
	r->route_idx = api_nroutes;
	r->results = -1;
	r->t0_ns = time_mono_ns();
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->path, sizeof(r->path), "%s", url);
	pthread_rwlock_rdlock(&srv->lock);
	r->lim = srv->live;
	pthread_rwlock_unlock(&srv->lock);
	buf_init(&r->body, r->lim.max_body_bytes);
	buf_init(&r->out, API_OUT_MAX);
	return r;
}

static void req_free(struct api_req *r)
{
	int k;

	if (!r)
		return;
	for (k = 0; k < API_MAX_PARAMS; k++)
		free(r->params[k]);
	if (r->hctx_free)
		r->hctx_free(r->hctx);
	json_decref(r->audit_details);
	json_decref(r->args);
	json_decref(r->args_received);
	api_audit_release(r);
	buf_release(&r->body);
	buf_release(&r->out);
	free(r);
}

static enum MHD_Result send_reply(struct api_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	uint8_t *data;
	size_t len = 0;
	char num[32];

	if (!r->status)
		api_reply_error(r, 500, "internal", "no reply was produced");
	data = buf_take(&r->out, &len);
	if (data)
		resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"custos\"");
	if (r->status == 405 && r->allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if ((r->status == 429 || r->status == 503) && r->retry_after) {
		snprintf(num, sizeof(num), "%u", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (atomic_load(&r->srv->stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	api_metrics_count(&r->srv->metrics, r->route_idx, r->status, time_mono_ns() - r->t0_ns);
	r->state = REQ_SENT;
	return ret;
}

/* The handler (or its refusal) is done: audit a person's request, then
 * send. */
static enum MHD_Result finish(struct api_req *r)
{
	if (r->authed && (r->who.role & ROLE_PERSON)) {
		if (api_audit_build(r) != 0) {
			atomic_fetch_add(&r->srv->metrics.audit_failures, 1);
			api_reply_error(r, 503, "audit_failed",
					"the request could not be recorded in the audit trail");
			return send_reply(r);
		}
		r->state = REQ_WAIT_AUDIT;
		commit_start(r, &r->audit_in, 1, 0, 1);
		return MHD_YES;
	}
	return send_reply(r);
}

/* Decides on the first call, with the headers only. Returns 1 when the
 * request is refused at once (r's reply set; audited by finish when the
 * caller is a person). The caller is identified before anything else is
 * decided, so that every answer to a person is audited: 404, 405, 413 and
 * bad parameters as much as 403 and 200. */
static int first_call(struct api_req *r, const char *method, const char *url)
{
	struct api_match m;
	const char *cl;
	uint64_t clen;
	int rc, k, need_auth;

	if (atomic_load(&r->srv->stopping)) {
		api_reply_error(r, 503, "unavailable", "the server is shutting down");
		return 1;
	}
	r->authed = authenticate(r);
	if (api_check_path(r, url) != 0)
		return 1;
	rc = api_route_match(method, url, &m);
	if (rc == 0) {
		r->route = m.route;
		r->route_idx = (size_t)(m.route - api_routes);
		for (k = 0; k < API_MAX_PARAMS; k++)
			r->params[k] = m.params[k];
	}
	if (api_check_args(r) != 0)
		return 1;
	if (rc == CU_ENOTFOUND) {
		api_reply_error(r, 404, "not_found", "no such endpoint: %s", url);
		return 1;
	}
	if (rc == CU_ESTATE) {
		snprintf(r->allow, sizeof(r->allow), "%s", m.allow);
		api_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
				r->method, url, m.allow);
		return 1;
	}

	/* A hook may take a larger body from a caller it recognises (routes.c). */
	if (r->route->flags & API_ROUTE_HOOK_LARGE_BODY) {
		size_t cap = api_route_large_body(r);

		if (cap)
			r->body.max = r->lim.max_body_bytes = cap;
	}
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && api_parse_u64(cl, &clen) == 0 && clen > r->lim.max_body_bytes) {
		/* Up to 4x the cap, the body is read and dropped before the 413,
		 * so that the client, still sending, sees the answer instead of a
		 * reset connection: a hook (the Prosody module) must see a refusal
		 * as final and set the item aside, not take it for an outage and
		 * resend it for ever. Beyond that, refused at once. */
		if (clen / 4 >= r->lim.max_body_bytes) {
			api_reply_error(r, 413, "payload_too_large",
					"request body of %llu bytes exceeds the cap of %zu",
					(unsigned long long)clen, r->lim.max_body_bytes);
			return 1;
		}
		r->body_over = 1;
		buf_release(&r->body);
	}

	need_auth = r->route->roles != 0;
	if ((r->route->flags & API_ROUTE_METRICS_PUBLIC) && r->lim.metrics_public)
		need_auth = 0;
	if (!need_auth)
		return 0;
	if (!r->authed) {
		atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
		api_reply_error(r, 401, "unauthorized", "a valid bearer token is required");
		return 1;
	}
	if (!(r->who.role & r->route->roles)) {
		/* Decided now, answered after the body so that the refusal of a
		 * person is audited like any other request. */
		api_reply_error(r, 403, "forbidden", "the %s role may not use %s %s",
				tok_role_name(r->who.role), method, r->route->pattern);
		r->rejected = 1;
	}
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct api_req *r = *con_cls;
	int rc;

	(void)version;
	if (!r) {
		cg_headers_done(conn);
		r = req_new(srv, conn, method, url);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&srv->metrics.inflight, 1);
		if (first_call(r, method, url)) {
			r->rejected = 1; /* a body that follows is read and dropped */
			return finish(r);
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		if (r->lim.request_timeout_s &&
		    time_mono_ns() - r->t0_ns > (uint64_t)r->lim.request_timeout_s * 1000000000ull)
			return MHD_NO; /* too slow: drop the connection */
		if (!r->rejected && r->route->takes_body && !r->body_over &&
		    buf_append(&r->body, upload_data, *upload_data_size) != 0) {
			r->body_over = 1; /* keep reading (and dropping) to answer 413 */
			buf_release(&r->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	switch (r->state) {
	case REQ_READING:
		if (r->rejected)
			return finish(r);
		if (r->body_over) {
			api_reply_error(r, 413, "payload_too_large", "request body exceeds the cap of %zu bytes",
					r->lim.max_body_bytes);
			return finish(r);
		}
		rc = r->route->fn(r);
		if (rc == API_ASYNC) {
			r->state = REQ_WAIT_COMMIT;
			return MHD_YES;
		}
		return finish(r);
	case REQ_WAIT_COMMIT:
		if (r->commit_refused) {
			reply_refused(r);
			return finish(r);
		}
		rc = r->on_commit(r);
		if (rc == API_ASYNC)
			return MHD_YES;
		return finish(r);
	case REQ_WAIT_AUDIT:
		/* counted by count_commit */
		if (r->commit_rc) {
			if (r->commit_refused && r->commit_rc == CU_ETOOBIG)
				reply_refused(r);
			else
				api_reply_error(r, 503, "audit_failed",
						"the request could not be recorded in the audit trail: %s",
						r->commit_err.msg);
		}
		return send_reply(r);
	case REQ_SENT:
		break;
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *srv = cls;
	struct api_req *r = *con_cls;

	(void)toe;
	cg_request_done(conn); /* the next request on this connection has a deadline */
	if (!r)
		return;
	req_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->metrics.inflight, 1);
}

/* ---- daemon ----------------------------------------------------------- */

static int resolve(const struct api_config *cfg, struct sockaddr_storage *ss, int *v6, struct cu_err *err)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", cfg->port);
	rc = getaddrinfo(cfg->listen_host, port, &hints, &res);
	if (rc != 0 || !res)
		return cu_err_set(err, CU_EINVAL, "cannot resolve listen address %s: %s", cfg->listen_host,
				  gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

/* TLS (server.tls in the configuration): GnuTLS inside libmicrohttpd,
 * TLS 1.2 and 1.3 only. The certificate and key are read here and handed
 * over as PEM text; GnuTLS copies them into its credentials while the
 * daemon starts, so our copies are wiped and freed right after. */
#define API_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

static int tls_load(const struct api_config *cfg, struct buf *cert, struct buf *key,
		    struct MHD_OptionItem opts[4], struct cu_err *err)
{
	struct cu_err e;
	int rc;

	opts[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (!cfg->tls_cert_file[0] && !cfg->tls_key_file[0])
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return cu_err_set(err, CU_ESTATE, "server.tls is configured but this libmicrohttpd "
				  "was built without TLS support");
	cu_err_clear(&e);
	rc = fio_read_file(cfg->tls_cert_file, cert, &e);
	if (rc == 0 && cert->len == 0)
		rc = cu_err_set(&e, CU_EINVAL, "%s is empty", cfg->tls_cert_file);
	if (rc)
		return cu_err_set(err, rc, "server.tls.cert_file: %s", e.msg);
	rc = fio_read_secret(cfg->tls_key_file, key, 0, &e);
	if (rc == 0 && key->len == 0)
		rc = cu_err_set(&e, CU_EINVAL, "%s is empty", cfg->tls_key_file);
	if (rc)
		return cu_err_set(err, rc, "server.tls.key_file: %s", e.msg);
	opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert->data};
	opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key->data};
	opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)API_TLS_PRIORITIES};
	opts[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return 0;
}

void api_http_setup_init(struct api_http_setup *hs)
{
	memset(hs, 0, sizeof(*hs));
	buf_init(&hs->cert, API_TLS_FILE_MAX);
	buf_init(&hs->key, API_TLS_FILE_MAX);
	hs->opts[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

int api_http_prepare(const struct api_config *cfg, struct api_http_setup *hs, struct cu_err *err)
{
	int rc;

	rc = resolve(cfg, &hs->ss, &hs->v6, err);
	if (rc == 0)
		rc = tls_load(cfg, &hs->cert, &hs->key, hs->opts, err);
	return rc;
}

void api_http_setup_release(struct api_http_setup *hs)
{
	if (hs->key.data)
		OPENSSL_cleanse(hs->key.data, hs->key.alloc);
	buf_release(&hs->key);
	buf_release(&hs->cert);
}

int api_http_start(struct api_server *srv, struct api_http_setup *hs, struct cu_err *err)
{
	const struct api_config *cfg = &srv->cfg;
	const union MHD_DaemonInfo *info;
	unsigned flags;
	int rc;

	rc = cg_start(cfg->header_timeout_s, cfg->connection_timeout_s, &srv->guard, err);
	if (rc)
		return rc;

	/* poll(), not epoll: libmicrohttpd's MHD_quiesce_daemon (how a stop
	 * refuses new connections) races its epoll loop, which removes the
	 * listening socket from the epoll set too and aborts the process when
	 * it loses ("Failed to remove listen FD from epoll set"); seen twice
	 * in the test suite's daemons. The poll loop is told by a message
	 * instead.
	 * Each worker polls only its own connections, so for the connection
	 * limits here poll costs the same.
	 * Slow clients: the workers share max_connections; one address gets at
	 * most max_connections_per_address of them (further connections from
	 * it are closed at once, so they cannot fill the rest), and a
	 * connection that has not completed its request headers within
	 * header_timeout_s is shut down by the guard (conn_guard.h): the idle
	 * timeout alone restarts with every byte a slow client trickles. */
	flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (hs->v6)
		flags |= MHD_USE_IPv6;
	if (hs->cert.len)
		flags |= MHD_USE_TLS;
	srv->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, srv,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&hs->ss,
				    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->max_connections_per_address,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout_s,
				    MHD_OPTION_NOTIFY_CONNECTION, cg_notify, srv->guard,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header_bytes,
				    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				    MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u,
				    MHD_OPTION_ARRAY, hs->opts,
				    MHD_OPTION_END);
	if (!srv->mhd) {
		if (hs->cert.len)
			rc = cu_err_set(err, CU_EIO, "cannot serve HTTPS on %s:%u: address in use, "
					"not permitted, or the TLS certificate and key are not usable "
					"(see the httpd lines above)", cfg->listen_host, cfg->port);
		else
			rc = cu_err_set(err, CU_EIO, "cannot listen on %s:%u (address in use or not "
					"permitted?)", cfg->listen_host, cfg->port);
		cg_stop(srv->guard);
		srv->guard = NULL;
		return rc;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->port;
	return 0;
}

void api_http_quiesce(struct api_server *srv, unsigned grace_ms)
{
	uint64_t deadline;
	int lfd;

	atomic_store(&srv->stopping, 1);
	lfd = MHD_quiesce_daemon(srv->mhd);
	if (lfd >= 0)
		close(lfd);
	/* In-flight requests (including those waiting for a commit) finish. */
	deadline = time_mono_ns() + (uint64_t)grace_ms * 1000000ull;
	while (atomic_load(&srv->metrics.inflight) > 0 && time_mono_ns() < deadline) {
		struct timespec ts = {0, 5 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	if (atomic_load(&srv->metrics.inflight) > 0)
		api_log("stop: %lld requests still in flight after %u ms",
			(long long)atomic_load(&srv->metrics.inflight), grace_ms);
}

void api_http_stop(struct api_server *srv)
{
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	srv->mhd = NULL;
	cg_stop(srv->guard);
	srv->guard = NULL;
}
