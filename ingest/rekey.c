/* rekey.c - duplicates that are not (ingest/rekey.h).
 *
 * The store skips a record whose (platform, source, event id) it already
 * holds. For most hooks the id is the server's, but some ids reach us
 * from a messenger's user: a Threema message id is made by the sender's
 * app, and an old Prosody module took a stanza-id from the stanza. A
 * user who repeats such an id must not make the archive drop a different
 * message as a duplicate. So after a commit every skipped input is
 * compared with the record it was taken for, on the field that says what
 * the message is (the Threema MAC in auth, the XMPP stanza): the same
 * content is a true duplicate (a redelivery); different content is
 * archived too, under "<id>#<16 hex digits of the SHA-256 of that field>"
 * with meta "id_reused": "<id>", and a redelivery of it is in turn a
 * duplicate of that. */
#include "ingest/rekey.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/hash.h"
#include "common/buf.h"
#include "common/encode.h"

void rekey_release(struct rekey *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++) {
		free(k->ids[i]);
		free(k->metas[i]);
	}
	free(k->in);
	free(k->from);
	free(k->ids);
	free(k->metas);
	memset(k, 0, sizeof(*k));
}

static int same_field(const struct rec_str *a, const struct rec_str *b)
{
	return a->len == b->len && (!a->len || !memcmp(a->ptr, b->ptr, a->len));
}

/* meta with "id_reused": old_id added (meta is a compact JSON object). */
static char *meta_with(const struct rec_str *meta, const char *old_id, size_t old_len)
{
	json_t *o = meta->len ? json_loadb(meta->ptr, meta->len, 0, NULL) : json_object();
	char *s = NULL;

	if (json_is_object(o) && json_object_set_new(o, "id_reused", json_stringn(old_id, old_len)) == 0)
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int rekey_reused(struct store *st, struct store_input *in, size_t n, enum rec_field f, struct rekey *k,
		 struct cu_err *err)
{
	struct store_entry e;
	struct rec_view old;
	struct buf rb;
	size_t i;
	int rc = 0;

	memset(k, 0, sizeof(*k));
	buf_init(&rb, REC_MAX_BYTES + 4096);
	for (i = 0; i < n; i++) {
		const struct rec_view *v = &in[i].rec;
		uint8_t sha[HASH_LEN];
		char hex[2 * HASH_LEN + 1];
		struct store_input *ni;

		if (!in[i].duplicate)
			continue;
		if ((rc = store_get(st, in[i].seq, &rb, &e, err)))
			goto out;
		if (e.is_stub)
			continue; /* erased: nothing to compare with, and nothing to bring back */
		if ((rc = rec_decode(e.bytes, e.len, &old, err)))
			goto out;
		if (same_field(&old.f[f], &v->f[f]))
			continue;
		if (!k->in) {
			k->in = calloc(n, sizeof(*k->in));
			k->ids = calloc(n, sizeof(*k->ids));
			k->metas = calloc(n, sizeof(*k->metas));
			k->from = calloc(n, sizeof(*k->from));
			if (!k->in || !k->ids || !k->metas || !k->from) {
				rc = cu_err_set(err, CU_ENOMEM, "out of memory");
				goto out;
			}
		}
		if ((rc = hash_sha256(v->f[f].ptr ? v->f[f].ptr : "", v->f[f].len, sha)))
			goto out;
		hex_encode(sha, 8, hex);
		ni = &k->in[k->n];
		*ni = in[i];
		k->from[k->n] = i;
		ni->has_key = 0;
		ni->duplicate = 0;
		if (asprintf(&k->ids[k->n], "%.*s#%s", (int)v->f[RF_EVENT_ID].len, v->f[RF_EVENT_ID].ptr, hex) < 0) {
			k->ids[k->n] = NULL;
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		k->metas[k->n] = meta_with(&v->f[RF_META], v->f[RF_EVENT_ID].ptr, v->f[RF_EVENT_ID].len);
		k->n++;
		if (!k->metas[k->n - 1]) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		rec_set(&ni->rec, RF_EVENT_ID, k->ids[k->n - 1]);
		rec_set(&ni->rec, RF_META, k->metas[k->n - 1]);
	}
out:
	buf_release(&rb);
	if (rc)
		rekey_release(k);
	return rc;
}
