/* hold.c - legal holds: placing, releasing, listing, and which records a
 * hold covers.
 *
 * A hold's scope is the conjunction of what it names: its conversations
 * (exact ids or patterns, retention/scope.c; if it names some), its
 * senders (likewise), origin time in [from, to), and the records its
 * query finds (if it has one, evaluated whenever a plan or order is
 * checked, so that records archived later are covered too). --all covers
 * the whole archive.
 *
 * Every answer about a hold says how many records it covers (at
 * placement, in the list, in show), so that a hold covering nothing is
 * seen when it is placed, not when the records are gone. Releasing is a
 * change that needs a second person (ret_store_change).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "retention/retention_int.h"
#include "search/index.h"

static const char *const SCOPE_NAMES[4] = {"--conversation (conversations)",
					   "--conversation-pattern (conversation_patterns)",
					   "--sender (senders)", "--sender-pattern (sender_patterns)"};

/* Counts the content records each of the n holds covers; the first max
 * seqs covered by hv[0] go into seqs0 (may be NULL). Query holds must be
 * resolved. */
struct hcount_ctx {
	const struct ret_hold *const *hv;
	size_t n;
	uint64_t *counts;
	json_t *seqs0;
	size_t max;
};

static int hcount_one(void *arg, const struct ret_recinfo *ri, struct cu_err *err)
{
	struct hcount_ctx *c = arg;
	size_t i;

	(void)err;
	for (i = 0; i < c->n; i++) {
		if (!ret_hold_covers(c->hv[i], ri))
			continue;
		if (i == 0 && c->seqs0 && c->counts[0] < c->max &&
		    json_array_append_new(c->seqs0, json_integer((json_int_t)ri->seq)) != 0)
			return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		c->counts[i]++;
	}
	return 0;
}

static int count_holds(struct store *st, uint64_t upto, const struct ret_hold *const *hv, size_t n,
		       uint64_t *counts, json_t *seqs0, size_t max, struct cu_err *err)
{
	struct hcount_ctx c = {hv, n, counts, seqs0, max};

	memset(counts, 0, n * sizeof(*counts));
	if (!n)
		return 0;
	return ret_walk_content(st, upto, hcount_one, &c, err);
}

static int check_spec(const struct ret_hold_spec *h, struct cu_err *err)
{
	int rc;

	rc = ret_check_text("the matter (--matter)", h->matter, 256, 0, err);
	if (rc == 0)
		rc = ret_check_text("the reason (--reason)", h->reason, RET_TEXT_MAX, 0, err);
	if (rc == 0)
		rc = ret_check_text("--query", h->query, RET_TEXT_MAX, 1, err);
	if (rc)
		return rc;
	rc = ret_scope_check(&h->scope, SCOPE_NAMES, err);
	if (rc)
		return rc;
	if (h->from_ms != INT64_MIN && h->to_ms != INT64_MAX && h->from_ms >= h->to_ms)
		return cu_err_set(err, CU_EINVAL, "--from must be before --to");
	if (h->all && (!ret_scope_empty(&h->scope) || h->query || h->from_ms != INT64_MIN ||
		       h->to_ms != INT64_MAX))
		return cu_err_set(err, CU_EINVAL, "--all covers everything: give no other scope with it");
	if (!h->all && ret_scope_empty(&h->scope) && !h->query && h->from_ms == INT64_MIN &&
	    h->to_ms == INT64_MAX)
		return cu_err_set(err, CU_EINVAL, "a hold needs a scope: --conversation, --sender (exact ids),"
				  " --conversation-pattern, --sender-pattern, --from/--to or --query (or --all for"
				  " the whole archive)");
	return 0;
}

int ret_hold_add(struct store *st, struct idx *ix, const struct ret_hold_spec *spec, const char *by,
		 int64_t now_ms, uint64_t *hold_id, uint64_t *records, struct cu_err *err)
{
	struct idx *opened = NULL;
	struct ret_hold h;
	const struct ret_hold *hp = &h;
	json_t *scope = NULL, *m = NULL;
	uint64_t *seqs = NULL, count = 0;
	size_t nseqs = 0;
	char body[RET_TEXT_MAX + 400];
	int rc;

	memset(&h, 0, sizeof(h));
	if (records)
		*records = 0;
	rc = check_spec(spec, err);
	if (rc == 0)
		rc = ret_check_person(by, err);
	if (rc)
		return rc;
	if (spec->query) {
		/* Runs the query now: a bad query is refused here, not found
		 * out later when a plan is checked. */
		rc = ret_index_ready(st, &ix, &opened, err);
		if (rc == 0)
			rc = ret_query_seqs(st, ix, spec->query, &seqs, &nseqs, err);
		if (rc)
			goto out;
	}
	scope = json_pack("{s:o, s:o, s:o, s:b}",
			  "from", spec->from_ms == INT64_MIN ? json_null() : json_integer(spec->from_ms),
			  "to", spec->to_ms == INT64_MAX ? json_null() : json_integer(spec->to_ms),
			  "query", spec->query ? json_string(spec->query) : json_null(),
			  "all", spec->all);
	if (!scope || ret_scope_to_json(&spec->scope, scope) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	/* What it covers now, counted by the very matcher plans use. */
	h.scope = spec->scope;
	h.from_ms = spec->from_ms;
	h.to_ms = spec->to_ms;
	h.query = spec->query;
	h.all = spec->all;
	h.qseqs = seqs;
	h.nq = nseqs;
	h.qresolved = 1;
	rc = count_holds(st, store_size(st), &hp, 1, &count, NULL, 0, err);
	if (rc)
		goto out;
	m = json_pack("{s:s, s:s, s:s, s:O, s:I}", "op", "hold.add", "matter", spec->matter, "reason",
		      spec->reason, "scope", scope, "records_at_placement", (json_int_t)count);
	if (m && spec->query)
		json_object_set_new(m, "query_matches_at_placement", json_integer((json_int_t)nseqs));
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "legal hold placed for matter %s: %s", spec->matter, spec->reason);
	pthread_mutex_lock(&ret_lock);
	rc = ret_append(st, REC_HOLD, m, body, by, now_ms, NULL, hold_id, err);
	pthread_mutex_unlock(&ret_lock);
	if (rc == 0 && records)
		*records = count;
out:
	if (opened)
		idx_close(opened);
	free(seqs);
	json_decref(scope);
	json_decref(m);
	return rc;
}

/* The change plan awaiting approval that would release hold id, or NULL. */
static const struct ret_plan *pending_release(const struct ret_state *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->nplans; i++) {
		const struct ret_plan *p = &s->plans[i];
		json_t *ch = json_object_get(p->doc, "change");
		const char *op = json_string_value(json_object_get(ch, "op"));

		if (!strcmp(p->type, "change") && !p->approval_seq && !p->rejection_seq && op &&
		    !strcmp(op, "hold.release") && json_integer_value(json_object_get(ch, "hold")) == (json_int_t)id)
			return p;
	}
	return NULL;
}

int ret_hold_release(struct store *st, uint64_t hold_id, const char *by, const char *reason,
		     int64_t now_ms, struct ret_change *out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_hold *h;
	const struct ret_plan *pp;
	json_t *m = NULL;
	char body[RET_TEXT_MAX + 400];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ret_check_person(by, err);
	if (rc == 0)
		rc = ret_check_text("the reason for releasing the hold (--reason)", reason, RET_TEXT_MAX, 0, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	h = ret_state_hold(s, hold_id);
	if (!h) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no hold %llu", (unsigned long long)hold_id);
		goto out;
	}
	if (h->released) {
		rc = cu_err_set(err, CU_ESTATE, "hold %llu was released already (record %llu)",
				(unsigned long long)hold_id, (unsigned long long)h->released_seq);
		goto out;
	}
	pp = pending_release(s, hold_id);
	if (pp) {
		rc = cu_err_set(err, CU_EEXIST, "releasing hold %llu awaits approval already (plan %llu by %s)",
				(unsigned long long)hold_id, (unsigned long long)pp->id, pp->by);
		goto out;
	}
	m = json_pack("{s:s, s:I, s:s}", "op", "hold.release", "hold", (json_int_t)hold_id, "reason", reason);
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "legal hold %llu (matter %s) released: %s", (unsigned long long)hold_id,
		 h->matter, reason);
	rc = ret_store_change(st, m, body, by, now_ms,
			      "releasing a legal hold lets its records be deleted", out, err);
out:
	pthread_mutex_unlock(&ret_lock);
	json_decref(m);
	ret_state_free(s);
	return rc;
}

/* The hold as listed: the stored scope in the current form (a first-wave
 * hold's conversations show as patterns), what it covers now, and its
 * release (in force, or awaiting a second person). */
static json_t *hold_obj(const struct ret_state *s, const struct ret_hold *h, uint64_t records)
{
	json_t *scope = json_deep_copy(json_object_get(h->doc, "scope"));
	const struct ret_plan *pp;
	json_t *o;

	if (!scope)
		return NULL;
	if (ret_scope_to_json(&h->scope, scope) != 0) {
		json_decref(scope);
		return NULL;
	}
	o = json_pack("{s:I, s:s, s:o, s:s, s:I, s:s, s:I}", "id", (json_int_t)h->id, "matter", h->matter,
		      "scope", scope, "by", h->by, "placed_at", (json_int_t)h->placed_ms, "status",
		      h->released ? "released" : "active", "records", (json_int_t)records);
	if (!o)
		return NULL;
	json_object_set_new(o, "reason", h->reason ? json_string(h->reason) : json_null());
	if (h->released) {
		json_object_set_new(o, "released_by", json_string(h->released_by));
		json_object_set_new(o, "released_at", json_integer(h->released_ms));
		json_object_set_new(o, "release_seq", json_integer((json_int_t)h->released_seq));
		json_object_set_new(o, "release_reason",
				    h->release_reason ? json_string(h->release_reason) : json_null());
	} else if ((pp = pending_release(s, h->id)) != NULL) {
		json_object_set_new(o, "release_pending",
				    json_pack("{s:I, s:s, s:I, s:O}", "plan", (json_int_t)pp->id, "by", pp->by, "at",
					      (json_int_t)pp->at_ms, "reason",
					      json_object_get(json_object_get(pp->doc, "change"), "reason")));
	}
	return o;
}

int ret_holds_json(struct store *st, struct idx *ix, int include_inactive, json_t **out, struct cu_err *err)
{
	static const char *const ops[] = {"hold.release"};
	struct ret_state *s = NULL;
	const struct ret_hold **hv = NULL;
	uint64_t *counts = NULL;
	json_t *arr = NULL;
	size_t i, n = 0;
	int rc;

	*out = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	hv = calloc(s->nholds + 1, sizeof(*hv));
	counts = calloc(s->nholds + 1, sizeof(*counts));
	if (!hv || !counts) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	for (i = 0; i < s->nholds; i++)
		if (!s->holds[i].released || include_inactive)
			hv[n++] = &s->holds[i];
	rc = ret_holds_resolve(s, st, ix, err);
	if (rc == 0)
		rc = count_holds(st, s->size, hv, n, counts, NULL, 0, err);
	if (rc)
		goto out;
	arr = json_array();
	for (i = 0; arr && i < n; i++)
		json_array_append_new(arr, hold_obj(s, hv[i], counts[i]));
	*out = json_pack("{s:o, s:o}", "holds", arr, "pending_changes", ret_pending_json(s, ops, 1));
	if (!*out)
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
out:
	free(hv);
	free(counts);
	ret_state_free(s);
	return rc;
}

int ret_hold_json(struct store *st, struct idx *ix, uint64_t hold_id, size_t max_seqs, json_t **out,
		  struct cu_err *err)
{
	struct ret_state *s = NULL;
	const struct ret_hold *h;
	json_t *o = NULL, *seqs = json_array();
	uint64_t count = 0;
	int rc;

	*out = NULL;
	if (!seqs)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	h = ret_state_hold(s, hold_id);
	if (!h) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no hold %llu", (unsigned long long)hold_id);
		goto out;
	}
	if (!h->released) {
		rc = ret_holds_resolve(s, st, ix, err);
		if (rc == 0)
			rc = count_holds(st, s->size, &h, 1, &count, seqs, max_seqs, err);
		if (rc)
			goto out;
	}
	o = hold_obj(s, h, count);
	if (!o || json_object_set(o, "seqs", seqs) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	*out = o;
	o = NULL;
out:
	json_decref(o);
	json_decref(seqs);
	ret_state_free(s);
	return rc;
}
