/* test_config.c - the one loader of custos.json (common/config.h): every
 * section parsed, and one strictness policy everywhere: an unknown key, a
 * wrong type or a value out of range is an error naming the key's path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/config.h"

static int parse(const char *text, struct custos_config *c, struct cu_err *err)
{
	config_defaults(c);
	cu_err_clear(err);
	return config_parse("/etc/custos/custos.json", text, strlen(text), c, err);
}

static void test_defaults(void **state)
{
	struct custos_config c;
	struct cu_err err;

	(void)state;
	assert_int_equal(parse("{}", &c, &err), 0);
	assert_string_equal(c.store.origin, "");
	assert_int_equal(c.store.segment_max_bytes, 0); /* the store's default */
	assert_int_equal(c.server.port, 8080);
	assert_int_equal(c.server.threads, 4);
	assert_int_equal(c.retention.interval_s, 86400);
	assert_int_equal(c.retention.first_run_delay_s, 5);
	assert_int_equal(c.exports.package_ttl_s, CFG_EXPORTS_TTL_DEFAULT_S);
}

static void test_every_section(void **state)
{
	struct custos_config c;
	struct cu_err err;

	(void)state;
	assert_int_equal(parse("{\"origin\": \"a.example/x\", \"segment_max_bytes\": 500,"
			       " \"segment_max_age_seconds\": 60, \"zstd_level\": 19, \"idmap_run_keys\": 64,"
			       " \"kek_file\": \"/k/kek\", \"server\": {\"listen\": \"[::1]:9\", \"threads\": 2,"
			       " \"tls\": {\"cert_file\": \"c.pem\", \"key_file\": \"/abs/k.pem\"}},"
			       " \"retention\": {\"interval_seconds\": 7, \"first_run_delay_seconds\": 0},"
			       " \"exports\": {\"package_ttl_seconds\": 2}}", &c, &err), 0);
	assert_string_equal(c.store.origin, "a.example/x");
	assert_int_equal(c.store.segment_max_bytes, 500);
	assert_int_equal(c.store.segment_max_age_s, 60);
	assert_int_equal(c.store.zstd_level, 19);
	assert_int_equal(c.store.idmap_run_keys, 64);
	assert_string_equal(c.store.kek_file, "/k/kek");
	assert_string_equal(c.server.listen_host, "::1");
	assert_int_equal(c.server.port, 9);
	assert_int_equal(c.server.threads, 2);
	assert_string_equal(c.server.tls_cert_file, "/etc/custos/c.pem"); /* from the file's directory */
	assert_string_equal(c.server.tls_key_file, "/abs/k.pem");
	assert_int_equal(c.retention.interval_s, 7);
	assert_int_equal(c.retention.first_run_delay_s, 0);
	assert_int_equal(c.exports.package_ttl_s, 2);
}

/* Each bad input is refused with a message naming the key's path. */
static void test_strict(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"{\"orgin\": \"x\"}", "unknown key orgin"},
		{"{\"server\": {\"max_conections\": 4}}", "unknown key server.max_conections"},
		{"{\"server\": {\"tls\": {\"ca_file\": \"x\"}}}", "unknown key server.tls.ca_file"},
		{"{\"retention\": {\"interval\": 4}}", "unknown key retention.interval"},
		{"{\"exports\": {\"ttl\": 4}}", "unknown key exports.ttl"},
		{"{\"server\": {\"max_connections\": \"4\"}}", "server.max_connections: expected an integer"},
		{"{\"server\": {\"max_connections\": 0}}", "server.max_connections: expected an integer from 1"},
		{"{\"server\": {\"metrics_public\": 1}}", "server.metrics_public: expected true or false"},
		{"{\"server\": {\"listen\": 80}}", "server.listen: expected a string"},
		{"{\"server\": {\"listen\": \"nohost\"}}", "server.listen: listen address"},
		{"{\"server\": {\"tls\": {\"cert_file\": \"c\"}}}", "server.tls.key_file"},
		{"{\"server\": []}", "server: expected an object"},
		{"{\"retention\": {\"interval_seconds\": \"1\"}}", "retention.interval_seconds: expected an integer"},
		{"{\"exports\": {\"package_ttl_seconds\": 0}}", "exports.package_ttl_seconds: expected an integer"},
		/* the store's keys were silently defaulted before the one loader */
		{"{\"segment_max_bytes\": \"big\"}", "segment_max_bytes: expected an integer"},
		{"{\"segment_max_bytes\": 0}", "segment_max_bytes: expected an integer"},
		{"{\"segment_max_age_seconds\": -1}", "segment_max_age_seconds: expected an integer"},
		{"{\"zstd_level\": 1.5}", "zstd_level: expected an integer"},
		{"{\"idmap_run_keys\": 16777217}", "idmap_run_keys: expected an integer"},
		{"{\"origin\": 3}", "origin: expected a string"},
		{"{\"origin\": \"\"}", "origin: expected a string"},
		{"{\"kek_file\": true}", "kek_file: expected a string"},
		{"{\"origin\": \"a\", \"origin\": \"b\"}", "duplicate"},
		{"[]", "expected a JSON object"},
		{"not json", "line 1"},
	};
	struct custos_config c;
	struct cu_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].text, &c, &err), CU_EINVAL);
		if (!strstr(err.msg, bad[i].want) || !strstr(err.msg, "/etc/custos/custos.json")) {
			fprintf(stderr, "input %s: message '%s' lacks '%s'\n", bad[i].text, err.msg, bad[i].want);
			fail();
		}
	}
}

/* etc/custos.json.example, the documented example, is accepted. */
static void test_example(void **state)
{
	struct custos_config c;
	struct cu_err err;

	(void)state;
	config_defaults(&c);
	cu_err_clear(&err);
	if (config_load("etc/custos.json.example", &c, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		fail();
	}
	assert_string_equal(c.store.origin, "archive.example.org/custos");
	assert_int_equal(c.exports.package_ttl_s, 604800);
	assert_int_equal(config_load("/nonexistent/custos.json", &c, NULL), CU_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_section),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
