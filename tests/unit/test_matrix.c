/* test_matrix.c - Application Service transactions -> records: every
 * event type and its kind, state told by state_key, relations (edit,
 * reply, thread, reaction, redaction), encrypted events flagged, payloads
 * byte-exact slices of the body, the transaction's SHA-256 and txnId in
 * auth, bad bodies refused, and duplicates skipped by the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/record_json.h"
#include "archiver/store.h"
#include "common/encode.h"
#include "ingest/matrix.h"
#include "tests/unit/test_util.h"

/* A transaction as Synapse writes it, with odd spacing and escapes that a
 * re-serialisation would change. */
static const char TXN[] =
	"{\"events\": [\n"
	" {\"type\":\"m.room.message\",\"room_id\":\"!r:example.org\",\"sender\":\"@alice:example.org\","
	"\"event_id\":\"$m1\",\"origin_server_ts\":1714564800000,"
	"\"content\":{\"msgtype\":\"m.text\",\"body\":\"Gr\\u00fc\\u00dfe aus dem Amt\"}},\n"
	" {\"type\":\"m.room.message\",\"room_id\":\"!r:example.org\",\"sender\":\"@bob:example.org\","
	"\"event_id\":\"$m2\",\"origin_server_ts\":1714564801000,\"content\":{\"msgtype\":\"m.notice\","
	"\"body\":\"> <@alice:example.org> hi\\n\\nreply text\",\"m.relates_to\":{\"m.in_reply_to\":{\"event_id\":\"$m1\"}}}},\n"
	" {\"type\":\"m.room.message\",\"room_id\":\"!r:example.org\",\"sender\":\"@alice:example.org\","
	"\"event_id\":\"$m3\",\"origin_server_ts\":1714564802000,\"content\":{\"msgtype\":\"m.text\",\"body\":\"* fixed\","
	"\"m.new_content\":{\"msgtype\":\"m.text\",\"body\":\"fixed\"},\"m.relates_to\":{\"rel_type\":\"m.replace\",\"event_id\":\"$m1\"}}},\n"
	" {\"type\":\"m.reaction\",\"room_id\":\"!r:example.org\",\"sender\":\"@bob:example.org\",\"event_id\":\"$m4\","
	"\"origin_server_ts\":1714564803000,\"content\":{\"m.relates_to\":{\"rel_type\":\"m.annotation\",\"event_id\":\"$m1\",\"key\":\"\\ud83d\\udc4d\"}}},\n"
	" {\"type\":\"m.room.redaction\",\"room_id\":\"!r:example.org\",\"sender\":\"@alice:example.org\",\"event_id\":\"$m5\","
	"\"origin_server_ts\":1714564804000,\"redacts\":\"$m2\",\"content\":{\"reason\":\"Tippfehler\"}},\n"
	" {\"type\":\"m.room.message\",\"room_id\":\"!r:example.org\",\"sender\":\"@bob:example.org\",\"event_id\":\"$m6\","
	"\"origin_server_ts\":1714564805000,\"content\":{\"msgtype\":\"m.text\",\"body\":\"in thread\","
	"\"m.relates_to\":{\"rel_type\":\"m.thread\",\"event_id\":\"$m1\",\"is_falling_back\":true,\"m.in_reply_to\":{\"event_id\":\"$m3\"}}}},\n"
	" {\"type\":\"m.room.encrypted\",\"room_id\":\"!e:example.org\",\"sender\":\"@carol:example.org\",\"event_id\":\"$m7\","
	"\"origin_server_ts\":1714564806000,\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\",\"ciphertext\":\"AwgAEnAC\","
	"\"session_id\":\"sess\",\"device_id\":\"DEV\",\"sender_key\":\"key\"}},\n"
	" {\"type\":\"m.room.member\",\"room_id\":\"!r:example.org\",\"sender\":\"@dave:example.org\",\"event_id\":\"$m8\","
	"\"origin_server_ts\":1714564807000,\"state_key\":\"@dave:example.org\",\"content\":{\"membership\":\"join\",\"displayname\":\"Dave\"}},\n"
	" {\"type\":\"m.room.topic\",\"room_id\":\"!r:example.org\",\"sender\":\"@alice:example.org\",\"event_id\":\"$m9\","
	"\"origin_server_ts\":1714564808000,\"state_key\":\"\",\"content\":{\"topic\":\"Bauantrag 2024/117\"}},\n"
	" {\"type\":\"m.room.message\",\"room_id\":\"!r:example.org\",\"sender\":\"@alice:example.org\",\"event_id\":\"$m10\","
	"\"origin_server_ts\":1714564809000,\"content\":{\"msgtype\":\"m.image\",\"body\":\"plan.png\",\"url\":\"mxc://example.org/abc\","
	"\"info\":{\"mimetype\":\"image/png\",\"size\":12345}}},\n"
	" {\"type\":\"m.room.name\",\"room_id\":\"!r:example.org\",\"sender\":\"@alice:example.org\",\"event_id\":\"$m11\","
	"\"origin_server_ts\":1714564810000,\"content\":{\"name\":\"not state: no state_key\"}},\n"
	" {\"type\":\"org.example.custom\",\"room_id\":\"!r:example.org\",\"sender\":\"@x:example.org\",\"state_key\":\"k\","
	"\"event_id\":\"$m12\",\"origin_server_ts\":1714564811000,\"content\":{\"body\":\"custom state\"}},\n"
	" {\"type\":\"m.room.message\",\"room_id\":\"!r:example.org\",\"sender\":\"@x:example.org\","
	"\"origin_server_ts\":1714564812000,\"content\":{\"msgtype\":\"m.text\",\"body\":\"no id\"}},\n"
	" [1,2,3]\n"
	"], \"ephemeral\": [{\"type\":\"m.typing\"}]}";

static size_t field_eq(const struct rec_view *v, enum rec_field f, const char *s)
{
	return s ? v->f[f].len == strlen(s) && !memcmp(v->f[f].ptr, s, v->f[f].len) : v->f[f].len == 0;
}

#define FIELD(v, f, s) assert_true(field_eq((v), (f), (s)))

static const struct rec_view *ev(struct mx_txn *t, size_t i)
{
	assert_true(i < t->n);
	return &t->ev[i].in.rec;
}

static void test_every_kind(void **state)
{
	struct mx_txn t;
	struct cu_err err;
	const struct rec_view *v;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(mx_parse_txn(TXN, sizeof(TXN) - 1, "synapse", "txn42", "hs_token", &t, &err), 0);
	assert_int_equal(t.n, 14);

	v = ev(&t, 0);
	assert_int_equal(v->kind, REC_MESSAGE);
	assert_int_equal(v->flags, 0);
	FIELD(v, RF_PLATFORM, "matrix");
	FIELD(v, RF_SOURCE, "synapse");
	FIELD(v, RF_CONVERSATION, "!r:example.org");
	FIELD(v, RF_SENDER, "@alice:example.org");
	FIELD(v, RF_EVENT_ID, "$m1");
	FIELD(v, RF_BODY, "Gr\xc3\xbc\xc3\x9f" "e aus dem Amt");
	FIELD(v, RF_PAYLOAD_TYPE, "application/json");
	assert_int_equal(v->origin_ts, 1714564800000LL);

	v = ev(&t, 1); /* reply */
	assert_int_equal(v->kind, REC_MESSAGE);
	FIELD(v, RF_REPLY_TO, "$m1");
	FIELD(v, RF_TARGET, NULL);

	v = ev(&t, 2); /* edit: the new text is the body */
	assert_int_equal(v->kind, REC_EDIT);
	FIELD(v, RF_TARGET, "$m1");
	FIELD(v, RF_BODY, "fixed");

	v = ev(&t, 3); /* reaction */
	assert_int_equal(v->kind, REC_REACTION);
	FIELD(v, RF_TARGET, "$m1");
	FIELD(v, RF_BODY, "\xf0\x9f\x91\x8d");

	v = ev(&t, 4); /* redaction: a new record pointing at the original */
	assert_int_equal(v->kind, REC_REDACTION);
	FIELD(v, RF_TARGET, "$m2");
	FIELD(v, RF_BODY, "Tippfehler");

	v = ev(&t, 5); /* thread; the fallback in_reply_to is not a reply */
	assert_int_equal(v->kind, REC_MESSAGE);
	FIELD(v, RF_THREAD, "$m1");
	FIELD(v, RF_REPLY_TO, NULL);
	FIELD(v, RF_TARGET, NULL);

	v = ev(&t, 6); /* encrypted: flagged, no body, ciphertext kept in the payload */
	assert_int_equal(v->kind, REC_MESSAGE);
	assert_int_equal(v->flags, REC_F_ENCRYPTED);
	FIELD(v, RF_BODY, NULL);
	assert_non_null(memmem(v->f[RF_PAYLOAD].ptr, v->f[RF_PAYLOAD].len, "AwgAEnAC", 8));
	assert_non_null(strstr(t.ev[6].meta, "\"algorithm\":\"m.megolm.v1.aes-sha2\""));

	v = ev(&t, 7); /* membership */
	assert_int_equal(v->kind, REC_MEMBERSHIP);
	FIELD(v, RF_BODY, "join @dave:example.org");
	assert_non_null(strstr(t.ev[7].meta, "\"state_key\":\"@dave:example.org\""));

	v = ev(&t, 8); /* topic, state_key "" is still state */
	assert_int_equal(v->kind, REC_STATE);
	FIELD(v, RF_BODY, "Bauantrag 2024/117");

	v = ev(&t, 9); /* image */
	assert_int_equal(v->kind, REC_ATTACHMENT);
	FIELD(v, RF_BODY, "plan.png");
	assert_non_null(strstr(t.ev[9].meta, "\"url\":\"mxc://example.org/abc\""));
	assert_non_null(strstr(t.ev[9].meta, "\"size\":12345"));

	v = ev(&t, 10); /* m.room.name without state_key: not state */
	assert_int_equal(v->kind, REC_OTHER);

	v = ev(&t, 11); /* any type with a state_key: state */
	assert_int_equal(v->kind, REC_STATE);

	v = ev(&t, 12); /* no event_id: a stable id from the transaction */
	FIELD(v, RF_EVENT_ID, "txn:txn42:12");
	FIELD(v, RF_BODY, "no id");

	v = ev(&t, 13); /* not an object: kept as other */
	assert_int_equal(v->kind, REC_OTHER);
	FIELD(v, RF_PAYLOAD, "[1,2,3]");
	FIELD(v, RF_EVENT_ID, "txn:txn42:13");
	mx_txn_release(&t);
}

/* The payload of each event is the exact bytes of the body (escapes and
 * spacing untouched), and auth names the transaction and its hash. */
static void test_payload_exact_and_auth(void **state)
{
	struct mx_txn t;
	struct cu_err err;
	uint8_t h[HASH_LEN];
	char hex[2 * HASH_LEN + 1], want[256];
	const char *p = TXN;
	size_t i;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(mx_parse_txn(TXN, sizeof(TXN) - 1, "synapse", "txn42", "access_token", &t, &err), 0);
	for (i = 0; i < t.n; i++) {
		const struct rec_view *v = &t.ev[i].in.rec;
		const char *at = memmem(p, sizeof(TXN) - 1 - (size_t)(p - TXN), v->f[RF_PAYLOAD].ptr,
					v->f[RF_PAYLOAD].len);

		assert_non_null(at);
		assert_true(at >= p);
		p = at + v->f[RF_PAYLOAD].len; /* in order, not overlapping */
		/* each slice is exactly one value: it starts with '{' or '[' */
		assert_true(v->f[RF_PAYLOAD].ptr[0] == '{' || v->f[RF_PAYLOAD].ptr[0] == '[');
	}
	assert_non_null(strstr(t.ev[0].payload, "Gr\\u00fc\\u00dfe"));
	assert_int_equal(hash_sha256(TXN, sizeof(TXN) - 1, h), 0);
	assert_memory_equal(h, t.sha256, HASH_LEN);
	hex_encode(h, HASH_LEN, hex);
	snprintf(want, sizeof(want),
		 "{\"method\":\"access_token\",\"source\":\"synapse\",\"txn_id\":\"txn42\",\"txn_sha256\":\"%s\",\"event_index\":3}",
		 hex);
	assert_string_equal(t.ev[3].auth, want);
	mx_txn_release(&t);
}

/* A body the homeserver sent (its token checked) is never refused for
 * what it holds, or the homeserver would resend it for ever: a body that
 * is not a transaction is one "rejected" record of the whole body, an
 * event over the cap a "rejected" record of its bytes beside the others
 * (issue 15, item 12). */
static void test_bad_bodies(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"events\": {}}", "{\"events\": [1,]}",
		"{\"events\": []} trailing", "{\"events\": [], \"events\": []}", "{\"events\": [{]}",
		"\"events\"",
	};
	struct mx_txn t;
	struct cu_err err;
	struct buf big;
	size_t i;

	(void)state;
	cu_err_clear(&err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct rec_view *v;

		cu_err_clear(&err);
		assert_int_equal(mx_parse_txn(bad[i], strlen(bad[i]), "s", "t", "hs_token", &t, &err), 0);
		assert_int_equal(t.n, 1);
		assert_int_equal(t.rejected, 1);
		v = &t.ev[0].in.rec;
		assert_int_equal(v->kind, REC_REJECTED);
		assert_int_equal(v->f[RF_PAYLOAD].len, strlen(bad[i]));
		assert_int_equal(strncmp(v->f[RF_EVENT_ID].ptr, "rejected:", 9), 0);
		assert_non_null(strstr(v->f[RF_META].ptr, "\"matrix transaction body\""));
		assert_non_null(strstr(v->f[RF_AUTH].ptr, "\"txn_sha256\""));
		mx_txn_release(&t);
	}
	/* an event larger than any legal one, between two good ones */
	buf_init(&big, MX_MAX_BODY);
	assert_int_equal(buf_append_str(&big, "{\"events\":[{\"type\":\"m.room.message\",\"event_id\":\"$a\"},"
					      "{\"type\":\"m.room.message\",\"event_id\":\"$b\",\"content\":{\"body\":\""),
			 0);
	for (i = 0; i < REC_MAX_BYTES / 2; i++)
		assert_int_equal(buf_append_byte(&big, 'x'), 0);
	assert_int_equal(buf_append_str(&big, "\"}},{\"type\":\"m.room.message\",\"event_id\":\"$c\"}]}"), 0);
	assert_int_equal(mx_parse_txn((const char *)big.data, big.len, "s", "t", "hs_token", &t, &err), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.rejected, 1);
	assert_int_equal(t.ev[0].in.rec.kind, REC_MESSAGE);
	assert_int_equal(t.ev[1].in.rec.kind, REC_REJECTED);
	assert_int_equal(t.ev[1].in.rec.f[RF_PAYLOAD].len, REC_MAX_BYTES / 2 + 63);
	assert_non_null(strstr(t.ev[1].in.rec.f[RF_AUTH].ptr, "\"event_index\":1"));
	assert_int_equal(t.ev[2].in.rec.kind, REC_MESSAGE);
	mx_txn_release(&t);
	/* a body beyond what a record holds: kept up to the cap, and says so */
	buf_reset(&big);
	for (i = 0; i < REC_MAX_BYTES; i++)
		assert_int_equal(buf_append_byte(&big, '['), 0);
	assert_int_equal(mx_parse_txn((const char *)big.data, big.len, "s", "t", "hs_token", &t, &err), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.ev[0].in.rec.f[RF_PAYLOAD].len, REJ_MAX_PAYLOAD);
	assert_non_null(strstr(t.ev[0].in.rec.f[RF_META].ptr, "\"truncated\":true"));
	mx_txn_release(&t);
	buf_release(&big);
	/* a missing or overlong txnId */
	assert_int_equal(mx_parse_txn("{\"events\":[]}", 13, "s", "", "hs_token", &t, &err), CU_EINVAL);
	{
		char longid[300];

		memset(longid, 'a', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = '\0';
		assert_int_equal(mx_parse_txn("{\"events\":[]}", 13, "s", longid, "hs_token", &t, &err), CU_EINVAL);
	}
}

static void test_empty_and_members_order(void **state)
{
	struct mx_txn t;
	struct cu_err err;
	static const char body[] = "{ \"ephemeral\" : [ {\"a\": [1, {\"events\": []}]} ] , \"events\" : [ ] }";
	static const char body2[] =
		"{\"de.sorunome.msc2409.to_device\":[],\"events\":[{\"type\":\"m.room.message\",\"event_id\":\"$z\","
		"\"room_id\":\"!r:x\",\"sender\":\"@a:x\",\"content\":{\"body\":\"}]\"}}],\"x\":\"]}\"}";

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(mx_parse_txn(body, sizeof(body) - 1, "s", "t1", "hs_token", &t, &err), 0);
	assert_int_equal(t.n, 0);
	mx_txn_release(&t);
	assert_int_equal(mx_parse_txn(body2, sizeof(body2) - 1, "s", "t2", "hs_token", &t, &err), 0);
	assert_int_equal(t.n, 1);
	FIELD(&t.ev[0].in.rec, RF_BODY, "}]");
	mx_txn_release(&t);
}

/* A member given twice (issue 15): the payload keeps the event's bytes
 * with both values, the record shows the last value (as Synapse's Python
 * json and clients' JSON.parse do) and is flagged, at any depth; an event
 * without duplicates is not flagged. */
static void test_duplicate_keys(void **state)
{
	static const char body[] =
		"{\"events\":["
		"{\"type\":\"m.room.message\",\"event_id\":\"$d1\",\"room_id\":\"!r:x\",\"sender\":\"@a:x\","
		"\"origin_server_ts\":1714564812000,"
		"\"content\":{\"msgtype\":\"m.text\",\"body\":\"harmless\",\"body\":\"the real order\"}},"
		"{\"type\":\"m.room.message\",\"event_id\":\"$d2\",\"room_id\":\"!r:x\",\"sender\":\"@a:x\","
		"\"sender\":\"@b:x\",\"origin_server_ts\":1714564812001,"
		"\"content\":{\"msgtype\":\"m.text\",\"body\":\"hi\"}},"
		"{\"type\":\"m.room.message\",\"event_id\":\"$d3\",\"room_id\":\"!r:x\",\"sender\":\"@a:x\","
		"\"origin_server_ts\":1714564812002,\"content\":{\"body\":\"x\",\"m.relates_to\":"
		"{\"m.in_reply_to\":{\"event_id\":\"$one\",\"event_id\":\"$two\"}}}},"
		"{\"type\":\"m.room.message\",\"event_id\":\"$d4\",\"room_id\":\"!r:x\",\"sender\":\"@a:x\","
		"\"origin_server_ts\":1714564812003,\"content\":{\"body\":\"plain\",\"x\":{\"body\":1}}}"
		"]}";
	struct mx_txn t;
	struct cu_err err;
	size_t i;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(mx_parse_txn(body, sizeof(body) - 1, "s", "t", "hs_token", &t, &err), 0);
	assert_int_equal(t.n, 4);
	FIELD(ev(&t, 0), RF_BODY, "the real order");
	assert_non_null(memmem(ev(&t, 0)->f[RF_PAYLOAD].ptr, ev(&t, 0)->f[RF_PAYLOAD].len,
			       "\"body\":\"harmless\",\"body\":\"the real order\"", 41));
	FIELD(ev(&t, 1), RF_SENDER, "@b:x");
	FIELD(ev(&t, 2), RF_REPLY_TO, "$two");
	for (i = 0; i < 3; i++)
		assert_true(ev(&t, i)->flags & REC_F_DUP_KEYS);
	assert_false(ev(&t, 3)->flags & REC_F_DUP_KEYS);
	mx_txn_release(&t);

	/* The shared loader, which Threema's file descriptors go through too. */
	{
		static const char desc[] = "{\"m\":\"image/png\",\"d\":\"first\",\"x\":[{\"d\":1}],\"d\":\"last\"}";
		int dups = -1;
		json_t *j = rec_json_load(desc, sizeof(desc) - 1, 0, &dups);

		assert_non_null(j);
		assert_int_equal(dups, 1);
		assert_string_equal(json_string_value(json_object_get(j, "d")), "last");
		json_decref(j);
		j = rec_json_load("{\"a\":{\"b\":1,\"b\":2}}", 19, 0, &dups);
		assert_int_equal(dups, 1);
		json_decref(j);
		j = rec_json_load("{\"a\":{\"b\":1},\"b\":2}", 19, 0, &dups);
		assert_int_equal(dups, 0);
		json_decref(j);
		assert_null(rec_json_load("{\"a\":", 5, 0, &dups));
		assert_int_equal(dups, 0);
	}
}

/* The records go into a real store; the same transaction again adds
 * nothing (per-event duplicates), which is what a homeserver's retry does. */
static void test_store_roundtrip_duplicates(void **state)
{
	char dir[256];
	struct store *st = NULL;
	struct mx_txn t;
	struct cu_err err;
	struct store_input *in;
	size_t i, round;

	(void)state;
	cu_err_clear(&err);
	tu_tmpdir(dir, sizeof(dir), "mx");
	rmdir(dir);
	tu_store_new(dir, "test.example/mx", &st);
	for (round = 0; round < 2; round++) {
		assert_int_equal(mx_parse_txn(TXN, sizeof(TXN) - 1, "synapse", "txn42", "hs_token", &t, &err), 0);
		in = calloc(t.n, sizeof(*in));
		assert_non_null(in);
		for (i = 0; i < t.n; i++)
			in[i] = t.ev[i].in;
		assert_int_equal(store_append(st, in, t.n, &err), 0);
		for (i = 0; i < t.n; i++)
			assert_int_equal(in[i].duplicate, round == 1);
		assert_int_equal(store_size(st), 14);
		free(in);
		mx_txn_release(&t);
	}
	store_close(st);
	assert_int_equal(tu_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_payload_exact_and_auth),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_empty_and_members_order),
		cmocka_unit_test(test_store_roundtrip_duplicates),
		cmocka_unit_test(test_duplicate_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
