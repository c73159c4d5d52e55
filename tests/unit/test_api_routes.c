/* test_api_routes.c - the routing table: matching, captures (including a
 * capture spanning '/'), 404 vs 405 with the Allow list, and that every
 * route names a handler, a known role set and a unique metric name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

static void test_static_and_params(void **state)
{
	struct api_match m;

	(void)state;
	assert_int_equal(api_route_match("GET", "/healthz", &m), 0);
	assert_string_equal(m.route->name, "healthz");
	api_match_release(&m);

	assert_int_equal(api_route_match("GET", "/v1/records/42", &m), 0);
	assert_string_equal(m.route->name, "record");
	assert_string_equal(m.params[0], "42");
	api_match_release(&m);

	assert_int_equal(api_route_match("DELETE", "/v1/tokens/alice", &m), 0);
	assert_string_equal(m.params[0], "alice");
	api_match_release(&m);
}

static void test_greedy_capture(void **state)
{
	struct api_match m;

	(void)state;
	/* a conversation id may contain '/' once the URL is unescaped */
	assert_int_equal(api_route_match("GET", "/v1/conversations/a/b:c/messages", &m), 0);
	assert_string_equal(m.route->name, "context");
	assert_string_equal(m.params[0], "a/b:c");
	api_match_release(&m);
	assert_int_equal(api_route_match("GET", "/v1/conversations/!r:x/messages", &m), 0);
	assert_string_equal(m.params[0], "!r:x");
	api_match_release(&m);
	/* empty capture does not match */
	assert_int_equal(api_route_match("GET", "/v1/conversations//messages", &m), CU_ENOTFOUND);
	assert_int_equal(api_route_match("GET", "/v1/conversations/x/message", &m), CU_ENOTFOUND);
}

static void test_not_found_and_method(void **state)
{
	struct api_match m;

	(void)state;
	assert_int_equal(api_route_match("GET", "/", &m), CU_ENOTFOUND);
	assert_int_equal(api_route_match("GET", "/v1/records/", &m), CU_ENOTFOUND);
	assert_int_equal(api_route_match("GET", "/v1/records/1/x", &m), CU_ENOTFOUND);
	assert_int_equal(api_route_match("GET", "/healthz/", &m), CU_ENOTFOUND);
	assert_int_equal(api_route_match("GET", "/v1/ingestx", &m), CU_ENOTFOUND);
	assert_null(m.route);

	assert_int_equal(api_route_match("GET", "/v1/ingest", &m), CU_ESTATE);
	assert_string_equal(m.allow, "POST");
	assert_int_equal(api_route_match("PUT", "/v1/tokens", &m), CU_ESTATE);
	assert_string_equal(m.allow, "GET, POST");
	assert_int_equal(api_route_match("HEAD", "/healthz", &m), CU_ESTATE);
	assert_string_equal(m.allow, "GET");
}

static void test_matrix_fallbacks(void **state)
{
	static const char *const methods[] = {"PATCH", "OPTIONS", "HEAD", "GET", "DELETE"};
	struct api_match m;
	size_t i;

	(void)state;
	/* any method on a Matrix path reaches the Matrix handler (which
	 * answers M_UNRECOGNIZED), never custos's 404/405 */
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		assert_int_equal(api_route_match(methods[i], "/_matrix/app/v1/x", &m), 0);
		assert_true(!strncmp(m.route->name, "matrix_", 7));
		api_match_release(&m);
		assert_int_equal(api_route_match(methods[i], "/transactions/1", &m), 0);
		assert_true(!strncmp(m.route->name, "matrix_", 7));
		api_match_release(&m);
	}
	assert_int_equal(api_route_match("PATCH", "/_matrix", &m), 0);
	api_match_release(&m);
	/* a route naming the method still wins */
	assert_int_equal(api_route_match("PUT", "/_matrix/app/v1/transactions/1", &m), 0);
	assert_string_equal(m.route->name, "matrix_txn");
	api_match_release(&m);
	assert_int_equal(api_route_match("PUT", "/transactions/1", &m), 0);
	assert_string_equal(m.route->name, "matrix_txn_legacy");
	api_match_release(&m);
}

static void test_table_is_sane(void **state)
{
	size_t i, j;

	(void)state;
	assert_true(api_nroutes > 0 && api_nroutes <= API_MAX_ROUTES);
	for (i = 0; i < api_nroutes; i++) {
		const struct api_route *r = &api_routes[i];

		assert_non_null(r->fn);
		assert_true(r->pattern[0] == '/');
		assert_true((r->roles & ~(ROLE_INGEST | ROLE_PERSON)) == 0);
		/* ingest tokens only ever reach the ingest route */
		if (r->roles & ROLE_INGEST)
			assert_string_equal(r->name, "ingest");
		/* a fallback for any method ("*") opens nothing: public, no
		 * body, and after every route that names a method, which wins */
		if (!strcmp(r->method, "*")) {
			assert_int_equal(r->roles, 0);
			assert_int_equal(r->takes_body, 0);
			for (j = i + 1; j < api_nroutes; j++)
				assert_string_equal(api_routes[j].method, "*");
		}
		for (j = 0; j < i; j++) {
			assert_string_not_equal(r->name, api_routes[j].name);
			assert_false(!strcmp(r->method, api_routes[j].method) &&
				     !strcmp(r->pattern, api_routes[j].pattern));
		}
	}
}

static void test_list_routes_output(void **state)
{
	char text[8192];
	FILE *f = fmemopen(text, sizeof(text), "w");

	(void)state;
	assert_non_null(f);
	api_routes_print(f);
	fclose(f);
	assert_non_null(strstr(text, "GET /healthz public\n"));
	assert_non_null(strstr(text, "GET /v1/conversations/{id}/messages officer\n"));
	assert_non_null(strstr(text, "GET /metrics auditor,admin\n"));
	assert_non_null(strstr(text, "POST /v1/ingest ingest\n"));
	assert_null(strstr(text, "* /")); /* fallbacks are no operations */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_and_params),
		cmocka_unit_test(test_greedy_capture),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_matrix_fallbacks),
		cmocka_unit_test(test_table_is_sane),
		cmocka_unit_test(test_list_routes_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
