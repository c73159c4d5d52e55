/* audit.h - the audit record of a person's request (docs/API.md "Audit
 * trail"): kind REC_AUDIT, platform "custos", source "api", sender = the
 * token's name, body = one readable line, meta = JSON
 *   {"who", "role", "method", "path", "route", "query": {...},
 *    "status", "results", "at", ...handler details}
 * with "query_received": [[name, value], ...] instead of "query" when the
 * parameters were refused, and "path_escaped": true when the path was not
 * UTF-8 (then shown escaped, args.c api_escape).
 * appended through the commit queue before the reply is sent.
 *
 * Threads and ownership: called in the request's worker thread (http.c);
 * what is built lives in the request (r->audit_*) until
 * api_audit_release, after its commit answered. */
#ifndef CUSTOS_API_AUDIT_H
#define CUSTOS_API_AUDIT_H

#include <jansson.h>

#include "common/error.h"

struct api_req;

#define AUDIT_PLATFORM "custos"
#define AUDIT_SOURCE "api"

/* Fills r->audit_in (and the strings it points at) from the request and
 * its reply: the query is r->args, the parameters the handler read
 * (api_query), or r->args_received when they were refused. CU_ENOMEM (and
 * nothing filled) when any part cannot be built, including a handler
 * detail that failed: the request then fails with 503, a partial audit
 * record is never written. */
int api_audit_build(struct api_req *r) CU_MUST_CHECK;
void api_audit_release(struct api_req *r);

/* The handler's details for the audit record. api_audit_info takes
 * details (an object, owned; it replaces earlier ones) straight from
 * json_pack: NULL means they could not be built, and the request then
 * fails with 503 rather than be recorded without them. api_audit_add
 * adds one member (value owned; NULL likewise). */
void api_audit_info(struct api_req *r, json_t *details);
void api_audit_add(struct api_req *r, const char *key, json_t *value);

#endif
