/* h_exports.h - the export endpoints (docs/EXPORTS.md "Jobs", docs/API.md):
 *   POST /v1/exports              start an export job (officer), 202
 *   GET  /v1/exports/{job}        its state and progress
 *   GET  /v1/exports/{job}/file   the finished package
 * The jobs themselves are export/job.h; these handlers parse the body into
 * its request, reply and audit. */
#ifndef CUSTOS_API_H_EXPORTS_H
#define CUSTOS_API_H_EXPORTS_H

#include <stddef.h>

#include "export/job.h"

#define API_EXPORTS_MAX_BODY 16384 /* bytes of a POST /v1/exports body */

struct api_req;

int h_exports_start(struct api_req *r);
int h_exports_status(struct api_req *r);
int h_exports_file(struct api_req *r);
/* Makes the job set at start, which starts the sweeper of expired
 * packages (exports.package_ttl_seconds): call once the store is open. */
struct api_server;
struct cu_err;
int api_exports_start(struct api_server *srv, struct cu_err *err);
/* Cancels running exports and waits for them: call before the store is
 * closed at shutdown. Safe to call when no export ever ran. */
void api_exports_stop(void);

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
