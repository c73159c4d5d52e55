/* test_envelope.c - the generic JSON envelope (ingest/envelope.h): the
 * fields it takes, the payload it keeps byte for byte, and every refusal a
 * source can run into, with the field named. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "ingest/envelope.h"

static int parse(const char *text, struct env_msg *m, struct cu_err *err)
{
	cu_err_clear(err);
	return env_parse(text, strlen(text), "hook", NULL, m, err);
}

static void assert_field(const struct env_msg *m, enum rec_field f, const char *want)
{
	const struct rec_str *s = &m->in.rec.f[f];

	if (!want) {
		assert_int_equal(s->len, 0);
		return;
	}
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->ptr, want, s->len);
}

#define OK_HEAD "\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,\"id\":\"i\""

/* A refusal whose message contains want. */
static void assert_refused(const char *text, const char *want)
{
	struct env_msg m;
	struct cu_err err;

	assert_int_not_equal(parse(text, &m, &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("%s: got \"%s\", want \"%s\"", text, err.msg, want);
	assert_null(m.strs); /* nothing left to release */
}

static void test_fields(void **state)
{
	const char *text = "{\"platform\":\"matrix\",\"conversation\":\"!r:x\",\"sender\":\"@a:x\","
			   "\"ts\":1704067682980,\"id\":\"$e1\",\"body\":\"Gr\\u00fc\\u00dfe \\\"ok\\\"\","
			   "\"reply_to\":\"$e0\",\"thread\":\"$t\",\"target\":\"$x\",\"kind\":\"edit\","
			   "\"recipients\":[\"@b:x\",\"@c:\\u00e4\"],\"raw\":{\"a\":[1,2,{\"b\":null}]},"
			   "\"extra\":true}";
	struct env_msg m;
	struct cu_err err;
	(void)state;

	assert_int_equal(parse(text, &m, &err), 0);
	assert_field(&m, RF_PLATFORM, "matrix");
	assert_field(&m, RF_CONVERSATION, "!r:x");
	assert_field(&m, RF_SENDER, "@a:x");
	assert_field(&m, RF_EVENT_ID, "$e1");
	assert_field(&m, RF_BODY, "Gr\xc3\xbc\xc3\x9f" "e \"ok\""); /* escapes decoded */
	assert_field(&m, RF_REPLY_TO, "$e0");
	assert_field(&m, RF_THREAD, "$t");
	assert_field(&m, RF_TARGET, "$x");
	assert_field(&m, RF_SOURCE, "hook");
	/* jansson's compact, ASCII-only form */
	assert_field(&m, RF_RECIPIENTS, "[\"@b:x\",\"@c:\\u00E4\"]");
	/* the payload is the exact text, unknown fields included */
	assert_field(&m, RF_PAYLOAD, text);
	assert_int_equal(m.in.rec.kind, REC_EDIT);
	assert_int_equal(m.in.rec.origin_ts, 1704067682980LL);
	env_release(&m);
}

static void test_defaults_and_forms(void **state)
{
	struct env_msg m;
	struct cu_err err;
	(void)state;

	/* integer ids are stored as decimal text; RFC 3339 times; kind defaults;
	 * an empty body is allowed; null optional fields are absent */
	assert_int_equal(parse("{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\","
			       "\"ts\":\"2024-01-01T00:00:01.5Z\",\"id\":-0,\"body\":\"\",\"thread\":null,"
			       "\"reply_to\":42,\"recipients\":[]}", &m, &err), 0);
	assert_field(&m, RF_EVENT_ID, "0");
	assert_field(&m, RF_REPLY_TO, "42");
	assert_field(&m, RF_THREAD, NULL);
	assert_field(&m, RF_BODY, NULL);
	assert_field(&m, RF_RECIPIENTS, NULL);
	assert_int_equal(m.in.rec.origin_ts, 1704067201500LL);
	assert_int_equal(m.in.rec.kind, REC_MESSAGE);
	env_release(&m);
	/* white space around and inside is fine */
	assert_int_equal(parse(" { \"platform\" : \"p\" , \"conversation\":\"c\",\"sender\":\"s\","
			       "\"ts\":0,\"id\":\"i\",\"body\":\"b\" } ", &m, &err), 0);
	env_release(&m);
}

/* Valid text passes the UTF-8 checks: a surrogate pair (as ASCII-only
 * encoders write emoji), an escaped backslash before "ud800" (text, not an
 * escape), the last code point. */
static void test_utf8_accepted(void **state)
{
	struct env_msg m;
	struct cu_err err;

	(void)state;
	assert_int_equal(parse("{" OK_HEAD ",\"body\":\"ok \\ud83d\\ude00\"}", &m, &err), 0);
	assert_field(&m, RF_BODY, "ok \xf0\x9f\x98\x80");
	env_release(&m);
	assert_int_equal(parse("{" OK_HEAD ",\"body\":\"a\\\\ud800\"}", &m, &err), 0);
	assert_field(&m, RF_BODY, "a\\ud800");
	env_release(&m);
	assert_int_equal(parse("{" OK_HEAD ",\"body\":\"\xf4\x8f\xbf\xbf\"}", &m, &err), 0);
	env_release(&m);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_refused("", "invalid JSON");
	assert_refused("{\"platform\":", "invalid JSON");
	assert_refused("{" OK_HEAD ",\"body\":\"b\"} x", "invalid JSON");
	assert_refused("{" OK_HEAD ",\"body\":\"\xff\"}", "invalid JSON");       /* not UTF-8 */
	assert_refused("{" OK_HEAD ",\"body\":\"a\\u0000b\"}", "\\u0000");     /* NUL */
	/* strict UTF-8 (common/utf8.h), raw or escaped, in values and keys */
	assert_refused("{" OK_HEAD ",\"body\":\"word\xed\xa0\x80\"}", "not valid UTF-8"); /* U+D800 */
	assert_refused("{" OK_HEAD ",\"body\":\"\xc0\xaf\"}", "not valid UTF-8");     /* overlong */
	assert_refused("{" OK_HEAD ",\"body\":\"\xf4\x90\x80\x80\"}", "not valid UTF-8"); /* U+110000 */
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"x\xed\xbf\xbf\":1}", "not valid UTF-8");
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"raw\":[\"\xc1\xbf\"]}", "not valid UTF-8");
	assert_refused("{" OK_HEAD ",\"body\":\"word\\ud800x\"}", "invalid JSON");  /* lone high */
	assert_refused("{" OK_HEAD ",\"body\":\"\\uDC00\"}", "invalid JSON");        /* lone low */
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"k\\ud800\":1}", "invalid JSON");
	assert_refused("[1]", "expected a JSON object");
	assert_refused("\"x\"", "expected a JSON object");
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"body\":\"c\"}", "duplicate object key 'body'");
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"raw\":{\"k\":1,\"k\":2}}", "duplicate object key 'k'");
	assert_refused("{\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,\"id\":\"i\",\"body\":\"b\"}",
		       "field 'platform': missing");
	assert_refused("{\"platform\":null,\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,\"id\":\"i\","
		       "\"body\":\"b\"}", "field 'platform': missing");
	assert_refused("{\"platform\":\"\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,\"id\":\"i\","
		       "\"body\":\"b\"}", "field 'platform': must not be empty");
	assert_refused("{\"platform\":1,\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,\"id\":\"i\","
		       "\"body\":\"b\"}", "field 'platform': expected a string");
	assert_refused("{" OK_HEAD "}", "field 'body': missing");
	assert_refused("{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":-5,\"id\":\"i\","
		       "\"body\":\"b\"}", "field 'ts': negative timestamp");
	assert_refused("{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1.5,\"id\":\"i\","
		       "\"body\":\"b\"}", "field 'ts': expected integer milliseconds");
	assert_refused("{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":\"yesterday\","
		       "\"id\":\"i\",\"body\":\"b\"}", "field 'ts': expected integer milliseconds");
	assert_refused("{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\","
		       "\"ts\":99999999999999999999,\"id\":\"i\",\"body\":\"b\"}", "field 'ts'");
	assert_refused("{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,\"id\":1.5,"
		       "\"body\":\"b\"}", "field 'id': expected a string");
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"kind\":\"audit\"}", "field 'kind': expected one of");
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"kind\":null}", "field 'kind'");
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"recipients\":\"x\"}", "field 'recipients': expected an array");
	assert_refused("{" OK_HEAD ",\"body\":\"b\",\"recipients\":[\"a\",[\"b\"]]}",
		       "field 'recipients': element 1 is not a string");
	assert_refused("{" OK_HEAD ",\"body\":[\"b\"]}", "field 'body': expected a string");
#undef OK_HEAD
}

static void test_nesting_cap(void **state)
{
	size_t depth = 5000, i, n = 0;
	char *text = malloc(2 * depth + 200);
	(void)state;

	assert_non_null(text);
	n += (size_t)sprintf(text, "{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,"
			     "\"id\":\"i\",\"body\":\"b\",\"raw\":");
	for (i = 0; i < depth; i++)
		text[n++] = '[';
	for (i = 0; i < depth; i++)
		text[n++] = ']';
	text[n++] = '}';
	text[n] = 0;
	assert_refused(text, "maximum nesting depth");
	free(text);
}

static void test_size_cap(void **state)
{
	struct env_msg m;
	struct cu_err err;
	char *big = malloc(ENV_MAX_BYTES + 2);
	(void)state;

	assert_non_null(big);
	memset(big, ' ', ENV_MAX_BYTES + 1);
	big[ENV_MAX_BYTES + 1] = 0;
	cu_err_clear(&err);
	assert_int_equal(env_parse(big, ENV_MAX_BYTES + 1, "hook", NULL, &m, &err), CU_ETOOBIG);
	free(big);
}

/* Many keys in one object: the duplicate check stays exact past the inline
 * tables, and a duplicate far apart is still found. */
static void test_many_keys(void **state)
{
	size_t cap = 200000, n = 0, i;
	char *text = malloc(cap);
	struct env_msg m;
	struct cu_err err;
	(void)state;

	assert_non_null(text);
	n += (size_t)sprintf(text, "{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,"
			     "\"id\":\"i\",\"body\":\"b\"");
	for (i = 0; i < 5000; i++)
		n += (size_t)sprintf(text + n, ",\"key%zu\":%zu", i, i);
	strcpy(text + n, "}");
	assert_int_equal(parse(text, &m, &err), 0);
	env_release(&m);
	strcpy(text + n, ",\"key17\":0}");
	assert_refused(text, "duplicate object key 'key17'");
	free(text);
}

static void test_split_array(void **state)
{
	const char *text = " [ {\"a\": [1, {\"b\": \"}\"}]} ,\n{}, {\"c\":\"\\u00e4\"}] ";
	struct env_span *sp;
	struct cu_err err;
	size_t n;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(env_split_array(text, strlen(text), 10, &sp, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(sp[0].len, strlen("{\"a\": [1, {\"b\": \"}\"}]}"));
	assert_memory_equal(text + sp[0].off, "{\"a\": [1, {\"b\": \"}\"}]}", sp[0].len);
	assert_memory_equal(text + sp[1].off, "{}", sp[1].len);
	assert_memory_equal(text + sp[2].off, "{\"c\":\"\\u00e4\"}", sp[2].len);
	free(sp);
	assert_int_equal(env_split_array("[]", 2, 10, &sp, &n, &err), 0);
	assert_int_equal(n, 0);
	free(sp);
	assert_int_equal(env_split_array("[{},{},{}]", 10, 2, &sp, &n, &err), CU_ETOOBIG);
	cu_err_clear(&err);
	assert_int_equal(env_split_array("[{}, 1]", 7, 10, &sp, &n, &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "envelope 2: expected a JSON object"));
	cu_err_clear(&err);
	assert_int_equal(env_split_array("[{}, {]", 7, 10, &sp, &n, &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "invalid JSON"));
	assert_int_equal(env_split_array("[{}] x", 6, 10, &sp, &n, &err), CU_EINVAL);
	assert_int_equal(env_split_array("{}", 2, 10, &sp, &n, &err), CU_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_defaults_and_forms),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_utf8_accepted),
		cmocka_unit_test(test_nesting_cap),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_split_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
