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

#include "common/config.h"
#include "common/error.h"

/* The "server" section of custos.json, parsed by the one loader
 * (struct cfg_server, common/config.h); the API's code calls it by its
 * old name. */
#define api_config cfg_server

void api_config_defaults(struct api_config *cfg);

/* Loads the configuration file at path with the one loader (config_load:
 * every section is checked, an unknown key or a bad value anywhere is an
 * error naming its path) and sets cfg to its "server" section, read over
 * the values in cfg: a missing "server" object leaves cfg as it is. */
int api_config_load(const char *path, struct api_config *cfg, struct cu_err *err) CU_MUST_CHECK;

/* Parses "HOST:PORT", "[V6]:PORT" or ":PORT" into cfg. */
int api_config_listen(struct api_config *cfg, const char *addr, struct cu_err *err) CU_MUST_CHECK;

struct api_server;

/* Opens the store in dir (as its writer), loads tokens, starts the commit
 * queue and the HTTP daemon, the retention scheduler and export jobs, each
 * with its section of cfg (loaded once by config_read). config_path names
 * the configuration file that api_server_reload rereads (the "server"
 * object). */
int api_server_start(const char *dir, const char *config_path, const struct custos_config *cfg,
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
