/* server.c - libmicrohttpd glue: daemon start and stop, the request state
 * machine (internal.h), authentication, body caps, suspension while a
 * commit is in flight, replies. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/audit.h"
#include "api/conn_guard.h"
#include "api/h_exports.h"
#include "api/h_retention.h"
#include "api/hooks.h"
#include "api/internal.h"
#include "archiver/matrix.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "common/utf8.h"

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

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[1024];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	api_log("httpd: %s", line);
}

/* ---- replies ---------------------------------------------------------- */

static int dump_cb(const char *p, size_t n, void *data)
{
	return buf_append(data, p, n) == 0 ? 0 : -1;
}

void api_reply_json(struct api_req *r, unsigned status, json_t *j)
{
	buf_reset(&r->out);
	if (!j || json_dump_callback(j, dump_cb, &r->out, JSON_COMPACT) != 0 ||
	    buf_append_byte(&r->out, '\n') != 0) {
		json_decref(j);
		buf_reset(&r->out);
		api_reply_error(r, j ? 500 : 503, j ? "response_too_large" : "no_memory",
				"the response could not be built");
		return;
	}
	json_decref(j);
	r->status = status;
	r->ctype = "application/json";
}

void api_reply_text(struct api_req *r, unsigned status, const char *ctype, const char *text, size_t len)
{
	buf_reset(&r->out);
	if (buf_append(&r->out, text, len) != 0) {
		api_reply_error(r, 500, "response_too_large", "the response could not be built");
		return;
	}
	r->status = status;
	r->ctype = ctype;
}

void api_reply_error(struct api_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!utf8_valid_str(msg)) /* cut inside a character, or quoting bad input */
		api_escape_in_place(msg, sizeof(msg));
	buf_reset(&r->out);
	j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
	if (!j || json_dump_callback(j, dump_cb, &r->out, JSON_COMPACT) != 0 ||
	    buf_append_byte(&r->out, '\n') != 0) {
		/* Out of memory even for an error: a fixed body. */
		static const char fixed[] = "{\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\"}}\n";

		buf_reset(&r->out);
		if (buf_append(&r->out, fixed, sizeof(fixed) - 1) != 0)
			buf_reset(&r->out);
		status = 503;
	}
	json_decref(j);
	r->status = status;
	r->ctype = "application/json";
	if ((status == 503 || status == 429) && !r->retry_after)
		r->retry_after = 1;
}

void api_reply_cu(struct api_req *r, int rc, const char *msg)
{
	const char *m = msg && *msg ? msg : cu_err_name(rc);

	switch (rc) {
	case CU_EINVAL:
		api_reply_error(r, 400, "bad_request", "%s", m);
		break;
	case CU_ENOTFOUND:
		api_reply_error(r, 404, "not_found", "%s", m);
		break;
	case CU_EDENIED:
		api_reply_error(r, 403, "forbidden", "%s", m);
		break;
	case CU_ETOOBIG:
		api_reply_error(r, 413, "too_large", "%s", m);
		break;
	case CU_EEXIST:
	case CU_ESTATE:
		api_reply_error(r, 409, "conflict", "%s", m);
		break;
	case CU_EIO:
	case CU_ENOSPC:
	case CU_ENOMEM:
		api_reply_error(r, 503, rc == CU_ENOSPC ? "no_space" : "unavailable",
				"storage unavailable, nothing was stored: %s", m);
		break;
	default:
		api_reply_error(r, 500, "internal", "%s", m);
		break;
	}
}

/* ---- query parameters ------------------------------------------------- */

/* api_query and the checks of every parameter: args.c */

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || strlen(s) > 19)
		return CU_EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return CU_EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int api_query_u64(struct api_req *r, const char *key, uint64_t def, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	const char *s = api_query(r, key);
	uint64_t v;

	if (!s) {
		*out = def;
		return 0;
	}
	if (parse_u64(s, &v) != 0 || v < min || v > max) {
		api_reply_error(r, 400, "bad_request", "query parameter '%s' must be an integer from %llu to %llu",
				key, (unsigned long long)min, (unsigned long long)max);
		return CU_EINVAL;
	}
	*out = v;
	return 0;
}

int api_param_u64(struct api_req *r, int idx, uint64_t *out)
{
	if (idx < 0 || idx >= API_MAX_PARAMS || parse_u64(r->params[idx], out) != 0) {
		api_reply_error(r, 400, "bad_request", "'%s' is not a decimal number",
				idx >= 0 && idx < API_MAX_PARAMS && r->params[idx] ? r->params[idx] : "");
		return CU_EINVAL;
	}
	return 0;
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

	/* A Matrix transaction takes what a homeserver can legally send
	 * (MX_MAX_BODY), whatever server.max_body_bytes says: a refusal would
	 * be resent for ever, holding back every later event. Only for a
	 * caller with a registered hs_token: anyone else keeps the ordinary
	 * cap, so that nobody can make the server hold 64 MiB per connection
	 * before the handler refuses them. */
	if (r->route->fn == h_matrix_txn && r->lim.max_body_bytes < MX_MAX_BODY && h_matrix_caller_known(r))
		r->body.max = r->lim.max_body_bytes = MX_MAX_BODY;
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && parse_u64(cl, &clen) == 0 && clen > r->lim.max_body_bytes) {
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
	if (r->route->fn == h_metrics && r->lim.metrics_public)
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

static void after_commit(void *ctx, size_t records)
{
	api_search_committed(ctx, records); /* the committer's pacing */
	api_search_after_commit(ctx, records);
}

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
#define API_TLS_FILE_MAX (1u << 20)
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

int api_server_start(const char *dir, const char *config_path, const struct custos_config *all,
		     struct api_server **out, struct cu_err *err)
{
	const struct api_config *cfg = &all->server;
	struct api_server *srv;
	struct cq_config qc;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem tls_opts[4];
	struct buf tls_cert, tls_key;
	unsigned flags;
	int rc, v6 = 0;

	*out = NULL;
	buf_init(&tls_cert, API_TLS_FILE_MAX);
	buf_init(&tls_key, API_TLS_FILE_MAX);
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
	pthread_mutex_init(&srv->verify.mu, NULL);

	rc = resolve(cfg, &ss, &v6, err);
	if (rc == 0)
		rc = tls_load(cfg, &tls_cert, &tls_key, tls_opts, err);
	if (rc)
		goto fail;
	rc = tok_load(dir, &srv->tokens, err);
	if (rc)
		goto fail;
	rc = store_open(dir, NULL, 0, &srv->st, err);
	if (rc)
		goto fail;
	rc = api_search_open(srv, err);
	if (rc)
		goto fail;
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
	api_search_set_queue(srv, srv->cq);
	rc = cg_start(cfg->header_timeout_s, cfg->connection_timeout_s, &srv->guard, err);
	if (rc)
		goto fail;

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
	if (v6)
		flags |= MHD_USE_IPv6;
	if (tls_cert.len)
		flags |= MHD_USE_TLS;
	srv->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, srv,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->max_connections_per_address,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout_s,
				    MHD_OPTION_NOTIFY_CONNECTION, cg_notify, srv->guard,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header_bytes,
				    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				    MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u,
				    MHD_OPTION_ARRAY, tls_opts,
				    MHD_OPTION_END);
	if (!srv->mhd) {
		if (tls_cert.len)
			rc = cu_err_set(err, CU_EIO, "cannot serve HTTPS on %s:%u: address in use, "
					"not permitted, or the TLS certificate and key are not usable "
					"(see the httpd lines above)", cfg->listen_host, cfg->port);
		else
			rc = cu_err_set(err, CU_EIO, "cannot listen on %s:%u (address in use or not "
					"permitted?)", cfg->listen_host, cfg->port);
		goto fail;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->port;
	rc = api_retention_start(srv, err); /* the retention scheduler */
	if (rc) {
		MHD_stop_daemon(srv->mhd);
		goto fail;
	}
	rc = api_exports_start(srv, err); /* export jobs, and the sweeper of expired packages */
	if (rc) {
		api_retention_stop();
		MHD_stop_daemon(srv->mhd);
		goto fail;
	}
	OPENSSL_cleanse(tls_key.data, tls_key.alloc);
	buf_release(&tls_key);
	buf_release(&tls_cert);
	*out = srv;
	return 0;
fail:
	if (tls_key.data)
		OPENSSL_cleanse(tls_key.data, tls_key.alloc);
	buf_release(&tls_key);
	buf_release(&tls_cert);
	cg_stop(srv->guard);
	api_search_set_queue(srv, NULL);
	if (srv->cq)
		cq_free(srv->cq);
	api_search_close(srv);
	if (srv->st)
		store_close(srv->st);
	tok_set_release(&srv->tokens);
	pthread_mutex_destroy(&srv->verify.mu);
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
	uint64_t deadline;
	int lfd;

	if (!srv)
		return;
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
	api_exports_stop(); /* running exports append through the queue: cancel and wait first */
	api_retention_stop(); /* a scheduled run under way finishes first */
	/* The commit queue drains before MHD goes: a suspended request is
	 * resumed by its commit's answer, which MHD_stop_daemon needs. A late
	 * request submitting after this gets 503 (queue closed). */
	cq_close(srv->cq);
	MHD_stop_daemon(srv->mhd);
	cg_stop(srv->guard);
	api_search_set_queue(srv, NULL);
	cq_free(srv->cq);
	api_verify_shutdown(srv);
	api_search_close(srv);
	store_close(srv->st);
	tok_set_release(&srv->tokens);
	pthread_mutex_destroy(&srv->verify.mu);
	pthread_rwlock_destroy(&srv->lock);
	free(srv);
}
