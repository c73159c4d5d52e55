/* state.c - the retention state, replayed from the log.
 *
 * Every retention record (platform "custos", source "retention", kinds
 * hold .. export) is read in seq order and applied: policies added and
 * retired, classes set, holds placed and released, plans, approvals (a
 * change plan takes effect at its approval), transfer offers and answers,
 * certificates. The replay walks the whole log, because retention records
 * are spread through it: its cost is one sequential read and decompression
 * of every segment (about the cost of `custos verify` without the hashing);
 * docs/RETENTION.md "Cost" has figures.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "retention/retention_int.h"

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : NULL;
}

static int64_t jint(const json_t *o, const char *key, int64_t def)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

int ret_policy_from_json(json_t *pj, struct ret_policy *p)
{
	const char *approval;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(pj))
		return CU_ECORRUPT;
	p->name = jstr(pj, "name");
	p->platform = jstr(pj, "platform");
	p->class_label = jstr(pj, "class");
	p->action = ret_action_from_name(jstr(pj, "action"));
	approval = jstr(pj, "approval");
	p->approval_required = !approval || strcmp(approval, "none") != 0;
	if (!p->name || !p->action || ret_duration_parse(jstr(pj, "keep"), &p->keep, NULL) != 0)
		return CU_ECORRUPT;
	p->doc = pj;
	return ret_scope_read(pj, &p->scope);
}

struct ret_policy *ret_state_policy(struct ret_state *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->npol; i++)
		if (!s->pol[i].retired && !strcmp(s->pol[i].name, name))
			return &s->pol[i];
	return NULL;
}

struct ret_hold *ret_state_hold(struct ret_state *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->nholds; i++)
		if (s->holds[i].id == id)
			return &s->holds[i];
	return NULL;
}

struct ret_plan *ret_state_plan(struct ret_state *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->nplans; i++)
		if (s->plans[i].id == id)
			return &s->plans[i];
	return NULL;
}

struct ret_offer *ret_state_offer(struct ret_state *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->noffers; i++)
		if (s->offers[i].id == id)
			return &s->offers[i];
	return NULL;
}

static int cls_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ret_class *)a)->conversation, ((const struct ret_class *)b)->conversation);
}

const char *ret_state_class(const struct ret_state *s, const char *conversation)
{
	size_t lo = 0, hi = s->ncls;

	/* sorted by ret_state_load */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(conversation, s->cls[mid].conversation);
		if (c == 0)
			return s->cls[mid].label;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Keeps doc alive for the strings that point into it. */
static int keep_doc(struct ret_state *s, json_t *doc)
{
	return json_array_append(s->docs, doc) == 0 ? 0 : CU_ENOMEM;
}

int ret_state_apply_change(struct ret_state *s, json_t *op, uint64_t seq, const char *by, int64_t at_ms)
{
	const char *what = jstr(op, "op");
	struct ret_policy p, *old;
	size_t i;
	int rc;

	if (!what)
		return CU_ECORRUPT;
	if (!strcmp(what, "policy.add")) {
		json_t *pj = json_object_get(op, "policy");

		rc = ret_policy_from_json(pj, &p);
		if (rc)
			return rc == CU_ENOMEM ? CU_ENOMEM : CU_ECORRUPT;
		if (ret_state_policy(s, p.name) ||
		    ret_grow((void **)&s->pol, &s->apol, s->npol, sizeof(*s->pol)) != 0) {
			ret_scope_release(&p.scope);
			/* a duplicate was refused at creation: ignore it replayed */
			return ret_state_policy(s, p.name) ? CU_ECORRUPT : CU_ENOMEM;
		}
		json_incref(pj);
		p.id = seq;
		p.by = by;
		p.since_ms = at_ms;
		s->pol[s->npol++] = p;
		return keep_doc(s, op);
	}
	if (!strcmp(what, "policy.retire")) {
		old = jstr(op, "name") ? ret_state_policy(s, jstr(op, "name")) : NULL;
		if (!old)
			return CU_ECORRUPT;
		old->retired = 1;
		old->retired_seq = seq;
		old->retired_by = by;
		old->retired_ms = at_ms;
		return keep_doc(s, op);
	}
	if (!strcmp(what, "class.set")) {
		const char *conv = jstr(op, "conversation"), *label = jstr(op, "class");

		if (!conv)
			return CU_ECORRUPT;
		for (i = 0; i < s->ncls; i++)
			if (!strcmp(s->cls[i].conversation, conv))
				break;
		if (!label) {
			if (i < s->ncls) {
				s->cls[i] = s->cls[s->ncls - 1];
				s->ncls--;
			}
			return 0;
		}
		if (i == s->ncls) {
			if (ret_grow((void **)&s->cls, &s->acls, s->ncls, sizeof(*s->cls)) != 0)
				return CU_ENOMEM;
			s->ncls++;
		}
		s->cls[i].conversation = conv;
		s->cls[i].label = label;
		s->cls[i].by = by;
		s->cls[i].seq = seq;
		return keep_doc(s, op);
	}
	if (!strcmp(what, "hold.release")) {
		/* A release proposed by `by` and put in force by the approval
		 * `seq` (or, in archives of the first wave, a direct record). */
		struct ret_hold *h = ret_state_hold(s, (uint64_t)jint(op, "hold", -1));

		if (!h || h->released)
			return CU_ECORRUPT;
		h->released = 1;
		h->released_seq = seq;
		h->released_by = by;
		h->released_ms = at_ms;
		h->release_reason = jstr(op, "reason");
		return keep_doc(s, op);
	}
	return CU_ECORRUPT;
}

static int add_hold(struct ret_state *s, json_t *m, uint64_t seq, const char *by, int64_t at)
{
	struct ret_hold *h;
	json_t *scope = json_object_get(m, "scope");
	int rc;

	if (!jstr(m, "matter") || !json_is_object(scope))
		return CU_ECORRUPT;
	if (ret_grow((void **)&s->holds, &s->aholds, s->nholds, sizeof(*s->holds)) != 0)
		return CU_ENOMEM;
	h = &s->holds[s->nholds++];
	memset(h, 0, sizeof(*h));
	h->id = seq;
	h->doc = json_incref(m);
	h->matter = jstr(m, "matter");
	h->reason = jstr(m, "reason");
	h->by = by;
	h->placed_ms = at;
	h->from_ms = jint(scope, "from", INT64_MIN);
	h->to_ms = jint(scope, "to", INT64_MAX);
	h->query = jstr(scope, "query");
	h->all = json_is_true(json_object_get(scope, "all"));
	rc = ret_scope_read(scope, &h->scope);
	return rc == CU_ENOMEM ? rc : rc ? CU_ECORRUPT : 0;
}

static int add_plan(struct ret_state *s, json_t *m, uint64_t seq, const char *by, int64_t at)
{
	struct ret_plan *p;

	if (!jstr(m, "type"))
		return CU_ECORRUPT;
	if (ret_grow((void **)&s->plans, &s->aplans, s->nplans, sizeof(*s->plans)) != 0)
		return CU_ENOMEM;
	p = &s->plans[s->nplans++];
	memset(p, 0, sizeof(*p));
	p->id = seq;
	p->doc = json_incref(m);
	p->type = jstr(m, "type");
	p->by = by;
	p->at_ms = at;
	p->automatic = json_is_true(json_object_get(m, "automatic"));
	return 0;
}

static int apply_approval(struct ret_state *s, json_t *m, uint64_t seq, const char *by, int64_t at)
{
	struct ret_plan *p = ret_state_plan(s, (uint64_t)jint(m, "plan", -1));

	/* The four-eyes rule was checked when the approval was made; a
	 * record that breaks it (written by hand) is not honoured, nor one
	 * of a plan that was rejected first. */
	if (!p || p->approval_seq || p->rejection_seq || ret_same_person(p->by, by))
		return CU_ECORRUPT;
	p->approval_seq = seq;
	p->approved_by = by;
	p->approved_ms = at;
	if (!strcmp(p->type, "change"))
		return ret_state_apply_change(s, json_object_get(p->doc, "change"), seq, p->by, at);
	return 0;
}

static int apply_rejection(struct ret_state *s, json_t *m, uint64_t seq, const char *by, int64_t at)
{
	struct ret_plan *p = ret_state_plan(s, (uint64_t)jint(m, "plan", -1));

	if (!p || p->approval_seq || p->rejection_seq || p->automatic)
		return CU_ECORRUPT;
	p->rejection_seq = seq;
	p->rejected_by = by;
	p->rejected_ms = at;
	return 0;
}

static int add_offer(struct ret_state *s, json_t *m, uint64_t seq)
{
	struct ret_offer *o;
	struct ret_plan *p = ret_state_plan(s, (uint64_t)jint(m, "plan", -1));

	if (ret_grow((void **)&s->offers, &s->aoffers, s->noffers, sizeof(*s->offers)) != 0)
		return CU_ENOMEM;
	o = &s->offers[s->noffers];
	memset(o, 0, sizeof(*o));
	if (ret_json_seqs(json_object_get(m, "seqs"), &o->seqs, &o->nseqs) != 0)
		return CU_ECORRUPT;
	s->noffers++;
	o->id = seq;
	o->plan = p ? p->id : 0;
	o->doc = json_incref(m);
	o->deadline_ms = jint(m, "deadline", INT64_MAX);
	o->package = jstr(m, "package");
	o->state = OFFER_OFFERED;
	if (p)
		p->offer_seq = seq;
	return 0;
}

static int apply_answer(struct ret_state *s, json_t *m, uint64_t seq, const char *by, int64_t at)
{
	struct ret_offer *o = ret_state_offer(s, (uint64_t)jint(m, "offer", -1));
	const char *a = jstr(m, "answer");

	if (!o || o->state != OFFER_OFFERED || !a)
		return CU_ECORRUPT;
	o->state = !strcmp(a, "accepted") ? OFFER_ACCEPTED : OFFER_DECLINED;
	o->answered_by = by;
	o->answered_ms = at;
	o->answer_seq = seq;
	return 0;
}

static int add_cert(struct ret_state *s, json_t *m, uint64_t seq, const struct rec_view *v)
{
	struct ret_cert *c;
	struct ret_plan *p = ret_state_plan(s, (uint64_t)jint(m, "plan", -1));

	if (ret_grow((void **)&s->certs, &s->acerts, s->ncerts, sizeof(*s->certs)) != 0)
		return CU_ENOMEM;
	c = &s->certs[s->ncerts++];
	memset(c, 0, sizeof(*c));
	c->id = seq;
	c->plan = p ? p->id : 0;
	c->doc = json_incref(m);
	c->meta = strndup(v->f[RF_META].ptr, v->f[RF_META].len);
	c->meta_len = v->f[RF_META].len;
	c->auth = v->f[RF_AUTH].len ? strndup(v->f[RF_AUTH].ptr, v->f[RF_AUTH].len) : NULL;
	if (!c->meta || (v->f[RF_AUTH].len && !c->auth))
		return CU_ENOMEM;
	if (p && !p->cert_seq)
		p->cert_seq = seq;
	return 0;
}

/* Applies one retention record; CU_ECORRUPT for a record that does not
 * make sense (counted in skipped), other codes are fatal. */
static int apply(struct ret_state *s, const struct rec_view *v, uint64_t seq)
{
	json_t *m = json_loadb(v->f[RF_META].ptr, v->f[RF_META].len, 0, NULL);
	char by[RET_NAME_MAX + 1];
	const char *op, *byp;
	int rc = CU_ECORRUPT;

	if (!json_is_object(m))
		goto out;
	op = jstr(m, "op");
	if (!op)
		goto out;
	/* the person, kept alive in the doc */
	snprintf(by, sizeof(by), "%.*s", (int)(v->f[RF_SENDER].len > RET_NAME_MAX ? RET_NAME_MAX : v->f[RF_SENDER].len),
		 v->f[RF_SENDER].ptr ? v->f[RF_SENDER].ptr : "");
	if (json_object_set_new(m, "_by", json_string(by)) != 0) {
		rc = CU_ENOMEM;
		goto out;
	}
	byp = json_string_value(json_object_get(m, "_by"));
	if (!byp) /* not UTF-8: the record was not written by us */
		goto out;
	switch (v->kind) {
	case REC_POLICY:
		rc = ret_state_apply_change(s, m, seq, byp, v->origin_ts);
		break;
	case REC_HOLD:
		if (!strcmp(op, "hold.add")) {
			rc = add_hold(s, m, seq, byp, v->origin_ts);
		} else if (!strcmp(op, "hold.release")) {
			/* first wave: a release without a second person */
			rc = ret_state_apply_change(s, m, seq, byp, v->origin_ts);
		}
		break;
	case REC_PLAN:
		if (!strcmp(op, "plan"))
			rc = add_plan(s, m, seq, byp, v->origin_ts);
		break;
	case REC_APPROVAL:
		if (!strcmp(op, "approval"))
			rc = apply_approval(s, m, seq, byp, v->origin_ts);
		else if (!strcmp(op, "rejection"))
			rc = apply_rejection(s, m, seq, byp, v->origin_ts);
		else if (!strcmp(op, "transfer.answer"))
			rc = apply_answer(s, m, seq, byp, v->origin_ts);
		if (rc == 0)
			rc = keep_doc(s, m);
		break;
	case REC_DELETION:
		if (!strcmp(op, "deletion"))
			rc = add_cert(s, m, seq, v);
		break;
	case REC_EXPORT:
		if (!strcmp(op, "transfer.offer"))
			rc = add_offer(s, m, seq);
		break;
	default:
		break;
	}
out:
	json_decref(m);
	return rc;
}

static int is_ret_record(const struct rec_view *v)
{
	return v->kind >= REC_HOLD && v->kind <= REC_EXPORT &&
	       v->f[RF_PLATFORM].len == strlen(RET_PLATFORM) &&
	       !memcmp(v->f[RF_PLATFORM].ptr, RET_PLATFORM, strlen(RET_PLATFORM)) &&
	       v->f[RF_SOURCE].len == strlen(RET_SOURCE) &&
	       !memcmp(v->f[RF_SOURCE].ptr, RET_SOURCE, strlen(RET_SOURCE)) &&
	       v->f[RF_META].len > 0;
}

int ret_state_load(struct store *st, struct ret_state **out, struct cu_err *err)
{
	struct ret_state *s = calloc(1, sizeof(*s));
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	int rc, r;

	*out = NULL;
	if (!s || !(s->docs = json_array())) {
		free(s);
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	}
	s->size = store_size(st);
	rc = store_iter_open(st, 0, &it, err);
	if (rc)
		goto out;
	while ((r = store_iter_next(it, &e, err)) == 1) {
		if (e.seq >= s->size)
			break;
		if (e.is_stub || e.len < 2 || e.bytes[1] < REC_HOLD || e.bytes[1] > REC_EXPORT)
			continue; /* kind is byte 1: skip content records without decoding */
		if (rec_decode(e.bytes, e.len, &v, NULL) != 0 || !is_ret_record(&v))
			continue;
		rc = apply(s, &v, e.seq);
		if (rc == CU_ECORRUPT) {
			s->skipped++;
			rc = 0;
		}
		if (rc) {
			cu_err_set(err, rc, "retention: out of memory replaying record %llu",
				   (unsigned long long)e.seq);
			goto out;
		}
	}
	if (r < 0) {
		rc = r;
		goto out;
	}
	if (s->ncls)
		qsort(s->cls, s->ncls, sizeof(*s->cls), cls_cmp);
out:
	store_iter_close(it);
	if (rc) {
		ret_state_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void ret_state_free(struct ret_state *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->npol; i++) {
		json_decref(s->pol[i].doc);
		ret_scope_release(&s->pol[i].scope);
	}
	for (i = 0; i < s->nholds; i++) {
		json_decref(s->holds[i].doc);
		ret_scope_release(&s->holds[i].scope);
		free(s->holds[i].qseqs);
	}
	for (i = 0; i < s->nplans; i++)
		json_decref(s->plans[i].doc);
	for (i = 0; i < s->noffers; i++) {
		json_decref(s->offers[i].doc);
		free(s->offers[i].seqs);
	}
	for (i = 0; i < s->ncerts; i++) {
		json_decref(s->certs[i].doc);
		free(s->certs[i].meta);
		free(s->certs[i].auth);
	}
	free(s->pol);
	free(s->cls);
	free(s->holds);
	free(s->plans);
	free(s->offers);
	free(s->certs);
	json_decref(s->docs);
	free(s);
}
