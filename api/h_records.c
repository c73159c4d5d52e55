/* h_records.c - GET /v1/records/{seq} (the record with its inclusion
 * proof: the same document as `custos show SEQ --json --proof`) and
 * GET /v1/conversations/{id}/messages (a record in its conversation). */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "archiver/proof_json.h"
#include "archiver/record_json.h"

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
	r->audit_info = json_pack("{s:I}", "seq", (json_int_t)seq);
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
	rc = store_get(st, seq, &rb, &e, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
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
	json_object_set(doc, "record", rec);
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

/* Reads record seq; 1 and *o (new reference) if it belongs to conv, 0 if
 * not (or a stub), negative on error. */
static int conv_record(struct store *st, uint64_t seq, const char *conv, struct buf *rb, json_t **o,
		       struct cu_err *err)
{
	struct store_entry e;
	struct rec_view v;
	size_t clen = strlen(conv);
	int rc;

	*o = NULL;
	buf_reset(rb);
	rc = store_get(st, seq, rb, &e, err);
	if (rc)
		return rc;
	if (e.is_stub || rec_decode(e.bytes, e.len, &v, NULL) != 0)
		return 0;
	if (v.f[RF_CONVERSATION].len != clen || memcmp(v.f[RF_CONVERSATION].ptr, conv, clen) != 0)
		return 0;
	*o = rec_entry_to_json(&e);
	return *o ? 1 : CU_ENOMEM;
}

/* Scans from seq in direction dir (+1/-1) for up to want records of conv,
 * reading at most budget records; appends them to arr (in scan order).
 * Sets *more when it stopped with records possibly left. */
static int scan(struct store *st, uint64_t seq, int dir, uint64_t size, const char *conv, size_t want,
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
		rc = conv_record(st, seq, conv, rb, &o, err);
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

#define CONTEXT_SCAN_BUDGET 200000 /* records read per request without the index */

int h_context(struct api_req *r)
{
	struct store *st = r->srv->st;
	const char *conv = r->params[0];
	struct cu_err err;
	struct buf rb;
	json_t *before = NULL, *after = NULL, *msgs = NULL, *center = NULL, *doc;
	uint64_t size = store_size(st), around, nb, na, budget = CONTEXT_SCAN_BUDGET;
	int rc, more_before = 0, more_after = 0;
	size_t i;

	cu_err_clear(&err);
	buf_init(&rb, REC_MAX_BYTES + 4096);
	r->audit_info = json_pack("{s:s}", "conversation", conv);
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
		rc = conv_record(st, around, conv, &rb, &center, &err);
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
	rc = scan(st, around, -1, size, conv, (size_t)nb, &budget, before, &more_before, &rb, &err);
	if (!rc && center)
		rc = scan(st, around, +1, size, conv, (size_t)na, &budget, after, &more_after, &rb, &err);
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
