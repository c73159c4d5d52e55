/* test_xmpp.c - stanzas (as Prosody serialises them) -> records: chat and
 * groupchat addressing, corrections, both retraction forms and
 * moderation, reactions, replies, attachments, subjects, delay, OMEMO and
 * OpenPGP flagged encrypted, malformed and hostile XML archived as "other"
 * with the reason, and hook documents that are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/xmpp.h"

static int field_eq(const struct rec_view *v, enum rec_field f, const char *s)
{
	return s ? v->f[f].len == strlen(s) && !memcmp(v->f[f].ptr, s, v->f[f].len) : v->f[f].len == 0;
}

#define FIELD(v, f, s) assert_true(field_eq((v), (f), (s)))

/* Wraps stanzas into a hook document (JSON-escaped with jansson). */
static char *hook(const char *direction, const char *real_from, const char *const *stanzas, size_t n)
{
	json_t *items = json_array(), *doc;
	char *text, id[32];
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *it;

		snprintf(id, sizeof(id), "id-%zu", i);
		it = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "direction", direction, "time",
			       (json_int_t)1714564800000LL + (json_int_t)i, "stanza", stanzas[i]);
		assert_non_null(it);
		if (real_from)
			json_object_set_new(it, "real_from", json_string(real_from));
		json_array_append_new(items, it);
	}
	doc = json_pack("{s:i, s:s, s:o}", "v", 1, "host", "example.org", "items", items);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

static void parse(struct xmpp_batch *b, const char *direction, const char *real_from,
		  const char *const *stanzas, size_t n)
{
	char *text = hook(direction, real_from, stanzas, n);
	struct cu_err err;

	cu_err_clear(&err);
	assert_int_equal(xmpp_parse_hook(text, strlen(text), "prosody", "00ff", b, &err), 0);
	assert_int_equal(b->n, n);
	free(text);
}

static void test_chat_kinds(void **state)
{
	static const char *const st[] = {
		/* 0 plain chat */
		"<message to='bob@example.org' id='a1' type='chat' from='alice@example.org/phone'>"
		"<body>Termin am Montag &amp; Dienstag</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/>"
		"<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
		/* 1 correction */
		"<message to='bob@example.org' id='a2' type='chat' from='alice@example.org/phone'>"
		"<body>Termin am Dienstag</body><replace xmlns='urn:xmpp:message-correct:0' id='a1'/></message>",
		/* 2 retraction (XEP-0424 current) */
		"<message to='bob@example.org' id='a3' type='chat' from='alice@example.org/phone'>"
		"<retract xmlns='urn:xmpp:message-retract:1' id='o1'/><body>retracted</body></message>",
		/* 3 retraction (fastening form) */
		"<message to='bob@example.org' id='a4' type='chat' from='alice@example.org/phone'>"
		"<apply-to xmlns='urn:xmpp:fasten:0' id='o9'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to></message>",
		/* 4 reactions */
		"<message to='alice@example.org' id='a5' type='chat' from='bob@example.org/pc'>"
		"<reactions xmlns='urn:xmpp:reactions:0' id='a1'><reaction>\xf0\x9f\x91\x8d</reaction>"
		"<reaction>\xe2\x9d\xa4</reaction></reactions></message>",
		/* 5 reply with delay */
		"<message to='alice@example.org' id='a6' type='chat' from='bob@example.org/pc'>"
		"<body>&gt; Termin\nJa, passt.</body><reply xmlns='urn:xmpp:reply:0' to='alice@example.org/phone' id='a1'/>"
		"<thread>th-1</thread><delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z'/></message>",
		/* 6 OMEMO */
		"<message to='bob@example.org' id='a7' type='chat' from='alice@example.org/phone'>"
		"<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><iv>AAA</iv></header><payload>BBB</payload></encrypted>"
		"<encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl'/>"
		"<body>I sent you an OMEMO encrypted message but your client doesn't seem to support that.</body></message>",
		/* 7 attachment */
		"<message to='bob@example.org' id='a8' type='chat' from='alice@example.org/phone'>"
		"<body>https://upload.example.org/plan.pdf</body><x xmlns='jabber:x:oob'><url>https://upload.example.org/plan.pdf</url></x></message>",
		/* 8 OpenPGP */
		"<message to='bob@example.org' id='a9' from='alice@example.org/phone'>"
		"<openpgp xmlns='urn:xmpp:openpgp:0'>BASE64</openpgp></message>",
		/* 9 no 'to' (to self) */
		"<message id='a10' type='normal' from='alice@example.org/phone'><body>note to self</body></message>",
		/* 10 headline in jabber:client explicitly */
		"<message xmlns='jabber:client' to='bob@example.org' from='example.org' type='headline'><body>Wartung</body></message>",
	};
	struct xmpp_batch b;
	const struct rec_view *v;

	(void)state;
	parse(&b, "out", NULL, st, sizeof(st) / sizeof(st[0]));

	v = &b.m[0].in.rec;
	assert_int_equal(v->kind, REC_MESSAGE);
	assert_int_equal(v->flags, REC_F_SIGNED);
	FIELD(v, RF_PLATFORM, "xmpp");
	FIELD(v, RF_SOURCE, "prosody");
	FIELD(v, RF_EVENT_ID, "id-0");
	FIELD(v, RF_CONVERSATION, "alice@example.org bob@example.org");
	FIELD(v, RF_SENDER, "alice@example.org");
	FIELD(v, RF_RECIPIENTS, "[\"bob@example.org\"]");
	FIELD(v, RF_BODY, "Termin am Montag & Dienstag");
	FIELD(v, RF_PAYLOAD, st[0]);
	FIELD(v, RF_PAYLOAD_TYPE, "application/xml");
	assert_int_equal(v->origin_ts, 1714564800000LL);
	assert_non_null(strstr(b.m[0].meta, "\"origin_id\":\"o1\""));
	assert_non_null(strstr(b.m[0].meta, "\"direction\":\"out\""));
	assert_non_null(strstr(b.m[0].meta, "\"from\":\"alice@example.org/phone\""));
	assert_non_null(strstr(b.m[0].auth, "\"method\":\"hmac-sha256\""));
	assert_non_null(strstr(b.m[0].auth, "\"mac\":\"00ff\""));

	v = &b.m[1].in.rec;
	assert_int_equal(v->kind, REC_EDIT);
	FIELD(v, RF_TARGET, "a1");
	FIELD(v, RF_BODY, "Termin am Dienstag");

	v = &b.m[2].in.rec;
	assert_int_equal(v->kind, REC_REDACTION);
	FIELD(v, RF_TARGET, "o1");

	v = &b.m[3].in.rec;
	assert_int_equal(v->kind, REC_REDACTION);
	FIELD(v, RF_TARGET, "o9");

	v = &b.m[4].in.rec;
	assert_int_equal(v->kind, REC_REACTION);
	FIELD(v, RF_TARGET, "a1");
	FIELD(v, RF_BODY, "\xf0\x9f\x91\x8d \xe2\x9d\xa4");
	/* both directions are one conversation */
	FIELD(v, RF_CONVERSATION, "alice@example.org bob@example.org");
	FIELD(v, RF_SENDER, "bob@example.org");

	v = &b.m[5].in.rec;
	assert_int_equal(v->kind, REC_MESSAGE);
	FIELD(v, RF_REPLY_TO, "a1");
	FIELD(v, RF_THREAD, "th-1");
	FIELD(v, RF_BODY, "> Termin\nJa, passt.");
	assert_int_equal(v->origin_ts, 1714557600000LL);

	v = &b.m[6].in.rec;
	assert_int_equal(v->kind, REC_MESSAGE);
	assert_int_equal(v->flags, REC_F_ENCRYPTED | REC_F_SIGNED);
	FIELD(v, RF_BODY, NULL);
	assert_non_null(strstr(b.m[6].meta, "\"encryption\":\"omemo\""));
	assert_non_null(strstr(b.m[6].meta, "\"eme_namespace\":\"eu.siacs.conversations.axolotl\""));

	v = &b.m[7].in.rec;
	assert_int_equal(v->kind, REC_ATTACHMENT);
	assert_non_null(strstr(b.m[7].meta, "\"url\":\"https://upload.example.org/plan.pdf\""));

	v = &b.m[8].in.rec;
	assert_int_equal(v->kind, REC_MESSAGE);
	assert_true(v->flags & REC_F_ENCRYPTED);
	assert_non_null(strstr(b.m[8].meta, "\"encryption\":\"openpgp\""));

	v = &b.m[9].in.rec;
	FIELD(v, RF_CONVERSATION, "alice@example.org");
	FIELD(v, RF_RECIPIENTS, NULL);

	v = &b.m[10].in.rec;
	assert_int_equal(v->kind, REC_MESSAGE);
	FIELD(v, RF_BODY, "Wartung");
	FIELD(v, RF_SENDER, "example.org");
	xmpp_batch_release(&b);
}

static void test_groupchat(void **state)
{
	static const char *const st[] = {
		"<message type='groupchat' id='g1' to='team@conference.example.org' from='team@conference.example.org/Alice'>"
		"<body>Hallo Team</body><stanza-id xmlns='urn:xmpp:sid:0' by='team@conference.example.org' id='sid-1'/>"
		"<occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ'/></message>",
		"<message type='groupchat' id='g2' to='team@conference.example.org' from='team@conference.example.org'>"
		"<subject>Neues Thema</subject></message>",
		"<message type='groupchat' id='g3' from='team@conference.example.org'>"
		"<apply-to xmlns='urn:xmpp:fasten:0' id='sid-1'><moderated xmlns='urn:xmpp:message-moderate:0' by='team@conference.example.org/Mod'>"
		"<retract xmlns='urn:xmpp:message-retract:0'/><reason>Spam</reason></moderated></apply-to></message>",
	};
	struct xmpp_batch b;
	const struct rec_view *v;

	(void)state;
	parse(&b, "muc", "alice@example.org/phone", st, 3);
	v = &b.m[0].in.rec;
	assert_int_equal(v->kind, REC_MESSAGE);
	FIELD(v, RF_CONVERSATION, "team@conference.example.org");
	FIELD(v, RF_SENDER, "alice@example.org");
	FIELD(v, RF_RECIPIENTS, NULL);
	assert_non_null(strstr(b.m[0].meta, "\"stanza_ids\":[{\"id\":\"sid-1\",\"by\":\"team@conference.example.org\"}]"));
	assert_non_null(strstr(b.m[0].meta, "\"real_from\":\"alice@example.org/phone\""));

	v = &b.m[1].in.rec;
	assert_int_equal(v->kind, REC_STATE);
	FIELD(v, RF_BODY, "Neues Thema");

	v = &b.m[2].in.rec;
	assert_int_equal(v->kind, REC_REDACTION);
	FIELD(v, RF_TARGET, "sid-1");
	assert_non_null(strstr(b.m[2].meta, "\"moderated\":true"));
	assert_non_null(strstr(b.m[2].meta, "\"moderated_by\":\"team@conference.example.org/Mod\""));
	xmpp_batch_release(&b);

	/* A remote room's copy for a local occupant ("in"): the room is the conversation. */
	parse(&b, "in", NULL, st, 1);
	FIELD(&b.m[0].in.rec, RF_CONVERSATION, "team@conference.example.org");
	FIELD(&b.m[0].in.rec, RF_SENDER, "team@conference.example.org/Alice");
	xmpp_batch_release(&b);
}

/* Malformed and hostile stanzas are archived as "other", never dropped and
 * never expanded. */
static void test_bad_stanzas_kept(void **state)
{
	static const char *const st[] = {
		"<message to='a@x'><body>unclosed</message>",
		"<?xml version='1.0'?><!DOCTYPE m [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
		"<message><body>&b;</body></message>",
		"<message/><message/>",
		"plain text",
		"<presence from='a@x/r'/>",
		"<message from='a@x/r' to='b@x'><body>x</body><unknown xmlns='urn:example'><body>not me</body></unknown></message>",
	};
	struct xmpp_batch b;

	(void)state;
	parse(&b, "in", NULL, st, sizeof(st) / sizeof(st[0]));
	assert_int_equal(b.m[0].in.rec.kind, REC_OTHER);
	assert_non_null(strstr(b.m[0].meta, "\"parse_error\""));
	assert_int_equal(b.m[1].in.rec.kind, REC_OTHER);
	assert_non_null(strstr(b.m[1].meta, "DOCTYPE"));
	assert_int_equal(b.m[2].in.rec.kind, REC_OTHER);
	assert_int_equal(b.m[3].in.rec.kind, REC_OTHER);
	FIELD(&b.m[3].in.rec, RF_PAYLOAD, "plain text");
	assert_int_equal(b.m[4].in.rec.kind, REC_OTHER);
	assert_null(strstr(b.m[4].meta, "parse_error"));
	FIELD(&b.m[5].in.rec, RF_BODY, "x");
	xmpp_batch_release(&b);
}

static void test_stanza_caps(void **state)
{
	struct xmpp_stanza s;
	char *big;
	size_t i, n = 200;

	(void)state;
	/* nesting beyond the cap */
	big = malloc(n * 10 + 64);
	assert_non_null(big);
	strcpy(big, "<message>");
	for (i = 0; i < n; i++)
		strcat(big, "<a>");
	assert_int_equal(xmpp_parse_stanza(big, strlen(big), &s), CU_EINVAL);
	assert_non_null(strstr(s.error, "nested"));
	xmpp_stanza_release(&s);
	free(big);
	/* over the size cap */
	big = malloc(XMPP_MAX_STANZA + 2);
	assert_non_null(big);
	memset(big, ' ', XMPP_MAX_STANZA + 1);
	assert_int_equal(xmpp_parse_stanza(big, XMPP_MAX_STANZA + 1, &s), CU_EINVAL);
	xmpp_stanza_release(&s);
	free(big);
}

/* expat is the UTF-8 check of stanzas: it refuses what common/utf8.h
 * refuses, raw or as a character reference (the stanza is then kept as a
 * record of kind other with its raw bytes, test_bad_stanzas_kept). */
static void test_stanza_utf8(void **state)
{
	static const char *const bad[] = {
		"<message><body>word\xed\xa0\x80</body></message>",    /* U+D800 */
		"<message><body>\xc0\xaf</body></message>",             /* overlong */
		"<message><body>\xf4\x90\x80\x80</body></message>",   /* U+110000 */
		"<message><body>&#xD800;</body></message>",
		"<message><body>&#x110000;</body></message>",
		"<message to='a\xed\xbf\xbf'><body>x</body></message>",
	};
	static const char ok[] = "<message><body>\xf4\x8f\xbf\xbf</body></message>";
	struct xmpp_stanza s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xmpp_parse_stanza(bad[i], strlen(bad[i]), &s), CU_EINVAL);
		xmpp_stanza_release(&s);
	}
	assert_int_equal(xmpp_parse_stanza(ok, strlen(ok), &s), 0); /* U+10FFFF */
	xmpp_stanza_release(&s);
}

/* A body with a valid HMAC is never refused for what it holds: a body
 * that is not a hook document becomes one "rejected" record of the whole
 * body, a bad item a "rejected" record of its exact bytes, and the good
 * items beside it are archived as usual (issue 15, item 12). */
static void test_bad_hook_documents(void **state)
{
	static const char *const bad_body[] = {
		"", "nope", "[]", "{\"v\":2,\"items\":[]}", "{\"v\":1}", "{\"v\":1,\"items\":{}}",
		"{\"v\":1,\"v\":1,\"items\":[]}",
	};
	static const char *const bad_item[] = {
		"{}",
		"{\"id\":\"1\",\"direction\":\"sideways\",\"stanza\":\"<message/>\"}",
		"{\"id\":\"\",\"direction\":\"in\",\"stanza\":\"<message/>\"}",
		"{\"id\":\"1\",\"direction\":\"in\",\"stanza\":\"\"}",
		"{\"id\":\"1\", \"direction\":\"in\",\"stanza\":7}",
		"7",
	};
	static const char good[] = "{\"id\":\"h:1\",\"direction\":\"out\",\"stanza\":\"<message to='b@h' "
				   "from='a@h/r' type='chat'><body>hi</body></message>\"}";
	struct xmpp_batch b;
	struct cu_err err;
	char body[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_body) / sizeof(bad_body[0]); i++) {
		const struct rec_view *v;

		cu_err_clear(&err);
		assert_int_equal(xmpp_parse_hook(bad_body[i], strlen(bad_body[i]), "p", "ab", &b, &err), 0);
		assert_int_equal(b.n, 1);
		assert_int_equal(b.rejected, 1);
		v = &b.m[0].in.rec;
		assert_int_equal(v->kind, REC_REJECTED);
		assert_int_equal(v->f[RF_PAYLOAD].len, strlen(bad_body[i]));
		assert_true(v->f[RF_PAYLOAD].ptr == bad_body[i] || !v->f[RF_PAYLOAD].len);
		assert_true(v->flags & REC_F_SIGNED);
		assert_int_equal(strncmp(v->f[RF_EVENT_ID].ptr, "rejected:", 9), 0);
		assert_non_null(strstr(v->f[RF_META].ptr, "\"xmpp hook body\""));
		xmpp_batch_release(&b);
	}
	for (i = 0; i < sizeof(bad_item) / sizeof(bad_item[0]); i++) {
		const struct rec_view *v;

		snprintf(body, sizeof(body), "{\"v\":1,\"items\":[%s, %s ,%s]}", good, bad_item[i], good);
		cu_err_clear(&err);
		assert_int_equal(xmpp_parse_hook(body, strlen(body), "p", "ab", &b, &err), 0);
		assert_int_equal(b.n, 3);
		assert_int_equal(b.rejected, 1);
		assert_int_equal(b.m[0].in.rec.kind, REC_MESSAGE);
		assert_int_equal(b.m[2].in.rec.kind, REC_MESSAGE);
		v = &b.m[1].in.rec;
		assert_int_equal(v->kind, REC_REJECTED);
		/* the item's exact bytes, sliced out of the body */
		assert_int_equal(v->f[RF_PAYLOAD].len, strlen(bad_item[i]));
		assert_memory_equal(v->f[RF_PAYLOAD].ptr, bad_item[i], strlen(bad_item[i]));
		assert_non_null(strstr(v->f[RF_AUTH].ptr, "\"item\":1"));
		assert_non_null(strstr(v->f[RF_META].ptr, "\"reason\":\"item 1: "));
		xmpp_batch_release(&b);
	}
	/* an empty batch is fine */
	assert_int_equal(xmpp_parse_hook("{\"v\":1,\"items\":[]}", 18, "p", NULL, &b, &err), 0);
	assert_int_equal(b.n, 0);
	xmpp_batch_release(&b);
}

/* A stanza at Prosody's s2s limit (512 KiB on the wire) of '"', as
 * Prosody serialises it (6 bytes each), is archived as a message. */
static void test_largest_legal_stanza(void **state)
{
	const size_t n = 512 * 1024 - 64;
	struct buf body;
	struct xmpp_batch b;
	struct cu_err err;
	size_t i;

	(void)state;
	buf_init(&body, 8u << 20);
	assert_int_equal(buf_append_str(&body, "{\"v\":1,\"items\":[{\"id\":\"h:1\",\"direction\":\"in\","
					       "\"stanza\":\"<message from='a@r' to='b@h'><body>"), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_append_str(&body, "&quot;"), 0);
	assert_int_equal(buf_append_str(&body, "</body></message>\"}]}"), 0);
	cu_err_clear(&err);
	assert_int_equal(xmpp_parse_hook((const char *)body.data, body.len, "p", "ab", &b, &err), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.rejected, 0);
	assert_int_equal(b.m[0].in.rec.kind, REC_MESSAGE);
	assert_int_equal(b.m[0].in.rec.f[RF_BODY].len, n);
	assert_true(rec_encoded_size(&b.m[0].in.rec) <= REC_MAX_BYTES);
	xmpp_batch_release(&b);
	buf_release(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chat_kinds),
		cmocka_unit_test(test_groupchat),
		cmocka_unit_test(test_bad_stanzas_kept),
		cmocka_unit_test(test_stanza_caps),
		cmocka_unit_test(test_stanza_utf8),
		cmocka_unit_test(test_bad_hook_documents),
		cmocka_unit_test(test_largest_legal_stanza),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
