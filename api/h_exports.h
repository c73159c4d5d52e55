/* h_exports.h - the body of POST /v1/exports, parsed by the API into
 * export/job.h's request (export/ parses no HTTP). The handlers are
 * declared in api/handlers.h, the job set's start and stop in
 * api/subsystems.h. */
#ifndef CUSTOS_API_H_EXPORTS_H
#define CUSTOS_API_H_EXPORTS_H

#include <stddef.h>

#include "export/job.h"

#define API_EXPORTS_MAX_BODY 16384 /* bytes of a POST /v1/exports body */

/* Parses the body of POST /v1/exports
 *   {"format": "rsmf"|"dat"|"edrm"|"bagit", "container": "zip"|"tar",
 *    "query": "...", "conversation": "...", "from": DATE, "to": DATE,
 *    "organization": "..."}
 * (format required, unknown members refused; DATE as for `custos export`)
 * into req: its strings and echo (the body without "organization") are
 * the caller's, freed by api_exports_body_release. CU_EINVAL with a
 * message for a bad body (HTTP 400); req is then empty. Whether the body
 * names anything to export is exp_jobs_start's check. Any thread. */
int api_exports_parse_body(const char *body, size_t len, struct exp_job_request *req,
			   struct cu_err *err) CU_MUST_CHECK;
void api_exports_body_release(struct exp_job_request *req);

#endif
