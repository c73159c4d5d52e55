/* sigreq.c - the records of one signed ingest request and its evidence
 * record (retention/sigreq.h). */
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "retention/retention_int.h"
#include "retention/sigreq.h"

#define EVIDENCE_PREFIX "body:" /* api/ingest_sig.c make_evidence */

int ret_sigreq_key(const struct rec_view *v, uint8_t key[HASH_LEN])
{
	if (!(v->flags & REC_F_SIGNED) || !v->f[RF_AUTH].len)
		return 0;
	return hash_sha256(v->f[RF_AUTH].ptr, v->f[RF_AUTH].len, key) == 0;
}

int ret_sigreq_is_evidence(const struct rec_view *v)
{
	const struct rec_str *id = &v->f[RF_EVENT_ID];
	const size_t plen = sizeof(EVIDENCE_PREFIX) - 1;
	uint8_t h[HASH_LEN];
	char hex[2 * HASH_LEN + 1];

	if (v->kind != REC_OTHER || !(v->flags & REC_F_SIGNED) || !v->f[RF_AUTH].len ||
	    id->len != plen + 2 * HASH_LEN || memcmp(id->ptr, EVIDENCE_PREFIX, plen) != 0)
		return 0;
	if (hash_sha256(v->f[RF_PAYLOAD].ptr ? v->f[RF_PAYLOAD].ptr : "", v->f[RF_PAYLOAD].len, h) != 0)
		return 0;
	hex_encode(h, HASH_LEN, hex);
	return memcmp(id->ptr + plen, hex, 2 * HASH_LEN) == 0;
}

int ret_sigreq_next(struct ret_sigreq_cur *c, const struct rec_view *v)
{
	uint8_t key[HASH_LEN];

	if (!ret_sigreq_key(v, key)) {
		c->valid = 0;
		return -1;
	}
	if (c->valid && !memcmp(key, c->key, HASH_LEN))
		return 0;
	memcpy(c->key, key, HASH_LEN);
	c->valid = 1;
	return 1;
}

int ret_sigreq_begin(struct ret_sigreq_follow *f, const struct rec_view *v)
{
	int req = ret_sigreq_next(&f->cur, v);

	f->in_req = 0;
	if (req == 1) {
		f->all_in = 1;
		f->policy = NULL;
		f->due = 0;
	}
	if (req == 0 && ret_sigreq_is_evidence(v))
		return 1;
	if (req >= 0) { /* does not go until ret_sigreq_went says so */
		f->in_req = 1;
		f->saved = f->all_in;
		f->all_in = 0;
	}
	return 0;
}

void ret_sigreq_went(struct ret_sigreq_follow *f, const void *policy, int64_t due)
{
	if (!f->in_req)
		return;
	f->all_in = f->saved;
	if (!f->policy || due >= f->due) {
		f->policy = policy;
		f->due = due;
	}
	f->in_req = 0;
}

int ret_sigreq_holds(struct store *st, const struct ret_state *s, const struct ret_recinfo *ri,
		     const struct rec_view *v, uint64_t *ids, size_t max, uint64_t *held_seq, struct cu_err *err)
{
	uint8_t key[HASH_LEN], k[HASH_LEN];
	struct store_entry e;
	struct rec_view w;
	struct ret_recinfo wi;
	struct ret_scratch *sc;
	struct buf b;
	uint64_t seq = ri->seq, steps = 0;
	size_t nh = ret_holds_covering(s, ri, ids, max);
	int rc = 0;

	*held_seq = ri->seq;
	if (nh || !ret_sigreq_is_evidence(v) || !ret_sigreq_key(v, key))
		return (int)nh;
	sc = malloc(sizeof(*sc));
	if (!sc)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	buf_init(&b, REC_MAX_BYTES);
	while (seq-- > 0 && steps++ < RET_SIGREQ_WALK_MAX) {
		rc = store_get(st, seq, &b, &e, err);
		if (rc)
			break;
		if (e.is_stub)
			continue;
		if (rec_decode(e.bytes, e.len, &w, NULL) != 0 || !ret_sigreq_key(&w, k) || memcmp(k, key, HASH_LEN))
			break; /* the record before the request */
		ret_recinfo_from(&w, seq, sc, &wi);
		nh = ret_holds_covering(s, &wi, ids, max);
		if (nh) {
			*held_seq = seq;
			break;
		}
	}
	buf_release(&b);
	free(sc);
	return rc ? rc : (int)nh;
}
