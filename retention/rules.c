/* rules.c - which policy governs a record, which holds cover it, and
 * what a change to the rules would do to existing records.
 *
 * Policies apply to content records only (not rec_kind_is_archive): the
 * archive's own records (audit, holds, policies, plans, certificates ...)
 * are the evidence of what happened and are never disposed of.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "retention/retention_int.h"
#include "search/index.h"

static void copy_field(const struct rec_str *f, char *out, size_t cap)
{
	size_t n = f->len < cap - 1 ? f->len : cap - 1;

	if (n)
		memcpy(out, f->ptr, n);
	out[n] = '\0';
}

void ret_recinfo_from(const struct rec_view *v, uint64_t seq, struct ret_scratch *sc, struct ret_recinfo *ri)
{
	copy_field(&v->f[RF_PLATFORM], sc->platform, sizeof(sc->platform));
	copy_field(&v->f[RF_CONVERSATION], sc->conversation, sizeof(sc->conversation));
	copy_field(&v->f[RF_SENDER], sc->sender, sizeof(sc->sender));
	ri->seq = seq;
	ri->kind = v->kind;
	ri->ts = v->origin_ts;
	ri->platform = sc->platform;
	ri->conversation = sc->conversation;
	ri->sender = sc->sender;
	ri->conversation_len = v->f[RF_CONVERSATION].len;
	ri->sender_len = v->f[RF_SENDER].len;
	ri->conversation_raw = v->f[RF_CONVERSATION].ptr ? v->f[RF_CONVERSATION].ptr : "";
	ri->sender_raw = v->f[RF_SENDER].ptr ? v->f[RF_SENDER].ptr : "";
}

int ret_rules_current(const struct ret_state *s, struct ret_rules *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->classes = s;
	r->pol = calloc(s->npol + 1, sizeof(*r->pol)); /* +1: room for a hypothetical policy */
	if (!r->pol)
		return CU_ENOMEM;
	for (i = 0; i < s->npol; i++)
		if (!s->pol[i].retired)
			r->pol[r->npol++] = &s->pol[i];
	return 0;
}

static const char *class_of(const struct ret_rules *r, const char *conv)
{
	if (r->override_conv && !strcmp(r->override_conv, conv))
		return r->override_label;
	return r->classes ? ret_state_class(r->classes, conv) : NULL;
}

int ret_policy_matches(const struct ret_policy *p, const struct ret_rules *r, const struct ret_recinfo *ri)
{
	const char *label;

	if (rec_kind_is_archive(ri->kind))
		return 0;
	if (p->platform && strcmp(p->platform, ri->platform) != 0)
		return 0;
	if (!ret_scope_matches(&p->scope, ri))
		return 0;
	if (p->class_label) {
		/* A class is set on an exact id (a C string of at most 512
		 * bytes): a field with a NUL byte, or longer than the copy, is
		 * none of them, whatever its first bytes are. */
		label = strlen(ri->conversation) == ri->conversation_len ? class_of(r, ri->conversation) : NULL;
		if (!label || strcmp(label, p->class_label) != 0)
			return 0;
	}
	return 1;
}

/* Higher = more conservative, wins a tie. */
static int caution(const struct ret_policy *p)
{
	return (p->approval_required ? 10 : 0) + (int)p->action;
}

const struct ret_policy *ret_rules_winner(const struct ret_rules *r, const struct ret_recinfo *ri,
					  int64_t *due_ms)
{
	const struct ret_policy *best = NULL;
	int64_t best_due = 0, due;
	size_t i;

	for (i = 0; i < r->npol; i++) {
		const struct ret_policy *p = r->pol[i];

		if (!ret_policy_matches(p, r, ri))
			continue;
		due = ret_duration_add(ri->ts, &p->keep);
		if (!best || due > best_due || (due == best_due && caution(p) > caution(best))) {
			best = p;
			best_due = due;
		}
	}
	if (due_ms)
		*due_ms = best_due;
	return best;
}

int ret_walk_content(struct store *st, uint64_t upto, ret_content_fn fn, void *arg, struct cu_err *err)
{
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	struct ret_recinfo ri;
	struct ret_scratch *sc = malloc(sizeof(*sc));
	int rc, r = 0;

	if (!sc)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	rc = store_iter_open(st, 0, &it, err);
	while (rc == 0 && (r = store_iter_next(it, &e, err)) == 1 && e.seq < upto) {
		if (e.is_stub || e.len < 2 || rec_kind_is_archive(e.bytes[1]))
			continue; /* kind is byte 1: the archive's own records are never ruled */
		if (rec_decode(e.bytes, e.len, &v, NULL) != 0)
			continue;
		ret_recinfo_from(&v, e.seq, sc, &ri);
		rc = fn(arg, &ri, err);
	}
	if (rc == 0 && r < 0)
		rc = r;
	store_iter_close(it);
	free(sc);
	return rc;
}

/* Deleted by the scheduler alone when due. */
static int automatic(const struct ret_policy *p)
{
	return p && !p->approval_required && p->action != RET_REVIEW;
}

struct effect_ctx {
	const struct ret_rules *before, *after;
	const struct ret_policy *count_p;
	uint64_t sooner, matched;
};

static int effect_one(void *arg, const struct ret_recinfo *ri, struct cu_err *err)
{
	struct effect_ctx *c = arg;
	const struct ret_policy *b, *a;
	int64_t due_b = 0, due_a = 0;

	(void)err;
	if (c->count_p && ret_policy_matches(c->count_p, c->after, ri))
		c->matched++;
	b = ret_rules_winner(c->before, ri, &due_b);
	a = ret_rules_winner(c->after, ri, &due_a);
	if (!a || a->action == RET_REVIEW)
		return 0; /* kept for ever, or only listed for a decision */
	if (!b) {
		/* Kept for ever so far: a plan a second person approves may
		 * now delete it (not sooner in the sense of four eyes), the
		 * scheduler alone may not. */
		if (automatic(a))
			c->sooner++;
		return 0;
	}
	if (due_a < due_b || b->action == RET_REVIEW || (automatic(a) && !automatic(b)))
		c->sooner++;
	return 0;
}

int ret_change_effect(struct store *st, const struct ret_rules *before, const struct ret_rules *after,
		      const struct ret_policy *count_p, uint64_t *sooner, uint64_t *matched, struct cu_err *err)
{
	struct effect_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.before = before;
	c.after = after;
	c.count_p = count_p;
	rc = ret_walk_content(st, store_size(st), effect_one, &c, err);
	*sooner = c.sooner;
	if (matched)
		*matched = c.matched;
	return rc;
}

/* ---- holds ---------------------------------------------------------- */

int ret_hold_covers(const struct ret_hold *h, const struct ret_recinfo *ri)
{
	if (h->released)
		return 0;
	if (h->all)
		return 1;
	if (!ret_scope_matches(&h->scope, ri))
		return 0;
	if (ri->ts < h->from_ms || ri->ts >= h->to_ms)
		return 0;
	/* An unresolved query covers everything: a hold errs on keeping. */
	if (h->query && h->qresolved && !ret_u64_has(h->qseqs, h->nq, ri->seq))
		return 0;
	return 1;
}

size_t ret_holds_covering(const struct ret_state *s, const struct ret_recinfo *ri, uint64_t *ids, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < s->nholds; i++) {
		if (!ret_hold_covers(&s->holds[i], ri))
			continue;
		if (n < max)
			ids[n] = s->holds[i].id;
		n++;
	}
	return n;
}

int ret_index_ready(struct store *st, struct idx **ix, struct idx **opened, struct cu_err *err)
{
	int rc;

	*opened = NULL;
	if (!*ix) {
		rc = idx_open(store_dir(st), 0, opened, err);
		if (rc)
			return rc;
		*ix = *opened;
	}
	rc = idx_catch_up(*ix, st, NULL, NULL, err);
	if (rc && *opened) {
		idx_close(*opened);
		*opened = NULL;
		*ix = NULL;
	}
	return rc;
}

int ret_query_seqs(struct store *st, struct idx *ix, const char *query, uint64_t **seqs, size_t *n,
		   struct cu_err *err)
{
	struct idx_query q;
	struct idx_result res;
	uint64_t *v = NULL;
	size_t cnt = 0, alloc = 0, i;
	char *cursor = NULL;
	int rc;

	*seqs = NULL;
	*n = 0;
	memset(&q, 0, sizeof(q));
	q.q = query;
	/* Holds and erasures act on content only: the archive's own records
	 * never match, so a query cannot tell whether any of them exist. */
	q.kinds = REC_KINDS_ALL & ~REC_KINDS_ARCHIVE;
	q.sort = IDX_OLDEST;
	q.limit = IDX_MAX_LIMIT;
	for (;;) {
		q.cursor = cursor;
		rc = idx_search(ix, st, &q, &res, err);
		if (rc)
			goto out;
		for (i = 0; i < res.nhits; i++) {
			if (cnt >= RET_QUERY_MAX_HITS) {
				idx_result_release(&res);
				rc = cu_err_set(err, CU_ETOOBIG, "the query '%s' finds more than %d records; narrow it",
						query, RET_QUERY_MAX_HITS);
				goto out;
			}
			if (ret_grow((void **)&v, &alloc, cnt, sizeof(*v)) != 0) {
				idx_result_release(&res);
				rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
				goto out;
			}
			v[cnt++] = res.hits[i].seq;
		}
		free(cursor);
		cursor = res.next_cursor ? strdup(res.next_cursor) : NULL;
		i = res.next_cursor != NULL;
		idx_result_release(&res);
		if (!i)
			break;
		if (!cursor) {
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
			goto out;
		}
	}
	if (v)
		qsort(v, cnt, sizeof(*v), ret_u64_cmp);
	*seqs = v;
	*n = cnt;
	v = NULL;
out:
	free(cursor);
	free(v);
	return rc;
}

int ret_holds_resolve(struct ret_state *s, struct store *st, struct idx *ix, struct cu_err *err)
{
	struct idx *opened = NULL;
	size_t i;
	int rc = 0, ready = 0;

	for (i = 0; rc == 0 && i < s->nholds; i++) {
		struct ret_hold *h = &s->holds[i];

		if (h->released || !h->query || h->qresolved)
			continue;
		if (!ready) {
			rc = ret_index_ready(st, &ix, &opened, err);
			if (rc)
				break;
			ready = 1;
		}
		rc = ret_query_seqs(st, ix, h->query, &h->qseqs, &h->nq, err);
		if (rc == 0)
			h->qresolved = 1;
		else
			cu_err_set(err, rc, "hold %llu: its query cannot be run", (unsigned long long)h->id);
	}
	if (opened)
		idx_close(opened);
	return rc;
}

int ret_walk_seqs(struct store *st, const uint64_t *seqs, size_t n, ret_walk_fn fn, void *arg,
		  struct cu_err *err)
{
	struct store_iter *it = NULL;
	struct store_entry e;
	size_t i = 0;
	int rc = 0, r = 0;

	if (!n)
		return 0;
	if (seqs[n - 1] >= store_size(st))
		return cu_err_set(err, CU_ENOTFOUND, "record %llu does not exist (the log has %llu records)",
				  (unsigned long long)seqs[n - 1], (unsigned long long)store_size(st));
	rc = store_iter_open(st, seqs[0], &it, err);
	while (rc == 0 && i < n && (r = store_iter_next(it, &e, err)) == 1) {
		while (rc == 0 && i < n && seqs[i] == e.seq)
			rc = fn(arg, i++, &e, err);
		if (i < n && seqs[i] < e.seq)
			rc = cu_err_set(err, CU_EINVAL, "record list not sorted");
	}
	if (rc == 0 && r < 0)
		rc = r;
	if (rc == 0 && i < n)
		rc = cu_err_set(err, CU_ENOTFOUND, "record %llu was not found in the log", (unsigned long long)seqs[i]);
	store_iter_close(it);
	return rc;
}
