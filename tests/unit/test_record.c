/* test_record.c - record bytes (archiver/record.h, docs/FORMAT.md
 * "Record"): fields inline and as references into the payload, the round
 * trip decode -> encode, and the refusals of malformed references. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "archiver/record.h"
#include "ingest/envelope.h"

static size_t count_of(const struct buf *b, const char *needle)
{
	size_t n = 0, k = strlen(needle), i;

	for (i = 0; i + k <= b->len; i++)
		n += !memcmp(b->data + i, needle, k);
	return n;
}

static void assert_str(const struct rec_str *s, const char *want)
{
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->ptr, want, s->len);
}

/* A generic envelope's unescaped strings are stored once, in the payload;
 * an escaped body is stored decoded, inline. Decoding gives the same
 * fields, and encoding the decoded view gives the same bytes. */
static void test_envelope_fields_refer_to_payload(void **state)
{
	const char *text = "{\"platform\":\"matrix\",\"conversation\":\"!raum:bund.example\","
			   "\"sender\":\"@amt:bund.example\",\"ts\":1704067682980,"
			   "\"id\":\"$ereignis\",\"body\":\"Antrag liegt vor\",\"kind\":\"message\"}";
	const char *escaped = "{\"platform\":\"matrix\",\"conversation\":\"!raum:bund.example\","
			      "\"sender\":\"@amt:bund.example\",\"ts\":1,\"id\":\"$e2\","
			      "\"body\":\"Gr\\u00fc\\u00dfe\"}";
	struct env_msg m;
	struct rec_view v;
	struct buf b, again;
	struct cu_err err;
	(void)state;

	buf_init(&b, REC_MAX_BYTES);
	buf_init(&again, REC_MAX_BYTES);
	assert_int_equal(env_parse(text, strlen(text), "hook", NULL, &m, &err), 0);
	assert_int_equal(rec_encode(&m.in.rec, &b), 0);
	assert_int_equal(count_of(&b, "!raum:bund.example"), 1);
	assert_int_equal(count_of(&b, "Antrag liegt vor"), 1);
	assert_int_equal(count_of(&b, "@amt:bund.example"), 1);
	assert_true(b.len < REC_HEADER_LEN + strlen(text) + 60);
	assert_int_equal(rec_decode(b.data, b.len, &v, &err), 0);
	assert_str(&v.f[RF_PLATFORM], "matrix");
	assert_str(&v.f[RF_CONVERSATION], "!raum:bund.example");
	assert_str(&v.f[RF_SENDER], "@amt:bund.example");
	assert_str(&v.f[RF_EVENT_ID], "$ereignis");
	assert_str(&v.f[RF_BODY], "Antrag liegt vor");
	assert_str(&v.f[RF_SOURCE], "hook");
	assert_str(&v.f[RF_PAYLOAD], text);
	assert_int_equal(rec_encode(&v, &again), 0);
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, b.data, b.len);
	env_release(&m);

	buf_reset(&b);
	assert_int_equal(env_parse(escaped, strlen(escaped), "hook", NULL, &m, &err), 0);
	assert_int_equal(rec_encode(&m.in.rec, &b), 0);
	assert_int_equal(count_of(&b, "Gr\xc3\xbc\xc3\x9f" "e"), 1); /* decoded, inline */
	assert_int_equal(rec_decode(b.data, b.len, &v, &err), 0);
	assert_str(&v.f[RF_BODY], "Gr\xc3\xbc\xc3\x9f" "e");
	assert_str(&v.f[RF_CONVERSATION], "!raum:bund.example");
	env_release(&m);
	buf_release(&b);
	buf_release(&again);
}

/* Hand-built records: header, then the given field bytes. */
static int decode_fields(const uint8_t *fields, size_t n, struct rec_view *v, struct cu_err *err)
{
	uint8_t r[REC_HEADER_LEN + 64] = {REC_VERSION, REC_MESSAGE};

	memcpy(r + REC_HEADER_LEN, fields, n);
	cu_err_clear(err);
	return rec_decode(r, REC_HEADER_LEN + n, v, err);
}

static void test_malformed_references(void **state)
{
	/* body = payload[2..5) of the 5-byte payload "abcde" */
	const uint8_t ok[] = {RF_BODY | REC_TAG_REF, 2, 3, RF_PAYLOAD, 5, 'a', 'b', 'c', 'd', 'e'};
	const uint8_t past[] = {RF_BODY | REC_TAG_REF, 3, 3, RF_PAYLOAD, 5, 'a', 'b', 'c', 'd', 'e'};
	const uint8_t far[] = {RF_BODY | REC_TAG_REF, 0xff, 0xff, 0xff, 0xff, 0x0f, 1,
			       RF_PAYLOAD, 1, 'a'};
	const uint8_t no_payload[] = {RF_BODY | REC_TAG_REF, 0, 1};
	const uint8_t empty[] = {RF_BODY | REC_TAG_REF, 0, 0, RF_PAYLOAD, 1, 'a'};
	const uint8_t self[] = {RF_PAYLOAD | REC_TAG_REF, 0, 1};
	const uint8_t truncated[] = {RF_BODY | REC_TAG_REF, 0x80};
	const uint8_t twice[] = {RF_BODY, 1, 'x', RF_BODY | REC_TAG_REF, 0, 1, RF_PAYLOAD, 1, 'a'};
	const uint8_t high_bit[] = {RF_BODY | 0x80, 1, 'x'};
	struct rec_view v;
	struct cu_err err;
	(void)state;

	assert_int_equal(decode_fields(ok, sizeof(ok), &v, &err), 0);
	assert_str(&v.f[RF_BODY], "cde");
	assert_int_equal(decode_fields(past, sizeof(past), &v, &err), CU_ECORRUPT);
	assert_non_null(strstr(err.msg, "refers past the payload"));
	assert_int_equal(decode_fields(far, sizeof(far), &v, &err), CU_ECORRUPT);
	assert_int_equal(decode_fields(no_payload, sizeof(no_payload), &v, &err), CU_ECORRUPT);
	assert_int_equal(decode_fields(empty, sizeof(empty), &v, &err), CU_ECORRUPT);
	assert_int_equal(decode_fields(self, sizeof(self), &v, &err), CU_ECORRUPT);
	assert_int_equal(decode_fields(truncated, sizeof(truncated), &v, &err), CU_ECORRUPT);
	assert_int_equal(decode_fields(twice, sizeof(twice), &v, &err), CU_ECORRUPT);
	assert_int_equal(decode_fields(high_bit, sizeof(high_bit), &v, &err), CU_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_fields_refer_to_payload),
		cmocka_unit_test(test_malformed_references),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
