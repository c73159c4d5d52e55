/* conn_guard.h - the header deadline of the daemon's connections
 * (docs/OPERATIONS.md "Connection limits").
 *
 * libmicrohttpd's connection timeout restarts with every byte received,
 * so a client that trickles its request headers a byte at a time would
 * hold its connection slot for ever. The guard gives every connection a
 * deadline for the end of its next request's headers: header_timeout_s
 * from its start, and on a kept-alive connection the longer of
 * header_timeout_s and connection_timeout_s from the end of the previous
 * request. A watchdog thread shuts down (shutdown(2), never close) the
 * sockets that miss it; libmicrohttpd then sees the end of the stream and
 * closes the connection itself, with its usual completion callbacks.
 *
 * Threads: cg_notify, cg_headers_done and cg_request_done run in
 * libmicrohttpd's worker threads, the watchdog in its own; one mutex
 * guards the list of connections. libmicrohttpd calls the CLOSED
 * notification before it closes a socket, so the watchdog, which shuts
 * sockets down under that mutex, never touches a descriptor that was
 * closed and reused. */
#ifndef CUSTOS_API_CONN_GUARD_H
#define CUSTOS_API_CONN_GUARD_H

#include <microhttpd.h>

#include "common/error.h"

struct conn_guard;

/* Starts the watchdog. header_s: the deadline of a connection's first
 * request; idle_s: connection_timeout_s (see above). */
int cg_start(unsigned header_s, unsigned idle_s, struct conn_guard **out, struct cu_err *err) CU_MUST_CHECK;
/* Stops the watchdog and frees the guard; after MHD_stop_daemon. */
void cg_stop(struct conn_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard). */
void cg_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
	       enum MHD_ConnectionNotificationCode toe);
/* A request's headers are complete: no deadline while it is served. */
void cg_headers_done(struct MHD_Connection *conn);
/* A request is done: the connection's next request gets a deadline. */
void cg_request_done(struct MHD_Connection *conn);

#endif
