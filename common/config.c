/* config.c - the "server" object of custos.json (docs/API.md
 * "Configuration"). */
#include "api/api.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fileio.h"

#define CONFIG_FILE_MAX (1u << 20)

void api_config_defaults(struct api_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
	cfg->port = 8080;
	cfg->threads = 4;
	cfg->max_connections = 256;
	cfg->max_connections_per_address = 32;
	cfg->connection_timeout_s = 30;
	cfg->header_timeout_s = 10;
	cfg->request_timeout_s = 60;
	cfg->max_body_bytes = 16u << 20;
	cfg->max_header_bytes = 32u << 10;
	cfg->max_records_per_request = 10000;
	cfg->max_pending_records = 100000;
	cfg->commit_batch_records = 8192;
	cfg->index_max_lag = 100000;
	cfg->search_max_limit = 1000;
	cfg->context_max = 200;
	cfg->metrics_public = 0;
}

int api_config_listen(struct api_config *cfg, const char *addr, struct cu_err *err)
{
	const char *colon, *host, *hend;
	char *end;
	long port;

	if (!addr || !*addr)
		return cu_err_set(err, CU_EINVAL, "listen address is empty");
	if (addr[0] == '[') {
		hend = strchr(addr, ']');
		if (!hend || hend[1] != ':')
			return cu_err_set(err, CU_EINVAL, "listen address '%s': expected [V6ADDR]:PORT", addr);
		host = addr + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return cu_err_set(err, CU_EINVAL, "listen address '%s': expected HOST:PORT", addr);
		host = addr;
		hend = colon;
	}
	if ((size_t)(hend - host) >= sizeof(cfg->listen_host))
		return cu_err_set(err, CU_EINVAL, "listen address '%s': host too long", addr);
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || port < 0 || port > 65535)
		return cu_err_set(err, CU_EINVAL, "listen address '%s': bad port", addr);
	if (hend == host)
		snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
	else
		snprintf(cfg->listen_host, sizeof(cfg->listen_host), "%.*s", (int)(hend - host), host);
	cfg->port = (uint16_t)port;
	return 0;
}

/* Reads a positive integer member into *out when present. */
static int get_uint(json_t *o, const char *key, unsigned long long min, unsigned long long max,
		    unsigned long long *out, int *present, struct cu_err *err)
{
	json_t *j = json_object_get(o, key);

	*present = 0;
	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (unsigned long long)json_integer_value(j) < min ||
	    (unsigned long long)json_integer_value(j) > max)
		return cu_err_set(err, CU_EINVAL, "server.%s: expected an integer from %llu to %llu",
				  key, min, max);
	*out = (unsigned long long)json_integer_value(j);
	*present = 1;
	return 0;
}

/* The "tls" object: {"cert_file": PATH, "key_file": PATH}, both required.
 * A relative path is taken from the directory of the configuration file,
 * so that the file and its certificates can move together. */
static int load_tls(const char *path, json_t *tls, struct api_config *cfg, struct cu_err *err)
{
	static const char *const names[2] = {"cert_file", "key_file"};
	char *const dst[2] = {cfg->tls_cert_file, cfg->tls_key_file};
	const char *slash = strrchr(path, '/'), *k, *v;
	int dirlen = slash ? (int)(slash - path) : 1;
	json_t *j;
	size_t i;
	int n;

	if (!json_is_object(tls))
		return cu_err_set(err, CU_EINVAL, "%s: server.tls must be an object", path);
	json_object_foreach(tls, k, j)
		if (strcmp(k, names[0]) && strcmp(k, names[1]))
			return cu_err_set(err, CU_EINVAL, "%s: unknown key server.tls.%s", path, k);
	for (i = 0; i < 2; i++) {
		j = json_object_get(tls, names[i]);
		if (!json_is_string(j) || json_string_length(j) == 0)
			return cu_err_set(err, CU_EINVAL, "%s: server.tls.%s must be a file name", path,
					  names[i]);
		v = json_string_value(j);
		if (v[0] == '/')
			n = snprintf(dst[i], sizeof(cfg->tls_cert_file), "%s", v);
		else
			n = snprintf(dst[i], sizeof(cfg->tls_cert_file), "%.*s/%s", dirlen,
				     slash ? path : ".", v);
		if (n < 0 || (size_t)n >= sizeof(cfg->tls_cert_file))
			return cu_err_set(err, CU_EINVAL, "%s: server.tls.%s is too long", path, names[i]);
	}
	return 0;
}

int api_config_load(const char *path, struct api_config *cfg, struct cu_err *err)
{
	/* Every key of the "server" object; anything else is a typo. */
	static const struct {
		const char *key;
		unsigned long long min, max;
		size_t off;             /* offsetof the field in struct api_config */
		size_t size;            /* sizeof that field: unsigned or size_t */
	} keys[] = {
#define K(name, lo, hi) {#name, lo, hi, offsetof(struct api_config, name), \
			 sizeof(((struct api_config *)0)->name)}
		K(threads, 1, 256),
		K(max_connections, 1, 65536),
		K(max_connections_per_address, 1, 65536),
		K(connection_timeout_s, 1, 3600),
		K(header_timeout_s, 1, 3600),
		K(request_timeout_s, 1, 3600),
		K(max_body_bytes, 1024, 1ull << 32),
		K(max_header_bytes, 4096, 1u << 20),
		K(max_records_per_request, 1, 1000000),
		K(max_pending_records, 1, 100000000),
		K(commit_batch_records, 1, 1000000),
		K(index_max_lag, 0, 100000000),
		K(search_max_limit, 1, 100000),
		K(context_max, 1, 10000),
#undef K
	};
	struct buf b;
	json_t *root = NULL, *srv, *j;
	json_error_t jerr;
	const char *k;
	unsigned long long v;
	int rc, present;
	size_t i;

	buf_init(&b, CONFIG_FILE_MAX);
	rc = fio_read_file(path, &b, err);
	if (rc)
		goto out;
	root = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		rc = cu_err_set(err, CU_EINVAL, "%s: line %d: %s", path, root ? 0 : jerr.line,
				root ? "expected a JSON object" : jerr.text);
		goto out;
	}
	srv = json_object_get(root, "server");
	if (!srv) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(srv)) {
		rc = cu_err_set(err, CU_EINVAL, "%s: \"server\" must be an object", path);
		goto out;
	}
	json_object_foreach(srv, k, j) {
		int known = !strcmp(k, "listen") || !strcmp(k, "metrics_public") || !strcmp(k, "tls");

		for (i = 0; !known && i < sizeof(keys) / sizeof(keys[0]); i++)
			known = !strcmp(k, keys[i].key);
		if (!known) {
			rc = cu_err_set(err, CU_EINVAL, "%s: unknown key server.%s", path, k);
			goto out;
		}
	}
	j = json_object_get(srv, "listen");
	if (j) {
		if (!json_is_string(j)) {
			rc = cu_err_set(err, CU_EINVAL, "%s: server.listen must be a string", path);
			goto out;
		}
		rc = api_config_listen(cfg, json_string_value(j), err);
		if (rc)
			goto out;
	}
	j = json_object_get(srv, "metrics_public");
	if (j) {
		if (!json_is_boolean(j)) {
			rc = cu_err_set(err, CU_EINVAL, "%s: server.metrics_public must be true or false", path);
			goto out;
		}
		cfg->metrics_public = json_is_true(j);
	}
	j = json_object_get(srv, "tls");
	if (j) {
		rc = load_tls(path, j, cfg, err);
		if (rc)
			goto out;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		rc = get_uint(srv, keys[i].key, keys[i].min, keys[i].max, &v, &present, err);
		if (rc)
			goto out;
		if (!present)
			continue;
		if (keys[i].size == sizeof(unsigned))
			*(unsigned *)((char *)cfg + keys[i].off) = (unsigned)v;
		else
			*(size_t *)((char *)cfg + keys[i].off) = (size_t)v;
	}
	rc = 0;
out:
	json_decref(root);
	buf_release(&b);
	return rc;
}
