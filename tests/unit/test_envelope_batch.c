/* test_envelope_batch.c - the body of a generic ingest request
 * (ingest/envelope_batch.h): a JSON array or JSON Lines, all or nothing,
 * each envelope's payload its exact bytes, and each refusal's outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "archiver/record.h"
#include "ingest/envelope_batch.h"

#define ENV(id) \
	"{\"platform\":\"p\",\"conversation\":\"c\",\"sender\":\"s\",\"ts\":1,\"id\":\"" id "\",\"body\":\"b\"}"

static enum env_batch_outcome parse(const char *body, size_t max, struct env_batch *b, struct cu_err *err)
{
	memset(b, 0, sizeof(*b));
	cu_err_clear(err);
	return env_batch_parse(body, strlen(body), max, "src", NULL, b, err);
}

static void assert_payload(const struct env_batch *b, size_t i, const char *want)
{
	const struct rec_str *s = &b->msgs[i].in.rec.f[RF_PAYLOAD];

	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->ptr, want, s->len);
}

static void test_array(void **state)
{
	struct env_batch b;
	struct cu_err err;
	(void)state;

	assert_int_equal(parse(" [" ENV("a") " , " ENV("b") "]\n", 10, &b, &err), ENVB_OK);
	assert_int_equal(b.n, 2);
	assert_payload(&b, 0, ENV("a"));
	assert_payload(&b, 1, ENV("b"));
	env_batch_release(&b);
	assert_int_equal(parse("[]", 10, &b, &err), ENVB_OK);
	assert_int_equal(b.n, 0);
	env_batch_release(&b);
}

static void test_lines(void **state)
{
	struct env_batch b;
	struct cu_err err;
	(void)state;

	assert_int_equal(parse("\n  " ENV("a") " \r\n\n\t\n" ENV("b"), 10, &b, &err), ENVB_OK);
	assert_int_equal(b.n, 2);
	assert_payload(&b, 0, ENV("a"));
	assert_payload(&b, 1, ENV("b"));
	env_batch_release(&b);
}

static void test_refusals(void **state)
{
	struct env_batch b;
	struct cu_err err;
	(void)state;

	assert_int_equal(parse(" \n\t", 10, &b, &err), ENVB_EMPTY);
	assert_non_null(strstr(err.msg, "the body is empty"));
	env_batch_release(&b);

	assert_int_equal(parse("[" ENV("a") "," ENV("b") "," ENV("c") "]", 2, &b, &err), ENVB_TOO_MANY);
	assert_string_equal(err.msg, "more than 2 envelopes in one request");
	env_batch_release(&b);
	assert_int_equal(parse(ENV("a") "\n" ENV("b") "\n" ENV("c"), 2, &b, &err), ENVB_TOO_MANY);
	assert_string_equal(err.msg, "more than 2 envelopes in one request");
	assert_int_equal(b.n, 2); /* parsed before the failure */
	env_batch_release(&b);

	assert_int_equal(parse("[" ENV("a") ", 1]", 10, &b, &err), ENVB_BAD_JSON);
	env_batch_release(&b);

	/* The failing envelope is named by its number among the non-blank lines. */
	assert_int_equal(parse(ENV("a") "\n\n{\"platform\":\"p\"}", 10, &b, &err), ENVB_BAD_ENVELOPE);
	assert_true(strncmp(err.msg, "envelope 2: ", 12) == 0);
	assert_int_equal(b.n, 1);
	env_batch_clear(&b);
	assert_int_equal(b.n, 0);
	env_batch_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_array),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
