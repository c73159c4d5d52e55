/* config.h - the one loader of custos.json (docs/FORMAT.md "custos.json",
 * docs/API.md "Configuration").
 *
 * The file is parsed here and nowhere else, with one policy: an unknown key,
 * a value of the wrong type or out of its range is an error whose message
 * names the file and the key's path ("server.max_connections: expected an
 * integer from 1 to 65536"), so that a typo never silently keeps a default.
 * Every subsystem receives its own typed section and never sees the JSON:
 * the log engine `store`, the HTTP server `server`, the retention scheduler
 * `retention`, the export packages `exports`.
 *
 * Contract: plain functions over caller-owned structs, no global state, safe
 * from any thread. A section's fields hold its defaults (config_defaults)
 * unless the file sets them; loading writes over the values already in the
 * struct, so a caller may start from values of its own (a reload starts
 * from the running server's).
 */
#ifndef CUSTOS_COMMON_CONFIG_H
#define CUSTOS_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define CONFIG_FILE_MAX (1u << 20) /* a larger custos.json is refused */

/* The top-level keys: the archive's own settings, read by the log engine
 * (archiver/store.c, archiver/crypt.c). Zero numbers take the store's
 * defaults (docs/FORMAT.md); an empty string is "not set". */
struct cfg_store {
	char origin[256];            /* "origin": the log's name in checkpoints */
	uint64_t segment_max_bytes;  /* "segment_max_bytes" [store: 64 MiB] */
	uint64_t segment_max_age_s;  /* "segment_max_age_seconds" [store: 24 h] */
	int zstd_level;              /* "zstd_level" 1 .. 22 [store: 2] */
	size_t idmap_run_keys;       /* "idmap_run_keys" 1 .. 2^24 [store: 262144] */
	char kek_file[4096];         /* "kek_file": the key-encryption key of an
				      * archive encrypted at rest */
};

/* The "server" object: the HTTP daemon (api/); defaults in brackets. Every
 * key is documented in docs/API.md "Configuration". */
struct cfg_server {
	char listen_host[256];          /* address to bind ["127.0.0.1"] */
	uint16_t port;                  /* TCP port [8080] */
	unsigned threads;               /* MHD thread pool size [4] */
	unsigned max_connections;       /* open connections at once [256] */
	unsigned max_connections_per_address; /* of them from one client address [32] */
	unsigned connection_timeout_s;  /* idle connection timeout [30] */
	unsigned header_timeout_s;      /* request line and headers complete within [10] */
	unsigned request_timeout_s;     /* whole request (headers + body) [60] */
	size_t max_body_bytes;          /* request body cap, 413 beyond [16 MiB] */
	size_t max_header_bytes;        /* per-connection memory for request line
					 * and headers, 431 beyond [32 KiB] */
	size_t max_records_per_request; /* envelopes in one ingest request [10000] */
	size_t max_pending_records;     /* records waiting for commit, 429 beyond [100000] */
	size_t commit_batch_records;    /* records merged into one commit [8192] */
	size_t index_max_lag;           /* records the search index may be behind the
					 * log before ingest waits for it; 0: no bound [100000] */
	unsigned search_max_limit;      /* cap on ?limit= of search and audit [1000] */
	unsigned context_max;           /* cap on before/after of conversation context [200] */
	int metrics_public;             /* 1: /metrics needs no token [0] */
	/* "tls": {"cert_file", "key_file"}: serve HTTPS (libmicrohttpd with
	 * GnuTLS, TLS 1.2 and 1.3 only). Relative paths are taken from the
	 * configuration file's directory. Both empty: plain HTTP [""]. */
	char tls_cert_file[1024];       /* PEM certificate chain, server first */
	char tls_key_file[1024];        /* PEM private key, unencrypted, mode 0600 */
};

/* The "retention" object: the daemon's retention scheduler. */
#define CFG_RETENTION_MAX_INTERVAL_S 31622400u /* at most a (leap) year between runs */
#define CFG_RETENTION_MAX_DELAY_S 86400u
struct cfg_retention {
	unsigned interval_s;            /* "interval_seconds" [86400: daily] */
	unsigned first_run_delay_s;     /* "first_run_delay_seconds" [5] */
};

/* The "exports" object: packages export jobs keep in DATADIR/exports. */
#define CFG_EXPORTS_TTL_DEFAULT_S (7u * 86400u)
#define CFG_EXPORTS_TTL_MAX_S (3650u * 86400u)
struct cfg_exports {
	unsigned package_ttl_s;         /* "package_ttl_seconds" [7 days] */
};

struct custos_config {
	struct cfg_store store;
	struct cfg_server server;
	struct cfg_retention retention;
	struct cfg_exports exports;
};

/* Every section's defaults. */
void config_defaults(struct custos_config *cfg);
void cfg_server_defaults(struct cfg_server *srv);

/* Parses the text of a custos.json over the values in cfg. path names the
 * file in messages and is the base of relative TLS paths. CU_EINVAL with a
 * message naming the key's path; cfg may be partly written then. */
int config_parse(const char *path, const char *text, size_t len, struct custos_config *cfg,
		 struct cu_err *err) CU_MUST_CHECK;

/* Reads the file at path (at most CONFIG_FILE_MAX bytes) and parses it as
 * config_parse does. CU_ENOTFOUND when there is no file. */
int config_load(const char *path, struct custos_config *cfg, struct cu_err *err) CU_MUST_CHECK;

/* Allocates a configuration (the struct is several KiB: kept off the
 * stacks of handler threads) holding the defaults, loaded from path when
 * path is neither NULL nor "". Without a file at path: CU_ENOTFOUND, or
 * the defaults when missing_ok. *out is set (free() it) only on success. */
int config_read(const char *path, int missing_ok, struct custos_config **out, struct cu_err *err) CU_MUST_CHECK;

/* Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (host 127.0.0.1) into srv. */
int cfg_server_listen(struct cfg_server *srv, const char *addr, struct cu_err *err) CU_MUST_CHECK;

#endif
