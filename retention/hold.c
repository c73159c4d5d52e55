/* hold.c - legal holds: placing, releasing, listing, and which records a
 * hold covers.
 *
 * A hold's scope is the conjunction of what it names: any of its
 * conversations (if it names some), any of its senders (if any), origin
 * time in [from, to), and the records its query finds (if it has one,
 * evaluated whenever a plan or order is checked, so that records archived
 * later are covered too). --all covers the whole archive.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "retention/ret_int.h"
#include "search/index.h"

static json_t *str_list(const char *const *v, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(v[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static int check_spec(const struct ret_hold_spec *h, struct cu_err *err)
{
	size_t i;
	int rc;

	rc = ret_check_text("the matter (--matter)", h->matter, 256, 0, err);
	if (rc == 0)
		rc = ret_check_text("the reason (--reason)", h->reason, RET_TEXT_MAX, 0, err);
	if (rc == 0)
		rc = ret_check_text("--query", h->query, RET_TEXT_MAX, 1, err);
	if (rc)
		return rc;
	if (h->nconversations > RET_HOLD_MAX_SCOPE || h->nsenders > RET_HOLD_MAX_SCOPE)
		return cu_err_set(err, CU_ETOOBIG, "a hold names at most %d conversations and %d senders",
				  RET_HOLD_MAX_SCOPE, RET_HOLD_MAX_SCOPE);
	for (i = 0; rc == 0 && i < h->nconversations; i++)
		rc = ret_check_text("--conversation", h->conversations[i], RET_GLOB_MAX, 0, err);
	for (i = 0; rc == 0 && i < h->nsenders; i++)
		rc = ret_check_text("--sender", h->senders[i], RET_GLOB_MAX, 0, err);
	if (rc)
		return rc;
	if (h->from_ms != INT64_MIN && h->to_ms != INT64_MAX && h->from_ms >= h->to_ms)
		return cu_err_set(err, CU_EINVAL, "--from must be before --to");
	if (h->all && (h->nconversations || h->nsenders || h->query || h->from_ms != INT64_MIN ||
		       h->to_ms != INT64_MAX))
		return cu_err_set(err, CU_EINVAL, "--all covers everything: give no other scope with it");
	if (!h->all && !h->nconversations && !h->nsenders && !h->query && h->from_ms == INT64_MIN &&
	    h->to_ms == INT64_MAX)
		return cu_err_set(err, CU_EINVAL, "a hold needs a scope: --conversation, --sender, --from/--to"
				  " or --query (or --all for the whole archive)");
	return 0;
}

int ret_hold_add(struct store *st, struct idx *ix, const struct ret_hold_spec *spec, const char *by,
		 int64_t now_ms, uint64_t *hold_id, struct cu_err *err)
{
	struct idx *opened = NULL;
	json_t *scope = NULL, *m = NULL;
	uint64_t *seqs = NULL;
	size_t nseqs = 0;
	char body[RET_TEXT_MAX + 400];
	int rc;

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
	scope = json_pack("{s:o, s:o, s:o, s:o, s:o, s:b}",
			  "conversations", str_list(spec->conversations, spec->nconversations),
			  "senders", str_list(spec->senders, spec->nsenders),
			  "from", spec->from_ms == INT64_MIN ? json_null() : json_integer(spec->from_ms),
			  "to", spec->to_ms == INT64_MAX ? json_null() : json_integer(spec->to_ms),
			  "query", spec->query ? json_string(spec->query) : json_null(),
			  "all", spec->all);
	if (scope)
		m = json_pack("{s:s, s:s, s:s, s:O}", "op", "hold.add", "matter", spec->matter, "reason",
			      spec->reason, "scope", scope);
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
out:
	if (opened)
		idx_close(opened);
	free(seqs);
	json_decref(scope);
	json_decref(m);
	return rc;
}

int ret_hold_release(struct store *st, uint64_t hold_id, const char *by, const char *reason,
		     int64_t now_ms, struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_hold *h;
	json_t *m = NULL;
	char body[RET_TEXT_MAX + 400];
	int rc;

	rc = ret_check_person(by, err);
	if (rc == 0)
		rc = ret_check_text("the reason", reason, RET_TEXT_MAX, 1, err);
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
	m = json_pack("{s:s, s:I}", "op", "hold.release", "hold", (json_int_t)hold_id);
	if (m && reason && *reason)
		json_object_set_new(m, "reason", json_string(reason));
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "legal hold %llu (matter %s) released%s%s", (unsigned long long)hold_id,
		 h->matter, reason && *reason ? ": " : "", reason && *reason ? reason : "");
	rc = ret_append(st, REC_HOLD, m, body, by, now_ms, NULL, NULL, err);
out:
	pthread_mutex_unlock(&ret_lock);
	json_decref(m);
	ret_state_free(s);
	return rc;
}

static json_t *hold_obj(const struct ret_hold *h)
{
	json_t *o = json_pack("{s:I, s:s, s:O, s:s, s:I, s:s}", "id", (json_int_t)h->id, "matter", h->matter,
			      "scope", json_object_get(h->doc, "scope"), "by", h->by, "placed_at",
			      (json_int_t)h->placed_ms, "status", h->released ? "released" : "active");

	if (!o)
		return NULL;
	json_object_set_new(o, "reason", h->reason ? json_string(h->reason) : json_null());
	if (h->released) {
		json_object_set_new(o, "released_by", json_string(h->released_by));
		json_object_set_new(o, "released_at", json_integer(h->released_ms));
		json_object_set_new(o, "release_seq", json_integer((json_int_t)h->released_seq));
	}
	return o;
}

int ret_holds_json(struct store *st, int include_inactive, json_t **out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	json_t *arr;
	size_t i;
	int rc;

	*out = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	arr = json_array();
	for (i = 0; arr && i < s->nholds; i++)
		if (!s->holds[i].released || include_inactive)
			json_array_append_new(arr, hold_obj(&s->holds[i]));
	*out = arr ? json_pack("{s:o}", "holds", arr) : NULL;
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
}

int ret_hold_json(struct store *st, struct idx *ix, uint64_t hold_id, size_t max_seqs, json_t **out,
		  struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_hold *h;
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	struct ret_recinfo ri;
	struct ret_scratch *sc = malloc(sizeof(*sc));
	json_t *o = NULL, *seqs = NULL;
	uint64_t count = 0;
	int rc, r = 0;

	*out = NULL;
	if (!sc)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	h = ret_state_hold(s, hold_id);
	if (!h) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no hold %llu", (unsigned long long)hold_id);
		goto out;
	}
	o = hold_obj(h);
	seqs = json_array();
	if (!o || !seqs) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	if (!h->released) {
		rc = ret_holds_resolve(s, st, ix, err);
		if (rc == 0)
			rc = store_iter_open(st, 0, &it, err);
		while (rc == 0 && (r = store_iter_next(it, &e, err)) == 1 && e.seq < s->size) {
			if (e.is_stub || e.len < 2 || e.bytes[1] >= REC_AUDIT)
				continue;
			if (rec_decode(e.bytes, e.len, &v, NULL) != 0)
				continue;
			ret_recinfo_from(&v, e.seq, sc, &ri);
			if (!ret_hold_covers(h, &ri))
				continue;
			if (count < max_seqs)
				json_array_append_new(seqs, json_integer((json_int_t)e.seq));
			count++;
		}
		if (rc == 0 && r < 0)
			rc = r;
		if (rc)
			goto out;
	}
	json_object_set_new(o, "records", json_integer((json_int_t)count));
	json_object_set_new(o, "seqs", seqs);
	seqs = NULL;
	*out = o;
	o = NULL;
out:
	store_iter_close(it);
	json_decref(o);
	json_decref(seqs);
	ret_state_free(s);
	free(sc);
	return rc;
}
