/* h_retention.c - the retention endpoints (holds, policies, classes,
 * dispositions, erasure orders, offers, certificates) over
 * retention/retention.h. The scheduler of automatic runs is
 * retention_sched.c.
 *
 * The engine appends its records itself (store_append, serialised inside
 * the store with the commit queue's appends) and takes its own
 * process-wide lock, so handlers call it directly from the request
 * threads. The acting person is always the token's name. After a change
 * the index catch-up is woken so that the new records become searchable.
 *
 * The engine needs a search index writer for hold queries, erasure
 * queries and the index deletions of an execution: the one shared handle
 * of api_retention_index (retention_sched.h). */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "api/search_index.h"
#include "api/json_body.h"
#include "api/retention_sched.h"
#include "common/timeutil.h"
#include "retention/retention.h"
#include "search/index.h"

#define RETAPI_MAX_SEQS 20000            /* seqs in one erasure order (RET_PLAN_MAX_ITEMS) */
#define RETAPI_HOLD_SEQS_DEFAULT 100     /* seqs GET /v1/holds/{id} lists by default */
#define RETAPI_HOLD_SEQS_MAX 10000

/* ---- request helpers -------------------------------------------------- */

/* The scope members shared by holds and policies: "conversations" and
 * "senders" hold exact ids, "conversation_patterns" and "sender_patterns"
 * shell patterns (retention/retention.h, struct ret_scope). The singular
 * "conversation" and "sender" of the first wave (patterns) are refused
 * rather than guessed at: a client that meant an exact id and one that
 * meant a pattern must each say so. */
struct scope_buf {
	const char *v[4][RET_HOLD_MAX_SCOPE];
};

static int opt_scope(struct api_req *r, const json_t *o, struct scope_buf *buf, struct ret_scope *sc)
{
	static const char *const keys[4] = {"conversations", "conversation_patterns", "senders", "sender_patterns"};
	size_t n[4];
	int k;

	memset(sc, 0, sizeof(*sc));
	if (json_object_get(o, "conversation") || json_object_get(o, "sender")) {
		api_reply_error(r, 400, "bad_request", "'conversation' and 'sender' are not accepted: give exact ids"
				" in 'conversations' / 'senders' and shell patterns in 'conversation_patterns' /"
				" 'sender_patterns'");
		return CU_EINVAL;
	}
	for (k = 0; k < 4; k++)
		if (api_json_opt_strs(r, o, keys[k], buf->v[k], RET_HOLD_MAX_SCOPE, &n[k]) != 0)
			return CU_EINVAL;
	sc->conversations = buf->v[0];
	sc->nconversations = n[0];
	sc->conversation_patterns = buf->v[1];
	sc->nconversation_patterns = n[1];
	sc->senders = buf->v[2];
	sc->nsenders = n[2];
	sc->sender_patterns = buf->v[3];
	sc->nsender_patterns = n[3];
	return 0;
}

/* Optional date member (RFC 3339 or YYYY-MM-DD); an end bound given as a
 * date covers that whole day, as on the command line. */
static int opt_date(struct api_req *r, const json_t *o, const char *key, int end, int64_t *ms)
{
	const char *s;
	struct cu_err err;
	int date_only = 0;

	if (api_json_opt_str(r, o, key, &s) != 0)
		return CU_EINVAL;
	if (!s)
		return 0;
	cu_err_clear(&err);
	if (ret_parse_date(s, ms, &date_only, &err) != 0) {
		api_reply_error(r, 400, "bad_request", "'%s': %s", key, err.msg);
		return CU_EINVAL;
	}
	if (end && date_only)
		*ms += 86400000;
	return 0;
}

/* The {id} path parameter and the body's "reason", required (for what:
 * "to release a legal hold"). The body to release, or NULL with the
 * reply (400) sent. */
static json_t *id_with_reason(struct api_req *r, uint64_t *id, const char **reason, const char *what)
{
	json_t *b;

	*reason = NULL;
	if (api_param_u64(r, 0, id) != 0)
		return NULL;
	b = api_body_object(r, 1);
	if (!b || api_json_opt_str(r, b, "reason", reason) != 0) {
		json_decref(b);
		return NULL;
	}
	if (!*reason || !**reason) {
		api_reply_error(r, 400, "bad_request", "'reason' is required %s", what);
		json_decref(b);
		return NULL;
	}
	return b;
}

/* ?all=1 or ?all=true */
static int query_all(struct api_req *r)
{
	const char *a = api_query(r, "all");

	return a && (!strcmp(a, "1") || !strcmp(a, "true"));
}

/* Replies with a listing, counting its entries (array member key). */
static void reply_list(struct api_req *r, int rc, const struct cu_err *err, json_t *j, const char *key)
{
	if (rc) {
		json_decref(j);
		api_reply_cu(r, rc, err->msg);
		return;
	}
	r->results = (long long)json_array_size(json_object_get(j, key));
	api_reply_json(r, 200, j);
}

/* The engine appended records: let the index follow. */
static void changed(struct api_req *r)
{
	api_search_after_commit(r->srv, 0);
}

/* ---- holds ------------------------------------------------------------ */

int h_holds_list(struct api_req *r)
{
	struct cu_err err;
	json_t *j = NULL;
	int rc;

	cu_err_clear(&err);
	rc = ret_holds_json(r->srv->st, api_retention_index(r->srv), query_all(r), &j, &err);
	reply_list(r, rc, &err, j, "holds");
	return 0;
}

int h_holds_add(struct api_req *r)
{
	struct scope_buf *buf = malloc(sizeof(*buf));
	struct ret_hold_spec spec;
	struct cu_err err;
	uint64_t id = 0, records = 0;
	char loc[64];
	json_t *b;
	int rc;

	if (!buf) {
		api_reply_cu(r, CU_ENOMEM, "out of memory");
		return 0;
	}
	b = api_body_object(r, 0);
	if (!b)
		goto done;
	memset(&spec, 0, sizeof(spec));
	spec.from_ms = INT64_MIN;
	spec.to_ms = INT64_MAX;
	if (api_json_opt_str(r, b, "matter", &spec.matter) || api_json_opt_str(r, b, "reason", &spec.reason) ||
	    api_json_opt_str(r, b, "query", &spec.query) || api_json_opt_bool(r, b, "all", 0, &spec.all) ||
	    opt_scope(r, b, buf, &spec.scope) ||
	    opt_date(r, b, "from", 0, &spec.from_ms) || opt_date(r, b, "to", 1, &spec.to_ms))
		goto done;
	if (!spec.matter || !spec.reason) {
		api_reply_error(r, 400, "bad_request", "'matter' and 'reason' are required");
		goto done;
	}
	cu_err_clear(&err);
	rc = ret_hold_add(r->srv->st, api_retention_index(r->srv), &spec, r->who.name, time_now_ms(), &id, &records, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	changed(r);
	snprintf(loc, sizeof(loc), "/v1/holds/%llu", (unsigned long long)id);
	api_audit_info(r, json_pack("{s:I, s:s, s:I}", "hold", (json_int_t)id, "matter", spec.matter, "records",
				    (json_int_t)records));
	/* records: what it covers now, so that a hold covering nothing is
	 * seen by the person placing it */
	api_reply_json(r, 201, json_pack("{s:I, s:s, s:I}", "hold", (json_int_t)id, "location", loc, "records",
					 (json_int_t)records));
done:
	json_decref(b);
	free(buf);
	return 0;
}

int h_hold_get(struct api_req *r)
{
	struct cu_err err;
	uint64_t id, max;
	json_t *j = NULL;
	int rc;

	if (api_param_u64(r, 0, &id) != 0 ||
	    api_query_u64(r, "limit", RETAPI_HOLD_SEQS_DEFAULT, 0, RETAPI_HOLD_SEQS_MAX, &max) != 0)
		return 0;
	cu_err_clear(&err);
	rc = ret_hold_json(r->srv->st, api_retention_index(r->srv), id, (size_t)max, &j, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	api_audit_info(r, json_pack("{s:I}", "hold", (json_int_t)id));
	api_reply_json(r, 200, j);
	return 0;
}

int h_hold_release(struct api_req *r)
{
	const char *reason = NULL;
	struct ret_change ch;
	struct cu_err err;
	uint64_t id;
	json_t *b;
	int rc;

	b = id_with_reason(r, &id, &reason, "to release a legal hold");
	if (!b)
		return 0;
	cu_err_clear(&err);
	rc = ret_hold_release(r->srv->st, id, r->who.name, reason, time_now_ms(), &ch, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	changed(r);
	/* Proposed only: the hold holds until another person approves. */
	api_audit_info(r, json_pack("{s:I, s:I}", "hold", (json_int_t)id, "plan", (json_int_t)ch.seq));
	api_reply_json(r, 202, json_pack("{s:I, s:b, s:b, s:I, s:s}", "hold", (json_int_t)id, "released", 0,
					 "pending", 1, "plan", (json_int_t)ch.seq, "why", ch.why ? ch.why : ""));
done:
	json_decref(b);
	return 0;
}

/* ---- policies and classes --------------------------------------------- */

/* 201 for a change in effect, 202 for one stored as a plan awaiting a
 * second person's approval. */
static void reply_change(struct api_req *r, const struct ret_change *c, const char *what)
{
	json_t *j = json_pack("{s:I, s:b, s:I}", "seq", (json_int_t)c->seq, "pending", c->pending,
			      "shortened", (json_int_t)c->shortened);

	if (j && c->pending)
		json_object_set_new(j, "plan", json_integer((json_int_t)c->seq));
	if (j && c->why)
		json_object_set_new(j, "why", json_string(c->why));
	if (j && !strcmp(what, "policy.add"))
		json_object_set_new(j, "records", json_integer((json_int_t)c->records));
	api_audit_info(r, json_pack("{s:s, s:I, s:b}", "change", what, "seq", (json_int_t)c->seq, "pending",
				    c->pending));
	api_reply_json(r, c->pending ? 202 : 201, j);
}

int h_policies_list(struct api_req *r)
{
	struct cu_err err;
	json_t *j = NULL;
	int rc;

	cu_err_clear(&err);
	rc = ret_policies_json(r->srv->st, query_all(r), &j, &err);
	reply_list(r, rc, &err, j, "policies");
	return 0;
}

int h_policies_add(struct api_req *r)
{
	const char *keep = NULL, *action = NULL, *approval = NULL;
	struct scope_buf *buf = malloc(sizeof(*buf));
	struct ret_policy_spec spec;
	struct ret_change ch;
	struct cu_err err;
	json_t *b;
	int rc;

	if (!buf) {
		api_reply_cu(r, CU_ENOMEM, "out of memory");
		return 0;
	}
	b = api_body_object(r, 0);
	if (!b)
		goto done;
	memset(&spec, 0, sizeof(spec));
	memset(&ch, 0, sizeof(ch));
	if (api_json_opt_str(r, b, "name", &spec.name) || api_json_opt_str(r, b, "platform", &spec.platform) ||
	    opt_scope(r, b, buf, &spec.scope) ||
	    api_json_opt_str(r, b, "class", &spec.class_label) || api_json_opt_str(r, b, "keep", &keep) ||
	    api_json_opt_str(r, b, "action", &action) || api_json_opt_str(r, b, "approval", &approval))
		goto done;
	if (!spec.name || !keep || !action) {
		api_reply_error(r, 400, "bad_request", "'name', 'keep' and 'action' are required");
		goto done;
	}
	cu_err_clear(&err);
	if (ret_duration_parse(keep, &spec.keep, &err) != 0) {
		api_reply_error(r, 400, "bad_request", "'keep': %s", err.msg);
		goto done;
	}
	spec.action = ret_action_from_name(action);
	if (!spec.action) {
		api_reply_error(r, 400, "bad_request", "'action' must be destroy, transfer or review");
		goto done;
	}
	if (approval && strcmp(approval, "required") != 0 && strcmp(approval, "none") != 0) {
		api_reply_error(r, 400, "bad_request", "'approval' must be required or none");
		goto done;
	}
	spec.approval_required = !approval || !strcmp(approval, "required");
	rc = ret_policy_add(r->srv->st, &spec, r->who.name, time_now_ms(), &ch, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	changed(r);
	reply_change(r, &ch, "policy.add");
done:
	json_decref(b);
	free(buf);
	return 0;
}

int h_policy_retire(struct api_req *r)
{
	struct ret_change ch;
	struct cu_err err;
	int rc;

	memset(&ch, 0, sizeof(ch));
	cu_err_clear(&err);
	rc = ret_policy_retire(r->srv->st, r->params[0], r->who.name, time_now_ms(), &ch, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	changed(r);
	reply_change(r, &ch, "policy.retire");
	return 0;
}

int h_classes_set(struct api_req *r)
{
	const char *conv = NULL, *label = NULL;
	struct ret_change ch;
	struct cu_err err;
	json_t *b;
	int rc;

	b = api_body_object(r, 0);
	if (!b || api_json_opt_str(r, b, "conversation", &conv) || api_json_opt_str(r, b, "label", &label))
		goto done;
	if (!conv) {
		api_reply_error(r, 400, "bad_request", "'conversation' is required ('label' null or \"\" removes it)");
		goto done;
	}
	memset(&ch, 0, sizeof(ch));
	cu_err_clear(&err);
	rc = ret_class_set(r->srv->st, conv, label, r->who.name, time_now_ms(), &ch, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	changed(r);
	reply_change(r, &ch, "class.set");
done:
	json_decref(b);
	return 0;
}

int h_classes_list(struct api_req *r)
{
	struct cu_err err;
	json_t *j = NULL;
	int rc;

	cu_err_clear(&err);
	rc = ret_classes_json(r->srv->st, &j, &err);
	reply_list(r, rc, &err, j, "classes");
	return 0;
}

/* ---- dispositions, erasure orders, approvals -------------------------- */

int h_dispositions_plan(struct api_req *r)
{
	struct cu_err err;
	uint64_t plan = 0;
	json_t *b, *out = NULL;
	int dry = 0, rc;

	b = api_body_object(r, 1);
	if (!b || api_json_opt_bool(r, b, "dry_run", 0, &dry) != 0)
		goto done;
	cu_err_clear(&err);
	rc = ret_plan(r->srv->st, api_retention_index(r->srv), r->who.name, dry, time_now_ms(), &plan, &out, &err);
	if (rc) {
		json_decref(out);
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	if (plan)
		changed(r);
	api_audit_info(r, json_pack("{s:b, s:O}", "dry_run", dry, "count",
				    json_object_get(out, "count") ? json_object_get(out, "count") : json_null()));
	if (plan)
		api_audit_add(r, "plan", json_integer((json_int_t)plan));
	api_reply_json(r, plan ? 201 : 200, out);
done:
	json_decref(b);
	return 0;
}

int h_dispositions_list(struct api_req *r)
{
	struct cu_err err;
	json_t *j = NULL;
	int rc;

	cu_err_clear(&err);
	rc = ret_plans_json(r->srv->st, &j, &err);
	reply_list(r, rc, &err, j, "plans");
	return 0;
}

int h_erasures_add(struct api_req *r)
{
	uint64_t *seqs = NULL, plan = 0;
	struct ret_erase_opts eo = {0, 0};
	const char *query = NULL, *reason = NULL;
	const json_t *arr;
	struct cu_err err;
	json_t *b, *out = NULL, *e;
	size_t i, n = 0;
	int rc;

	b = api_body_object(r, 0);
	if (!b || api_json_opt_str(r, b, "query", &query) || api_json_opt_str(r, b, "reason", &reason))
		goto done;
	arr = json_object_get(b, "seqs");
	if (arr && !json_is_null(arr)) {
		if (!json_is_array(arr) || json_array_size(arr) > RETAPI_MAX_SEQS) {
			api_reply_error(r, 400, "bad_request", "'seqs' must be an array of at most %d seqs",
					RETAPI_MAX_SEQS);
			goto done;
		}
		n = json_array_size(arr);
		seqs = calloc(n ? n : 1, sizeof(*seqs));
		if (!seqs) {
			api_reply_cu(r, CU_ENOMEM, "out of memory");
			goto done;
		}
		for (i = 0; i < n; i++) {
			const json_t *v = json_array_get(arr, i);

			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				api_reply_error(r, 400, "bad_request", "'seqs' must hold non-negative integers");
				goto done;
			}
			seqs[i] = (uint64_t)json_integer_value(v);
		}
	}
	if (!reason || (!n && !query)) {
		api_reply_error(r, 400, "bad_request", "'reason' and 'seqs' or 'query' are required");
		goto done;
	}
	/* Edits and reactions go with the records unless the order says not. */
	for (i = 0; i < 2; i++) {
		const json_t *v = json_object_get(b, i ? "reactions" : "edits");

		if (v && !json_is_boolean(v)) {
			api_reply_error(r, 400, "bad_request", "'%s' must be true or false", i ? "reactions" : "edits");
			goto done;
		}
		if (json_is_false(v))
			*(i ? &eo.exclude_reactions : &eo.exclude_edits) = 1;
	}
	cu_err_clear(&err);
	rc = ret_erase_order_opts(r->srv->st, api_retention_index(r->srv), seqs, n, query, reason, r->who.name, &eo,
				  time_now_ms(), &plan, &out, &err);
	if (rc == CU_EDENIED && out) {
		/* Refused for records under hold: say which, in the error. */
		e = json_pack("{s:{s:s, s:s, s:O}}", "error", "code", "forbidden", "message", err.msg, "refused",
			      json_object_get(out, "refused") ? json_object_get(out, "refused") : json_null());
		json_decref(out);
		if (e)
			api_reply_json(r, 403, e);
		else
			api_reply_cu(r, rc, err.msg);
		goto done;
	}
	if (rc) {
		json_decref(out);
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	changed(r);
	if (!out)
		out = json_object();
	if (out)
		json_object_set_new(out, "plan", json_integer((json_int_t)plan));
	api_audit_info(r, json_pack("{s:I}", "plan", (json_int_t)plan));
	api_reply_json(r, 201, out);
done:
	free(seqs);
	json_decref(b);
	return 0;
}

int h_plan_approve(struct api_req *r)
{
	struct cu_err err;
	uint64_t id, seq = 0;
	int rc;

	if (api_param_u64(r, 0, &id) != 0)
		return 0;
	cu_err_clear(&err);
	rc = ret_approve(r->srv->st, id, r->who.name, time_now_ms(), &seq, &err);
	if (rc == CU_EDENIED) {
		api_reply_error(r, 403, "forbidden", "four-eyes rule: plan %llu must be approved by another "
				"person than the one who made it (%s)", (unsigned long long)id, err.msg);
		return 0;
	}
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	changed(r);
	api_audit_info(r, json_pack("{s:I, s:I}", "plan", (json_int_t)id, "approval", (json_int_t)seq));
	api_reply_json(r, 200, json_pack("{s:I, s:I, s:s}", "plan", (json_int_t)id, "approval", (json_int_t)seq,
					 "approved_by", r->who.name));
	return 0;
}

int h_plan_reject(struct api_req *r)
{
	const char *reason = NULL;
	struct cu_err err;
	uint64_t id, seq = 0;
	json_t *b;
	int rc;

	b = id_with_reason(r, &id, &reason, "to reject a plan");
	if (!b)
		return 0;
	cu_err_clear(&err);
	rc = ret_reject(r->srv->st, id, r->who.name, reason, time_now_ms(), &seq, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	changed(r);
	api_audit_info(r, json_pack("{s:I, s:I}", "plan", (json_int_t)id, "rejection", (json_int_t)seq));
	api_reply_json(r, 200, json_pack("{s:I, s:I, s:s}", "plan", (json_int_t)id, "rejection", (json_int_t)seq,
					 "rejected_by", r->who.name));
done:
	json_decref(b);
	return 0;
}

int h_plan_execute(struct api_req *r)
{
	struct ret_exec_opts opts;
	struct cu_err err;
	json_t *out = NULL;
	uint64_t id;
	int rc;

	if (api_param_u64(r, 0, &id) != 0)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.by = r->who.name;
	cu_err_clear(&err);
	rc = ret_execute(r->srv->st, api_retention_index(r->srv), id, &opts, time_now_ms(), &out, &err);
	if (rc) {
		json_decref(out);
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	changed(r);
	api_audit_info(r, json_pack("{s:I, s:O}", "plan", (json_int_t)id, "certificate",
				    json_object_get(out, "certificate") ? json_object_get(out, "certificate")
								         : json_null()));
	api_reply_json(r, 200, out ? out : json_object());
	return 0;
}

/* ---- certificates and offers ------------------------------------------ */

int h_certificates_list(struct api_req *r)
{
	struct cu_err err;
	json_t *j = NULL;
	int rc;

	cu_err_clear(&err);
	rc = ret_certificates_json(r->srv->st, &j, &err);
	reply_list(r, rc, &err, j, "certificates");
	return 0;
}

int h_certificate_get(struct api_req *r)
{
	unsigned char b64[4 * ((64 + 2) / 3) + 1];
	uint8_t sig[64];
	struct cu_err err;
	char *text = NULL;
	size_t len = 0;
	uint64_t id;
	json_t *j;
	int rc;

	if (api_param_u64(r, 0, &id) != 0)
		return 0;
	cu_err_clear(&err);
	rc = ret_certificate_export(r->srv->st, id, &text, &len, sig, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	EVP_EncodeBlock(b64, sig, (int)sizeof(sig));
	j = json_pack("{s:I, s:s%, s:s, s:s}", "id", (json_int_t)id, "text", text, len, "signature",
		      (const char *)b64, "algorithm", "Ed25519");
	free(text);
	api_audit_info(r, json_pack("{s:I}", "certificate", (json_int_t)id));
	api_reply_json(r, 200, j);
	return 0;
}

int h_offers_list(struct api_req *r)
{
	struct cu_err err;
	json_t *j = NULL;
	int rc;

	cu_err_clear(&err);
	rc = ret_offers_json(r->srv->st, time_now_ms(), &j, &err);
	reply_list(r, rc, &err, j, "offers");
	return 0;
}

int h_offer_answer(struct api_req *r)
{
	struct cu_err err;
	const json_t *v;
	uint64_t id;
	json_t *b;
	int rc;

	if (api_param_u64(r, 0, &id) != 0)
		return 0;
	b = api_body_object(r, 0);
	if (!b)
		return 0;
	v = json_object_get(b, "accept");
	if (!json_is_boolean(v)) {
		api_reply_error(r, 400, "bad_request", "'accept' (true or false) is required");
		goto done;
	}
	cu_err_clear(&err);
	rc = ret_offer_answer(r->srv->st, id, json_is_true(v), r->who.name, time_now_ms(), &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto done;
	}
	changed(r);
	api_audit_info(r, json_pack("{s:I, s:b}", "offer", (json_int_t)id, "accept", json_is_true(v)));
	api_reply_json(r, 200, json_pack("{s:I, s:s}", "offer", (json_int_t)id, "answer",
					 json_is_true(v) ? "accepted" : "declined"));
done:
	json_decref(b);
	return 0;
}
