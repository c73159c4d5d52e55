/* test_api_audit.c - the audit record of a request (api/audit.c): built
 * from the same r->args the handlers read, the parameters of a refused
 * request shown as received, escaped where they are not UTF-8; and never
 * partial: a handler detail that could not be built (json_pack returned
 * NULL, e.g. on a string that is not UTF-8) fails the whole record, which
 * the server answers with 503. And an error reply quoting text that is
 * not UTF-8 is escaped, not turned into 503. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

static void req_init(struct api_req *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->who.name, sizeof(r->who.name), "alice");
	r->who.role = ROLE_OFFICER;
	snprintf(r->method, sizeof(r->method), "GET");
	snprintf(r->path, sizeof(r->path), "/v1/search");
	r->status = 200;
	r->results = -1;
}

static void req_done(struct api_req *r)
{
	json_decref(r->args);
	json_decref(r->args_received);
	json_decref(r->audit_details);
	api_audit_release(r);
}

static json_t *meta_of(struct api_req *r)
{
	assert_int_equal(api_audit_build(r), 0);
	assert_non_null(r->audit_meta);
	assert_ptr_equal(r->audit_in.rec.f[RF_META].ptr, r->audit_meta);
	return json_loads(r->audit_meta, 0, NULL);
}

static void test_query_is_args(void **state)
{
	struct api_req r;
	json_t *m;

	(void)state;
	req_init(&r);
	r.args = json_pack("{s:s, s:s}", "q", "secret", "limit", "5");
	r.results = 2;
	api_audit_info(&r, json_pack("{s:i}", "total", 7));
	m = meta_of(&r);
	assert_true(json_equal(json_object_get(m, "query"), r.args));
	assert_null(json_object_get(m, "query_received"));
	assert_int_equal(json_integer_value(json_object_get(m, "total")), 7);
	assert_string_equal(r.audit_body,
			    "officer alice: GET /v1/search {\"limit\":\"5\",\"q\":\"secret\"} {\"total\":7} -> 200, 2 results");
	json_decref(m);
	req_done(&r);
}

static void test_refused_as_received(void **state)
{
	struct api_req r;
	json_t *m;

	(void)state;
	req_init(&r);
	r.status = 400;
	r.args_received = json_pack("[[s, s], [s, s]]", "q", "secret", "q", "weather");
	m = meta_of(&r);
	assert_true(json_equal(json_object_get(m, "query_received"), r.args_received));
	assert_null(json_object_get(m, "query"));
	json_decref(m);
	req_done(&r);
}

static void test_never_partial(void **state)
{
	struct api_req r;

	(void)state;
	/* a detail that could not be built (here: not UTF-8) */
	req_init(&r);
	api_audit_info(&r, json_pack("{s:s}", "conversation", "bad\xed\xa0\x80"));
	assert_int_equal(api_audit_build(&r), CU_ENOMEM);
	assert_null(r.audit_meta);
	assert_null(r.audit_body);
	req_done(&r);
	/* a later detail that failed to be added */
	req_init(&r);
	api_audit_info(&r, json_pack("{s:i}", "hold", 1));
	api_audit_add(&r, "reason", json_string("bad\xc0\xaf"));
	assert_int_equal(api_audit_build(&r), CU_ENOMEM);
	assert_null(r.audit_meta);
	req_done(&r);
	/* an addition without details to add to */
	req_init(&r);
	api_audit_add(&r, "plan", json_integer(3));
	assert_int_equal(api_audit_build(&r), CU_ENOMEM);
	req_done(&r);
}

static void test_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(api_escape("word\xed\xa0\x80 100% gr\xc3\xbc\xc3\x9f" "e\x01", 21, &b), 0);
	assert_string_equal((const char *)b.data, "word%ED%A0%80%20100%25%20gr\xc3\xbc\xc3\x9f" "e%01");
	buf_release(&b);
	buf_init(&b, 1024);
	assert_int_equal(api_escape("a\0b\xc0\xaf", 5, &b), 0);
	assert_string_equal((const char *)b.data, "a%00b%C0%AF");
	buf_release(&b);
}

/* An error message is always sent as written or escaped, never replaced
 * by 503: here cut by the message cap inside a character. */
static void test_error_message_utf8(void **state)
{
	struct api_req r;
	char text[1100];
	json_t *j;
	const char *msg;
	size_t i;

	(void)state;
	req_init(&r);
	buf_init(&r.out, 1 << 20);
	for (i = 0; i + 2 < sizeof(text); i += 2)
		memcpy(text + i, "\xc3\xbc", 2);
	text[i] = '\0';
	api_reply_error(&r, 400, "bad_request", "xy%s", text); /* the cap cuts a character */
	assert_int_equal(r.status, 400);
	j = json_loadb((const char *)r.out.data, r.out.len, 0, NULL);
	assert_non_null(j);
	msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_non_null(msg);
	assert_memory_equal(msg, "xy\xc3\xbc", 4);
	assert_true(strlen(msg) < 1024); /* the cut character is dropped or escaped */
	json_decref(j);
	buf_release(&r.out);
	req_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_is_args),
		cmocka_unit_test(test_refused_as_received),
		cmocka_unit_test(test_never_partial),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_error_message_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
