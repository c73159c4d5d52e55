/* derived.c - the records an erasure order must take along with the ones
 * it names: edits (an edit repeats the text), reactions, redactions, and
 * replies and thread messages that quote the text (docs/RETENTION.md
 * "Erasure orders").
 *
 * One pass over the log from the first named record on. A record's
 * relation (target, reply_to, thread) names an event id, which anyone can
 * write into a message, so a relation alone never makes a record
 * erasable; it must also be genuine by what the archive itself knows:
 *   - the same platform and conversation as the record it points to
 *     (a relation into another room counts for nothing);
 *   - an edit: the same sender as the record it edits (an m.replace by
 *     another sender is not an edit of it: listed as related, kept);
 *   - a reply or thread message: its own quoted lines ("> ...", the
 *     fallback Matrix and XMPP XEP-0461 clients write) contain the text of
 *     the record it answers; one that does not quote is listed, kept.
 * A record taken along counts as erased for what comes after it, so an
 * edit's reaction or a reply quoting a quoting reply go too. Relations
 * only lead forward (from a record to those that point at it): naming
 * one's own edit never takes along the message it claims to edit.
 *
 * A signed ingest request's evidence record (the whole signed body, so
 * the text of each of its messages) goes with any record of the request
 * taken: found by what the archive wrote, not by a relation a client
 * chose (retention/sigreq.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "archiver/record.h"
#include "retention/plan_int.h"
#include "retention/retention_int.h"
#include "retention/sigreq.h"

#define BODY_KEEP 4096            /* bytes of a taken record's text kept for the quote check */
#define TABLE_SIZE (1u << 16)     /* > 2 x RET_PLAN_MAX_ITEMS: open addressing stays short */
#define LIST_MAX 1000             /* related records listed in the order */

/* A record taken (named or derived): what later records are checked against. */
struct taken {
	uint8_t key[32];              /* SHA-256 of platform 0 conversation 0 event id */
	uint64_t seq;
	char *sender;
	size_t sender_len;
	char *body;                   /* its first BODY_KEEP bytes */
	size_t body_len;
};

struct derive {
	struct taken *v;
	size_t n, alloc;
	int32_t table[TABLE_SIZE];    /* index into v + 1, 0: empty */
	EVP_MD_CTX *md;
};

static int rec_key(struct derive *d, const struct rec_view *v, const struct rec_str *id, uint8_t out[32])
{
	static const uint8_t zero = 0;
	unsigned int len = 0;

	return EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) == 1 &&
	       EVP_DigestUpdate(d->md, v->f[RF_PLATFORM].ptr, v->f[RF_PLATFORM].len) == 1 &&
	       EVP_DigestUpdate(d->md, &zero, 1) == 1 &&
	       EVP_DigestUpdate(d->md, v->f[RF_CONVERSATION].ptr, v->f[RF_CONVERSATION].len) == 1 &&
	       EVP_DigestUpdate(d->md, &zero, 1) == 1 && EVP_DigestUpdate(d->md, id->ptr, id->len) == 1 &&
	       EVP_DigestFinal_ex(d->md, out, &len) == 1 ? 0 : CU_ECRYPTO;
}

static size_t slot_of(const uint8_t key[32])
{
	return ((size_t)key[0] << 8 | key[1]) & (TABLE_SIZE - 1);
}

static int take(struct derive *d, const struct rec_view *v, uint64_t seq)
{
	struct taken *t;
	size_t s;

	if (d->n >= RET_PLAN_MAX_ITEMS)
		return CU_ETOOBIG;
	if (ret_grow((void **)&d->v, &d->alloc, d->n, sizeof(*d->v)) != 0)
		return CU_ENOMEM;
	t = &d->v[d->n];
	memset(t, 0, sizeof(*t));
	if (rec_key(d, v, &v->f[RF_EVENT_ID], t->key) != 0)
		return CU_ECRYPTO;
	t->seq = seq;
	t->sender_len = v->f[RF_SENDER].len;
	t->body_len = v->f[RF_BODY].len < BODY_KEEP ? v->f[RF_BODY].len : BODY_KEEP;
	t->sender = malloc(t->sender_len + 1);
	t->body = malloc(t->body_len + 1);
	if (!t->sender || !t->body) {
		free(t->sender);
		free(t->body);
		return CU_ENOMEM;
	}
	memcpy(t->sender, v->f[RF_SENDER].ptr ? v->f[RF_SENDER].ptr : "", t->sender_len);
	memcpy(t->body, v->f[RF_BODY].ptr ? v->f[RF_BODY].ptr : "", t->body_len);
	for (s = slot_of(t->key); d->table[s]; s = (s + 1) & (TABLE_SIZE - 1))
		;
	d->table[s] = (int32_t)(++d->n);
	return 0;
}

/* The taken record the relation id of v points at (same platform and
 * conversation), or NULL. Several taken records may share an event id
 * (XMPP ids are the client's): the first with sender (when given) wins. */
static const struct taken *lookup(struct derive *d, const struct rec_view *v, const struct rec_str *id,
				  int same_sender)
{
	uint8_t key[32];
	size_t s;

	if (!id->len || rec_key(d, v, id, key) != 0)
		return NULL;
	for (s = slot_of(key); d->table[s]; s = (s + 1) & (TABLE_SIZE - 1)) {
		const struct taken *t = &d->v[d->table[s] - 1];

		if (memcmp(t->key, key, 32) != 0)
			continue;
		/* an unknown sender is nobody's: no edit can be shown to be its own */
		if (!same_sender || (t->sender_len && t->sender_len == v->f[RF_SENDER].len &&
				     !memcmp(t->sender, v->f[RF_SENDER].ptr, t->sender_len)))
			return t;
	}
	return NULL;
}

/* 1 if the quoted lines of body ("> " ...; the first one's "<sender> "
 * dropped) contain text: the reply repeats the text it answers. */
static int quotes(const struct rec_str *body, const char *text, size_t tlen)
{
	const char *p = body->ptr, *end = body->ptr + body->len;
	char *q;
	size_t qn = 0;
	int first = 1, found;

	if (!tlen || !p)
		return 0;
	q = malloc(body->len + 1);
	if (!q)
		return 1; /* cannot tell: take it (the approver sees why) */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;

		if (le - p >= 1 && p[0] == '>') {
			const char *s = p + 1;

			if (s < le && *s == ' ')
				s++;
			if (first && s < le && *s == '<') { /* "> <@alice:example.org> text" */
				const char *gt = memchr(s, '>', (size_t)(le - s));

				if (gt) {
					s = gt + 1;
					if (s < le && *s == ' ')
						s++;
				}
			} else if (first && le - s >= 3 && !memcmp(s, "* <", 3)) { /* an emote */
				const char *gt = memchr(s + 3, '>', (size_t)(le - s - 3));

				if (gt)
					s = gt + 1 + (gt + 1 < le && gt[1] == ' ');
			}
			if (qn)
				q[qn++] = '\n';
			memcpy(q + qn, s, (size_t)(le - s));
			qn += (size_t)(le - s);
			first = 0;
		}
		p = nl ? nl + 1 : end;
	}
	found = qn >= tlen && memmem(q, qn, text, tlen) != NULL;
	free(q);
	return found;
}

static void note(json_t *list, size_t *count, uint64_t seq, uint64_t to, const char *relation)
{
	if ((*count)++ < LIST_MAX)
		json_array_append_new(list, json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)seq, "to", (json_int_t)to,
						      "relation", relation));
}

int ret_derive(struct store *st, const uint64_t *named, size_t n, const struct ret_erase_opts *o,
	       struct ret_items *extra, json_t *derived, json_t *related, size_t *nrelated, struct cu_err *err)
{
	struct derive *d = calloc(1, sizeof(*d));
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	struct ret_sigreq_cur cur;
	uint64_t req_taken = 0; /* a taken record of the current signed request, + 1 */
	size_t i;
	int rc = 0, r = 0, req;

	*nrelated = 0;
	memset(&cur, 0, sizeof(cur));
	if (!d || !(d->md = EVP_MD_CTX_new())) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	if (!n)
		goto out;
	rc = store_iter_open(st, named[0], &it, err);
	if (rc)
		goto out;
	while (rc == 0 && (r = store_iter_next(it, &e, err)) == 1) {
		const struct taken *t = NULL;
		const char *why = NULL;
		struct ret_item x;
		uint64_t from = 0;

		if (e.is_stub || e.len < 2 || rec_kind_is_archive(e.bytes[1]) ||
		    rec_decode(e.bytes, e.len, &v, NULL) != 0)
			continue;
		req = ret_sigreq_next(&cur, &v);
		if (req == 1)
			req_taken = 0;
		if (ret_u64_has(named, n, e.seq)) {
			rc = take(d, &v, e.seq);
			if (req >= 0 && !req_taken)
				req_taken = e.seq + 1;
			continue;
		}
		if (req == 0 && req_taken && ret_sigreq_is_evidence(&v)) {
			why = "evidence of the signed request, holds the text";
			from = req_taken - 1;
		}
		if (v.f[RF_TARGET].len && (v.kind == REC_EDIT || v.kind == REC_REACTION || v.kind == REC_REDACTION)) {
			t = lookup(d, &v, &v.f[RF_TARGET], v.kind == REC_EDIT);
			if (v.kind == REC_EDIT) {
				if (t && o && o->exclude_edits)
					note(related, nrelated, e.seq, t->seq, "edit, left out by the order");
				else if (t)
					why = "edit";
				else if ((t = lookup(d, &v, &v.f[RF_TARGET], 0)) != NULL)
					note(related, nrelated, e.seq, t->seq, "edit by another sender: not an edit of it");
			} else if (t && v.kind == REC_REACTION) {
				if (o && o->exclude_reactions)
					note(related, nrelated, e.seq, t->seq, "reaction, left out by the order");
				else
					why = "reaction";
			} else if (t) {
				why = "redaction";
			}
		}
		if (!why && !t) {
			static const struct {
				int field;
				const char *quoting, *not_quoting;
			} rel[] = {{RF_REPLY_TO, "reply quoting", "reply not quoting"},
				   {RF_THREAD, "thread message quoting", "thread message not quoting"}};

			for (i = 0; i < 2 && !why; i++) {
				t = lookup(d, &v, &v.f[rel[i].field], 0);
				if (!t)
					continue;
				if (quotes(&v.f[RF_BODY], t->body, t->body_len))
					why = rel[i].quoting;
				else
					note(related, nrelated, e.seq, t->seq, rel[i].not_quoting);
			}
		}
		if (!why)
			continue;
		if (t)
			from = t->seq;
		memset(&x, 0, sizeof(x));
		x.seq = e.seq;
		memcpy(x.leaf, e.leaf, HASH_LEN);
		x.action = RET_DESTROY;
		json_array_append_new(derived, json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)e.seq, "from",
							 (json_int_t)from, "relation", why));
		rc = ret_items_add(extra, &x);
		if (rc == 0)
			rc = take(d, &v, e.seq);
		if (req >= 0 && !req_taken)
			req_taken = e.seq + 1;
	}
	if (rc == 0 && r < 0)
		rc = r;
	if (rc == CU_ETOOBIG)
		rc = cu_err_set(err, rc, "the order with the records derived from it would cover more than %d"
				" records", RET_PLAN_MAX_ITEMS);
	else if (rc && err && !err->code)
		rc = cu_err_set(err, rc, "retention: cannot find the derived records");
out:
	store_iter_close(it);
	if (d) {
		for (i = 0; i < d->n; i++) {
			free(d->v[i].sender);
			free(d->v[i].body);
		}
		free(d->v);
		EVP_MD_CTX_free(d->md);
		free(d);
	}
	return rc;
}
