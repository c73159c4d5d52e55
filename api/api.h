/* api.h - the HTTP API daemon (docs/API.md): libmicrohttpd with poll() and a
 * thread pool, a routing table with the role each route needs, bearer
 * tokens, an audit record for every request by a person, group commit of
 * ingest through the commit queue, metrics.
 *
 * This is what `custos serve` uses; everything else lives in api/.
 * api_server_start, _reload and _stop are called from one thread (the
 * command's main loop), never at the same time; the server runs its own
 * threads in between (api/api_int.h "Threads").
 */
#ifndef CUSTOS_API_API_H
#define CUSTOS_API_API_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

/* The "server" object of the configuration file; zero fields take the
 * defaults in brackets (api_config_defaults). Every key is documented in
 * docs/API.md "Configuration". */
struct api_config {
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

void api_config_defaults(struct api_config *cfg);

/* Reads the "server" object of the JSON configuration file at path (other
 * keys belong to other modules and are ignored) over the values in cfg.
 * A missing "server" object leaves cfg as it is. Unknown keys in "server"
 * are an error, so that a typo does not silently keep a default. */
int api_config_load(const char *path, struct api_config *cfg, struct cu_err *err) CU_MUST_CHECK;

/* Parses "HOST:PORT", "[V6]:PORT" or ":PORT" into cfg. */
int api_config_listen(struct api_config *cfg, const char *addr, struct cu_err *err) CU_MUST_CHECK;

struct api_server;

/* Opens the store in dir (as its writer), loads tokens, starts the commit
 * queue and the HTTP daemon. config_path names the configuration file that
 * api_server_reload rereads (the "server" object). */
int api_server_start(const char *dir, const char *config_path, const struct api_config *cfg,
		     struct api_server **out, struct cu_err *err) CU_MUST_CHECK;

/* The port actually bound (useful with port 0). */
uint16_t api_server_port(const struct api_server *srv);

/* SIGHUP: rereads tokens and the configuration. Limits that are read per
 * request take effect at once; listen address, threads and connection
 * limits need a restart (reported in err's message, not an error). */
int api_server_reload(struct api_server *srv, struct cu_err *err) CU_MUST_CHECK;

/* SIGTERM: stops accepting connections, lets in-flight requests finish
 * (at most grace_ms), commits what is queued, closes the store. */
void api_server_stop(struct api_server *srv, unsigned grace_ms);

/* Prints the routing table, one "METHOD PATTERN ROLES" line per route. */
void api_routes_print(FILE *f);

#endif
