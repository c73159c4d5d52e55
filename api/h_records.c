/* h_records.c - GET /v1/records/{seq} (the record with its inclusion
 * proof: the same document as `custos show SEQ --json --proof`) and
 * GET /v1/conversations/{id}/messages (a record in its conversation: its
 * neighbours by origin time from the search index, idx_context, plus the
 * few records the index does not hold yet from the log; a scan of the log
 * when the index cannot be used). */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "api/search_index.h"
#include "archiver/proof_json.h"
#include "archiver/record_json.h"
#include "search/index.h"

int h_record(struct api_req *r)
{
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN];
	struct store *st = r->srv->st;
	struct store_entry e;
	struct cu_err err;
	struct buf rb;
	json_t *rec = NULL, *doc = NULL;
	uint64_t seq, tsize, size;
	char *note = NULL;
	size_t count;
	int rc;

	cu_err_clear(&err);
	buf_init(&rb, REC_MAX_BYTES + 4096);
	if (api_param_u64(r, 0, &seq) != 0)
		goto out;
	api_audit_info(r, json_pack("{s:I}", "seq", (json_int_t)seq));
	size = store_size(st);
	if (api_query_u64(r, "tree_size", size, 1, size, &tsize) != 0)
		goto out;
	if (seq >= size) {
		api_reply_error(r, 404, "not_found", "no record %llu (the archive holds %llu)",
				(unsigned long long)seq, (unsigned long long)size);
		goto out;
	}
	if (seq >= tsize) {
		api_reply_error(r, 400, "bad_request", "tree_size must be greater than the record's seq");
		goto out;
	}
	rc = api_record_read(r, seq, &rb, &e, &err);
	if (rc < 0) {
		api_reply_cu(r, rc, err.msg);
		goto out;
	}
	if (rc == 0) {
		/* The archive's own records are read through their routes. */
		api_reply_error(r, 404, "not_found", "record %llu is not visible to the %s role",
				(unsigned long long)seq, tok_role_name(r->who.role));
		goto out;
	}
	rec = rec_entry_to_json(&e);
	if (!rec) {
		api_reply_error(r, 500, "corrupt", "record %llu cannot be decoded", (unsigned long long)seq);
		goto out;
	}
	rc = store_root(st, tsize, root, &err);
	if (!rc)
		rc = store_inclusion(st, seq, tsize, proof, &count, &err);
	if (!rc)
		rc = store_checkpoint(st, tsize, &note, &err);
	if (!rc)
		rc = pj_inclusion_build(seq, e.leaf, e.is_stub ? NULL : e.bytes, e.len, tsize, root,
					(const uint8_t (*)[HASH_LEN])proof, count, note, &doc, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto out;
	}
	/* Derived from the proven bytes by the function verify-proof checks
	 * it with: the document shows nothing unproven. */
	if (json_object_set_new(doc, "record",
				pj_record_json(seq, e.leaf, e.is_stub ? NULL : e.bytes, e.len)) != 0) {
		api_reply_error(r, 500, "corrupt", "record %llu cannot be decoded", (unsigned long long)seq);
		goto out;
	}
	r->results = 1;
	api_reply_json(r, 200, doc);
	doc = NULL;
out:
	json_decref(rec);
	json_decref(doc);
	free(note);
	buf_release(&rb);
	return 0;
}

/* Reads record seq; 1 and *o (new reference) if it belongs to conv and
 * r's caller may see it, 0 if not (or a stub), negative on error. *ts (if
 * not NULL) gets its origin time. */
static int conv_record(struct api_req *r, uint64_t seq, const char *conv, struct buf *rb, json_t **o,
		       int64_t *ts, struct cu_err *err)
{
	struct store_entry e;
	struct rec_view v;
	size_t clen = strlen(conv);
	int rc;

	*o = NULL;
	rc = api_record_read(r, seq, rb, &e, err);
	if (rc <= 0)
		return rc;
	if (e.is_stub || rec_decode(e.bytes, e.len, &v, NULL) != 0)
		return 0;
	if (v.f[RF_CONVERSATION].len != clen || memcmp(v.f[RF_CONVERSATION].ptr, conv, clen) != 0)
		return 0;
	if (ts)
		*ts = v.origin_ts;
	*o = rec_entry_to_json(&e);
	return *o ? 1 : CU_ENOMEM;
}

/* Scans from seq in direction dir (+1/-1) for up to want records of conv,
 * reading at most budget records; appends them to arr (in scan order).
 * Sets *more when it stopped with records possibly left. */
static int scan(struct api_req *r, uint64_t seq, int dir, uint64_t size, const char *conv, size_t want,
		uint64_t *budget, json_t *arr, int *more, struct buf *rb, struct cu_err *err)
{
	json_t *o;
	int rc;

	*more = 0;
	while (want > 0) {
		if ((dir < 0 && seq == 0) || (dir > 0 && seq + 1 >= size))
			return 0;
		seq = dir < 0 ? seq - 1 : seq + 1;
		if (*budget == 0) {
			*more = 1;
			return 0;
		}
		(*budget)--;
		rc = conv_record(r, seq, conv, rb, &o, NULL, err);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			json_array_append_new(arr, o);
			want--;
		}
	}
	/* Is there anything left in that direction? Only a hint: say yes if
	 * the log goes on. */
	*more = dir < 0 ? seq > 0 : seq + 1 < size;
	return 0;
}

#define CONTEXT_SCAN_BUDGET 200000 /* records read per request from the log */

/* A neighbour found in the index or the log's unindexed tail. */
struct ctx_item {
	int64_t ts;
	uint64_t seq;
};

static int item_cmp(const void *a, const void *b)
{
	const struct ctx_item *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int item_cmp_desc(const void *a, const void *b)
{
	return item_cmp(b, a);
}

/* The records of conv from seq from to the end of the log (the part the
 * index does not hold yet) that r's caller may see, except the anchor,
 * into *items. */
static int tail_scan(struct api_req *r, uint64_t from, uint64_t anchor, const char *conv,
		     struct ctx_item **items, size_t *n, struct cu_err *err)
{
	struct store *st = r->srv->st;
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	struct ctx_item *p;
	size_t clen = strlen(conv), cap = 0;
	int rc;

	*items = NULL;
	*n = 0;
	rc = store_iter_open(st, from, &it, err);
	while (rc == 0 && (rc = store_iter_next(it, &e, err)) == 1) {
		rc = 0;
		if (e.seq == anchor || e.is_stub || !api_vis_entry(r, &e) ||
		    rec_decode(e.bytes, e.len, &v, NULL) != 0 ||
		    v.f[RF_CONVERSATION].len != clen || memcmp(v.f[RF_CONVERSATION].ptr, conv, clen) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			p = realloc(*items, cap * sizeof(**items));
			if (!p) {
				rc = cu_err_set(err, CU_ENOMEM, "out of memory");
				break;
			}
			*items = p;
		}
		(*items)[(*n)++] = (struct ctx_item){v.origin_ts, e.seq};
	}
	store_iter_close(it);
	if (rc) {
		free(*items);
		*items = NULL;
		*n = 0;
	}
	return rc;
}

/* One side of the context: the index's nearest records and the tail's on
 * that side of the anchor, nearest first; the want nearest are read and
 * appended to arr. */
static int merge_side(struct api_req *r, const char *conv, const struct idx_ctx_side *s, int dir,
		      const struct ctx_item *anchor, const struct ctx_item *tail, size_t ntail, size_t want,
		      json_t *arr, int *more, struct buf *rb, struct cu_err *err)
{
	struct ctx_item *c;
	size_t n = 0, i;
	json_t *o;
	int rc = 0, k;

	c = malloc((s->n + ntail + 1) * sizeof(*c));
	if (!c)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	for (i = 0; i < s->n; i++)
		c[n++] = (struct ctx_item){s->ts[i], s->seq[i]};
	for (i = 0; i < ntail; i++) {
		k = anchor ? item_cmp(&tail[i], anchor) : -1;
		if ((dir < 0 && k < 0) || (dir > 0 && k > 0))
			c[n++] = tail[i];
	}
	qsort(c, n, sizeof(*c), dir < 0 ? item_cmp_desc : item_cmp);
	/* The index gave its want nearest: whatever it has beyond them is
	 * farther than all of them, so more remain iff it said so or the
	 * tail adds more than want. */
	*more = s->more || n > want;
	for (i = 0; i < n && i < want; i++) {
		rc = conv_record(r, c[i].seq, conv, rb, &o, NULL, err);
		if (rc < 0)
			break;
		rc = 0;
		/* 0: erased since the index was read (it is gone), or not for
		 * this caller */
		if (o)
			json_array_append_new(arr, o);
	}
	free(c);
	return rc;
}

/* The context from the index, and from the log beyond the index's mark:
 * 0 done, 1 if the index cannot be used (the caller scans the log), or a
 * negative error of the log. */
static int ctx_indexed(struct api_req *r, const char *conv, uint64_t around, int have_anchor,
		       int64_t anchor_ts, size_t nb, size_t na, json_t *before, json_t *after,
		       int *more_before, int *more_after, struct buf *rb, struct cu_err *err)
{
	struct store *st = r->srv->st;
	struct idx_ctx_side sb = {0}, sa = {0};
	struct ctx_item *tail = NULL, a;
	struct cu_err ierr;
	uint64_t hwm, end;
	size_t ntail = 0;
	int rc = 1;

	cu_err_clear(&ierr);
	sb.want = nb;
	sa.want = have_anchor ? na : 0;
	sb.seq = malloc((sb.want + 1) * sizeof(*sb.seq));
	sb.ts = malloc((sb.want + 1) * sizeof(*sb.ts));
	sa.seq = malloc((sa.want + 1) * sizeof(*sa.seq));
	sa.ts = malloc((sa.want + 1) * sizeof(*sa.ts));
	if (!sb.seq || !sb.ts || !sa.seq || !sa.ts) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if (api_search_context(r->srv, conv, have_anchor ? around : IDX_CTX_LATEST, &anchor_ts, &sb, &sa,
			       &hwm, &ierr) != 0) {
		/* No index (or an id it cannot keep apart): the log has it all. */
		if (ierr.code != CU_ESTATE && ierr.code != CU_ETOOBIG)
			api_log("conversation context read from the log: %s", ierr.msg);
		goto out;
	}
	/* The tail is bounded by index_max_lag plus one catch-up transaction
	 * while ingest runs (below CONTEXT_SCAN_BUDGET); an index
	 * still catching up after a start may be far behind: scan instead. */
	end = store_size(st);
	if (end > hwm && end - hwm > CONTEXT_SCAN_BUDGET)
		goto out;
	rc = tail_scan(r, hwm, have_anchor ? around : UINT64_MAX, conv, &tail, &ntail, err);
	if (rc)
		goto out;
	a = (struct ctx_item){anchor_ts, around};
	rc = merge_side(r, conv, &sb, -1, have_anchor ? &a : NULL, tail, ntail, nb, before, more_before,
			rb, err);
	if (rc == 0 && have_anchor)
		rc = merge_side(r, conv, &sa, +1, &a, tail, ntail, na, after, more_after, rb, err);
out:
	free(tail);
	free(sb.seq);
	free(sb.ts);
	free(sa.seq);
	free(sa.ts);
	return rc;
}

int h_context(struct api_req *r)
{
	struct store *st = r->srv->st;
	const char *conv = r->params[0];
	struct cu_err err;
	struct buf rb;
	json_t *before = NULL, *after = NULL, *msgs = NULL, *center = NULL, *doc;
	uint64_t size = store_size(st), around, nb, na, budget = CONTEXT_SCAN_BUDGET;
	int64_t anchor_ts = 0;
	int rc, more_before = 0, more_after = 0;
	size_t i;

	cu_err_clear(&err);
	buf_init(&rb, REC_MAX_BYTES + 4096);
	api_audit_info(r, json_pack("{s:s}", "conversation", conv));
	if (api_query_u64(r, "before", 10, 0, r->lim.context_max, &nb) != 0 ||
	    api_query_u64(r, "after", 10, 0, r->lim.context_max, &na) != 0)
		goto out;
	if (size == 0) {
		api_reply_error(r, 404, "not_found", "the archive is empty");
		goto out;
	}
	if (api_query_u64(r, "around", size - 1, 0, size - 1, &around) != 0)
		goto out;
	before = json_array();
	after = json_array();
	msgs = json_array();
	if (!before || !after || !msgs) {
		api_reply_error(r, 503, "no_memory", "out of memory");
		goto out;
	}
	if (api_query(r, "around")) {
		rc = conv_record(r, around, conv, &rb, &center, &anchor_ts, &err);
		if (rc < 0) {
			api_reply_cu(r, rc, err.msg);
			goto out;
		}
		if (rc == 0) {
			api_reply_error(r, 404, "not_found", "record %llu is not a message of conversation '%s'",
					(unsigned long long)around, conv);
			goto out;
		}
	} else {
		/* No anchor: the latest messages of the conversation. */
		na = 0;
		around = size;
		nb = nb ? nb : 10;
	}
	rc = ctx_indexed(r, conv, around, center != NULL, anchor_ts, (size_t)nb, (size_t)na, before, after,
			 &more_before, &more_after, &rb, &err);
	if (rc == 1) {
		/* Without the index: read the log from the anchor, in log order. */
		json_array_clear(before);
		json_array_clear(after);
		more_before = more_after = 0;
		rc = scan(r, around, -1, size, conv, (size_t)nb, &budget, before, &more_before, &rb, &err);
		if (!rc && center)
			rc = scan(r, around, +1, size, conv, (size_t)na, &budget, after, &more_after, &rb,
				  &err);
	}
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		goto out;
	}
	if (!center && json_array_size(before) == 0) {
		api_reply_error(r, 404, "not_found", "no messages in conversation '%s'", conv);
		goto out;
	}
	for (i = json_array_size(before); i > 0; i--)
		json_array_append(msgs, json_array_get(before, i - 1));
	if (center)
		json_array_append(msgs, center);
	json_array_extend(msgs, after);
	r->results = (long long)json_array_size(msgs);
	doc = json_pack("{s:s, s:O, s:b, s:b}", "conversation", conv, "messages", msgs,
			"more_before", more_before, "more_after", more_after);
	if (doc && center)
		json_object_set_new(doc, "around", json_integer((json_int_t)around));
	api_reply_json(r, 200, doc);
out:
	json_decref(center);
	json_decref(before);
	json_decref(after);
	json_decref(msgs);
	buf_release(&rb);
	return 0;
}
