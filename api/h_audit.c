/* h_audit.c - GET /v1/audit: the audit trail (records of kind audit),
 * newest first (docs/API.md "Audit trail").
 *
 * Without q the log is read backwards from the cursor and filtered
 * exactly (who, route, since, until): always complete, no index lag.
 * With q the search index answers "kind:audit (q)" (the query language of
 * /v1/search) and the other filters apply to its hits. q is first parsed
 * on its own, so that it cannot close the parenthesis and widen the query
 * beyond audit records; hits are checked to be audit records anyway. */
#include <stdlib.h>
#include <string.h>

#include "api/audit.h"
#include "api/api_int.h"
#include "api/handlers.h"
#include "api/search_index.h"
#include "archiver/record_json.h"
#include "common/timeutil.h"
#include "search/index.h"
#include "search/query.h"

#define AUDIT_SCAN_BUDGET 500000 /* records read per request */

struct audit_filter {
	const char *who;      /* sender (token name), exact */
	const char *route;    /* meta.route, exact */
	const char *text;     /* substring of the readable line */
	int64_t since_ms;     /* origin time >= since (0: no bound) */
	int64_t until_ms;     /* origin time < until (0: no bound) */
};

static int str_eq(const struct rec_str *s, const char *z)
{
	size_t n = strlen(z);

	return s->len == n && memcmp(s->ptr, z, n) == 0;
}

static int contains(const struct rec_str *s, const char *z)
{
	size_t n = strlen(z), i;

	if (n == 0)
		return 1;
	for (i = 0; i + n <= s->len; i++)
		if (memcmp(s->ptr + i, z, n) == 0)
			return 1;
	return 0;
}

static int matches(const struct rec_view *v, const struct audit_filter *f)
{
	if (v->kind != REC_AUDIT || !str_eq(&v->f[RF_PLATFORM], AUDIT_PLATFORM))
		return 0;
	if (f->who && !str_eq(&v->f[RF_SENDER], f->who))
		return 0;
	if (f->since_ms && v->origin_ts < f->since_ms)
		return 0;
	if (f->until_ms && v->origin_ts >= f->until_ms)
		return 0;
	if (f->text && !contains(&v->f[RF_BODY], f->text))
		return 0;
	if (f->route) {
		json_t *m = json_loadb(v->f[RF_META].ptr, v->f[RF_META].len, 0, NULL);
		const char *rt = json_string_value(json_object_get(m, "route"));
		int ok = rt && !strcmp(rt, f->route);

		json_decref(m);
		if (!ok)
			return 0;
	}
	return 1;
}

static int parse_time(struct api_req *r, const char *key, int64_t *out)
{
	const char *s = api_query(r, key);

	*out = 0;
	if (!s)
		return 0;
	if (time_parse_rfc3339(s, out) != 0) {
		api_reply_error(r, 400, "bad_request", "'%s' must be an RFC 3339 time or a date", key);
		return CU_EINVAL;
	}
	return 0;
}

/* Adds the full record of each hit that passes the filters to arr. */
static int add_hits(struct api_req *r, json_t *hits, const struct audit_filter *f, json_t *arr)
{
	struct store_entry e;
	struct rec_view v;
	struct cu_err err;
	struct buf rb;
	json_t *h, *o;
	size_t i;
	int rc = 0, visible;

	cu_err_clear(&err);
	buf_init(&rb, REC_MAX_BYTES + 4096);
	json_array_foreach(hits, i, h) {
		json_int_t seq = json_integer_value(json_object_get(h, "seq"));

		rc = api_record_read(r, (uint64_t)seq, &rb, &e, &err);
		if (rc < 0) {
			api_reply_cu(r, rc, err.msg);
			break;
		}
		visible = rc;
		rc = 0;
		if (!visible || e.is_stub || rec_decode(e.bytes, e.len, &v, NULL) != 0 || !matches(&v, f))
			continue;
		o = rec_entry_to_json(&e);
		if (o)
			json_array_append_new(arr, o);
	}
	buf_release(&rb);
	return rc;
}

static int audit_by_index(struct api_req *r, struct audit_filter *f, uint64_t limit)
{
	struct q_node *tree = NULL;
	struct idx_query q;
	struct cu_err err;
	json_t *res = NULL, *arr = NULL, *doc;
	char qtext[Q_MAX_LEN + 32];
	int rc;

	cu_err_clear(&err);
	rc = q_parse(f->text, &tree, &err);
	q_free(tree);
	if (rc) {
		api_reply_cu(r, rc == CU_ETOOBIG ? CU_EINVAL : rc, err.msg);
		return 0;
	}
	if ((size_t)snprintf(qtext, sizeof(qtext), "kind:audit (%s)", f->text) >= sizeof(qtext)) {
		api_reply_error(r, 400, "bad_request", "q is too long");
		return 0;
	}
	/* The audit trail is read for completeness: let the index reach the
	 * log as it was when the request came (normally milliseconds). */
	if (!api_search_wait(r->srv, store_size(r->srv->st), 5000))
		api_audit_info(r, json_pack("{s:b}", "index_lagging", 1));
	memset(&q, 0, sizeof(q));
	q.q = qtext;
	q.sort = IDX_NEWEST;
	q.limit = (unsigned)limit;
	q.cursor = api_query(r, "cursor");
	rc = api_search_run(r, &q, &res, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	f->text = NULL; /* matched by the index, not as a substring */
	arr = json_array();
	if (!arr) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		goto out;
	}
	if (add_hits(r, json_object_get(res, "results"), f, arr) != 0)
		goto out;
	r->results = (long long)json_array_size(arr);
	doc = json_pack("{s:O, s:O, s:O}", "records", arr, "next_cursor", json_object_get(res, "next_cursor"),
			"total", json_object_get(res, "total"));
	api_reply_json(r, 200, doc);
out:
	json_decref(arr);
	json_decref(res);
	return 0;
}

int h_audit(struct api_req *r)
{
	struct store *st = r->srv->st;
	struct audit_filter f;
	struct store_entry e;
	struct rec_view v;
	struct cu_err err;
	struct buf rb;
	json_t *arr = NULL, *o, *doc;
	uint64_t size = store_size(st), limit, cursor, seq, budget = AUDIT_SCAN_BUDGET;
	int rc, more = 0;

	cu_err_clear(&err);
	buf_init(&rb, REC_MAX_BYTES + 4096);
	memset(&f, 0, sizeof(f));
	f.who = api_query(r, "who");
	f.route = api_query(r, "route");
	f.text = api_query(r, "q");
	if (parse_time(r, "since", &f.since_ms) || parse_time(r, "until", &f.until_ms) ||
	    api_query_u64(r, "limit", 50, 1, r->lim.search_max_limit, &limit))
		goto out;
	if (f.text && r->srv->search) {
		if (limit > IDX_MAX_LIMIT)
			limit = IDX_MAX_LIMIT;
		audit_by_index(r, &f, limit);
		goto out;
	}
	if (api_query_u64(r, "cursor", size, 0, size, &cursor))
		goto out;
	arr = json_array();
	if (!arr) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		goto out;
	}
	/* Newest first: from just below the cursor down to seq 0. */
	for (seq = cursor; seq > 0;) {
		seq--;
		if (json_array_size(arr) == limit || budget == 0) {
			seq++;
			more = 1;
			break;
		}
		budget--;
		rc = api_record_read(r, seq, &rb, &e, &err);
		if (rc < 0) {
			api_reply_cu(r, rc, err.msg);
			goto out;
		}
		if (!rc || e.is_stub || rec_decode(e.bytes, e.len, &v, NULL) != 0 || !matches(&v, &f))
			continue;
		o = rec_entry_to_json(&e);
		if (o)
			json_array_append_new(arr, o);
	}
	r->results = (long long)json_array_size(arr);
	doc = json_pack("{s:O}", "records", arr);
	if (doc)
		json_object_set_new(doc, "next_cursor", more && seq > 0 ? json_integer((json_int_t)seq) : json_null());
	api_reply_json(r, 200, doc);
out:
	json_decref(arr);
	buf_release(&rb);
	return 0;
}
