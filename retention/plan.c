/* plan.c - disposition plans, erasure orders and approvals.
 *
 * A plan names exactly which records (seq and leaf hash) it would delete
 * or offer, grouped by the policy (or order) that makes them go, plus a
 * digest of that list; it is stored as a record before anyone approves
 * it, so the approver approves exactly that list. Four-eyes: the approver
 * must be another person than the one who made the plan.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "common/encode.h"
#include "common/timeutil.h"
#include "retention/retention_int.h"
#include "retention/plan_int.h"
#include "retention/sigreq.h"
#include "search/index.h"

#define OUT_LIST_MAX 1000 /* entries of held/review lists in a plan's output */

void ret_items_release(struct ret_items *it)
{
	free(it->v);
	memset(it, 0, sizeof(*it));
}

int ret_items_add(struct ret_items *it, const struct ret_item *x)
{
	if (ret_grow((void **)&it->v, &it->alloc, it->n, sizeof(*it->v)) != 0)
		return CU_ENOMEM;
	it->v[it->n++] = *x;
	return 0;
}

static int same_group(const struct ret_item *a, const struct ret_item *b)
{
	return a->action == b->action && a->offer == b->offer &&
	       ((!a->policy && !b->policy) || (a->policy && b->policy && !strcmp(a->policy, b->policy)));
}

json_t *ret_items_groups(const struct ret_items *it, const char *basis)
{
	json_t *groups = json_array();
	const struct ret_item **first = NULL; /* first item of each group, parallel to groups */
	size_t i, g, ng = 0, alloc = 0;
	char hex[2 * HASH_LEN + 1];

	if (!groups)
		return NULL;
	/* Groups are few (one per policy, action and offer): a linear search
	 * per item keeps this O(items x groups). */
	for (i = 0; i < it->n; i++) {
		const struct ret_item *x = &it->v[i];
		json_t *gr;

		for (g = 0; g < ng; g++)
			if (same_group(first[g], x))
				break;
		if (g == ng) {
			if (ret_grow((void **)&first, &alloc, ng, sizeof(*first)) != 0)
				goto fail;
			gr = json_pack("{s:s, s:s, s:[], s:[]}", "basis", x->policy ? "policy" : basis, "action",
				       ret_action_name(x->action), "seqs", "leaves");
			if (!gr || json_array_append_new(groups, gr) != 0)
				goto fail;
			if (x->policy) {
				json_object_set_new(gr, "policy", json_string(x->policy));
				json_object_set_new(gr, "keep", json_string(x->keep));
			}
			if (x->offer)
				json_object_set_new(gr, "offer", json_integer((json_int_t)x->offer));
			first[ng++] = x;
		}
		gr = json_array_get(groups, g);
		hex_encode(x->leaf, HASH_LEN, hex);
		if (json_array_append_new(json_object_get(gr, "seqs"), json_integer((json_int_t)x->seq)) != 0 ||
		    json_array_append_new(json_object_get(gr, "leaves"), json_string(hex)) != 0)
			goto fail;
	}
	free(first);
	return groups;
fail:
	free(first);
	json_decref(groups);
	return NULL;
}

int ret_items_from_groups(json_t *groups, struct ret_items *out)
{
	size_t i, k;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(groups))
		return CU_ECORRUPT;
	for (i = 0; rc == 0 && i < json_array_size(groups); i++) {
		json_t *g = json_array_get(groups, i), *seqs = json_object_get(g, "seqs"),
		       *leaves = json_object_get(g, "leaves");
		struct ret_item x;

		if (json_array_size(seqs) != json_array_size(leaves))
			return CU_ECORRUPT;
		memset(&x, 0, sizeof(x));
		x.action = ret_action_from_name(json_string_value(json_object_get(g, "action")));
		x.policy = json_string_value(json_object_get(g, "policy"));
		snprintf(x.keep, sizeof(x.keep), "%s",
			 json_string_value(json_object_get(g, "keep")) ? json_string_value(json_object_get(g, "keep")) : "");
		x.offer = (uint64_t)json_integer_value(json_object_get(g, "offer"));
		if (!x.action)
			return CU_ECORRUPT;
		for (k = 0; rc == 0 && k < json_array_size(seqs); k++) {
			const char *lh = json_string_value(json_array_get(leaves, k));
			json_t *sq = json_array_get(seqs, k);

			if (!json_is_integer(sq) || json_integer_value(sq) < 0 || !lh ||
			    hex_decode(lh, strlen(lh), x.leaf, HASH_LEN) != 0)
				return CU_ECORRUPT;
			x.seq = (uint64_t)json_integer_value(sq);
			rc = ret_items_add(out, &x);
		}
	}
	return rc;
}

static int item_cmp(const void *a, const void *b)
{
	return ret_u64_cmp(&((const struct ret_item *)a)->seq, &((const struct ret_item *)b)->seq);
}

int ret_items_digest(struct ret_items *it, char hex[2 * HASH_LEN + 1])
{
	uint64_t *seqs;
	uint8_t (*leaves)[HASH_LEN];
	size_t i;
	int rc;

	if (it->n)
		qsort(it->v, it->n, sizeof(*it->v), item_cmp);
	seqs = calloc(it->n + 1, sizeof(*seqs));
	leaves = calloc(it->n + 1, HASH_LEN);
	if (!seqs || !leaves) {
		free(seqs);
		free(leaves);
		return CU_ENOMEM;
	}
	for (i = 0; i < it->n; i++) {
		seqs[i] = it->v[i].seq;
		memcpy(leaves[i], it->v[i].leaf, HASH_LEN);
	}
	rc = ret_digest(seqs, (const uint8_t (*)[HASH_LEN])leaves, it->n, hex);
	free(seqs);
	free(leaves);
	return rc;
}

/* ---- offers as the planner sees them -------------------------------- */

/* 1 when an offer's records may now be destroyed. */
int ret_offer_settled(const struct ret_offer *o, int64_t now_ms)
{
	return o->state != OFFER_OFFERED || now_ms >= o->deadline_ms;
}

const char *ret_offer_state_name(const struct ret_offer *o, int64_t now_ms)
{
	switch (o->state) {
	case OFFER_ACCEPTED: return "accepted";
	case OFFER_DECLINED: return "declined";
	default: return now_ms >= o->deadline_ms ? "deadline passed" : "offered";
	}
}

/* The latest offer holding seq, or NULL. */
const struct ret_offer *ret_offer_of(const struct ret_state *s, uint64_t seq)
{
	size_t i = s->noffers;

	while (i-- > 0)
		if (ret_u64_has(s->offers[i].seqs, s->offers[i].nseqs, seq))
			return &s->offers[i];
	return NULL;
}

/* ---- disposition plans ---------------------------------------------- */

static json_t *hold_ids(const uint64_t *ids, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)ids[i]));
	return a;
}

int ret_plan_make(struct store *st, struct idx *ix, struct ret_state *s, const char *by, int dry_run,
		  int automatic, int64_t now_ms, uint64_t *plan_id, json_t **out, struct cu_err *err)
{
	struct ret_rules rules;
	struct ret_items items;
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	struct ret_recinfo ri;
	struct ret_scratch *sc = malloc(sizeof(*sc));
	struct ret_sigreq_follow fw;
	json_t *o = NULL, *list = NULL, *held = NULL, *review = NULL, *waiting = NULL, *m = NULL, *groups = NULL;
	uint64_t nheld = 0, nreview = 0, nwaiting = 0, ids[16], counts[4] = {0, 0, 0, 0};
	char hex[2 * HASH_LEN + 1], body[400], when[40];
	int truncated = 0, rc, r = 0;

	*plan_id = 0;
	*out = NULL;
	memset(&rules, 0, sizeof(rules));
	memset(&items, 0, sizeof(items));
	memset(&fw, 0, sizeof(fw));
	list = json_array();
	held = json_array();
	review = json_array();
	waiting = json_array();
	if (!sc || !list || !held || !review || !waiting || ret_rules_current(s, &rules) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	rc = ret_holds_resolve(s, st, ix, err);
	if (rc == 0)
		rc = store_iter_open(st, 0, &it, err);
	if (rc)
		goto out;
	while ((r = store_iter_next(it, &e, err)) == 1 && e.seq < s->size) {
		const struct ret_policy *p;
		const struct ret_offer *off = NULL;
		struct ret_item x;
		int64_t due;
		size_t nh;

		if (e.is_stub || e.len < 2 || rec_kind_is_archive(e.bytes[1]))
			continue;
		if (rec_decode(e.bytes, e.len, &v, NULL) != 0)
			continue;
		ret_recinfo_from(&v, e.seq, sc, &ri);
		if (ret_sigreq_begin(&fw, &v)) { /* a signed request's evidence: goes with its request */
			p = fw.all_in ? fw.policy : NULL;
			due = fw.due;
		} else {
			p = ret_rules_winner(&rules, &ri, &due);
		}
		if (!p || due > now_ms || (automatic && p->approval_required))
			continue;
		nh = ret_holds_covering(s, &ri, ids, 16);
		if (nh) {
			if (nheld++ < OUT_LIST_MAX)
				json_array_append_new(held, json_pack("{s:I, s:o}", "seq", (json_int_t)e.seq, "holds",
								      hold_ids(ids, nh < 16 ? nh : 16)));
			continue;
		}
		if (p->action == RET_REVIEW) {
			if (nreview++ < OUT_LIST_MAX)
				json_array_append_new(review, json_integer((json_int_t)e.seq));
			continue;
		}
		memset(&x, 0, sizeof(x));
		x.action = p->action;
		if (p->action == RET_TRANSFER && (off = ret_offer_of(s, e.seq)) != NULL) {
			if (!ret_offer_settled(off, now_ms)) {
				if (nwaiting++ < OUT_LIST_MAX)
					json_array_append_new(waiting, json_pack("{s:I, s:I}", "seq", (json_int_t)e.seq,
										 "offer", (json_int_t)off->id));
				continue;
			}
			x.action = RET_DESTROY; /* answered (or no answer by the deadline) */
			x.offer = off->id;
		}
		if (items.n >= RET_PLAN_MAX_ITEMS) {
			truncated = 1;
			continue;
		}
		x.seq = e.seq;
		memcpy(x.leaf, e.leaf, HASH_LEN);
		x.policy = p->name;
		ret_duration_format(&p->keep, x.keep, sizeof(x.keep));
		if (ret_items_add(&items, &x) != 0) {
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
			goto out;
		}
		counts[x.action]++;
		ret_sigreq_went(&fw, p, due);
		hex_encode(e.leaf, HASH_LEN, hex);
		json_array_append_new(list, json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:o}",
						      "seq", (json_int_t)e.seq, "leaf", hex, "ts", (json_int_t)ri.ts,
						      "due", (json_int_t)due, "platform", ri.platform, "conversation",
						      ri.conversation, "sender", ri.sender, "policy", p->name, "action",
						      ret_action_name(x.action),
						      "offer", x.offer ? json_integer((json_int_t)x.offer) : json_null()));
	}
	if (r < 0) {
		rc = r;
		goto out;
	}
	rc = ret_items_digest(&items, hex);
	if (rc) {
		cu_err_set(err, rc, "retention: cannot hash the plan");
		goto out;
	}
	if (!dry_run && items.n) {
		groups = ret_items_groups(&items, "policy");
		m = groups ? json_pack("{s:s, s:s, s:b, s:I, s:O, s:I, s:s, s:I, s:I, s:I, s:b}", "op", "plan",
				       "type", "disposition", "automatic", automatic, "as_of", (json_int_t)now_ms,
				       "groups", groups, "count", (json_int_t)items.n, "digest", hex, "held",
				       (json_int_t)nheld, "review", (json_int_t)nreview, "awaiting_transfer_answer",
				       (json_int_t)nwaiting, "truncated", truncated) : NULL;
		if (!m) {
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
			goto out;
		}
		time_format_rfc3339(now_ms, when, sizeof(when));
		snprintf(body, sizeof(body), "disposition plan as of %s: %zu records (%llu to destroy, %llu to offer"
			 " for transfer); %llu due records under hold kept%s", when, items.n,
			 (unsigned long long)counts[RET_DESTROY], (unsigned long long)counts[RET_TRANSFER],
			 (unsigned long long)nheld, automatic ? "; automatic (policies with approval none)" : "");
		rc = ret_append(st, REC_PLAN, m, body, by, now_ms, NULL, plan_id, err);
		if (rc)
			goto out;
	}
	o = json_pack("{s:o, s:b, s:b, s:I, s:s, s:I, s:s, s:O, s:b}", "plan",
		      *plan_id ? json_integer((json_int_t)*plan_id) : json_null(), "dry_run", dry_run, "automatic",
		      automatic, "as_of", (json_int_t)now_ms, "by", by, "count", (json_int_t)items.n, "digest", hex,
		      "items", list, "truncated", truncated);
	if (o) {
		json_object_set_new(o, "held", json_pack("{s:I, s:O}", "count", (json_int_t)nheld, "records", held));
		json_object_set_new(o, "review", json_pack("{s:I, s:O}", "count", (json_int_t)nreview, "seqs", review));
		json_object_set_new(o, "awaiting_transfer_answer",
				    json_pack("{s:I, s:O}", "count", (json_int_t)nwaiting, "records", waiting));
	}
	if (!o) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	*out = o;
out:
	store_iter_close(it);
	ret_items_release(&items);
	free(rules.pol);
	free(sc);
	json_decref(list);
	json_decref(held);
	json_decref(review);
	json_decref(waiting);
	json_decref(groups);
	json_decref(m);
	return rc;
}

int ret_plan(struct store *st, struct idx *ix, const char *by, int dry_run, int64_t now_ms, uint64_t *plan_id,
	     json_t **out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	int rc;

	*plan_id = 0;
	*out = NULL;
	rc = ret_check_person(by, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc == 0)
		rc = ret_plan_make(st, ix, s, by, dry_run, 0, now_ms, plan_id, out, err);
	pthread_mutex_unlock(&ret_lock);
	ret_state_free(s);
	return rc;
}

/* ---- erasure orders ------------------------------------------------- */

static int add_seqs(uint64_t **v, size_t *n, size_t *alloc, const uint64_t *add, size_t nadd)
{
	size_t i;

	for (i = 0; i < nadd; i++) {
		if (ret_grow((void **)v, alloc, *n, sizeof(**v)) != 0)
			return CU_ENOMEM;
		(*v)[(*n)++] = add[i];
	}
	return 0;
}

/* Checks one record named by an erasure order. */
struct erase_ctx {
	struct store *st;
	struct ret_state *s;
	struct ret_scratch *sc;
	json_t *refused;          /* [{"seq", "holds": [{"id", "matter"}]}] */
	size_t nrefused;
	char first[600];          /* the first refusal, for the message */
	struct ret_items *items;  /* the records to erase */
};

static int erase_check(void *arg, size_t idx, const struct store_entry *e, struct cu_err *err)
{
	struct erase_ctx *c = arg;
	struct ret_recinfo ri;
	struct rec_view v;
	struct ret_item x;
	uint64_t ids[16], held;
	size_t nh, k;
	int rc;

	(void)idx;
	if (e->is_stub)
		return cu_err_set(err, CU_ESTATE, "record %llu was deleted already (certificate %llu)",
				  (unsigned long long)e->seq, (unsigned long long)e->deletion_seq);
	rc = rec_decode(e->bytes, e->len, &v, err);
	if (rc)
		return rc;
	if (rec_kind_is_archive(v.kind))
		return cu_err_set(err, CU_EDENIED, "record %llu is the archive's own %s record: it is evidence of"
				  " what the archive did and cannot be erased",
				  (unsigned long long)e->seq, rec_kind_name(v.kind));
	ret_recinfo_from(&v, e->seq, c->sc, &ri);
	rc = ret_sigreq_holds(c->st, c->s, &ri, &v, ids, 16, &held, err);
	if (rc < 0)
		return rc;
	nh = (size_t)rc;
	if (nh) {
		json_t *hl = json_array();

		for (k = 0; hl && k < nh && k < 16; k++) {
			const struct ret_hold *h = ret_state_hold(c->s, ids[k]);
			json_array_append_new(hl, json_pack("{s:I, s:s}", "id", (json_int_t)ids[k], "matter",
							    h ? h->matter : "?"));
			if (!c->nrefused && k == 0 && held == e->seq)
				snprintf(c->first, sizeof(c->first), "record %llu is under hold %llu (matter %s)",
					 (unsigned long long)e->seq, (unsigned long long)ids[k], h ? h->matter : "?");
			else if (!c->nrefused && k == 0)
				snprintf(c->first, sizeof(c->first), "record %llu, the evidence of a signed request, is"
					 " held with record %llu of that request under hold %llu (matter %s)",
					 (unsigned long long)e->seq, (unsigned long long)held,
					 (unsigned long long)ids[k], h ? h->matter : "?");
		}
		json_array_append_new(c->refused, json_pack("{s:I, s:o, s:I}", "seq", (json_int_t)e->seq, "holds", hl,
							    "held_record", (json_int_t)held));
		c->nrefused++;
		return 0;
	}
	memset(&x, 0, sizeof(x));
	x.seq = e->seq;
	memcpy(x.leaf, e->leaf, HASH_LEN);
	x.action = RET_DESTROY;
	if (ret_items_add(c->items, &x) != 0)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	return 0;
}

int ret_erase_order(struct store *st, struct idx *ix, const uint64_t *seqs, size_t nseqs,
		    const char *query, const char *reason, const char *by, int64_t now_ms,
		    uint64_t *plan_id, json_t **out, struct cu_err *err)
{
	return ret_erase_order_opts(st, ix, seqs, nseqs, query, reason, by, NULL, now_ms, plan_id, out, err);
}

int ret_erase_order_opts(struct store *st, struct idx *ix, const uint64_t *seqs, size_t nseqs,
			 const char *query, const char *reason, const char *by,
			 const struct ret_erase_opts *opts, int64_t now_ms, uint64_t *plan_id, json_t **out,
			 struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct idx *opened = NULL;
	struct ret_items items, extra;
	struct ret_scratch *sc = malloc(sizeof(*sc));
	struct erase_ctx ec;
	uint64_t *all = NULL, *found = NULL;
	size_t nall = 0, aall = 0, nfound = 0, i, j, nrefused = 0, nrelated = 0;
	json_t *refused = json_array(), *groups = NULL, *m = NULL, *derived = json_array(), *related = json_array();
	char hex[2 * HASH_LEN + 1], body[RET_TEXT_MAX + 200];
	int rc;

	*plan_id = 0;
	*out = NULL;
	memset(&items, 0, sizeof(items));
	memset(&extra, 0, sizeof(extra));
	memset(&ec, 0, sizeof(ec));
	if (!sc || !refused || !derived || !related) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	rc = ret_check_person(by, err);
	if (rc == 0)
		rc = ret_check_text("the reason (--reason)", reason, RET_TEXT_MAX, 0, err);
	if (rc == 0)
		rc = ret_check_text("--query", query, RET_TEXT_MAX, 1, err);
	if (rc == 0 && !nseqs && !(query && *query))
		rc = cu_err_set(err, CU_EINVAL, "an erasure order names records: --seq or --query");
	if (rc == 0 && nseqs > RET_PLAN_MAX_ITEMS)
		rc = cu_err_set(err, CU_ETOOBIG, "one order covers at most %d records", RET_PLAN_MAX_ITEMS);
	if (rc)
		goto out;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc == 0 && query && *query) {
		rc = ret_index_ready(st, &ix, &opened, err);
		if (rc == 0)
			rc = ret_query_seqs(st, ix, query, &found, &nfound, err);
	}
	if (rc == 0)
		rc = ret_holds_resolve(s, st, ix, err);
	if (rc == 0 && (add_seqs(&all, &nall, &aall, seqs, nseqs) || add_seqs(&all, &nall, &aall, found, nfound)))
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	if (rc)
		goto unlock;
	if (all)
		qsort(all, nall, sizeof(*all), ret_u64_cmp);
	for (i = j = 0; i < nall; i++) /* unique */
		if (!j || all[j - 1] != all[i])
			all[j++] = all[i];
	nall = j;
	if (nall == 0) {
		rc = cu_err_set(err, CU_ENOTFOUND, "the query finds no records: nothing to erase");
		goto unlock;
	}
	if (nall > RET_PLAN_MAX_ITEMS) {
		rc = cu_err_set(err, CU_ETOOBIG, "the order would cover %zu records; one order covers at most %d",
				nall, RET_PLAN_MAX_ITEMS);
		goto unlock;
	}
	/* The copies of what it names: edits, reactions, quoting replies. */
	rc = ret_derive(st, all, nall, opts, &extra, derived, related, &nrelated, err);
	for (i = 0; rc == 0 && i < extra.n; i++)
		if (add_seqs(&all, &nall, &aall, &extra.v[i].seq, 1) != 0)
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	if (rc == 0 && nall > RET_PLAN_MAX_ITEMS)
		rc = cu_err_set(err, CU_ETOOBIG, "the order with the records derived from it would cover %zu"
				" records; one order covers at most %d", nall, RET_PLAN_MAX_ITEMS);
	if (rc)
		goto unlock;
	qsort(all, nall, sizeof(*all), ret_u64_cmp);
	ec.st = st;
	ec.s = s;
	ec.sc = sc;
	ec.refused = refused;
	ec.items = &items;
	rc = ret_walk_seqs(st, all, nall, erase_check, &ec, err);
	if (rc)
		goto unlock;
	nrefused = ec.nrefused;
	if (nrefused) {
		*out = json_pack("{s:o, s:I}", "refused", refused, "count", (json_int_t)nrefused);
		refused = NULL;
		rc = cu_err_set(err, CU_EDENIED,
				"%zu of the %zu records are under legal hold and must not be erased while it lasts"
				" (%s%s); the order was not recorded: release the hold or leave those records out",
				nrefused, nall, ec.first, nrefused > 1 ? ", ..." : "");
		goto unlock;
	}
	rc = ret_items_digest(&items, hex);
	if (rc) {
		cu_err_set(err, rc, "retention: cannot hash the order");
		goto unlock;
	}
	groups = ret_items_groups(&items, "erasure order");
	m = groups ? json_pack("{s:s, s:s, s:b, s:I, s:O, s:I, s:s, s:s}", "op", "plan", "type", "erasure",
			       "automatic", 0, "as_of", (json_int_t)now_ms, "groups", groups, "count",
			       (json_int_t)items.n, "digest", hex, "reason", reason) : NULL;
	/* How the records were chosen, but not the query text: it usually
	 * names the person whose data is erased, and the log keeps it for
	 * ever. The list of seqs and leaf hashes is the exact selection. */
	if (m) {
		json_object_set_new(m, "selection", json_string(nseqs && nfound ? "seqs and query" :
								   nseqs ? "seqs" : "query"));
		/* Every record it erases beyond those named, and why; what is
		 * related but kept; and the choice about edits and reactions:
		 * the approver approves exactly this. */
		json_object_set(m, "derived", derived);
		json_object_set_new(m, "related", json_pack("{s:I, s:O}", "count", (json_int_t)nrelated, "records",
							    related));
		json_object_set_new(m, "include", json_pack("{s:b, s:b}", "edits", !(opts && opts->exclude_edits),
							    "reactions", !(opts && opts->exclude_reactions)));
	}
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto unlock;
	}
	snprintf(body, sizeof(body), "erasure order for %zu records (%zu derived from those named) awaiting"
		 " approval: %s", items.n, json_array_size(derived), reason);
	rc = ret_append(st, REC_PLAN, m, body, by, now_ms, NULL, plan_id, err);
	if (rc == 0) {
		*out = json_pack("{s:I, s:s, s:I, s:s, s:O, s:O, s:O, s:O}", "plan", (json_int_t)*plan_id, "type",
				 "erasure", "count", (json_int_t)items.n, "digest", hex, "groups", groups, "derived",
				 derived, "related", json_object_get(m, "related"), "include",
				 json_object_get(m, "include"));
		if (!*out)
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	}
unlock:
	pthread_mutex_unlock(&ret_lock);
out:
	if (opened)
		idx_close(opened);
	ret_items_release(&items);
	ret_items_release(&extra);
	ret_state_free(s);
	free(sc);
	free(all);
	free(found);
	json_decref(derived);
	json_decref(related);
	json_decref(refused);
	json_decref(groups);
	json_decref(m);
	return rc;
}

/* ---- approval ------------------------------------------------------- */

/* A change plan can still take effect (nothing made it moot meanwhile). */
static int change_applies(struct ret_state *s, json_t *ch, struct cu_err *err)
{
	const char *op = json_string_value(json_object_get(ch, "op"));
	const char *name;

	if (op && !strcmp(op, "policy.add")) {
		name = json_string_value(json_object_get(json_object_get(ch, "policy"), "name"));
		if (name && ret_state_policy(s, name))
			return cu_err_set(err, CU_ESTATE, "a policy named '%s' is active now", name);
	} else if (op && !strcmp(op, "policy.retire")) {
		name = json_string_value(json_object_get(ch, "name"));
		if (!name || !ret_state_policy(s, name))
			return cu_err_set(err, CU_ESTATE, "policy '%s' is not active any more", name ? name : "?");
	} else if (op && !strcmp(op, "hold.release")) {
		const struct ret_hold *h = ret_state_hold(s, (uint64_t)json_integer_value(json_object_get(ch, "hold")));

		if (!h || h->released)
			return cu_err_set(err, CU_ESTATE, "the hold is not active any more");
	}
	return 0;
}

/* *out = the plan, if a person may still decide on it (approve or reject). */
static int undecided_plan(struct ret_state *s, uint64_t plan_id, struct ret_plan **out, struct cu_err *err)
{
	struct ret_plan *p = ret_state_plan(s, plan_id);

	*out = p;
	if (!p)
		return cu_err_set(err, CU_ENOTFOUND, "record %llu is not a plan (see custos retention plans)",
				  (unsigned long long)plan_id);
	if (p->automatic)
		return cu_err_set(err, CU_ESTATE, "plan %llu is an automatic run of policies with approval none;"
				  " it needs no approval", (unsigned long long)plan_id);
	if (p->approval_seq)
		return cu_err_set(err, CU_ESTATE, "plan %llu was approved already by %s (record %llu)",
				  (unsigned long long)plan_id, p->approved_by, (unsigned long long)p->approval_seq);
	if (p->rejection_seq)
		return cu_err_set(err, CU_ESTATE, "plan %llu was rejected by %s (record %llu)",
				  (unsigned long long)plan_id, p->rejected_by, (unsigned long long)p->rejection_seq);
	return 0;
}

/* Approves (reason NULL) or rejects (with reason) plan_id as `by`: one
 * decision per plan, recorded as a kind-20 record. Only an approval is
 * bound by four eyes: a rejection only ever keeps records. */
static int decide(struct store *st, uint64_t plan_id, const char *by, const char *reason, int64_t now_ms,
		  uint64_t *seq_out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_plan *p;
	json_t *m = NULL;
	char body[RET_TEXT_MAX + 400];
	int rc;

	rc = ret_check_person(by, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc == 0)
		rc = undecided_plan(s, plan_id, &p, err);
	if (rc)
		goto out;
	if (!reason && ret_same_person(p->by, by)) {
		rc = cu_err_set(err, CU_EDENIED, "four-eyes rule: plan %llu was made by %s, so another person"
				" must approve it", (unsigned long long)plan_id, p->by);
		goto out;
	}
	if (!reason && !strcmp(p->type, "change")) {
		rc = change_applies(s, json_object_get(p->doc, "change"), err);
		if (rc)
			goto out;
	}
	m = json_pack("{s:s, s:I, s:s}", "op", reason ? "rejection" : "approval", "plan", (json_int_t)plan_id,
		      "type", p->type);
	if (m && !reason && json_object_get(p->doc, "digest"))
		json_object_set(m, "digest", json_object_get(p->doc, "digest"));
	if (m && reason)
		json_object_set_new(m, "reason", json_string(reason));
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "%s plan %llu by %s %s%s%s", p->type, (unsigned long long)plan_id, p->by,
		 reason ? "rejected" : "approved", reason ? ": " : "", reason ? reason : "");
	rc = ret_append(st, REC_APPROVAL, m, body, by, now_ms, NULL, seq_out, err);
out:
	pthread_mutex_unlock(&ret_lock);
	json_decref(m);
	ret_state_free(s);
	return rc;
}

int ret_approve(struct store *st, uint64_t plan_id, const char *by, int64_t now_ms, uint64_t *approval_seq,
		struct cu_err *err)
{
	return decide(st, plan_id, by, NULL, now_ms, approval_seq, err);
}

int ret_reject(struct store *st, uint64_t plan_id, const char *by, const char *reason, int64_t now_ms,
	       uint64_t *rejection_seq, struct cu_err *err)
{
	int rc = ret_check_text("the reason (--reason)", reason, RET_TEXT_MAX, 0, err);

	return rc ? rc : decide(st, plan_id, by, reason, now_ms, rejection_seq, err);
}

/* ---- listing -------------------------------------------------------- */

const char *ret_plan_status(const struct ret_plan *p)
{
	if (p->rejection_seq)
		return "rejected";
	if (!strcmp(p->type, "change"))
		return p->approval_seq ? "in force" : "awaiting approval";
	if (p->cert_seq || p->offer_seq)
		return "executed";
	if (p->approval_seq || p->automatic)
		return "approved";
	return "awaiting approval";
}

int ret_plans_json(struct store *st, json_t **out, struct cu_err *err)
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
	for (i = 0; arr && i < s->nplans; i++) {
		const struct ret_plan *p = &s->plans[i];
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:b}", "id", (json_int_t)p->id, "type", p->type,
				      "status", ret_plan_status(p), "by", p->by, "at", (json_int_t)p->at_ms,
				      "automatic", p->automatic);

		if (!o)
			continue;
		json_object_set_new(o, "count", json_integer(json_integer_value(json_object_get(p->doc, "count"))));
		if (json_object_get(p->doc, "reason"))
			json_object_set(o, "reason", json_object_get(p->doc, "reason"));
		if (!strcmp(p->type, "erasure") && !p->approval_seq) {
			/* what an approver approves: every record, derived ones
			 * with why (once executed, the certificate says it) */
			static const char *const keys[] = {"groups", "derived", "related", "include"};
			size_t k;

			for (k = 0; k < 4; k++)
				if (json_object_get(p->doc, keys[k]))
					json_object_set(o, keys[k], json_object_get(p->doc, keys[k]));
		}
		if (json_object_get(p->doc, "change"))
			json_object_set(o, "change", json_object_get(p->doc, "change"));
		if (p->approval_seq) {
			json_object_set_new(o, "approved_by", json_string(p->approved_by));
			json_object_set_new(o, "approved_at", json_integer(p->approved_ms));
		}
		if (p->rejection_seq) {
			json_object_set_new(o, "rejected_by", json_string(p->rejected_by));
			json_object_set_new(o, "rejected_at", json_integer(p->rejected_ms));
		}
		if (json_object_get(p->doc, "why"))
			json_object_set(o, "why", json_object_get(p->doc, "why"));
		if (p->cert_seq)
			json_object_set_new(o, "certificate", json_integer((json_int_t)p->cert_seq));
		if (p->offer_seq)
			json_object_set_new(o, "offer", json_integer((json_int_t)p->offer_seq));
		json_array_append_new(arr, o);
	}
	*out = arr ? json_pack("{s:o}", "plans", arr) : NULL;
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
}
