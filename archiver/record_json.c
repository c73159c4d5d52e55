/* record_json.c - record -> JSON with jansson. */
#include "archiver/record_json.h"

#include <stdlib.h>

#include "common/encode.h"

static int set_str(json_t *o, const char *key, const struct rec_str *s)
{
	json_t *v;

	if (!s->len)
		return 0;
	v = json_stringn(s->ptr, s->len); /* NULL unless valid UTF-8 */
	if (!v) {
		/* Not UTF-8: keep it exact, as base64. */
		char *b = b64_encode((const uint8_t *)s->ptr, s->len);
		if (!b)
			return -1;
		json_object_set_new(o, key, json_pack("{s:s}", "base64", b));
		free(b);
		return 0;
	}
	return json_object_set_new(o, key, v);
}

/* A field that holds JSON text is embedded as JSON (else as a string). */
static int set_json(json_t *o, const char *key, const struct rec_str *s)
{
	json_t *v;

	if (!s->len)
		return 0;
	v = json_loadb(s->ptr, s->len, JSON_DECODE_ANY, NULL);
	if (!v)
		return set_str(o, key, s);
	return json_object_set_new(o, key, v);
}

json_t *rec_entry_to_json(const struct store_entry *e)
{
	char hex[2 * HASH_LEN + 1];
	struct rec_view v;
	json_t *o = json_object();
	json_t *payload_str;
	int ok;

	if (!o)
		return NULL;
	hex_encode(e->leaf, HASH_LEN, hex);
	json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
	json_object_set_new(o, "leaf_hash", json_string(hex));
	if (e->is_stub) {
		json_object_set_new(o, "deleted", json_true());
		json_object_set_new(o, "deletion_seq", json_integer((json_int_t)e->deletion_seq));
		return o;
	}
	if (rec_decode(e->bytes, e->len, &v, NULL) != 0) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "kind", json_string(rec_kind_name(v.kind)));
	ok = set_str(o, "platform", &v.f[RF_PLATFORM]) == 0 &&
	     set_str(o, "source", &v.f[RF_SOURCE]) == 0 &&
	     set_str(o, "conversation", &v.f[RF_CONVERSATION]) == 0 &&
	     set_str(o, "sender", &v.f[RF_SENDER]) == 0 &&
	     set_json(o, "recipients", &v.f[RF_RECIPIENTS]) == 0 &&
	     set_str(o, "id", &v.f[RF_EVENT_ID]) == 0 &&
	     set_str(o, "reply_to", &v.f[RF_REPLY_TO]) == 0 &&
	     set_str(o, "thread", &v.f[RF_THREAD]) == 0 &&
	     set_str(o, "target", &v.f[RF_TARGET]) == 0 &&
	     set_str(o, "body", &v.f[RF_BODY]) == 0 &&
	     (v.f[RF_PAYLOAD_TYPE].len ? set_str(o, "payload_type", &v.f[RF_PAYLOAD_TYPE]) :
	      json_object_set_new(o, "payload_type", json_string("application/json"))) == 0 &&
	     set_json(o, "auth", &v.f[RF_AUTH]) == 0 &&
	     set_json(o, "meta", &v.f[RF_META]) == 0;
	json_object_set_new(o, "ts", json_integer(v.origin_ts));
	json_object_set_new(o, "received_ts", json_integer(v.received_ts));
	json_object_set_new(o, "encrypted", json_boolean(v.flags & REC_F_ENCRYPTED));
	json_object_set_new(o, "signed", json_boolean(v.flags & REC_F_SIGNED));
	/* Only when set: an ambiguous payload (docs/FORMAT.md "Record"). */
	if (v.flags & REC_F_DUP_KEYS)
		json_object_set_new(o, "duplicate_keys", json_true());
	/* The original payload exactly: as a string when it is UTF-8 text. */
	payload_str = json_stringn(v.f[RF_PAYLOAD].ptr ? v.f[RF_PAYLOAD].ptr : "", v.f[RF_PAYLOAD].len);
	if (payload_str) {
		json_object_set_new(o, "payload", payload_str);
	} else {
		char *b = b64_encode((const uint8_t *)v.f[RF_PAYLOAD].ptr, v.f[RF_PAYLOAD].len);
		ok = ok && b;
		if (b)
			json_object_set_new(o, "payload_base64", json_string(b));
		free(b);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *rec_json_load(const char *text, size_t len, size_t flags, int *dups)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, flags | JSON_REJECT_DUPLICATES, &jerr);

	*dups = 0;
	if (j || json_error_code(&jerr) != json_error_duplicate_key)
		return j;
	/* Again without the check: jansson then keeps the last value. */
	j = json_loadb(text, len, flags, NULL);
	*dups = j != NULL;
	return j;
}
