/* test_api_config.c - the "server" object of custos.json: defaults, every
 * key, range checks, unknown keys refused, listen address forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "common/fileio.h"

static char path[256];

static void write_cfg(const char *text)
{
	assert_int_equal(fio_atomic_replace(path, text, strlen(text), 0600, NULL), 0);
}

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/custos-test-config-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_defaults_and_no_server(void **state)
{
	struct api_config c;

	(void)state;
	api_config_defaults(&c);
	assert_string_equal(c.listen_host, "127.0.0.1");
	assert_int_equal(c.port, 8080);
	assert_int_equal(c.max_body_bytes, 16u << 20);
	/* slow clients: one address holds at most 32 of the 256 slots, and
	 * a connection's headers must be complete within 10 s */
	assert_int_equal(c.max_connections_per_address, 32);
	assert_int_equal(c.header_timeout_s, 10);
	write_cfg("{\"origin\": \"x\", \"segment_max_bytes\": 1000}");
	assert_int_equal(api_config_load(path, &c, NULL), 0);
	assert_int_equal(c.port, 8080);
	assert_int_equal(c.threads, 4);
}

static void test_every_key(void **state)
{
	struct api_config c;

	(void)state;
	api_config_defaults(&c);
	write_cfg("{\"origin\": \"x\", \"server\": {\"listen\": \"0.0.0.0:9000\", \"threads\": 8,"
		  " \"max_connections\": 100, \"connection_timeout_s\": 5, \"request_timeout_s\": 7,"
		  " \"max_body_bytes\": 2048, \"max_header_bytes\": 8192, \"max_records_per_request\": 9,"
		  " \"max_pending_records\": 99, \"commit_batch_records\": 33, \"search_max_limit\": 44,"
		  " \"context_max\": 55, \"metrics_public\": true, \"max_connections_per_address\": 3,"
		  " \"header_timeout_s\": 4}}");
	assert_int_equal(api_config_load(path, &c, NULL), 0);
	assert_string_equal(c.listen_host, "0.0.0.0");
	assert_int_equal(c.port, 9000);
	assert_int_equal(c.threads, 8);
	assert_int_equal(c.max_connections, 100);
	assert_int_equal(c.connection_timeout_s, 5);
	assert_int_equal(c.request_timeout_s, 7);
	assert_int_equal(c.max_body_bytes, 2048);
	assert_int_equal(c.max_header_bytes, 8192);
	assert_int_equal(c.max_records_per_request, 9);
	assert_int_equal(c.max_pending_records, 99);
	assert_int_equal(c.commit_batch_records, 33);
	assert_int_equal(c.search_max_limit, 44);
	assert_int_equal(c.context_max, 55);
	assert_int_equal(c.metrics_public, 1);
	assert_int_equal(c.max_connections_per_address, 3);
	assert_int_equal(c.header_timeout_s, 4);
}

static void test_bad_values(void **state)
{
	static const char *bad[] = {
		"{\"server\": {\"thread\": 4}}",               /* typo */
		"{\"server\": {\"threads\": 0}}",              /* below range */
		"{\"server\": {\"threads\": \"4\"}}",          /* not an integer */
		"{\"server\": {\"max_body_bytes\": -1}}",
		"{\"server\": {\"header_timeout_s\": 0}}",
		"{\"server\": {\"max_connections_per_address\": 0}}",
		"{\"server\": {\"listen\": 8080}}",
		"{\"server\": {\"listen\": \"localhost\"}}",   /* no port */
		"{\"server\": {\"metrics_public\": 1}}",
		"{\"server\": []}",
		"{\"server\": {}, \"server\": {}}",            /* duplicate key */
		"not json",
	};
	struct api_config c;
	struct cu_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api_config_defaults(&c);
		write_cfg(bad[i]);
		cu_err_clear(&err);
		assert_int_equal(api_config_load(path, &c, &err), CU_EINVAL);
		assert_true(err.msg[0] != '\0');
	}
	write_cfg("{\"server\": {\"thread\": 4}}");
	cu_err_clear(&err);
	assert_int_equal(api_config_load(path, &c, &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "server.thread"));
	assert_int_equal(api_config_load("/nonexistent/custos.json", &c, NULL), CU_ENOTFOUND);
}

static void test_listen_forms(void **state)
{
	struct api_config c;

	(void)state;
	api_config_defaults(&c);
	assert_int_equal(api_config_listen(&c, "10.0.0.1:81", NULL), 0);
	assert_string_equal(c.listen_host, "10.0.0.1");
	assert_int_equal(c.port, 81);
	assert_int_equal(api_config_listen(&c, "[::1]:8443", NULL), 0);
	assert_string_equal(c.listen_host, "::1");
	assert_int_equal(c.port, 8443);
	assert_int_equal(api_config_listen(&c, ":0", NULL), 0);
	assert_string_equal(c.listen_host, "127.0.0.1");
	assert_int_equal(c.port, 0);
	assert_int_equal(api_config_listen(&c, "host:", NULL), CU_EINVAL);
	assert_int_equal(api_config_listen(&c, "host:65536", NULL), CU_EINVAL);
	assert_int_equal(api_config_listen(&c, "host:12x", NULL), CU_EINVAL);
	assert_int_equal(api_config_listen(&c, "[::1]8080", NULL), CU_EINVAL);
	assert_int_equal(api_config_listen(&c, "", NULL), CU_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_and_no_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_forms, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
