/* test_threema.c - Gateway callbacks built with real NaCl boxes
 * (libsodium): text decrypted and archived, the MAC checked (and refused
 * when wrong), undecryptable boxes archived flagged, file / receipt / edit
 * metadata, padding rules, form decoding and its failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "ingest/threema.h"

#define SECRET "Wq3s9ZhZ2Zz7kLpQ"

struct keys {
	uint8_t gw_pub[32], gw_priv[32];      /* the gateway identity */
	uint8_t user_pub[32], user_priv[32];  /* the citizen's identity */
};

static struct keys K;

static int field_eq(const struct rec_view *v, enum rec_field f, const char *s)
{
	return s ? v->f[f].len == strlen(s) && !memcmp(v->f[f].ptr, s, v->f[f].len) : v->f[f].len == 0;
}

#define FIELD(v, f, s) assert_true(field_eq((v), (f), (s)))

static int setup_keys(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_box_keypair(K.gw_pub, K.gw_priv);
	crypto_box_keypair(K.user_pub, K.user_priv);
	return 0;
}

static void source(struct src_entry *e, int with_peer)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "threema");
	e->type = SRC_THREEMA;
	snprintf(e->identity, sizeof(e->identity), "*AMTGW01");
	e->api_secret_len = strlen(SECRET);
	memcpy(e->api_secret, SECRET, e->api_secret_len + 1);
	e->has_private_key = 1;
	memcpy(e->private_key, K.gw_priv, 32);
	if (with_peer) {
		e->peers = calloc(1, sizeof(*e->peers));
		assert_non_null(e->peers);
		memcpy(e->peers[0].id, "ECHOECHO", 9);
		memcpy(e->peers[0].pub, with_peer == 2 ? K.gw_pub /* wrong key */ : K.user_pub, 32);
		e->npeers = 1;
	}
}

/* Builds the form the Gateway would POST for plaintext (type byte and
 * content, padded here with pad bytes unless pad is 0). */
static char *callback(const uint8_t *plain, size_t n, uint8_t pad, const char *mac_override, const char *extra)
{
	uint8_t msg[9000], nonce[24], box[9100], mac[32];
	char nonce_hex[49], *box_hex, mac_hex[65], *out, *macin;
	size_t len = n, boxlen, i;
	const char *from = "ECHOECHO", *to = "*AMTGW01", *mid = "0123456789abcdef", *date = "1714564800";

	memcpy(msg, plain, n);
	for (i = 0; i < pad; i++)
		msg[len++] = pad;
	randombytes_buf(nonce, sizeof(nonce));
	assert_int_equal(crypto_box_easy(box, msg, len, nonce, K.gw_pub, K.user_priv), 0);
	boxlen = len + crypto_box_MACBYTES;
	box_hex = malloc(2 * boxlen + 1);
	assert_non_null(box_hex);
	hex_encode(box, boxlen, box_hex);
	hex_encode(nonce, 24, nonce_hex);
	assert_true(asprintf(&macin, "%s%s%s%s%s%s", from, to, mid, date, nonce_hex, box_hex) > 0);
	assert_int_equal(src_hmac_sha256(SECRET, strlen(SECRET), macin, strlen(macin), mac), 0);
	hex_encode(mac, 32, mac_hex);
	assert_true(asprintf(&out, "from=%s&to=%%2AAMTGW01&messageId=%s&date=%s&nonce=%s&box=%s&mac=%s%s", from,
			     mid, date, nonce_hex, box_hex, mac_override ? mac_override : mac_hex,
			     extra ? extra : "") > 0);
	free(macin);
	free(box_hex);
	return out;
}

static void test_text(void **state)
{
	static const uint8_t plain[] = "\x01Guten Tag, ich habe eine Frage zu meinem Antrag \xc3\xa4\xc3\xb6\xc3\xbc";
	struct src_entry src;
	struct th_msg m;
	struct cu_err err;
	char *form;
	const struct rec_view *v;

	(void)state;
	cu_err_clear(&err);
	source(&src, 1);
	form = callback(plain, sizeof(plain) - 1, 37, NULL, "&nickname=B%C3%BCrger+Meier");
	cu_err_clear(&err);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), 0);
	v = &m.in.rec;
	assert_int_equal(v->kind, REC_MESSAGE);
	assert_int_equal(v->flags, REC_F_SIGNED);
	FIELD(v, RF_PLATFORM, "threema");
	FIELD(v, RF_SOURCE, "threema");
	FIELD(v, RF_EVENT_ID, "ECHOECHO:0123456789abcdef");
	FIELD(v, RF_CONVERSATION, "*AMTGW01 ECHOECHO");
	FIELD(v, RF_SENDER, "ECHOECHO");
	FIELD(v, RF_RECIPIENTS, "[\"*AMTGW01\"]");
	FIELD(v, RF_BODY, (const char *)plain + 1);
	FIELD(v, RF_PAYLOAD, form);
	FIELD(v, RF_PAYLOAD_TYPE, "application/x-www-form-urlencoded");
	assert_int_equal(v->origin_ts, 1714564800000LL);
	assert_non_null(strstr(m.meta, "\"decrypted\":true"));
	assert_non_null(strstr(m.meta, "\"type\":\"text\""));
	assert_non_null(strstr(m.meta, "\"nickname\":\"B\xc3\xbcrger Meier\""));
	assert_non_null(strstr(m.auth, "\"method\":\"threema-mac\""));
	th_msg_release(&m);
	free(form);
	src_entry_release(&src);
}

static void test_mac_refused(void **state)
{
	static const uint8_t plain[] = "\x01hello";
	struct src_entry src;
	struct th_msg m;
	struct cu_err err;
	char *form, *p;

	(void)state;
	cu_err_clear(&err);
	source(&src, 1);
	/* a wrong MAC */
	form = callback(plain, 6, 5, "0000000000000000000000000000000000000000000000000000000000000000", NULL);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), CU_EDENIED);
	free(form);
	/* a changed box under the right MAC */
	form = callback(plain, 6, 5, NULL, NULL);
	p = strstr(form, "box=") + 4;
	*p = *p == 'a' ? 'b' : 'a';
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), CU_EDENIED);
	free(form);
	/* the right MAC under another secret */
	form = callback(plain, 6, 5, NULL, NULL);
	memcpy(src.api_secret, "X", 1);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), CU_EDENIED);
	/* no secret at all */
	src.api_secret_len = 0;
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), CU_ESTATE);
	free(form);
	src_entry_release(&src);
}

/* The lenient MAC check decides whether a form th_form_parse refuses is
 * still the Gateway's (archived as "rejected") or not (refused). */
static void test_mac_raw(void **state)
{
	static const uint8_t plain[] = "\x01hello";
	char macin[256], mac_hex[65], *form, *p;
	uint8_t mac[32];
	const char *odd;

	(void)state;
	form = callback(plain, 6, 5, NULL, NULL);
	assert_int_equal(th_check_mac_raw(form, strlen(form), SECRET, strlen(SECRET)), 0);
	assert_int_equal(th_check_mac_raw(form, strlen(form), "other", 5), CU_EDENIED);
	p = strstr(form, "box=") + 4;
	*p = *p == 'a' ? 'b' : 'a';
	assert_int_equal(th_check_mac_raw(form, strlen(form), SECRET, strlen(SECRET)), CU_EDENIED);
	free(form);
	/* fields in no valid format, but under the Gateway's MAC */
	snprintf(macin, sizeof(macin), "%s", "ECHOECHO*AMTGW01not-hexyesterday00zz");
	assert_int_equal(src_hmac_sha256(SECRET, strlen(SECRET), macin, strlen(macin), mac), 0);
	hex_encode(mac, 32, mac_hex);
	form = NULL;
	assert_true(asprintf(&form, "from=ECHOECHO&to=%%2AAMTGW01&messageId=not-hex&date=yesterday&nonce=00&box=zz"
				    "&mac=%s&date=later", mac_hex) > 0);
	assert_int_equal(th_check_mac_raw(form, strlen(form), SECRET, strlen(SECRET)), 0);
	free(form);
	/* a field missing */
	odd = "from=ECHOECHO&to=%2AAMTGW01&messageId=x&date=1&nonce=00&mac=00";
	assert_int_equal(th_check_mac_raw(odd, strlen(odd), SECRET, strlen(SECRET)), CU_EDENIED);
	assert_int_equal(th_check_mac_raw("", 0, SECRET, strlen(SECRET)), CU_EDENIED);
}

static void test_undecryptable_kept(void **state)
{
	static const uint8_t plain[] = "\x01secret";
	struct src_entry src;
	struct th_msg m;
	struct cu_err err;
	char *form;
	int which;

	(void)state;
	cu_err_clear(&err);
	for (which = 0; which < 4; which++) {
		source(&src, which == 0 ? 0 : which == 1 ? 2 : 1);
		if (which == 3)
			src.has_private_key = 0;
		form = callback(plain, 7, which == 2 ? 0 : 3, NULL, NULL);
		/* which == 2: a valid box whose last byte 't' (116) is no padding */
		assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), 0);
		assert_int_equal(m.in.rec.kind, REC_MESSAGE);
		assert_int_equal(m.in.rec.flags, REC_F_ENCRYPTED | REC_F_SIGNED);
		FIELD(&m.in.rec, RF_BODY, NULL);
		FIELD(&m.in.rec, RF_EVENT_ID, "ECHOECHO:0123456789abcdef");
		assert_non_null(strstr(m.meta, "\"decrypted\":false"));
		assert_non_null(strstr(m.meta, which == 0   ? "no public key"
						: which == 1 ? "does not open"
						: which == 2 ? "invalid padding"
							     : "no private key"));
		th_msg_release(&m);
		free(form);
		src_entry_release(&src);
	}
}

static void test_other_types(void **state)
{
	static const char file_json[] = "\x17{\"b\":\"0011\",\"k\":\"aa\",\"m\":\"application/pdf\",\"n\":\"Antrag.pdf\","
					"\"s\":48213,\"d\":\"Mein Antrag\",\"j\":0}";
	uint8_t receipt[1 + 1 + 16], edit[64];
	struct src_entry src;
	struct th_msg m;
	struct cu_err err;
	char *form;
	size_t n;

	(void)state;
	cu_err_clear(&err);
	source(&src, 1);
	form = callback((const uint8_t *)file_json, sizeof(file_json) - 1, 1, NULL, NULL);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), 0);
	assert_int_equal(m.in.rec.kind, REC_ATTACHMENT);
	FIELD(&m.in.rec, RF_BODY, "Mein Antrag");
	assert_non_null(strstr(m.meta, "\"mimetype\":\"application/pdf\""));
	assert_non_null(strstr(m.meta, "\"filename\":\"Antrag.pdf\""));
	assert_non_null(strstr(m.meta, "\"size\":48213"));
	assert_false(m.in.rec.flags & REC_F_DUP_KEYS);
	th_msg_release(&m);
	free(form);

	/* A descriptor naming a member twice: the last value, flagged. */
	{
		static const char dup_json[] = "\x17{\"b\":\"0011\",\"m\":\"application/pdf\",\"d\":\"harmless\","
					       "\"n\":\"Antrag.pdf\",\"d\":\"Mein Antrag\"}";

		form = callback((const uint8_t *)dup_json, sizeof(dup_json) - 1, 1, NULL, NULL);
		assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), 0);
		FIELD(&m.in.rec, RF_BODY, "Mein Antrag");
		assert_true(m.in.rec.flags & REC_F_DUP_KEYS);
		th_msg_release(&m);
		free(form);
	}

	receipt[0] = 0x80;
	receipt[1] = 2;
	memcpy(receipt + 2, "\x01\x02\x03\x04\x05\x06\x07\x08\xaa\xbb\xcc\xdd\xee\xff\x00\x11", 16);
	form = callback(receipt, sizeof(receipt), 8, NULL, NULL);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), 0);
	assert_int_equal(m.in.rec.kind, REC_OTHER);
	assert_non_null(strstr(m.meta, "\"type\":\"delivery-receipt\""));
	assert_non_null(strstr(m.meta, "\"receipt_status\":2"));
	assert_non_null(strstr(m.meta, "\"message_ids\":[\"0102030405060708\",\"aabbccddeeff0011\"]"));
	th_msg_release(&m);
	free(form);

	/* edit: protobuf {1: fixed64 message id, 2: "new text"} */
	n = 0;
	edit[n++] = 0x91;
	edit[n++] = 0x09;
	memcpy(edit + n, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	n += 8;
	edit[n++] = 0x12;
	edit[n++] = 8;
	memcpy(edit + n, "korrekt!", 8);
	n += 8;
	form = callback(edit, n, 2, NULL, NULL);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), 0);
	assert_int_equal(m.in.rec.kind, REC_EDIT);
	FIELD(&m.in.rec, RF_TARGET, "ECHOECHO:1122334455667788");
	FIELD(&m.in.rec, RF_BODY, "korrekt!");
	th_msg_release(&m);
	free(form);

	/* an unknown type: metadata only */
	edit[0] = 0x77;
	form = callback(edit, 5, 2, NULL, NULL);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), 0);
	assert_int_equal(m.in.rec.kind, REC_OTHER);
	assert_non_null(strstr(m.meta, "\"type_code\":119"));
	FIELD(&m.in.rec, RF_BODY, NULL);
	th_msg_release(&m);
	free(form);
	src_entry_release(&src);
}

static void test_identity_mismatch(void **state)
{
	static const uint8_t plain[] = "\x01hi";
	struct src_entry src;
	struct th_msg m;
	struct cu_err err;
	char *form;

	(void)state;
	cu_err_clear(&err);
	source(&src, 1);
	memcpy(src.identity, "*OTHERGW", 9);
	form = callback(plain, 3, 4, NULL, NULL);
	assert_int_equal(th_parse_callback(form, strlen(form), &src, &m, &err), CU_EINVAL);
	free(form);
	src_entry_release(&src);
}

static void test_unpad(void **state)
{
	size_t n = 0;

	(void)state;
	assert_int_equal(th_unpad((const uint8_t *)"\x01\x61\x01", 3, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(th_unpad((const uint8_t *)"\x01\x61\x02\x02", 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(th_unpad((const uint8_t *)"\x01\x61\x03\x02", 4, &n), CU_EINVAL); /* unequal bytes */
	assert_int_equal(th_unpad((const uint8_t *)"\x01\x00", 2, &n), CU_EINVAL);         /* zero */
	assert_int_equal(th_unpad((const uint8_t *)"\x02\x02", 2, &n), CU_EINVAL);         /* no type byte left */
	assert_int_equal(th_unpad((const uint8_t *)"\x01", 1, &n), CU_EINVAL);
}

static void test_form_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"from=ECHOECHO",
		"from=ECHOECHO&to=*AMTGW01&messageId=0123456789abcdef&date=1&nonce=" /* box, mac missing */
		"000000000000000000000000000000000000000000000000",
		"from=echoecho&to=*AMTGW01",
		"from=ECHOECHO&from=ECHOECHO",
		"from=ECH%4",
		"from=ECH%ZZECHO",
		"from=ECHO%00ECHO",
		"messageId=0123",
		"date=-5",
		"date=12a",
		"nonce=xyz",
		"box=abc",
		"mac=00",
	};
	struct th_form f;
	struct cu_err err;
	size_t i;
	char good[1024];

	(void)state;
	cu_err_clear(&err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cu_err_clear(&err);
		assert_int_equal(th_form_parse(bad[i], strlen(bad[i]), &f, &err), CU_EINVAL);
		assert_true(err.msg[0] != '\0');
		assert_null(f.box);
	}
	snprintf(good, sizeof(good),
		 "unknown=1&&from=ECHOECHO&to=%%2aAMTGW01&messageId=0123456789ABCDEF&date=1714564800&nonce=%048d"
		 "&box=%064d&mac=%064d&nickname=A+B",
		 0, 0, 0);
	assert_int_equal(th_form_parse(good, strlen(good), &f, &err), 0);
	assert_string_equal(f.to, "*AMTGW01");
	assert_string_equal(f.nickname, "A B");
	assert_int_equal(f.box_len, 64);
	th_form_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_mac_refused),
		cmocka_unit_test(test_mac_raw),
		cmocka_unit_test(test_undecryptable_kept),
		cmocka_unit_test(test_other_types),
		cmocka_unit_test(test_identity_mismatch),
		cmocka_unit_test(test_unpad),
		cmocka_unit_test(test_form_errors),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
