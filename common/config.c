/* config.c - the one loader of custos.json (config.h). One table per
 * object lists its keys; a key not in the table, or a value of the wrong
 * type or range, is an error naming the key's path. */
#include "common/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fileio.h"

void cfg_server_defaults(struct cfg_server *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->listen_host, sizeof(s->listen_host), "127.0.0.1");
	s->port = 8080;
	s->threads = 4;
	s->max_connections = 256;
	s->max_connections_per_address = 32;
	s->connection_timeout_s = 30;
	s->header_timeout_s = 10;
	s->request_timeout_s = 60;
	s->max_body_bytes = 16u << 20;
	s->max_header_bytes = 32u << 10;
	s->max_records_per_request = 10000;
	s->max_pending_records = 100000;
	s->commit_batch_records = 8192;
	s->index_max_lag = 100000;
	s->search_max_limit = 1000;
	s->context_max = 200;
	s->metrics_public = 0;
}

void config_defaults(struct custos_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg_server_defaults(&cfg->server);
	cfg->retention.interval_s = 86400;
	cfg->retention.first_run_delay_s = 5;
	cfg->exports.package_ttl_s = CFG_EXPORTS_TTL_DEFAULT_S;
}

int cfg_server_listen(struct cfg_server *s, const char *addr, struct cu_err *err)
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
	if ((size_t)(hend - host) >= sizeof(s->listen_host))
		return cu_err_set(err, CU_EINVAL, "listen address '%s': host too long", addr);
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || port < 0 || port > 65535)
		return cu_err_set(err, CU_EINVAL, "listen address '%s': bad port", addr);
	if (hend == host)
		snprintf(s->listen_host, sizeof(s->listen_host), "127.0.0.1");
	else
		snprintf(s->listen_host, sizeof(s->listen_host), "%.*s", (int)(hend - host), host);
	s->port = (uint16_t)port;
	return 0;
}

/* What one key holds, and how it is checked. */
enum cfg_kind {
	CFG_INT,    /* JSON integer in [min, max] */
	CFG_BOOL,   /* true or false, stored as int 0/1 */
	CFG_STR,    /* non-empty string shorter than the field */
	CFG_OBJ,    /* nested object with its own table */
	CFG_LISTEN, /* "HOST:PORT" (cfg_server_listen) */
	CFG_TLS,    /* {"cert_file", "key_file"}, both required */
};

struct cfg_key {
	const char *name;
	enum cfg_kind kind;
	long long min, max;          /* CFG_INT */
	size_t off, size;            /* the field, from the start of the object's struct */
	const struct cfg_key *sub;   /* CFG_OBJ: its keys, ended by a NULL name */
	size_t sub_off;              /* CFG_OBJ: the nested struct's offset */
};

#define FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)
#define INT(type, f, key, lo, hi) {key, CFG_INT, lo, hi, FIELD(type, f), NULL, 0}
#define SRV(f, lo, hi) INT(struct cfg_server, f, #f, lo, hi)

static const struct cfg_key server_keys[] = {
	{"listen", CFG_LISTEN, 0, 0, 0, 0, NULL, 0},
	{"tls", CFG_TLS, 0, 0, 0, 0, NULL, 0},
	{"metrics_public", CFG_BOOL, 0, 0, FIELD(struct cfg_server, metrics_public), NULL, 0},
	SRV(threads, 1, 256),
	SRV(max_connections, 1, 65536),
	SRV(max_connections_per_address, 1, 65536),
	SRV(connection_timeout_s, 1, 3600),
	SRV(header_timeout_s, 1, 3600),
	SRV(request_timeout_s, 1, 3600),
	SRV(max_body_bytes, 1024, 1ll << 32),
	SRV(max_header_bytes, 4096, 1 << 20),
	SRV(max_records_per_request, 1, 1000000),
	SRV(max_pending_records, 1, 100000000),
	SRV(commit_batch_records, 1, 1000000),
	SRV(index_max_lag, 0, 100000000),
	SRV(search_max_limit, 1, 100000),
	SRV(context_max, 1, 10000),
	{NULL, 0, 0, 0, 0, 0, NULL, 0},
};

static const struct cfg_key retention_keys[] = {
	INT(struct cfg_retention, interval_s, "interval_seconds", 1, CFG_RETENTION_MAX_INTERVAL_S),
	INT(struct cfg_retention, first_run_delay_s, "first_run_delay_seconds", 0, CFG_RETENTION_MAX_DELAY_S),
	{NULL, 0, 0, 0, 0, 0, NULL, 0},
};

static const struct cfg_key exports_keys[] = {
	INT(struct cfg_exports, package_ttl_s, "package_ttl_seconds", 1, CFG_EXPORTS_TTL_MAX_S),
	{NULL, 0, 0, 0, 0, 0, NULL, 0},
};

#define TOP(f, key, lo, hi) INT(struct custos_config, store.f, key, lo, hi)
static const struct cfg_key top_keys[] = {
	{"origin", CFG_STR, 0, 0, FIELD(struct custos_config, store.origin), NULL, 0},
	{"kek_file", CFG_STR, 0, 0, FIELD(struct custos_config, store.kek_file), NULL, 0},
	TOP(segment_max_bytes, "segment_max_bytes", 1, INT64_MAX),
	TOP(segment_max_age_s, "segment_max_age_seconds", 1, INT64_MAX),
	TOP(zstd_level, "zstd_level", 1, 22),
	TOP(idmap_run_keys, "idmap_run_keys", 1, 1 << 24),
	{"server", CFG_OBJ, 0, 0, 0, 0, server_keys, offsetof(struct custos_config, server)},
	{"retention", CFG_OBJ, 0, 0, 0, 0, retention_keys, offsetof(struct custos_config, retention)},
	{"exports", CFG_OBJ, 0, 0, 0, 0, exports_keys, offsetof(struct custos_config, exports)},
	{NULL, 0, 0, 0, 0, 0, NULL, 0},
};
#undef TOP
#undef SRV
#undef INT
#undef FIELD

/* The file being parsed, for messages and relative paths. */
struct cfg_ctx {
	const char *path;
	struct cu_err *err;
};

/* Stores v in the integer field at p of the given size (the table's ranges
 * keep every value within its field). */
static void put_int(void *p, size_t size, long long v)
{
	if (size == sizeof(uint16_t)) {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, sizeof(x));
	} else if (size == sizeof(int32_t)) {
		int32_t x = (int32_t)v;
		memcpy(p, &x, sizeof(x));
	} else {
		int64_t x = (int64_t)v;
		memcpy(p, &x, sizeof(x));
	}
}

/* The "tls" object. A relative path is taken from the directory of the
 * configuration file, so that the file and its certificates can move
 * together. */
static int parse_tls(const struct cfg_ctx *c, json_t *tls, struct cfg_server *s)
{
	static const char *const names[2] = {"cert_file", "key_file"};
	char *const dst[2] = {s->tls_cert_file, s->tls_key_file};
	const char *slash = strrchr(c->path, '/'), *k, *v;
	int dirlen = slash ? (int)(slash - c->path) : 1;
	json_t *j;
	size_t i;
	int n;

	if (!json_is_object(tls))
		return cu_err_set(c->err, CU_EINVAL, "%s: server.tls: expected an object", c->path);
	json_object_foreach(tls, k, j)
		if (strcmp(k, names[0]) && strcmp(k, names[1]))
			return cu_err_set(c->err, CU_EINVAL, "%s: unknown key server.tls.%s", c->path, k);
	for (i = 0; i < 2; i++) {
		j = json_object_get(tls, names[i]);
		if (!json_is_string(j) || json_string_length(j) == 0)
			return cu_err_set(c->err, CU_EINVAL, "%s: server.tls.%s: expected a file name", c->path,
					  names[i]);
		v = json_string_value(j);
		if (v[0] == '/')
			n = snprintf(dst[i], sizeof(s->tls_cert_file), "%s", v);
		else
			n = snprintf(dst[i], sizeof(s->tls_cert_file), "%.*s/%s", dirlen,
				     slash ? c->path : ".", v);
		if (n < 0 || (size_t)n >= sizeof(s->tls_cert_file))
			return cu_err_set(c->err, CU_EINVAL, "%s: server.tls.%s: too long", c->path, names[i]);
	}
	return 0;
}

/* Parses object o (at key path prefix, "" for the top) into base. */
static int parse_object(const struct cfg_ctx *c, const char *prefix, json_t *o, const struct cfg_key *keys,
			char *base)
{
	const struct cfg_key *key;
	const char *name;
	char kpath[128];
	struct cu_err sub;
	json_t *v;
	int rc;

	json_object_foreach(o, name, v) {
		for (key = keys; key->name && strcmp(key->name, name); key++)
			;
		if (!key->name)
			return cu_err_set(c->err, CU_EINVAL, "%s: unknown key %s%s", c->path, prefix, name);
		snprintf(kpath, sizeof(kpath), "%s%s", prefix, name);
		switch (key->kind) {
		case CFG_INT:
			if (!json_is_integer(v) || json_integer_value(v) < key->min ||
			    json_integer_value(v) > key->max)
				return cu_err_set(c->err, CU_EINVAL, "%s: %s: expected an integer from %lld to %lld",
						  c->path, kpath, key->min, key->max);
			put_int(base + key->off, key->size, json_integer_value(v));
			break;
		case CFG_BOOL:
			if (!json_is_boolean(v))
				return cu_err_set(c->err, CU_EINVAL, "%s: %s: expected true or false", c->path, kpath);
			*(int *)(void *)(base + key->off) = json_is_true(v);
			break;
		case CFG_STR:
			if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= key->size ||
			    strlen(json_string_value(v)) != json_string_length(v))
				return cu_err_set(c->err, CU_EINVAL, "%s: %s: expected a string of 1 to %zu bytes",
						  c->path, kpath, key->size - 1);
			memcpy(base + key->off, json_string_value(v), json_string_length(v) + 1);
			break;
		case CFG_OBJ:
			if (!json_is_object(v))
				return cu_err_set(c->err, CU_EINVAL, "%s: %s: expected an object", c->path, kpath);
			snprintf(kpath, sizeof(kpath), "%s%s.", prefix, name);
			rc = parse_object(c, kpath, v, key->sub, base + key->sub_off);
			if (rc)
				return rc;
			break;
		case CFG_LISTEN:
			cu_err_clear(&sub);
			if (!json_is_string(v))
				return cu_err_set(c->err, CU_EINVAL, "%s: %s: expected a string", c->path, kpath);
			if (cfg_server_listen((struct cfg_server *)(void *)base, json_string_value(v), &sub) != 0)
				return cu_err_set(c->err, CU_EINVAL, "%s: %s: %s", c->path, kpath, sub.msg);
			break;
		case CFG_TLS:
			rc = parse_tls(c, v, (struct cfg_server *)(void *)base);
			if (rc)
				return rc;
			break;
		}
	}
	return 0;
}

int config_parse(const char *path, const char *text, size_t len, struct custos_config *cfg, struct cu_err *err)
{
	struct cfg_ctx c = {path ? path : "custos.json", err};
	json_error_t jerr;
	json_t *root;
	int rc;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return cu_err_set(err, CU_EINVAL, "%s: line %d: %s", c.path, jerr.line, jerr.text);
	if (!json_is_object(root))
		rc = cu_err_set(err, CU_EINVAL, "%s: expected a JSON object", c.path);
	else
		rc = parse_object(&c, "", root, top_keys, (char *)cfg);
	json_decref(root);
	return rc;
}

int config_load(const char *path, struct custos_config *cfg, struct cu_err *err)
{
	struct buf b;
	int rc;

	buf_init(&b, CONFIG_FILE_MAX);
	rc = fio_read_file(path, &b, err);
	if (rc == 0)
		rc = config_parse(path, (const char *)b.data, b.len, cfg, err);
	buf_release(&b);
	return rc;
}

int config_read(const char *path, int missing_ok, struct custos_config **out, struct cu_err *err)
{
	struct custos_config *cfg = malloc(sizeof(*cfg));
	struct cu_err mine;
	int rc = 0;

	*out = NULL;
	if (!cfg)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	config_defaults(cfg);
	cu_err_clear(&mine);
	if (path && *path)
		rc = config_load(path, cfg, &mine);
	if (rc == CU_ENOTFOUND && missing_ok)
		rc = 0;
	if (rc) {
		free(cfg);
		return cu_err_set(err, rc, "%s", mine.msg);
	}
	*out = cfg;
	return 0;
}
