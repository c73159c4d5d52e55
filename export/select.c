/* select.c - which records an export holds (docs/EXPORTS.md "Selection").
 *
 * One pass over the log in seq order. A record is selected when it is a
 * messenger record (not the archive's own, platform "custos") and
 *   - it matches: in the query's result (when there is a query), in the
 *     conversation (when named) and its origin time in [from, to); or
 *   - it is an edit, redaction or reaction whose target is a selected
 *     record of the same platform and conversation: a court must see that
 *     a message was changed or withdrawn later, even after the date range.
 * Targets come before what refers to them in the log, so one pass finds
 * both. Records whose content was deleted (stubs) cannot be shown and are
 * counted, not exported.
 *
 * The query itself goes through req->query_fn (the search index): the one
 * small hook between export and search.
 */
#include <stdlib.h>
#include <string.h>

#include "archiver/hash.h"
#include "export/export_int.h"

#define KEY_LEN 16           /* bytes of SHA-256 kept as a set key */
#define PROGRESS_EVERY 4096  /* records between progress calls and cancel checks */

/* A set of KEY_LEN-byte keys (open addressing, linear probing). */
struct keyset {
	uint8_t (*slot)[KEY_LEN]; /* cap slots; all-zero = empty */
	size_t cap;               /* power of two */
	size_t n;                 /* keys held */
};

static void keyset_release(struct keyset *k)
{
	free(k->slot);
	memset(k, 0, sizeof(*k));
}

static size_t key_hash(const uint8_t *key)
{
	size_t h;

	memcpy(&h, key, sizeof(h));
	return h;
}

static int is_zero(const uint8_t *key)
{
	size_t i;

	for (i = 0; i < KEY_LEN; i++)
		if (key[i])
			return 0;
	return 1;
}

static int keyset_has(const struct keyset *k, const uint8_t *key)
{
	size_t i;

	if (!k->cap)
		return 0;
	for (i = key_hash(key) & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
		if (is_zero(k->slot[i]))
			return 0;
		if (!memcmp(k->slot[i], key, KEY_LEN))
			return 1;
	}
}

static int keyset_add(struct keyset *k, const uint8_t *key)
{
	size_t i;

	if (is_zero(key) || keyset_has(k, key))
		return 0;
	if ((k->n + 1) * 2 > k->cap) {
		struct keyset nk = {0};
		size_t j;

		nk.cap = k->cap ? k->cap * 2 : 4096;
		nk.slot = calloc(nk.cap, KEY_LEN);
		if (!nk.slot)
			return CU_ENOMEM;
		for (j = 0; j < k->cap; j++) {
			if (is_zero(k->slot[j]))
				continue;
			for (i = key_hash(k->slot[j]) & (nk.cap - 1); !is_zero(nk.slot[i]);
			     i = (i + 1) & (nk.cap - 1))
				;
			memcpy(nk.slot[i], k->slot[j], KEY_LEN);
		}
		nk.n = k->n;
		free(k->slot);
		*k = nk;
	}
	for (i = key_hash(key) & (k->cap - 1); !is_zero(k->slot[i]); i = (i + 1) & (k->cap - 1))
		;
	memcpy(k->slot[i], key, KEY_LEN);
	k->n++;
	return 0;
}

/* key = SHA-256(platform 0x00 conversation 0x00 event id)[0:16] */
static int event_key(const struct rec_view *v, const struct rec_str *id, uint8_t key[KEY_LEN])
{
	uint8_t h[HASH_LEN], stack[1024], *p = stack;
	size_t n = v->f[RF_PLATFORM].len + v->f[RF_CONVERSATION].len + id->len + 2;
	int rc;

	if (n > sizeof(stack)) {
		p = malloc(n);
		if (!p)
			return CU_ENOMEM;
	}
	memcpy(p, v->f[RF_PLATFORM].ptr, v->f[RF_PLATFORM].len);
	p[v->f[RF_PLATFORM].len] = 0;
	memcpy(p + v->f[RF_PLATFORM].len + 1, v->f[RF_CONVERSATION].ptr, v->f[RF_CONVERSATION].len);
	p[v->f[RF_PLATFORM].len + 1 + v->f[RF_CONVERSATION].len] = 0;
	memcpy(p + n - id->len, id->ptr, id->len);
	rc = hash_sha256(p, n, h);
	if (p != stack)
		free(p);
	if (!rc) {
		memcpy(key, h, KEY_LEN);
		if (is_zero(key))
			key[0] = 1; /* zero marks an empty slot */
	}
	return rc;
}

static int str_eq(const struct rec_str *s, const char *c)
{
	size_t n = strlen(c);

	return s->len == n && (n == 0 || !memcmp(s->ptr, c, n));
}

/* The query's result as a sorted array of seqs. */
struct seqlist {
	uint64_t *v;
	size_t n, alloc;
};

static int seqlist_add(void *ctx, uint64_t seq)
{
	struct seqlist *l = ctx;

	if (l->n >= EXP_MAX_RECORDS)
		return CU_ETOOBIG;
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 1024;
		uint64_t *nv = realloc(l->v, na * sizeof(*nv));

		if (!nv)
			return CU_ENOMEM;
		l->v = nv;
		l->alloc = na;
	}
	l->v[l->n++] = seq;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int exp_select(const struct exp_request *req, struct exp_set *s, struct cu_err *err)
{
	struct seqlist ql = {0};
	struct keyset keys = {0};
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	uint8_t key[KEY_LEN];
	uint64_t from = 0, total, done = 0;
	size_t qi = 0, i, o;
	int rc = 0, more;

	if (req->query) {
		if (!req->query_fn) {
			rc = cu_err_set(err, CU_EINVAL, "--query needs the search index, which is not available");
			goto out;
		}
		rc = req->query_fn(req->query_arg, req->query, seqlist_add, &ql, err);
		if (rc) {
			if (!err || !err->code)
				cu_err_set(err, rc, "the query failed");
			goto out;
		}
		if (!ql.n)
			goto out; /* nothing matched: an empty selection (and no array to sort) */
		qsort(ql.v, ql.n, sizeof(*ql.v), cmp_u64);
		for (i = 0, o = 0; i < ql.n; i++)
			if (!o || ql.v[o - 1] != ql.v[i])
				ql.v[o++] = ql.v[i];
		ql.n = o;
		from = ql.v[0];
	}
	rc = store_iter_open(req->st, from, &it, err);
	if (rc)
		goto out;
	total = store_size(req->st) > from ? store_size(req->st) - from : 0;
	for (;;) {
		int primary, related = 0;

		more = store_iter_next(it, &e, err);
		if (more < 0) {
			rc = more;
			goto out;
		}
		if (!more)
			break;
		if (++done % PROGRESS_EVERY == 0) {
			if (req->progress)
				req->progress(req->progress_arg, "selecting", done, total);
			if (req->cancel && *req->cancel) {
				rc = cu_err_set(err, CU_ESTATE, "export cancelled");
				goto out;
			}
		}
		primary = 1;
		if (req->query) {
			while (qi < ql.n && ql.v[qi] < e.seq)
				qi++;
			primary = qi < ql.n && ql.v[qi] == e.seq;
		}
		if (e.is_stub) {
			/* Only a query can tell that a deleted record was wanted. */
			if (req->query && primary)
				s->meta.skipped_deleted++;
			continue;
		}
		rc = rec_decode(e.bytes, e.len, &v, err);
		if (rc)
			goto out;
		if (rec_kind_is_archive(v.kind) || str_eq(&v.f[RF_PLATFORM], EXP_PLATFORM))
			continue;
		if (primary && req->conversation && !str_eq(&v.f[RF_CONVERSATION], req->conversation))
			primary = 0;
		if (primary && (v.origin_ts < req->from_ms || v.origin_ts >= req->to_ms))
			primary = 0;
		if (!primary && v.f[RF_TARGET].len && keys.n &&
		    (v.kind == REC_EDIT || v.kind == REC_REDACTION || v.kind == REC_REACTION)) {
			rc = event_key(&v, &v.f[RF_TARGET], key);
			if (rc)
				goto out;
			related = keyset_has(&keys, key);
		}
		if (!primary && !related)
			continue;
		rc = exp_set_add(s, e.seq, e.leaf, e.bytes, e.len, err);
		if (rc)
			goto out;
		if (v.f[RF_EVENT_ID].len) {
			rc = event_key(&v, &v.f[RF_EVENT_ID], key);
			if (!rc)
				rc = keyset_add(&keys, key);
			if (rc) {
				rc = cu_err_set(err, rc, "out of memory selecting records");
				goto out;
			}
		}
	}
	if (req->progress)
		req->progress(req->progress_arg, "selecting", done, total);
out:
	store_iter_close(it);
	keyset_release(&keys);
	free(ql.v);
	return rc;
}
