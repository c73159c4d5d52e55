/* threema.c - the Gateway callback: form decoding, MAC (OpenSSL EVP_MAC
 * through sources.c), box opening (libsodium), padding, message types. */
#include "ingest/threema.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record_json.h"
#include "common/encode.h"
#include "common/utf8.h"

/* Threema message types (first plaintext byte) that the archive names. */
static const struct {
	uint8_t code;
	const char *name;
	uint8_t kind;
} th_types[] = {
	{0x01, "text", REC_MESSAGE},
	{0x02, "image", REC_ATTACHMENT},
	{0x10, "location", REC_MESSAGE},
	{0x13, "video", REC_ATTACHMENT},
	{0x14, "audio", REC_ATTACHMENT},
	{0x15, "poll", REC_OTHER},
	{0x16, "poll-vote", REC_OTHER},
	{0x17, "file", REC_ATTACHMENT},
	{0x18, "contact-set-photo", REC_OTHER},
	{0x19, "contact-delete-photo", REC_OTHER},
	{0x1a, "contact-request-photo", REC_OTHER},
	{0x80, "delivery-receipt", REC_OTHER},
	{0x82, "reaction", REC_REACTION},
	{0x90, "typing", REC_OTHER},
	{0x91, "edit", REC_EDIT},
	{0x92, "delete", REC_REDACTION},
	{0xa0, "forward-security-envelope", REC_OTHER},
	{0xfc, "empty", REC_OTHER},
};

void th_form_release(struct th_form *f)
{
	if (!f)
		return;
	free(f->box);
	free(f->nickname);
	memset(f, 0, sizeof(*f));
}

void th_msg_release(struct th_msg *m)
{
	if (!m)
		return;
	th_form_release(&m->form);
	free(m->payload);
	free(m->meta);
	free(m->auth);
	free(m->event_id);
	free(m->conversation);
	free(m->recipients);
	free(m->body);
	free(m->target);
	memset(m, 0, sizeof(*m));
}

/* "a<sep>b", malloc'd, or NULL. */
static char *join2(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s = malloc(la + ls + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, sep, ls);
		memcpy(s + la + ls, b, lb + 1);
	}
	return s;
}

/* ---- form ------------------------------------------------------------- */

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte. Returns a
 * malloc'd NUL-terminated string (NULL on a bad escape or no memory) and
 * its length; a NUL byte in the value is refused. */
static char *url_decode(const char *p, size_t n, size_t *out_len)
{
	char *out = malloc(n + 1);
	size_t i, j = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (p[i] == '+') {
			out[j++] = ' ';
		} else if (p[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				goto bad;
			hi = hex_digit_value(p[i + 1]);
			lo = hex_digit_value(p[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[j++] = p[i];
		}
	}
	out[j] = '\0';
	*out_len = j;
	return out;
bad:
	free(out);
	return NULL;
}

static int all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hex_digit_value(s[i]) < 0)
			return 0;
	return 1;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Copies a fixed-size field, checking its length. */
static int put_fixed(char *dst, size_t cap, const char *v, size_t vlen, size_t want_min, size_t want_max)
{
	if (vlen < want_min || vlen > want_max || vlen >= cap)
		return CU_EINVAL;
	memcpy(dst, v, vlen + 1);
	return 0;
}

int th_form_parse(const char *body, size_t len, struct th_form *f, struct cu_err *err)
{
	const char *p = body, *end = body + len;
	unsigned seen = 0;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if (len > TH_MAX_BODY)
		return cu_err_set(err, CU_ETOOBIG, "callback body of %zu bytes exceeds the cap of %u", len,
				  TH_MAX_BODY);
	while (p < end && rc == 0) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		char *k = NULL, *v = NULL;
		size_t klen = 0, vlen = 0;
		unsigned bit = 0;

		if (pe == p) { /* an empty pair ("a=1&&b=2") is harmless */
			p = pe + 1;
			continue;
		}
		k = url_decode(p, (size_t)((eq ? eq : pe) - p), &klen);
		v = eq ? url_decode(eq + 1, (size_t)(pe - eq - 1), &vlen) : strdup("");
		if (!k || !v) {
			rc = cu_err_set(err, CU_EINVAL, "bad %%-escape in the form");
		} else if (!strcmp(k, "from")) {
			bit = 1;
			if (!src_threema_id_valid(v) || put_fixed(f->from, sizeof(f->from), v, vlen, 8, 8))
				rc = cu_err_set(err, CU_EINVAL, "field 'from': not a Threema ID");
		} else if (!strcmp(k, "to")) {
			bit = 2;
			if (!src_threema_id_valid(v) || put_fixed(f->to, sizeof(f->to), v, vlen, 8, 8))
				rc = cu_err_set(err, CU_EINVAL, "field 'to': not a Threema ID");
		} else if (!strcmp(k, "messageId")) {
			bit = 4;
			if (!all_hex(v, vlen) || put_fixed(f->message_id, sizeof(f->message_id), v, vlen, 16, 16))
				rc = cu_err_set(err, CU_EINVAL, "field 'messageId': expected 16 hex digits");
		} else if (!strcmp(k, "date")) {
			bit = 8;
			if (!all_digits(v) || put_fixed(f->date, sizeof(f->date), v, vlen, 1, 12))
				rc = cu_err_set(err, CU_EINVAL, "field 'date': expected seconds since the epoch");
		} else if (!strcmp(k, "nonce")) {
			bit = 16;
			if (!all_hex(v, vlen) || put_fixed(f->nonce, sizeof(f->nonce), v, vlen, 48, 48))
				rc = cu_err_set(err, CU_EINVAL, "field 'nonce': expected 48 hex digits");
		} else if (!strcmp(k, "box")) {
			bit = 32;
			if (!all_hex(v, vlen) || vlen % 2 || vlen < 2 * crypto_box_MACBYTES || vlen > 2 * TH_MAX_BOX) {
				rc = cu_err_set(err, CU_EINVAL, "field 'box': expected %d-%d hex digits",
						2 * crypto_box_MACBYTES, 2 * TH_MAX_BOX);
			} else if (!(seen & bit)) {
				f->box = v;
				f->box_len = vlen;
				v = NULL;
			}
		} else if (!strcmp(k, "mac")) {
			bit = 64;
			if (!all_hex(v, vlen) || put_fixed(f->mac, sizeof(f->mac), v, vlen, 64, 64))
				rc = cu_err_set(err, CU_EINVAL, "field 'mac': expected 64 hex digits");
		} else if (!strcmp(k, "nickname")) {
			bit = 128;
			if (vlen > 256)
				rc = cu_err_set(err, CU_EINVAL, "field 'nickname': longer than 256 bytes");
			else if (!(seen & bit)) {
				f->nickname = v;
				v = NULL;
			}
		}
		if (rc == 0 && bit && (seen & bit))
			rc = cu_err_set(err, CU_EINVAL, "field '%s' appears twice", k);
		seen |= bit;
		free(k);
		free(v);
		p = amp ? amp + 1 : end;
	}
	if (rc == 0 && (seen & 127) != 127) {
		static const char *const names[] = {"from", "to", "messageId", "date", "nonce", "box", "mac"};
		unsigned i;

		for (i = 0; i < 7; i++)
			if (!(seen & (1u << i)))
				break;
		rc = cu_err_set(err, CU_EINVAL, "field '%s' is missing", names[i]);
	}
	if (rc)
		th_form_release(f);
	return rc;
}

int th_check_mac(const struct th_form *f, const char *secret, size_t secret_len)
{
	struct buf b;
	int rc;

	buf_init(&b, TH_MAX_BODY);
	if (buf_append_str(&b, f->from) || buf_append_str(&b, f->to) || buf_append_str(&b, f->message_id) ||
	    buf_append_str(&b, f->date) || buf_append_str(&b, f->nonce) ||
	    buf_append(&b, f->box, f->box_len)) {
		rc = CU_ENOMEM;
		goto out;
	}
	rc = src_check_hmac_hex(secret, secret_len, b.data, b.len, f->mac, strlen(f->mac));
	if (rc == CU_EINVAL)
		rc = CU_EDENIED;
out:
	buf_release(&b);
	return rc;
}

/* The MAC over the fields as sent, read leniently: the first value of
 * each field, whatever its format. For a callback th_form_parse refused:
 * if the Gateway's MAC still holds, the bytes are the Gateway's and are
 * archived as "rejected" rather than refused (a refused callback is
 * retried and then dropped by the Gateway). */
int th_check_mac_raw(const char *body, size_t len, const char *secret, size_t secret_len)
{
	static const char *const names[] = {"from", "to", "messageId", "date", "nonce", "box", "mac"};
	char *val[7] = {0};
	size_t vlen[7] = {0}, i;
	const char *p = body, *end = body + len;
	struct buf b;
	int rc = CU_EDENIED;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		size_t klen;
		char *k = eq ? url_decode(p, (size_t)(eq - p), &klen) : NULL;

		for (i = 0; k && i < 7; i++)
			if (!val[i] && !strcmp(k, names[i]))
				val[i] = url_decode(eq + 1, (size_t)(pe - eq - 1), &vlen[i]);
		free(k);
		p = amp ? amp + 1 : end;
	}
	buf_init(&b, len);
	for (i = 0; i < 7; i++)
		if (!val[i])
			goto out;
	for (i = 0; i < 6; i++)
		if (buf_append(&b, val[i], vlen[i]))
			goto out;
	if (src_check_hmac_hex(secret, secret_len, b.data ? b.data : (const uint8_t *)"", b.len, val[6], vlen[6]) ==
	    0)
		rc = 0;
out:
	buf_release(&b);
	for (i = 0; i < 7; i++)
		free(val[i]);
	return rc;
}

/* ---- box -------------------------------------------------------------- */

int th_open_box(const uint8_t *box, size_t boxlen, const uint8_t nonce[TH_NONCE_LEN],
		const uint8_t sender_pub[SRC_KEY_LEN], const uint8_t priv[SRC_KEY_LEN],
		uint8_t **plain, size_t *plain_len)
{
	uint8_t *out;

	*plain = NULL;
	*plain_len = 0;
	if (sodium_init() < 0 || boxlen < crypto_box_MACBYTES)
		return CU_ECRYPTO;
	out = malloc(boxlen - crypto_box_MACBYTES + 1);
	if (!out)
		return CU_ENOMEM;
	if (crypto_box_open_easy(out, box, boxlen, nonce, sender_pub, priv) != 0) {
		free(out);
		return CU_ECRYPTO;
	}
	*plain = out;
	*plain_len = boxlen - crypto_box_MACBYTES;
	return 0;
}

int th_unpad(const uint8_t *p, size_t n, size_t *out_len)
{
	size_t pad, i;

	if (n < 2)
		return CU_EINVAL;
	pad = p[n - 1];
	if (pad == 0 || pad >= n)
		return CU_EINVAL;
	for (i = n - pad; i < n; i++)
		if (p[i] != pad)
			return CU_EINVAL;
	*out_len = n - pad;
	return 0;
}

/* ---- content ---------------------------------------------------------- */

static int meta_hex(json_t *meta, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];

	if (n > 64)
		return -1;
	hex_encode(p, n, hex);
	return json_object_set_new(meta, key, json_string(hex));
}

/* A UTF-8 copy of p (NULL if it is not UTF-8 or has a NUL). */
static char *utf8_dup(const uint8_t *p, size_t n)
{
	return utf8_check(p, n, 0, NULL) ? strndup((const char *)p, n) : NULL;
}

/* Reads protobuf field 1 (fixed64: the message id) and field 2 (a string)
 * of the edit/delete/reaction messages: just the two fields the archive
 * needs, nothing else is interpreted. */
static void read_pb(const uint8_t *p, size_t n, const uint8_t **id, const uint8_t **text, size_t *tlen)
{
	size_t off = 0;

	*id = NULL;
	*text = NULL;
	*tlen = 0;
	while (off < n) {
		uint8_t tag = p[off++];
		uint64_t len = 0;
		unsigned shift = 0;

		if (tag == 0x09) { /* field 1, fixed64 */
			if (n - off < 8)
				return;
			*id = p + off;
			off += 8;
			continue;
		}
		if ((tag & 7) != 2) /* only length-delimited fields are skipped */
			return;
		while (off < n && shift < 35) {
			len |= (uint64_t)(p[off] & 0x7f) << shift;
			shift += 7;
			if (!(p[off++] & 0x80))
				break;
		}
		if (len > n - off)
			return;
		if (tag == 0x12) {
			*text = p + off;
			*tlen = (size_t)len;
		}
		off += (size_t)len;
	}
}

static int content(struct th_msg *m, const uint8_t *p, size_t n, json_t *meta)
{
	struct rec_view *v = &m->in.rec;
	uint8_t code = p[0];
	const uint8_t *c = p + 1, *id = NULL, *text = NULL;
	size_t cn = n - 1, i, tlen = 0;
	int bad = 0;

	v->kind = REC_OTHER;
	bad |= json_object_set_new(meta, "type_code", json_integer(code));
	for (i = 0; i < sizeof(th_types) / sizeof(th_types[0]); i++)
		if (th_types[i].code == code) {
			v->kind = th_types[i].kind;
			bad |= json_object_set_new(meta, "type", json_string(th_types[i].name));
		}
	switch (code) {
	case 0x01: /* text */
	case 0x10: /* location: "lat,long[,accuracy]" and optional name/address lines */
		m->body = utf8_dup(c, cn);
		if (!m->body)
			bad |= json_object_set_new(meta, "note", json_string("content is not UTF-8 text"));
		break;
	case 0x02: /* image: blob id (16), size (4, little endian), nonce (24) */
		if (cn >= 20) {
			bad |= meta_hex(meta, "blob_id", c, 16);
			bad |= json_object_set_new(meta, "size", json_integer((json_int_t)c[16] | (json_int_t)c[17] << 8 |
										(json_int_t)c[18] << 16 | (json_int_t)c[19] << 24));
		}
		break;
	case 0x17: { /* file: JSON */
		int dups = 0;
		json_t *j = rec_json_load((const char *)c, cn, 0, &dups), *x;

		if (dups) /* the fields show the last value; flagged */
			m->in.rec.flags |= REC_F_DUP_KEYS;
		if (json_is_object(j)) {
			if ((x = json_object_get(j, "m")) && json_is_string(x))
				bad |= json_object_set(meta, "mimetype", x);
			if ((x = json_object_get(j, "n")) && json_is_string(x))
				bad |= json_object_set(meta, "filename", x);
			if ((x = json_object_get(j, "s")) && json_is_integer(x))
				bad |= json_object_set(meta, "size", x);
			if ((x = json_object_get(j, "b")) && json_is_string(x))
				bad |= json_object_set(meta, "blob_id", x);
			if ((x = json_object_get(j, "d")) && json_is_string(x)) {
				m->body = strndup(json_string_value(x), json_string_length(x));
				if (m->body && strlen(m->body) != json_string_length(x)) {
					free(m->body);
					m->body = NULL;
				}
			}
		} else {
			bad |= json_object_set_new(meta, "note", json_string("file descriptor is not JSON"));
		}
		json_decref(j);
		break;
	}
	case 0x80: { /* delivery receipt: status, then message ids of 8 bytes */
		json_t *ids = json_array();

		if (!ids)
			return -1;
		if (cn >= 1)
			bad |= json_object_set_new(meta, "receipt_status", json_integer(c[0]));
		for (i = 1; i + 8 <= cn && i < 1 + 8 * 64; i += 8) {
			char hex[17];

			hex_encode(c + i, 8, hex);
			bad |= json_array_append_new(ids, json_string(hex));
		}
		bad |= json_object_set_new(meta, "message_ids", ids);
		break;
	}
	case 0x82: /* reaction */
	case 0x91: /* edit */
	case 0x92: /* delete */
		read_pb(c, cn, &id, &text, &tlen);
		if (id) {
			char hex[17];

			hex_encode(id, 8, hex);
			m->target = join2(m->form.from, ":", hex);
			bad |= !m->target;
		}
		if (text && code == 0x91)
			m->body = utf8_dup(text, tlen);
		break;
	default:
		break;
	}
	bad |= json_object_set_new(meta, "content_length", json_integer((json_int_t)cn));
	return bad ? -1 : 0;
}

int th_parse_callback(const char *body, size_t len, const struct src_entry *src, struct th_msg *m,
		      struct cu_err *err)
{
	struct rec_view *v = &m->in.rec;
	uint8_t *box = NULL, *plain = NULL, nonce[TH_NONCE_LEN];
	size_t boxlen, plen = 0, ulen = 0;
	const struct src_peer *peer;
	const char *why = NULL;
	json_t *meta = NULL, *auth = NULL, *rcp = NULL;
	int rc, bad = 0;

	memset(m, 0, sizeof(*m));
	if (!src->api_secret_len) {
		rc = cu_err_set(err, CU_ESTATE, "source '%s' has no API secret", src->name);
		goto out;
	}
	rc = th_form_parse(body, len, &m->form, err);
	if (rc)
		goto out;
	rc = th_check_mac(&m->form, src->api_secret, src->api_secret_len);
	if (rc) {
		cu_err_set(err, rc, rc == CU_EDENIED ? "the MAC does not match" : "MAC computation failed");
		goto out;
	}
	if (src->identity[0] && strcmp(src->identity, m->form.to)) {
		rc = cu_err_set(err, CU_EINVAL, "message for %s, but source '%s' is %s", m->form.to, src->name,
				src->identity);
		goto out;
	}
	meta = json_object();
	m->payload = malloc(len ? len : 1);
	boxlen = m->form.box_len / 2;
	box = malloc(boxlen);
	if (!meta || !m->payload || !box ||
	    !(m->event_id = join2(m->form.from, ":", m->form.message_id)) ||
	    !(m->conversation = strcmp(m->form.to, m->form.from) < 0 ? join2(m->form.to, " ", m->form.from)
								     : join2(m->form.from, " ", m->form.to))) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(m->payload, body, len);
	if (hex_decode(m->form.box, m->form.box_len, box, boxlen) ||
	    hex_decode(m->form.nonce, strlen(m->form.nonce), nonce, TH_NONCE_LEN)) {
		rc = cu_err_set(err, CU_EINVAL, "bad hex"); /* checked by th_form_parse */
		goto out;
	}

	/* Decrypt; any failure leaves the message archived encrypted. */
	peer = src_peer_find(src, m->form.from);
	if (!src->has_private_key)
		why = "the source has no private key";
	else if (!peer)
		why = "no public key for the sender in the key store";
	else if ((rc = th_open_box(box, boxlen, nonce, peer->pub, src->private_key, &plain, &plen)) == CU_ENOMEM) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	} else if (rc)
		why = "the box does not open with the configured keys";
	else if (th_unpad(plain, plen, &ulen) != 0)
		why = "invalid padding";
	rc = 0;
	if (why) {
		v->kind = REC_MESSAGE;
		v->flags |= REC_F_ENCRYPTED;
		bad |= json_object_set_new(meta, "decrypted", json_false());
		bad |= json_object_set_new(meta, "decrypt_error", json_string(why));
	} else {
		bad |= json_object_set_new(meta, "decrypted", json_true());
		bad |= content(m, plain, ulen, meta);
	}
	if (m->form.nickname) /* the exact bytes stay in the payload either way */
		bad |= utf8_valid_str(m->form.nickname)
			       ? json_object_set_new(meta, "nickname", json_string(m->form.nickname))
			       : json_object_set_new(meta, "note_nickname", json_string("nickname is not UTF-8"));
	bad |= json_object_set_new(meta, "message_id", json_string(m->form.message_id));
	auth = json_pack("{s:s, s:s, s:s, s:s}", "method", "threema-mac", "source", src->name, "identity",
			 m->form.to, "mac", m->form.mac);
	rcp = json_pack("[s]", m->form.to);
	if (bad || !auth || !rcp) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	m->meta = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	m->auth = json_dumps(auth, JSON_COMPACT | JSON_PRESERVE_ORDER);
	m->recipients = json_dumps(rcp, JSON_COMPACT);
	if (!m->meta || !m->auth || !m->recipients) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	v->flags |= REC_F_SIGNED;
	v->origin_ts = (int64_t)strtoll(m->form.date, NULL, 10) * 1000;
	v->f[RF_PAYLOAD].ptr = m->payload;
	v->f[RF_PAYLOAD].len = len;
	rec_set(v, RF_PAYLOAD_TYPE, "application/x-www-form-urlencoded");
	rec_set(v, RF_PLATFORM, "threema");
	snprintf(m->source, sizeof(m->source), "%s", src->name);
	rec_set(v, RF_SOURCE, m->source);
	rec_set(v, RF_EVENT_ID, m->event_id);
	rec_set(v, RF_CONVERSATION, m->conversation);
	rec_set(v, RF_SENDER, m->form.from);
	rec_set(v, RF_RECIPIENTS, m->recipients);
	rec_set(v, RF_BODY, m->body);
	rec_set(v, RF_TARGET, m->target);
	rec_set(v, RF_AUTH, m->auth);
	rec_set(v, RF_META, m->meta);
out:
	if (plain) {
		sodium_memzero(plain, plen);
		free(plain);
	}
	free(box);
	json_decref(meta);
	json_decref(auth);
	json_decref(rcp);
	if (rc)
		th_msg_release(m);
	return rc;
}

int th_is_rejectable(int rc, const char *body, size_t len, const struct src_entry *src, int is_decoy)
{
	return (rc == CU_EINVAL || rc == CU_ETOOBIG) && src->api_secret_len &&
	       th_check_mac_raw(body, len, src->api_secret, src->api_secret_len) == 0 && !is_decoy;
}

void th_rejected_release(struct th_rejected *r)
{
	if (!r)
		return;
	rej_release(&r->rec);
	free(r->auth);
	r->auth = NULL;
}

int th_reject_fill(struct th_msg *m, struct th_rejected *r, const struct src_entry *src, const char *body,
		   size_t len, const char *why)
{
	json_t *auth = json_pack("{s:s, s:s}", "method", "threema-mac", "source", src->name);

	r->auth = auth ? json_dumps(auth, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(auth);
	if (!r->auth || rej_fill(&m->in, &r->rec, "threema", src->name, "application/x-www-form-urlencoded", body,
				 len, "threema callback", why, r->auth, REC_F_SIGNED))
		return CU_ENOMEM;
	/* RF_SOURCE points at the source's name, which goes with the set. */
	snprintf(m->source, sizeof(m->source), "%s", src->name);
	rec_set(&m->in.rec, RF_SOURCE, m->source);
	return 0;
}
