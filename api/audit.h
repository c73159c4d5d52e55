/* audit.h - the audit record of a person's request (docs/API.md "Audit
 * trail"): kind REC_AUDIT, platform "custos", source "api", sender = the
 * token's name, body = one readable line, meta = JSON
 *   {"who", "role", "method", "path", "route", "query": {...},
 *    "status", "results", "at", ...handler details}
 * appended through the commit queue before the reply is sent. */
#ifndef CUSTOS_API_AUDIT_H
#define CUSTOS_API_AUDIT_H

#include "common/error.h"

struct api_req;

#define AUDIT_PLATFORM "custos"
#define AUDIT_SOURCE "api"

/* Fills r->audit_in (and the strings it points at) from the request and
 * its reply. */
int api_audit_build(struct api_req *r) CU_MUST_CHECK;
void api_audit_release(struct api_req *r);

#endif
