/* api_int.h - what the layers of api/ share: the application layer
 * (server.c: the server object, its commit queue and subsystems), the
 * HTTP layer (http.c, reply.c, args.c: requests and replies), the routing
 * table (routes.c) and the handlers (handlers.h). Nothing outside api/
 * includes this.
 *
 * Threads: libmicrohttpd's worker threads run a request from its first
 * call to its reply, handlers included; the commit queue's committer
 * thread answers commits (the request is resumed in its worker); the
 * subsystems (subsystems.h) run their own threads. The server object is
 * made before any of them starts and freed after all have stopped;
 * srv->lock guards what a reload replaces (tokens, live limits).
 *
 * A request goes through these states (http.c):
 *   READING   headers seen, route matched, caller authenticated and
 *             authorised; the body (if any) is collected up to the cap;
 *   handler   runs once the body is complete; it either sets the reply
 *             (status + body) or starts a commit (api_commit_async), which
 *             suspends the connection until the commit queue answers;
 *   WAIT_COMMIT the handler's continuation runs when the records are
 *             durable (or failed) and sets the reply;
 *   WAIT_AUDIT for a person (officer, auditor, admin) an audit record
 *             naming the request and its outcome is committed before the
 *             reply is sent, whatever the outcome (404, 405, 413, 400 and
 *             403 included: the caller is authenticated before anything
 *             else is decided); if it cannot be built whole or made
 *             durable the reply becomes 503 and nothing is shown;
 *   SENT      the reply is queued to libmicrohttpd.
 */
#ifndef CUSTOS_API_API_INT_H
#define CUSTOS_API_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "api/api.h"
#include "api/audit.h"
#include "api/commit_queue.h"
#include "api/tokens.h"
#include "archiver/store.h"
#include "common/buf.h"
#include "common/error.h"

#define API_ASYNC 1            /* handler return: a commit was started */
#define API_MAX_PARAMS 2       /* path parameters in one pattern */
#define API_MAX_ROUTES 64      /* size of the metric tables */
#define API_PATH_MAX 4096      /* cap on a request path we keep */
#define API_OUT_MAX (256u << 20) /* cap on one response body */

struct api_req;
struct conn_guard;

/* Returns 0 when r's reply is set, API_ASYNC when a commit was started.
 * Handlers never return errors: they turn them into replies. */
typedef int (*api_handler_fn)(struct api_req *r);

struct api_route {
	const char *method;         /* "GET", "POST", "DELETE"; "*": any (a fallback) */
	const char *pattern;        /* "/v1/records/{seq}"; {x*} may span '/' */
	api_handler_fn fn;
	unsigned roles;             /* ROLE_* bits allowed; 0: no token needed */
	const char *name;           /* short label for metrics and audit */
	int takes_body;             /* 1: the request body is read and kept */
	unsigned flags;             /* API_ROUTE_* */
};

/* Route flags: what the HTTP layer (http.c) decides by route, without
 * knowing the feature behind it. */
#define API_ROUTE_METRICS_PUBLIC 0x1u  /* no token needed when server.metrics_public */
#define API_ROUTE_HOOK_LARGE_BODY 0x2u /* a recognised hook caller gets a larger body
					* cap than server.max_body_bytes (api_route_large_body) */

extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* Result of matching a request line against the table. */
struct api_match {
	const struct api_route *route; /* the route, or NULL */
	char *params[API_MAX_PARAMS];  /* malloc'd captures, in pattern order */
	char allow[64];                /* for 405: the methods the path takes */
};

/* 0 and m->route set; CU_ENOTFOUND (404) when no pattern matches the path;
 * CU_ESTATE (405) when patterns match the path but not the method. */
int api_route_match(const char *method, const char *path, struct api_match *m);
void api_match_release(struct api_match *m);
/* For an API_ROUTE_HOOK_LARGE_BODY route: the body cap r's caller gets
 * when it is above r->lim.max_body_bytes and the hook recognises the
 * caller (the hook's check runs only then), else 0. */
size_t api_route_large_body(struct api_req *r);

/* Counters for /metrics (metrics.c). All atomic: updated from every
 * request thread without a lock. */
#define API_NSTATUS 16
#define API_NBUCKETS 14
struct api_metrics {
	/* [route index or api_nroutes for "no route"][status slot] */
	_Atomic uint64_t requests[API_MAX_ROUTES + 1][API_NSTATUS];
	/* request duration histogram per route, cumulative at render time */
	_Atomic uint64_t dur_bucket[API_MAX_ROUTES + 1][API_NBUCKETS + 1];
	_Atomic uint64_t dur_sum_us[API_MAX_ROUTES + 1];
	_Atomic uint64_t ingest_requests;    /* ingest requests answered 200 */
	_Atomic uint64_t ingest_accepted;    /* records newly archived */
	_Atomic uint64_t ingest_duplicates;  /* records already archived */
	_Atomic uint64_t ingest_rejected;    /* records in refused requests */
	_Atomic uint64_t audit_records;      /* audit records made durable */
	_Atomic uint64_t audit_failures;     /* requests refused because audit failed */
	_Atomic uint64_t auth_failures;      /* missing or unknown tokens */
	_Atomic int64_t inflight;            /* requests between start and completion */
};

void api_metrics_count(struct api_metrics *m, size_t route_idx, unsigned status, uint64_t dur_ns);
/* Renders the Prometheus text exposition format into out. */
int api_metrics_render(struct api_server *srv, struct buf *out) CU_MUST_CHECK;

/* A verification job (h_verify.c). */
struct api_verify_job {
	pthread_mutex_t mu;          /* guards the fields below */
	uint64_t id;                 /* 0: no job yet; ids grow from 1 */
	int running;                 /* 1 while the thread runs */
	pthread_t thread;            /* valid when started is 1 */
	int started;                 /* a thread was created and not yet joined */
	int64_t started_ms;          /* wall time at start and end */
	int64_t finished_ms;
	int rc;                      /* outcome: 0 ok, CU_E* otherwise */
	char requested_by[TOK_NAME_MAX + 1];
	json_t *result;              /* the verification report (owned) */
};

struct api_server {
	char dir[2048];              /* the data directory */
	char config_path[2048];      /* configuration file reread on reload */
	struct api_config cfg;       /* as started (listen, threads, connections) */
	pthread_rwlock_t lock;       /* guards tokens and live */
	struct tok_set tokens;       /* current tokens (replaced on reload) */
	struct api_config live;      /* per-request limits (replaced on reload) */
	struct cfg_retention retention; /* the scheduler's section, as started */
	struct cfg_exports exports;  /* the export packages' section, as started */
	struct store *st;            /* the archive, opened as writer */
	struct commit_queue *cq;     /* every append goes through here */
	struct MHD_Daemon *mhd;
	struct conn_guard *guard;    /* header deadlines (conn_guard.h) */
	uint16_t port;               /* bound port */
	int64_t started_ms;          /* for uptime */
	atomic_int stopping;         /* 1 once stop began: new requests get 503 */
	atomic_int commit_failing;   /* 1 while the last commit failed (healthz 503) */
	struct api_metrics metrics;
	struct api_verify_job verify;
	void *search;                /* search index (search_index.h), or NULL */
};

enum api_req_state {
	REQ_READING = 0,
	REQ_WAIT_COMMIT,
	REQ_WAIT_AUDIT,
	REQ_SENT,
};

struct api_req {
	struct api_server *srv;
	struct MHD_Connection *conn;
	enum api_req_state state;
	const struct api_route *route;  /* NULL if none matched */
	size_t route_idx;               /* index in api_routes, api_nroutes if none */
	char method[16];
	char path[API_PATH_MAX];        /* the (unescaped) path, truncated to the cap */
	char *params[API_MAX_PARAMS];   /* path captures (owned) */
	struct api_config lim;          /* snapshot of the live limits */
	int authed;                     /* 1: who is a valid token */
	struct tok_entry who;           /* the caller's token (copy) */
	uint64_t t0_ns;                 /* monotonic time of the first call */
	struct buf body;                /* request body, capped at lim.max_body_bytes */
	int body_over;                  /* 1: the body exceeded the cap (discarded) */
	int rejected;                   /* 1: reply already decided before the body */

	/* The reply. */
	unsigned status;                /* 0 until set */
	struct buf out;                 /* body */
	const char *ctype;              /* static string */
	char allow[64];                 /* Allow header for 405 */
	unsigned retry_after;           /* seconds, for 429 and 503; 0: none */
	long long results;              /* for the audit record; -1: not applicable */
	/* Handler details for the audit record: set only through
	 * api_audit_info/api_audit_add (audit.h), which note a failure. */
	json_t *audit_details;          /* owned */
	int audit_incomplete;           /* 1: a detail could not be recorded */

	/* What was asked (args.c). */
	json_t *args;                   /* query parameters, name -> one value (owned) */
	json_t *args_received;          /* refused parameters as received (owned) */
	int path_escaped;               /* 1: path was not UTF-8 and holds its escape */

	/* A handler's commit. */
	struct cq_item item;
	int commit_rc;                  /* set by the commit callback */
	int commit_refused;             /* 1: the queue refused it (full or closing) */
	int commit_is_audit;            /* 1: the commit is the audit record */
	size_t uncounted;               /* trailing records of the handler's commit that are
					 * not envelopes (metrics; set before api_commit_async) */
	struct cu_err commit_err;
	int (*on_commit)(struct api_req *r); /* continuation, sets the reply */
	void *hctx;                     /* handler state kept across the commit */
	void (*hctx_free)(void *hctx);

	/* The audit record (its strings live until the commit is done). */
	struct store_input audit_in;
	char *audit_meta;
	char *audit_body;
	char audit_source[64];
};

/* Replies (reply.c). api_reply_json takes ownership of j. */
void api_reply_json(struct api_req *r, unsigned status, json_t *j);
void api_reply_text(struct api_req *r, unsigned status, const char *ctype, const char *text, size_t len);
void api_reply_error(struct api_req *r, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Maps a CU_E* code to an HTTP status and error code, and replies. */
void api_reply_cu(struct api_req *r, int rc, const char *msg);

/* Request inputs (args.c), checked before any handler runs: strict UTF-8
 * (common/utf8.h) with no NUL, and no query parameter given twice.
 * api_check_path: the method (escaped if need be, for messages and the
 * audit) and the path, so also its captures; 404 when over the cap, 400
 * when not UTF-8 (the path is then kept escaped, r->path_escaped).
 * api_check_args: the recorded request headers and every query parameter,
 * collected into r->args; 400 with the reason, and the parameters then go
 * to the audit record as received (escaped) in r->args_received.
 * Each returns 0, or the reply is set. */
int api_check_path(struct api_req *r, const char *url) CU_MUST_CHECK;
int api_check_args(struct api_req *r) CU_MUST_CHECK;
/* Appends p[0..n) to out with valid UTF-8 kept, and '%', controls, spaces
 * and bytes that are not UTF-8 written as %XX: unambiguous, and always a
 * valid JSON string. */
int api_escape(const char *p, size_t n, struct buf *out) CU_MUST_CHECK;
/* Replaces the C string s (in a buffer of cap bytes) by its api_escape
 * form, cut at a whole escape to fit; for texts that are not strict UTF-8
 * (paths, methods, error messages cut in the middle of a character). */
void api_escape_in_place(char *s, size_t cap);
/* A query parameter: its one value (r->args), NULL when absent or given
 * without '='. The audit record shows r->args, so what a handler reads
 * here is what the record says was asked. */
const char *api_query(struct api_req *r, const char *key);
/* An unsigned decimal of 1 to 19 digits and nothing else: 0, or CU_EINVAL. */
int api_parse_u64(const char *s, uint64_t *out) CU_MUST_CHECK;
/* Parses an unsigned decimal query parameter in [min, max]; def when
 * absent. On a bad value replies 400 and returns CU_EINVAL. */
int api_query_u64(struct api_req *r, const char *key, uint64_t def, uint64_t min, uint64_t max,
		  uint64_t *out) CU_MUST_CHECK;
/* Parses a decimal path parameter; replies 400 on failure. */
int api_param_u64(struct api_req *r, int idx, uint64_t *out) CU_MUST_CHECK;

/* Visibility (visibility.c): the record kinds the caller may read
 * (REC_KIND_BIT set; 0 for anonymous, ingest and admin callers), the same
 * on every route. Handlers read records only through these and
 * api_search_run, which apply it. */
uint64_t api_vis_kinds_of(const struct api_req *r);
/* 1 if the caller may see the record e (a store_get or store_iter entry). */
int api_vis_entry(const struct api_req *r, const struct store_entry *e);
/* store_get for the caller: 1 with *e filled if it may see record seq, 0
 * if it may not (treat as absent), negative CU_E* on error. */
int api_record_read(struct api_req *r, uint64_t seq, struct buf *rb, struct store_entry *e,
		    struct cu_err *err) CU_MUST_CHECK;

/* Suspends the connection and submits n records; on_commit runs (in the
 * request's thread) once they are durable or failed, with r->commit_rc.
 * The records are counted in custos_ingest_records_total when the commit
 * ends (all but the last r->uncounted), whether or not the client is still
 * there: on_commit does not run for a client that went away.
 * Returns API_ASYNC, or 0 with an error reply already set (429 when the
 * queue is full, 503 when stopping). */
int api_commit_async(struct api_req *r, struct store_input *in, size_t n,
		     int (*on_commit)(struct api_req *r));

/* A timestamped line on stderr (the service log). */
void api_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reloads tokens (after the admin endpoints changed the file). */
int api_tokens_reload(struct api_server *srv, struct cu_err *err) CU_MUST_CHECK;

/* The HTTP layer (http.c), started and stopped by the application
 * layer (server.c) in this order: init, prepare (the listen address is
 * resolved and the TLS files read, before anything is opened), start
 * (the connection guard and the daemon, serving at once), setup_release
 * (wipes the key), and at the end quiesce (new connections and requests
 * refused, in-flight requests given grace_ms to finish) and stop (the
 * daemon and the guard; safe when start failed or never ran). */
#define API_TLS_FILE_MAX (1u << 20)
struct api_http_setup {
	struct sockaddr_storage ss;     /* the listen address */
	int v6;                         /* 1: ss is IPv6 */
	struct buf cert, key;           /* PEM texts for TLS; empty: plain HTTP */
	struct MHD_OptionItem opts[4];  /* the TLS options of the daemon */
};
void api_http_setup_init(struct api_http_setup *hs);
int api_http_prepare(const struct api_config *cfg, struct api_http_setup *hs, struct cu_err *err) CU_MUST_CHECK;
void api_http_setup_release(struct api_http_setup *hs);
int api_http_start(struct api_server *srv, struct api_http_setup *hs, struct cu_err *err) CU_MUST_CHECK;
void api_http_quiesce(struct api_server *srv, unsigned grace_ms);
void api_http_stop(struct api_server *srv);

#endif
