/* rejected.c - records of kind "rejected" (rejected.h). */
#include "ingest/rejected.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/hash.h"
#include "common/encode.h"
#include "common/timeutil.h"

void rej_release(struct rej_rec *r)
{
	if (!r)
		return;
	free(r->meta);
	free(r->event_id);
	memset(r, 0, sizeof(*r));
}

int rej_fill(struct store_input *in, struct rej_rec *r, const char *platform, const char *source,
	     const char *payload_type, const char *raw, size_t len, const char *what, const char *reason,
	     const char *auth, unsigned flags)
{
	struct rec_view *v = &in->rec;
	uint8_t sha[HASH_LEN];
	char hex[2 * HASH_LEN + 1];
	size_t keep = len > REJ_MAX_PAYLOAD ? REJ_MAX_PAYLOAD : len;
	json_t *meta;

	memset(in, 0, sizeof(*in));
	memset(r, 0, sizeof(*r));
	if (hash_sha256(raw, len, sha) != 0)
		return CU_ENOMEM;
	hex_encode(sha, HASH_LEN, hex);
	/* The reason is custos' own text, but it may quote the input: keep
	 * it valid UTF-8 for the JSON encoder whatever it holds. */
	meta = json_pack("{s:s, s:s%, s:I, s:s, s:b}", "rejected", what, "reason", reason, strnlen(reason, 512),
			 "bytes", (json_int_t)len, "sha256", hex, "truncated", keep < len);
	if (!meta)
		meta = json_pack("{s:s, s:s, s:I, s:s, s:b}", "rejected", what, "reason", "(not UTF-8)", "bytes",
				 (json_int_t)len, "sha256", hex, "truncated", keep < len);
	if (!meta)
		return CU_ENOMEM;
	r->meta = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(meta);
	if (!r->meta || asprintf(&r->event_id, "rejected:%s", hex) < 0) {
		r->event_id = NULL;
		rej_release(r);
		return CU_ENOMEM;
	}
	v->kind = REC_REJECTED;
	v->flags = (uint16_t)flags;
	v->origin_ts = time_now_ms();
	v->f[RF_PAYLOAD].ptr = raw;
	v->f[RF_PAYLOAD].len = keep;
	rec_set(v, RF_PAYLOAD_TYPE, payload_type);
	rec_set(v, RF_PLATFORM, platform);
	rec_set(v, RF_SOURCE, source);
	rec_set(v, RF_EVENT_ID, r->event_id);
	rec_set(v, RF_AUTH, auth);
	rec_set(v, RF_META, r->meta);
	return 0;
}
